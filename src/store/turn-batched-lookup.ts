import DataLoader from 'dataloader';

/**
 * A lookup by key that sends one query for all the keys asked for during one turn of the event
 * loop, instead of one query per key: under load, a replica's reads of a turn share one round
 * trip to the database. DataLoader does the batching, with its cache off (every call is answered
 * by a query of its own batch, never by an earlier answer).
 *
 * What makes it fit for freshness checks: an answer always comes from a query *sent after* the key
 * was asked for. DataLoader adds a key only to a batch it has not dispatched yet; once a batch is
 * dispatched, later keys start the next one. So a caller that asks after some replica's write was
 * acknowledged gets an answer from a snapshot that includes that write.
 *
 * At most `maxInFlight` queries are out at once: keys asked for meanwhile gather into the next
 * batch, dispatched when one returns (DataLoader leaves the moment of dispatch to
 * `batchScheduleFn`). With one in flight a busy replica's reads share a query per round trip, and
 * a read waits between one and two round trips.
 */
export class TurnBatchedLookup<V> {
  readonly #loader: DataLoader<string, V | undefined>;
  #inFlight = 0;
  /** The dispatch of the batch that waits for a query in flight to return. */
  #waiting: (() => void) | undefined;

  constructor(lookup: (keys: string[]) => Promise<Map<string, V>>, maxInFlight = 1) {
    this.#loader = new DataLoader<string, V | undefined>(
      async (keys) => {
        this.#inFlight++;
        try {
          const found = await lookup([...new Set(keys)]);
          return keys.map((key) => found.get(key));
        } finally {
          this.#inFlight--;
          const next = this.#waiting;
          this.#waiting = undefined;
          next?.();
        }
      },
      {
        cache: false,
        batchScheduleFn: (dispatch) => {
          // After the I/O callbacks of this turn, so that every request that arrived with it is in
          // the batch; or, while the limit is reached, when a query returns.
          if (this.#inFlight < maxInFlight) setImmediate(dispatch);
          else this.#waiting = dispatch;
        },
      },
    );
  }

  /** The value for `key` from a query sent after this call (undefined: the query found none). */
  get(key: string): Promise<V | undefined> {
    return this.#loader.load(key);
  }
}
