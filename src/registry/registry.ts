import { ConfigsService } from './configs.js';
import { ModuleClassesService } from './module-classes.js';
import { PageTokens } from './page-token.js';
import type { RegistryStore } from './store.js';

/** The registry's use cases, wired to one store. */
export interface Registry {
  configs: ConfigsService;
  moduleClasses: ModuleClassesService;
  store: RegistryStore;
}

export async function createRegistry(store: RegistryStore, now: () => Date = () => new Date()): Promise<Registry> {
  const pageTokens = new PageTokens(await store.pageTokenKey());
  return {
    configs: new ConfigsService(store, pageTokens, now),
    moduleClasses: new ModuleClassesService(store, pageTokens, now),
    store,
  };
}
