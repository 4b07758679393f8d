// New config versions, appended in groups: the writes to different configs that arrive together
// commit in one transaction (group-commit.ts collects them), each with its own outcome.
//
// Why a group: each commit costs a flush of the log to disk (SQLite's WAL with synchronous=FULL,
// which better-sqlite3 runs on the event loop itself, so nothing else runs meanwhile; PostgreSQL's
// WAL), and on PostgreSQL every write also holds the change feed's counter row from its event to
// its commit (event-log.ts), so writes to different configs committed one at a time, one flush
// each. In a group they share the flush and the counter is taken once.
//
// Each append keeps its own outcome: one whose head moved (a lost compare-and-set, the If-Match
// of another replica's write) or whose classes changed fails alone and the others commit. A
// failure must leave nothing of its append behind, and on PostgreSQL an error aborts the whole
// transaction, so there every check that can fail runs before the append writes anything: the
// classes are checked (and share-locked) for the whole group first, a new config's head is
// inserted with ON CONFLICT DO NOTHING, and a moved head is an UPDATE of no row. On SQLite
// (savepoints are statements in this process, not round trips) each append of a group runs in a
// savepoint and is rolled back to it; the class check stays after the compare-and-set, so that the
// transaction's first statement is a write and it holds the file's write lock from its start.
import type { AppendOutcome, AppendVersion, ClassRef, ConfigHead, NewEvent } from '../registry/store.js';
import {
  CREATE_HEAD,
  DELETE_CLASS_REFS,
  DELETE_LABELS,
  INSERT_VERSION,
  insertClassRefs,
  insertLabels,
  insertVersions,
  LOCK_CLASSES_PG,
  LOCK_HEADS_PG,
  CREATE_HEADS_PG,
  MOVE_HEAD,
  MOVE_HEADS_PG,
  selectClasses,
  TRY_SHARED_WRITE_LOCKS_PG,
  WAIT_FOR_EXCLUSIVE_WRITER,
} from './config-statements.js';
import { asBoolean, asDate, statement, type DriverSql, type Row, type SqlRunner, type SqlValue } from './driver-sql.js';
import { appendEvents } from './event-log.js';
import { isForeignKeyViolation, isUniqueViolation } from './store-errors.js';

/**
 * The first key of the PostgreSQL advisory locks that order writers of one config (the second is
 * hashtext(name)). Two-key advisory locks never collide with single-key ones such as Prisma
 * Migrate's.
 */
export const CONFIG_WRITE_LOCK = 0x63636672;

/** Thrown inside a transaction to roll it back when the compare-and-set on the head fails. */
export class HeadMoved extends Error {}

/** Thrown inside a transaction when a class the version names is gone or no longer fromObserved. */
export class ClassesChanged extends Error {}

/** Thrown out of a one-append group to roll its transaction back with this outcome. */
class Refused extends Error {
  constructor(readonly outcome: AppendOutcome) {
    super('refused');
  }
}

/**
 * An append of the group could not take its config's write lock at once (another process's
 * writer holds it exclusively, see writeExclusively): it runs on its own, waiting for the lock,
 * so that the group does not wait.
 */
export const ALONE = 'alone';

export type GroupOutcome = AppendOutcome | typeof ALONE;

const SAVEPOINT = statement('SAVEPOINT registry_append');
const ROLLBACK_TO_SAVEPOINT = statement('ROLLBACK TO SAVEPOINT registry_append');
const RELEASE_SAVEPOINT = statement('RELEASE SAVEPOINT registry_append');

/** What a failed append answers; anything else is not an append's own failure. */
export function appendFailure(error: unknown): AppendOutcome {
  if (error instanceof HeadMoved || isUniqueViolation(error)) return { ok: false, reason: 'conflict' };
  if (error instanceof ClassesChanged || isForeignKeyViolation(error)) return { ok: false, reason: 'missing-class' };
  throw error;
}

/**
 * Appends the group in one transaction; the outcomes are in the order of `appends`. Committed
 * when this resolves. Throws when the transaction as a whole failed (then nothing of it is stored).
 */
