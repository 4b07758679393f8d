import { AliasesService } from './aliases.js';
import { ConfigsService } from './configs.js';
import { EventsService } from './events.js';
import { ModuleClassesService } from './module-classes.js';
import { PageTokens } from './page-token.js';
import type { RegistryStore } from './store.js';
import { TokensService, type TokensOptions } from './tokens.js';
import { WatchHub, type ChangeSignal, type WatchHubOptions } from './watch-hub.js';

/** The registry's use cases, wired to one store. */
export interface Registry {
  aliases: AliasesService;
  configs: ConfigsService;
  events: EventsService;
  moduleClasses: ModuleClassesService;
  tokens: TokensService;
  /** Long-polls and event streams: waiting for changes by any process sharing the database. */
  watch: WatchHub;
  store: RegistryStore;
}

export interface RegistryOptions {
  /** The bootstrap admin secret (REGISTRY_ADMIN_TOKEN), if any. */
  adminToken?: string;
  /** Clock for the tokens' auth-state cache. */
  clock?: TokensOptions['clock'];
  /**
   * What wakes waiters when another process commits (store/change-signal.ts). Without one, they
   * learn of changes from the hub's periodic re-read only.
   */
  changes?: ChangeSignal;
  /** Limits on waiters and streams, and the hub's timings. */
  watch?: WatchHubOptions;
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
    watch: new WatchHub(store, options.changes, options.watch),
    store,
  };
}
