import type { EventType, RegistryEvent, RegistryStore } from './store.js';

/** A read of the change feed: events after `after`, filtered by config name and type (each ORed). */
export interface ListEventsParams {
  after: number;
  limit: number;
  names: string[];
  types: EventType[];
}

export interface EventsPage {
  /** Matching events with revision > after, ascending. */
  items: RegistryEvent[];
  /**
   * The newest revision this page accounts for: continue with `after=lastRevision`. A filtered
   * reader moves on even when nothing matched, and never past an event the page left out.
   */
  lastRevision: number;
  /** The newest revision committed when the page was read (X-Registry-Revision). */
  committedRevision: number;
}

/**
 * The change feed: every change to the registry under a revision that is gap-free and in commit
 * order (the store appends each event in the transaction of its change; see
 * src/store/event-log.ts), so a reader that has seen N and asks for what came after never misses one.
 */
export class EventsService {
  constructor(private readonly store: RegistryStore) {}

  async list(params: ListEventsParams): Promise<EventsPage> {
    const page = await this.store.listEvents({
      after: params.after,
      limit: params.limit,
      ...(params.names.length > 0 ? { names: params.names } : {}),
      ...(params.types.length > 0 ? { types: params.types } : {}),
    });
    // A page the limit cut short accounts for less than what is committed; only then is the
    // counter worth a second read.
    const committedRevision = page.items.length === params.limit ? await this.store.lastRevision() : page.lastRevision;
    return { ...page, committedRevision: Math.max(committedRevision, page.lastRevision) };
  }

  /** The newest committed revision (0 before the first change). */
  lastRevision(): Promise<number> {
    return this.store.lastRevision();
  }
}