export async function appendGroup(
  sql: DriverSql,
  appends: readonly AppendVersion[],
  options: { waitForLock?: boolean } = {},
): Promise<GroupOutcome[]> {
  const outcomes: GroupOutcome[] = new Array<GroupOutcome>(appends.length);
  try {
    await sql.transaction(async (tx) => {
      // In name order, so that two groups (of two replicas) lock the heads they share in the same
      // order and never wait for each other in a cycle.
      const todo = appends.map((append, at) => ({ append, at })).sort((a, b) => compare(a.append.version.name, b.append.version.name));
      const appended =
        tx.kind === 'postgresql'
          ? await appendOnPostgres(tx, await prepareOnPostgres(tx, todo, outcomes, options.waitForLock ?? false), outcomes)
          : await appendOnSqlite(tx, todo, outcomes);
      // Last, once every append of the group is certain (see event-log.ts).
      await appendEvents(tx, appended.map(versionCreated));
    });
  } catch (error) {
    if (error instanceof Refused) return [error.outcome];
    throw error;
  }
  return outcomes;
}

/** SQLite: each append whole, alone in the transaction or in a savepoint of its own; answers those that succeeded. */
async function appendOnSqlite(tx: SqlRunner, todo: Pending[], outcomes: GroupOutcome[]): Promise<AppendVersion[]> {
  const appended: AppendVersion[] = [];
  for (const { append, at } of todo) {
    const outcome = todo.length === 1 ? await appendOrRefuse(tx, append) : await appendInSavepoint(tx, append);
    outcomes[at] = outcome;
    if (outcome.ok) appended.push(append);
  }
  return appended;
}

/**
 * PostgreSQL, after prepareOnPostgres: each head's compare-and-set (a moved head writes nothing),
 * then the version rows of all that moved in one statement, then their label and class rows.
 */
async function appendOnPostgres(tx: SqlRunner, todo: Pending[], outcomes: GroupOutcome[]): Promise<AppendVersion[]> {
  const moved: Array<Pending & { row: Row }> = [];
  const heads = await moveHeadsOnPostgres(tx, todo);
  for (const pending of todo) {
    const row = heads.get(pending);
    if (row === undefined) outcomes[pending.at] = { ok: false, reason: 'conflict' };
    else moved.push({ ...pending, row });
  }
  if (moved.length === 0) return [];
  await tx.execute(insertVersions(moved.length), moved.flatMap((m) => versionValues(m.append)));
  for (const { append, at, row } of moved) {
    await writeIndexRows(tx, append);
    outcomes[at] = { ok: true, head: headAfter(append, row), rowVersion: String(row.row_version) };
  }
  return moved.map((m) => m.append);
}

type Pending = { append: AppendVersion; at: number };

/**
 * PostgreSQL: every compare-and-set of the group (`todo` is in name order), as moveHead does one
 * by one, in a statement for the new configs and two for the others (their heads locked in name
 * order, then moved), instead of one round trip per append: through the driver adapter each
 * statement costs ~200 µs of CPU, and a group of 32 spent most of its time on them. A group that
 * names a config twice (the write queue normally prevents it) goes one by one, so that the
 * second append sees the first one's head.
 *
 * The creates go before the moves' locks, not interleaved with them by name as one by one, and
 * still no two groups can wait for each other in a cycle: a create waits only for another
 * group's uncommitted insert of the same name (both insert in name order), and a group waiting
 * there holds only its own earlier inserts, no locked rows; a move's lock waits only for a
 * committed row, which another group locks only once its creates are done, and it cannot see
 * (so cannot wait for) another group's uncommitted inserts.
 */
