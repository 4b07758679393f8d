// A mixed write load for crash and outage tests: concurrent clients putting configs (shared and
// new ones), using the builder route and registering classes, each remembering exactly what the
// service acknowledged, so the test can check later that every acknowledged write is there.
import { call, type Reply } from './http-client.js';

export const LSTM_OBS = 'torch.ao.nn.quantizable.LSTM';
export const LSTM_Q = 'torch.ao.nn.quantized.LSTM';

export type Ack =
  | { kind: 'version'; name: string; version: number; body: { config: unknown; description: string; labels: unknown } }
  | { kind: 'class'; id: string };

export interface LoadResult {
  acks: Ack[];
  /** Requests that failed on the wire (reset, refused, timed out): their outcome is unknown. */
  lost: number;
  /** Answers by status. */
  statuses: Map<number, number>;
  /** Every answer with its duration, for fail-fast checks. */
  replies: Array<{ status: number; elapsedMs: number; problemType?: string }>;
}

export interface WriteLoad {
  /** Stops issuing requests and waits for the ones in flight. */
  stop(): Promise<LoadResult>;
}

/**
 * Starts `clients` loops writing to `base()` until stopped. `base` is read per request, so a test
 * can point the load at a restarted server. `tag` keeps names unique across loads on one database.
 */
export function startWriteLoad(base: () => string, options: { clients: number; tag: string; timeoutMs?: number }): WriteLoad {
  const result: LoadResult = { acks: [], lost: 0, statuses: new Map(), replies: [] };
  let running = true;
  const record = (reply: Reply) => {
    result.statuses.set(reply.status, (result.statuses.get(reply.status) ?? 0) + 1);
    result.replies.push({
      status: reply.status,
      elapsedMs: reply.elapsedMs,
      ...(typeof reply.json?.type === 'string' ? { problemType: reply.json.type as string } : {}),
    });
  };
  const loops = Array.from({ length: options.clients }, async (_, client) => {
    for (let seq = 0; running; seq++) {
      const shared = `shared-${options.tag}-${client % 3}`;
      const timeoutMs = options.timeoutMs ?? 30_000;
      try {
        switch (seq % 5) {
          case 0:
          case 1: {
            const body = {
              config: { preserved_attributes: [`a${client}_${seq}`] },
              description: `${options.tag} client ${client} write ${seq} é ✓`,
              labels: { client: `c${client}`, seq: String(seq) },
            };
            const reply = await call(base(), 'PUT', `/v1/configs/${shared}`, { body, timeoutMs });
            record(reply);
            if (reply.status === 200 || reply.status === 201) {
              result.acks.push({ kind: 'version', name: shared, version: reply.json.version, body: pick(reply.json) });
            }
            break;
          }
          case 2: {
            const name = `own-${options.tag}-${client}-${seq}`;
            const body = {
              config: { observed_to_quantized_custom_module_class: { static: { [LSTM_OBS]: LSTM_Q } }, preserved_attributes: ['x'] },
              description: `created by ${client}`,
            };
            const reply = await call(base(), 'PUT', `/v1/configs/${name}`, { body, timeoutMs });
            record(reply);
            if (reply.status === 201) result.acks.push({ kind: 'version', name, version: reply.json.version, body: pick(reply.json) });
            break;
          }
          case 3: {
            const reply = await call(base(), 'PUT', `/v1/configs/${shared}/mappings/dynamic/${LSTM_OBS}`, {
              body: { quantizedClass: LSTM_Q },
              timeoutMs,
            });
            record(reply);
            if (reply.status === 200) result.acks.push({ kind: 'version', name: shared, version: reply.json.version, body: pick(reply.json) });
            break;
          }
          default: {
            const id = `load_${options.tag.replaceAll('-', '_')}.C${client}_${seq}`;
            const reply = await call(base(), 'POST', '/v1/module-classes', { body: { id, fromObserved: seq % 2 === 0 }, timeoutMs });
            record(reply);
            if (reply.status === 201) result.acks.push({ kind: 'class', id });
          }
        }
      } catch {
        // Reset, refused or timed out: the write may or may not have happened; not acknowledged.
        result.lost += 1;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return result;
    },
  };
}

function pick(json: { config: unknown; description: string; labels: unknown }) {
  return { config: json.config, description: json.description, labels: json.labels };
}

/** Every acknowledged write, read back through the API: the problems found (empty: all there). */
export async function missingAcks(base: string, acks: Ack[]): Promise<string[]> {
  const problems: string[] = [];
  for (const ack of acks) {
    if (ack.kind === 'class') {
      const res = await call(base, 'GET', `/v1/module-classes/${ack.id}`);
      if (res.status !== 200) problems.push(`class ${ack.id}: ${res.status}`);
      continue;
    }
    const res = await call(base, 'GET', `/v1/configs/${ack.name}/versions/${ack.version}`);
    if (res.status !== 200) {
      problems.push(`${ack.name} v${ack.version}: ${res.status}`);
      continue;
    }
    // Exact content, key order included (the registry keeps the client's order).
    const stored = JSON.stringify(pick(res.json));
    if (stored !== JSON.stringify(ack.body)) problems.push(`${ack.name} v${ack.version}: stored ${stored}, acknowledged ${JSON.stringify(ack.body)}`);
  }
  return problems;
}
