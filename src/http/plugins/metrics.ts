import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Registry, type Metric } from 'prom-client';
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

export function registerMetrics(
  app: FastifyInstance,
  store: RegistryStore,
  watch?: { counts(): { waiters: number; streams: number } },
): Metrics {
  const registry = new Registry();
  const http = new HttpSeries();
  http.register(registry);

  // Routes get their own hook, which knows its route pattern (reading request.routeOptions builds
  // an object per call); requests that match no route (404s, URLs that do not decode) are counted
  // by the global hook as `unmatched`.
  app.addHook('onRoute', (route) => {
    const observe = http.route(route.url);
    const hook = (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
      observe(request.method, reply.statusCode, reply.elapsedTime);
      done();
    };
    route.onResponse = route.onResponse === undefined ? [hook] : [...[route.onResponse].flat(), hook];
  });
  const unmatched = http.route('unmatched');
  app.addHook('onResponse', (request, reply, done) => {
    if (request.is404) unmatched(request.method, reply.statusCode, reply.elapsedTime);
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
  new Counter({
    name: 'registry_version_groups_total',
    help: 'Groups of new config versions written together, in one transaction each (group commit).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(store.appendGroups().groups);
    },
  });
  new Counter({
    name: 'registry_version_group_appends_total',
    help: 'Appends of new config versions those groups carried, refused ones (a lost race, a vanished class) included.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(store.appendGroups().appends);
    },
  });
  if (watch !== undefined) {
    new Gauge({
      name: 'registry_watch_waiters',
      help: 'Long-polls this replica holds now (GET /v1/events?wait= and GET /v1/configs/{name} with Prefer: wait=).',
      registers: [registry],
      collect() {
        this.set(watch.counts().waiters);
      },
    });
    new Gauge({
      name: 'registry_watch_streams',
      help: 'Event streams (GET /v1/events/stream) this replica serves now.',
      registers: [registry],
      collect() {
        this.set(watch.counts().streams);
      },
    });
  }

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

/** One (method, route, status) series: a request count, and latencies in LATENCY_BUCKETS. */
interface Series {
  readonly labels: { method: string; route: string; status_code: string };
  /** Requests per bucket (not cumulative); the last one is +Inf. */
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

/**
 * `http_requests_total` and `http_request_duration_seconds`, handed to prom-client's registry as
 * a counter and a histogram in its own exposition format. Written here rather than with
 * prom-client's Counter and Histogram because those hash the label set on every `inc` and
 * `observe` (also through `labels()`): ~5 µs per request in a CPU profile under load, the largest
 * cost of any one feature on a cached GET. Here a request finds its series by route (closed over),
 * method and status, and adds to three numbers.
 */
class HttpSeries {
  readonly #series: Series[] = [];

  /** The recorder for one route pattern: (method, status, elapsed milliseconds). */
  route(route: string): (method: string, status: number, elapsedMs: number) => void {
    const byKey = new Map<number, Map<string, Series>>();
    return (method, status, elapsedMs) => {
      let byMethod = byKey.get(status);
      if (byMethod === undefined) byKey.set(status, (byMethod = new Map()));
      let series = byMethod.get(method);
      if (series === undefined) {
        series = {
          labels: { method, route, status_code: String(status) },
          buckets: new Float64Array(LATENCY_BUCKETS.length + 1),
          sum: 0,
          count: 0,
        };
        byMethod.set(method, series);
        this.#series.push(series);
      }
      const seconds = elapsedMs / 1000;
      // Prometheus buckets are "less than or equal to" their upper bound.
      let i = 0;
      while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]!) i++;
      series.buckets[i]!++;
      series.sum += seconds;
      series.count++;
    };
  }

  register(registry: Registry): void {
    const all = this.#series;
    const counter = {
      name: 'http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status code.',
      type: 'counter',
      aggregator: 'sum',
      get: async () => ({ ...counter, values: all.map((s) => ({ value: s.count, labels: s.labels })) }),
    };
    const name = 'http_request_duration_seconds';
    const histogram = {
      name,
      help: 'Time from receiving a request to finishing its reply, by method, route pattern and status code.',
      type: 'histogram',
      aggregator: 'sum',
      // The shape prom-client's Histogram gives its registry: `le` as labels, the series' labels shared.
      get: async () => ({
        ...histogram,
        values: all.flatMap((s) => {
          let cumulative = 0;
          const buckets = LATENCY_BUCKETS.map((le, i) => {
            cumulative += s.buckets[i]!;
            return { labels: { le }, sharedLabels: s.labels, value: cumulative, metricName: `${name}_bucket` };
          });
          return [
            ...buckets,
            { labels: { le: '+Inf' }, sharedLabels: s.labels, value: s.count, metricName: `${name}_bucket` },
            { labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${name}_sum` },
            { labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${name}_count` },
          ];
        }),
      }),
    };
    // The registry only calls get() and reads name/type (prom-client's Registry.getMetricsAsString).
    registry.registerMetric(counter as unknown as Metric);
    registry.registerMetric(histogram as unknown as Metric);
  }
}