async function moveHeadsOnPostgres(tx: SqlRunner, todo: Pending[]): Promise<Map<Pending, Row>> {
  const heads = new Map<Pending, Row>();
  const names = new Set(todo.map((p) => p.append.version.name));
  if (todo.length < 2 || names.size < todo.length) {
    for (const pending of todo) {
      const row = await moveHead(tx, pending.append);
      if (row !== undefined) heads.set(pending, row);
    }
    return heads;
  }
  const creates = todo.filter((p) => p.append.expectedLatest === 0);
  const moves = todo.filter((p) => p.append.expectedLatest !== 0);
  const rows: Row[] = [];
  if (creates.length > 0) {
    rows.push(
      ...(await tx.rows(CREATE_HEADS_PG, [creates.map((p) => p.append.version.name), creates.map((p) => utcText(p.append.version.createdAt))])),
    );
  }
  if (moves.length > 0) {
    const moveNames = moves.map((p) => p.append.version.name);
    await tx.rows(LOCK_HEADS_PG, [moveNames]);
    rows.push(
      ...(await tx.rows(MOVE_HEADS_PG, [
        moveNames,
        moves.map((p) => String(p.append.expectedLatest)),
        moves.map((p) => utcText(p.append.version.createdAt)),
      ])),
    );
  }
  const byName = new Map(rows.map((row) => [String(row.name), row]));
  for (const pending of todo) {
    const row = byName.get(pending.append.version.name);
    if (row !== undefined) heads.set(pending, row);
  }
  return heads;
}

/** A time as the `timestamp(3)` columns hold it (UTC, without an offset), as the adapter binds a Date. */
function utcText(at: Date): string {
  return at.toISOString().replace('T', ' ').slice(0, -1);
}

/**
 * PostgreSQL, before anything is written: each config's write lock, shared (those held
 * exclusively now go ALONE, unless `wait`), and every class the group names, share-locked and
 * checked (a version naming one that is gone fails alone). Answers the appends still to run.
 */
async function prepareOnPostgres(tx: SqlRunner, todo: Pending[], outcomes: GroupOutcome[], wait: boolean): Promise<Pending[]> {
  const toLock = todo.filter((p) => !p.append.holdsWriteLock).map((p) => p.append.version.name);
  if (wait) {
    for (const name of toLock) await tx.execute(WAIT_FOR_EXCLUSIVE_WRITER, [CONFIG_WRITE_LOCK, name]);
  } else if (toLock.length > 0) {
    const rows = await tx.rows(TRY_SHARED_WRITE_LOCKS_PG, [CONFIG_WRITE_LOCK, toLock]);
    const busy = new Set(rows.filter((r) => !asBoolean(r.locked)).map((r) => String(r.name)));
    if (busy.size > 0) {
      todo = todo.filter((p) => {
        if (p.append.holdsWriteLock || !busy.has(p.append.version.name)) return true;
        outcomes[p.at] = ALONE;
        return false;
      });
    }
  }
  const checked = todo.filter((p) => p.append.changed.classRefs && p.append.classRefs.length > 0);
  if (checked.length === 0) return todo;
  const ids = [...new Set(checked.flatMap((p) => p.append.classRefs.map((r) => r.classId)))].sort(compare);
  const rows = await tx.rows(LOCK_CLASSES_PG, [ids]);
  const fromObserved = new Map(rows.map((r) => [String(r.id), asBoolean(r.from_observed)]));
  return todo.filter((p) => {
    if (!p.append.changed.classRefs || classesUsable(p.append.classRefs, fromObserved)) return true;
    outcomes[p.at] = { ok: false, reason: 'missing-class' };
    return false;
  });
}

/** SQLite, alone in its transaction: a failure rolls the whole transaction back. */
async function appendOrRefuse(tx: SqlRunner, append: AppendVersion): Promise<AppendOutcome> {
  try {
    return { ok: true, head: await writeVersion(tx, append) };
  } catch (error) {
    throw new Refused(appendFailure(error));
  }
}

/** SQLite, one of a group: a failure rolls back to the savepoint, the group goes on. */
async function appendInSavepoint(tx: SqlRunner, append: AppendVersion): Promise<AppendOutcome> {
  await tx.execute(SAVEPOINT);
  try {
    const head = await writeVersion(tx, append);
    await tx.execute(RELEASE_SAVEPOINT);
    return { ok: true, head };
  } catch (error) {
    const failure = appendFailure(error);
    await tx.execute(ROLLBACK_TO_SAVEPOINT);
    await tx.execute(RELEASE_SAVEPOINT);
    return failure;
  }
}

