import { AliasesService } from './aliases.js';
import { ConfigsService } from './configs.js';
import { EventsService } from './events.js';
import { ModuleClassesService } from './module-classes.js';
import { PageTokens } from './page-token.js';
import type { RegistryStore } from './store.js';
import { TokensService, type TokensOptions } from './tokens.js';

/** The registry's use cases, wired to one store. */
export interface Registry {
  aliases: AliasesService;
  configs: ConfigsService;
  events: EventsService;
  moduleClasses: ModuleClassesService;
  tokens: TokensService;
  store: RegistryStore;
}

export interface RegistryOptions {
  /** The bootstrap admin secret (REGISTRY_ADMIN_TOKEN), if any. */
  adminToken?: string;
  /** Clock for the tokens' auth-state cache. */
  clock?: TokensOptions['clock'];
}

export async function createRegistry(
  store: RegistryStore,
  now: () => Date = () => new Date(),
  options: RegistryOptions = {},
): Promise<Registry> {
  const pageTokens = new PageTokens(await store.pageTokenKey());
  return {
    aliases: new AliasesService(store, pageTokens, now),
    configs: new ConfigsService(store, pageTokens, now),
    events: new EventsService(store),
    moduleClasses: new ModuleClassesService(store, pageTokens, now),
    tokens: new TokensService(store, pageTokens, now, {
      ...(options.adminToken === undefined ? {} : { adminSecret: options.adminToken }),
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    }),
    store,
  };
}
