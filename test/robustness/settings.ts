// Iteration counts for the robustness suites: small in `npm test` (CI), large under
// `npm run test:soak` (SOAK=1). Each count can also be set on its own.
import { appendFileSync } from 'node:fs';

const soak = process.env.SOAK === '1';

function count(name: string, ci: number, soakValue: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return soak ? soakValue : ci;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
  return value;
}

/** Generated requests per operation and backend. */
export const fuzzRuns = () => count('FUZZ_RUNS', 40, 1000);

/** The seed of the generated requests: FUZZ_SEED, or a fresh one printed with the results. */
export function fuzzSeed(): number {
  const raw = process.env.FUZZ_SEED;
  return raw === undefined || raw === '' ? (Date.now() ^ (process.pid << 16)) | 0 : Number(raw) | 0;
}

/** Concurrent clients and writes per client in the contention suite. */
export const contentionClients = () => count('CONTENTION_CLIENTS', 16, 32);
export const contentionWrites = () => count('CONTENTION_WRITES', 4, 25);
/** Rounds of each race (creates, class deletion vs write, ...). */
export const raceRounds = () => count('RACE_ROUNDS', 6, 60);

/** Writers, and writes per writer, in the feed-order suite (two replicas, one follower). */
export const feedWriters = () => count('FEED_WRITERS', 40, 80);
export const feedWrites = () => count('FEED_WRITES', 5, 25);

/** Racers per round, and rounds, of the If-Match alias race. */
export const aliasRacers = () => count('ALIAS_RACERS', 200, 200);
export const aliasRounds = () => count('ALIAS_ROUNDS', 3, 20);

/** SIGKILLs per crash run. */
export const crashKills = () => count('CRASH_KILLS', 3, 15);

/** Outage cycles (cut, check, restore, check) per outage run. */
export const outageCycles = () => count('OUTAGE_CYCLES', 1, 5);

/** Appends one line of counts to $ROBUSTNESS_REPORT (if set), for the soak summary. */
export function recordCount(what: string, counts: Record<string, number>): void {
  const file = process.env.ROBUSTNESS_REPORT;
  if (file !== undefined && file !== '') appendFileSync(file, `${JSON.stringify({ what, ...counts })}\n`);
}
