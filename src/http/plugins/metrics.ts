import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RegistryCounts, RegistryStore } from '../../registry/store.js';
import { withDeadline } from '../deadline.js';

/**
 * Prometheus metrics, with prom-client: per request (method, route pattern, status) a counter and
 * a latency histogram, observed in onResponse; registry gauges counted from the database when
 * scraped; and the process's default metrics (CPU, memory, event loop lag, GC).
 *
 * Each app has its own registry, so several apps in one process (tests, two replicas) never
 * collide; the process metrics are collected once per process and merged in.
 */
export interface Metrics {
  readonly contentType: string;
  render(): Promise<string>;
}

/** The registry gauges are counted at most this often, however often someone scrapes. */
const COUNTS_MAX_AGE_MS = 5000;
/** A scrape must answer even when the database hangs: the HTTP metrics matter most then. */
const COUNTS_DEADLINE_MS = 2000;

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

let processMetrics: Registry | undefined;

function processRegistry(): Registry {
  if (processMetrics === undefined) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics });
  }
  return processMetrics;
}

export function registerMetrics(app: FastifyInstance, store: RegistryStore): Metrics {
  const registry = new Registry();
  const labelNames = ['method', 'route', 'status_code'] as const;
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status code.',
    labelNames,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from receiving a request to finishing its reply, by method, route pattern and status code.',
    labelNames,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });

  // The series of each (method, route, status): prom-client would otherwise hash the label set
  // twice per request. Bounded: routes and status codes are few.
  const series = new Map<string, { count: () => void; observe: (seconds: number) => void }>();
  app.addHook('onResponse', (request, reply, done) => {
    // The route pattern, never the raw URL: one series per route, whatever names are requested.
    const route = request.routeOptions.url ?? 'unmatched';
    const key = `${request.method} ${route} ${reply.statusCode}`;
    let s = series.get(key);
    if (s === undefined) {
      const labels = { method: request.method, route, status_code: String(reply.statusCode) };
      const counter = requests.labels(labels);
      const histogram = latency.labels(labels);
      s = { count: () => counter.inc(), observe: (seconds) => histogram.observe(seconds) };
      series.set(key, s);
    }
    s.count();
    s.observe(reply.elapsedTime / 1000);
    done();
  });

  const counts = cachedCounts(store);
  const up = new Gauge({
    name: 'registry_database_up',
    help: '1 when the registry counts below come from the database (at most 5 s old), 0 when it could not be read.',
    registers: [registry],
  });
  const configs = new Gauge({
    name: 'registry_configs',
    help: 'Configs, by state (live or soft-deleted).',
    labelNames: ['state'] as const,
    registers: [registry],
  });
  const versions = new Gauge({ name: 'registry_config_versions', help: 'Config versions, all configs.', registers: [registry] });
  const classes = new Gauge({ name: 'registry_module_classes', help: 'Registered module classes.', registers: [registry] });
  const tokens = new Gauge({ name: 'registry_api_tokens', help: 'API tokens (not counting REGISTRY_ADMIN_TOKEN).', registers: [registry] });

  return {
    contentType: registry.contentType,
    async render() {
      const current = await counts().catch(() => undefined);
      up.set(current === undefined ? 0 : 1);
      for (const gauge of [configs, versions, classes, tokens]) gauge.reset();
      if (current !== undefined) {
        configs.set({ state: 'live' }, current.liveConfigs);
        configs.set({ state: 'deleted' }, current.deletedConfigs);
        versions.set(current.versions);
        classes.set(current.moduleClasses);
        tokens.set(current.tokens);
      }
      return Registry.merge([processRegistry(), registry]).metrics();
    },
  };
}

/** The store's counts, shared by concurrent scrapes and reused for COUNTS_MAX_AGE_MS. */
function cachedCounts(store: RegistryStore): () => Promise<RegistryCounts> {
  let last: { at: number; counts: RegistryCounts } | undefined;
  let pending: Promise<RegistryCounts> | undefined;
  return () => {
    if (last !== undefined && performance.now() - last.at < COUNTS_MAX_AGE_MS) return Promise.resolve(last.counts);
    pending ??= withDeadline(store.counts(), COUNTS_DEADLINE_MS, 'counting the registry')
      .then((counts) => {
        last = { at: performance.now(), counts };
        return counts;
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
}
