// Tenant lanes (decision 0091). PostgreSQL keeps the plan of a prepared statement only while the search_path it was
// planned under stays the same; with one statement text for every tenant, a pooled connection that served another
// tenant last planned every statement again on every request (decision 0082: two thirds of a page's database CPU).
// Here a tenant's transactions run on two connections of their own among the pool's (its "lanes"), and their
// statements carry the tenant's schema in their text as a leading comment: postgres.js prepares one statement per
// text and connection, so each prepared statement only ever runs under its own tenant's search_path and keeps its
// plan, and each backend holds the plans and catalog caches of about a fifth of the tenants instead of all of them.
// Isolation does not rest on the comment: the transaction's role and search_path are the tenant's, as before.
import type postgres from 'postgres'

type Sql = postgres.Sql
type Tx = postgres.TransactionSql

export interface Lanes {
  /** one postgres.js pool of one connection per lane */
  pools: Sql[]
  /** transactions running or waiting on each lane */
  load: number[]
  /** how many times each lane's connection closed: a transaction that sees it change lost its connection */
  generations: number[]
  /** when each lane's connection is recycled (between transactions, never under one: see attachLanes) */
  expires: number[]
  /** each lane runs one transaction at a time; the others wait here, first come first served */
  waiting: (() => void)[][]
  held: boolean[]
  /** replaces lane i's pool by a fresh one, the old one ending once its last answer came */
  recycle: (i: number) => void
}

const lanesOfPool = new WeakMap<Sql, Lanes>()

/**
 * Declares that tenant transactions started on `main` run on `n` lanes instead (openDatabase). `open` makes the pool
 * of one connection of a lane and calls `closed` whenever its connection closes. The lanes' connections must be
 * read-only by default (`default_transaction_read_only`): a transaction starts `begin read write`, and a statement
 * that would run outside one, on a connection opened again after a drop, can write nothing.
 */
export function attachLanes(
  main: Sql,
  n: number,
  open: (closed: () => void) => Sql,
  lifetimeMs: () => number = () => (30 + Math.random() * 30) * 60_000,
): Lanes {
  if (n < 2) throw new Error('lanes need at least two pools')
  const lanes: Lanes = {
    pools: [],
    load: new Array<number>(n).fill(0),
    generations: new Array<number>(n).fill(0),
    expires: new Array<number>(n).fill(0),
    waiting: Array.from({ length: n }, () => []),
    held: new Array<boolean>(n).fill(false),
    // postgres.js would end a connection at the end of its life between two statements of a transaction (it sees a
    // connection with nothing in flight): the lanes' pools have no lifetime of their own (max_lifetime null), and a
    // lane is recycled instead when a transaction takes it and its time is up; what the previous transaction still
    // awaits (its COMMIT) finishes on the old pool.
    recycle: (i: number) => {
      const old = lanes.pools[i] as Sql
      lanes.pools[i] = openLane(i)
      old.end({ timeout: 30 }).catch(() => {})
    },
  }
  // A lane whose connection closed gets a fresh pool, and the old one is ended at once: postgres.js can keep a
  // statement sent between a socket error and its close in the dead connection's queue, unanswered, and would match
  // it to the answers of the next connection it opens. Whatever was still waiting on the old pool fails.
  const openLane = (i: number): Sql => {
    const self: { pool?: Sql } = {}
    self.pool = open(() => {
      if (lanes.pools[i] !== self.pool) return
      lanes.generations[i] = (lanes.generations[i] ?? 0) + 1
      const old = self.pool as Sql
      lanes.pools[i] = openLane(i)
      setImmediate(() => {
        old.end({ timeout: 0 }).catch(() => {})
      })
    })
    lanes.expires[i] = Date.now() + lifetimeMs()
    return self.pool
  }
  for (let i = 0; i < n; i++) lanes.pools.push(openLane(i))
  lanesOfPool.set(main, lanes)
  return lanes
}

export function lanesOf(sql: Sql): Lanes | undefined {
  return lanesOfPool.get(sql)
}

