// The /v1 resources as the UI reads them (the fields it uses; the OpenAPI document has them all).

export type Mappings = Record<string, Record<string, string>>;

export interface ConfigDict {
  observed_to_quantized_custom_module_class?: Mappings;
  preserved_attributes?: string[];
}

export interface ConfigVersion {
  name: string;
  version: number;
  description: string;
  labels: Record<string, string>;
  config: ConfigDict;
  contentHash: string;
  createdAt: string;
  updatedBy: string;
}

export interface Config extends ConfigVersion {
  updatedAt: string;
  deleted?: boolean;
  deletedAt?: string;
}

export interface Page<T> {
  items: T[];
  nextPageToken?: string;
}

export interface ModuleClass {
  id: string;
  fromObserved: boolean;
  description: string;
  builtIn: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface Diff {
  from: number;
  to: number;
  changes: {
    mappings: Record<
      string,
      {
        added: Array<{ observed: string; quantized: string }>;
        removed: Array<{ observed: string; quantized: string }>;
        changed: Array<{ observed: string; from: string; to: string }>;
      }
    >;
    preservedAttributes: { added: string[]; removed: string[]; orderChanged: boolean };
    description: { from: string; to: string } | null;
    labels: {
      added: Record<string, string>;
      removed: Record<string, string>;
      changed: Record<string, { from: string; to: string }>;
    };
  };
}

export interface Alias {
  name: string;
  alias: string;
  version: number;
  protected: boolean;
  moves: number;
  updatedAt: string;
  updatedBy: string;
}

export interface AliasMove {
  version: number | null;
  previousVersion: number | null;
  protected: boolean;
  movedAt: string;
  movedBy: string;
}

export interface RegistryEvent {
  revision: number;
  type: string;
  at: string;
  by: string;
  name?: string;
  version?: number;
  alias?: string;
  classId?: string;
}