/**
 * SQLite: the append's statements but its event. Throws HeadMoved when the head moved (nothing
 * written then), ClassesChanged when a class it newly names is unusable.
 */
async function writeVersion(tx: SqlRunner, append: AppendVersion): Promise<ConfigHead> {
  const row = await moveHead(tx, append);
  if (row === undefined) throw new HeadMoved();
  if (append.changed.classRefs) await checkClassesUsable(tx, append.classRefs);
  await tx.execute(INSERT_VERSION, versionValues(append));
  await writeIndexRows(tx, append);
  return headAfter(append, row);
}

/** The compare-and-set on the head (the one point where racing writers are serialised): its row, or none when it moved. */
async function moveHead(tx: SqlRunner, { version, expectedLatest }: AppendVersion): Promise<Row | undefined> {
  const [row] =
    expectedLatest === 0
      ? await tx.rows(CREATE_HEAD, [version.name, version.createdAt, version.createdAt])
      : await tx.rows(MOVE_HEAD, [expectedLatest + 1, version.createdAt, version.name, expectedLatest, false]);
  return row;
}

function versionValues({ version }: AppendVersion): SqlValue[] {
  return [
    version.name,
    version.version,
    version.configJson,
    version.description,
    JSON.stringify(version.labels),
    version.contentHash,
    version.createdAt,
    version.updatedBy,
  ];
}

/** The label and class-reference rows, when they changed (unchanged ones stay: the moved head proves them current). */
async function writeIndexRows(tx: SqlRunner, { version, expectedLatest, classRefs, changed }: AppendVersion): Promise<void> {
  const { name } = version;
  const replaced = expectedLatest > 0;
  if (changed.labels) {
    if (replaced) await tx.execute(DELETE_LABELS, [name]);
    if (Object.keys(version.labels).length > 0) {
      const insert = insertLabels(name, version.labels);
      await tx.execute(insert.statement, insert.args);
    }
  }
  if (changed.classRefs) {
    if (replaced) await tx.execute(DELETE_CLASS_REFS, [name]);
    if (classRefs.length > 0) {
      const insert = insertClassRefs(name, classRefs);
      await tx.execute(insert.statement, insert.args);
    }
  }
}

function headAfter({ version, expectedLatest }: AppendVersion, row: Row): ConfigHead {
  return {
    name: version.name,
    latestVersion: expectedLatest + 1,
    deleted: false,
    deletedAt: null,
    createdAt: asDate(row.created_at),
    updatedAt: version.createdAt,
  };
}

function versionCreated(append: AppendVersion): NewEvent {
  const { version } = append;
  return { type: 'config.version_created', at: version.createdAt, by: version.updatedBy, name: version.name, version: version.version };
}

/**
 * Re-checks, inside the writing transaction, what the registry validated before it: every class
 * the version names is registered, and every quantized one still has fromObserved. On
 * PostgreSQL the rows are share-locked until commit, so a concurrent class update or delete
 * waits for this write (and then sees its references) or this write waits for it (and then
 * sees its result); without the lock a fromObserved change and a write could each miss the
 * other. SQLite runs one write transaction at a time, so reading is enough there.
 */
export async function checkClassesUsable(tx: SqlRunner, refs: readonly ClassRef[]): Promise<void> {
  if (refs.length === 0) return;
  const ids = [...new Set(refs.map((r) => r.classId))].sort(compare);
  const rows = tx.kind === 'postgresql' ? await tx.rows(LOCK_CLASSES_PG, [ids]) : await tx.rows(selectClasses(ids.length), ids);
  if (!classesUsable(refs, new Map(rows.map((r) => [String(r.id), asBoolean(r.from_observed)])))) throw new ClassesChanged();
}

/** Every class the version names is registered, and every quantized one has fromObserved. */
function classesUsable(refs: readonly ClassRef[], fromObserved: Map<string, boolean>): boolean {
  return refs.every((ref) => {
    const current = fromObserved.get(ref.classId);
    return current !== undefined && (!ref.asQuantized || current);
  });
}

/** Code-unit order, the order of the databases' `C` collation and of SQLite's BINARY one. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
