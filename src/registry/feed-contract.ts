// Temporary: the change-feed contract the feed-data branch adds to store.ts, until it is merged.
export type EventType =
  | 'config.version_created' | 'config.deleted' | 'config.undeleted' | 'config.purged'
  | 'alias.set' | 'alias.deleted'
  | 'module_class.created' | 'module_class.updated' | 'module_class.deleted';
export interface RegistryEvent {
  revision: number; type: EventType; at: Date; by: string;
  name?: string; version?: number; alias?: string; classId?: string;
}
export interface ListEventsQuery { after: number; limit: number; names?: string[]; types?: EventType[] }