/** FNV-1a, 32 bits: a stable spread of schema names over the lanes. */
function laneHash(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** The tenant's two lanes: distinct, spread independently of each other. */
export function homeLanes(schema: string, n: number): [number, number] {
  const h = laneHash(schema)
  const first = h % n
  const second = (first + 1 + (Math.floor(h / n) % (n - 1))) % n
  return [first, second]
}

/**
 * A tenant's transaction leaves its two homes only for an idle lane, and only when both homes have this many
 * transactions already: a tenant with many requests at once spreads over the spare connections (and plans its
 * statements there) rather than queueing behind itself, but when every lane is busy, planning elsewhere would only
 * add work, and it stays home.
 */
export const STEAL_AT = 4

export function pickLane(lanes: Lanes, schema: string): number {
  const load = (i: number) => lanes.load[i] ?? 0
  const [a, b] = homeLanes(schema, lanes.pools.length)
  const pick = load(b) < load(a) ? b : a
  if (load(pick) < STEAL_AT) return pick
  for (let i = 0; i < lanes.load.length; i++) if (load(i) === 0) return i
  return pick
}

/**
 * Runs fn in one transaction on the tenant's lane, its statements tagged with the schema. BEGIN goes out with the
 * first statement (one round trip, not two); COMMIT is checked (a transaction that failed in a statement fn caught
 * answers ROLLBACK to it, and throws here); a transaction whose connection closed under it throws, and whatever fn
 * sends afterwards fails (the lane's old pool is ended) or, in the moment before, runs on a fresh read-only
 * connection outside any transaction: it writes nothing.
 */
export async function laneTransaction<T>(lanes: Lanes, schema: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
  const i = pickLane(lanes, schema)
  lanes.load[i] = (lanes.load[i] ?? 0) + 1
  try {
    await acquire(lanes, i)
    if (Date.now() > (lanes.expires[i] ?? 0)) lanes.recycle(i)
    let released = false
    const handOver = () => {
      if (!released) release(lanes, i)
      released = true
    }
    try {
      return await transactionOn(lanes, i, schema, fn, handOver)
    } finally {
      handOver()
    }
  } finally {
    lanes.load[i] = (lanes.load[i] ?? 1) - 1
  }
}

function acquire(lanes: Lanes, i: number): Promise<void> | undefined {
  if (!lanes.held[i]) {
    lanes.held[i] = true
    return undefined
  }
  return new Promise((resolve) => lanes.waiting[i]?.push(resolve))
}

function release(lanes: Lanes, i: number): void {
  const next = lanes.waiting[i]?.shift()
  if (next) next()
  else lanes.held[i] = false
}

/** An outage, not a bug: its code is one the error page answers with 503 (isDatabaseUnavailable). */
export function connectionClosed(message: string): Error {
  return Object.assign(new Error(message), { code: 'CONNECTION_CLOSED' })
}

const connectionLost = () => connectionClosed('tenant transaction: the connection closed under it')

/**
 * The lane is handed over (`handOver`) as soon as COMMIT or ROLLBACK is on its way, before its answer: the
 * connection runs what it is sent in order, so the next transaction's BEGIN and first statement go out behind it,
 * in the same write when they are ready in time, and this transaction still waits for its own answer.
 */
async function transactionOn<T>(
  lanes: Lanes,
  i: number,
  schema: string,
  fn: (tx: Tx) => Promise<T>,
  handOver: () => void,
): Promise<T> {
  const pool = lanes.pools[i] as Sql
  const generation = lanes.generations[i]
  const lost = () => lanes.generations[i] !== generation
  let ended = false
  // sent at once, written together with fn's first statement
  const begin = pool.unsafe('begin read write')
  const begun = begin.then(
    () => null,
    (err: unknown) => err,
  )
  try {
    const result = await fn(tagged(pool, schema))
    const failed = await begun
    if (failed) throw failed
    if (lost()) throw connectionLost()
    // whether the connection was still this transaction's when COMMIT was answered
    const committed = pool.unsafe('commit').then((done) => ({ done, lost: lost() }))
    await null // postgres.js sends a statement a microtask after it is awaited: COMMIT is queued first
    ended = true
    handOver()
    const { done, lost: cut } = await committed
    if (cut) throw connectionLost()
    if (done.command !== 'COMMIT')
      throw Object.assign(new Error('tenant transaction: a statement failed and the transaction was rolled back'), {
        code: '25P02',
      })
    return result
  } catch (err) {
    await begun
    // a connection that closed rolled the transaction back with it: said as such (an outage: the 503 page)
    if (lost()) throw Object.assign(connectionLost(), { cause: err })
    // COMMIT ended the transaction either way, and the lane is another transaction's now: nothing more to send
    if (ended) throw err
    const rolledBack = pool.unsafe('rollback').catch(() => {})
    await null
    handOver()
    await rolledBack
    throw err
  }
}

// postgres.js remembers where each statement was written (for its error messages) in a map keyed by the template's
// strings array, which lives as long as the process: the tagged copies made below are new arrays on every call, so
// the map must never see one. The copies' origin is read from a map of our own, keyed by the original array (one per
// place in the code), taken where the statement was written (postgres.js's own would stop in the proxy below).
const ORIGINAL = Symbol('sportello.untaggedStrings')
type QueryLike = { strings: TemplateStringsArray; [ORIGINAL]?: TemplateStringsArray }
const origins = new WeakMap<TemplateStringsArray, Error | string>()
let originPatched = false

/** postgres.js's Query reads its origin from ours when the query is a tagged copy. Done once. */
function patchOrigin(query: object): void {
  const proto = Object.getPrototypeOf(query) as object
  const own = Object.getOwnPropertyDescriptor(proto, 'origin')
  if (!own?.get) throw new Error('postgres.js Query has no origin getter: tenant lanes need updating')
  const get = own.get
  Object.defineProperty(proto, 'origin', {
    configurable: true,
    get(this: QueryLike) {
      const original = this[ORIGINAL]
      if (!original) return get.call(this)
      const origin = origins.get(original)
      if (typeof origin === 'string' || origin === undefined) return origin ?? ''
      const stack = origin.stack ?? ''
      origins.set(original, stack)
      return stack
    },
  })
  originPatched = true
}

/** Where the statement was written: the frames above the proxy's trap, taken once per place in the code. */
function rememberOrigin(query: object, strings: TemplateStringsArray): void {
  if (origins.has(strings)) return
  if (!originPatched) patchOrigin(query)
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 5
  origins.set(strings, new Error())
  Error.stackTraceLimit = limit
}

function isTemplate(x: unknown): x is TemplateStringsArray {
  return Array.isArray(x) && Array.isArray((x as { raw?: unknown }).raw)
}

/**
 * A lane's pool as a transaction's sql, whose statements start with `/*<tag>*\/ `: every tagged template and unsafe
 * string, savepoints included. Other calls (identifiers, helpers, fragments passed as values) are the pool's own.
 */
function tagged(pool: Sql, tag: string): Tx {
  if (!/^[a-z0-9_]+$/.test(tag)) throw new Error(`invalid statement tag: ${tag}`)
  // a space after the comment: postgres.js finds the keyword before a helper (`insert into t ${tx(rows)}`) only
  // after whitespace or a parenthesis
  const prefix = `/*${tag}*/ `
  const proxy = new Proxy(pool, {
    apply(target, thisArg, args: unknown[]) {
      const query = Reflect.apply(target, thisArg, args) as unknown
      const first = args[0]
      if (isTemplate(first) && query && (query as QueryLike).strings === first) {
        const q = query as QueryLike
        rememberOrigin(q, first)
        const copy = first.slice() as unknown as string[] & { raw: readonly string[] }
        copy[0] = prefix + first[0]
        copy.raw = first.raw
        q[ORIGINAL] = first
        q.strings = copy as unknown as TemplateStringsArray
      }
      return query
    },
    get(target, prop) {
      if (prop === 'unsafe')
        return (text: string, ...rest: unknown[]) =>
          (target.unsafe as (...a: unknown[]) => unknown)(prefix + text, ...rest)
      // a lane's transaction runs on a pool of one connection, which has no savepoints of its own
      if (prop === 'savepoint')
        return (...args: unknown[]) => savepoint(proxy, args[args.length - 1] as (sp: Tx) => unknown)
      return Reflect.get(target, prop, target)
    },
  }) as unknown as Tx
  return proxy
}

let savepoints = 0

/** A savepoint on a lane's connection: fn's statements undone if it throws, the transaction still usable. */
async function savepoint<T>(tx: Tx, fn: (sp: Tx) => T | Promise<T>): Promise<T> {
  const name = `lane_sp_${++savepoints}`
  await tx.unsafe(`savepoint ${name}`)
  try {
    const out = await fn(tx)
    await tx.unsafe(`release savepoint ${name}`)
    return out
  } catch (err) {
    await tx.unsafe(`rollback to savepoint ${name}`)
    throw err
  }
}
