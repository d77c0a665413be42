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
  /** the pool the lanes share their parsed options with has read the database's array types */
  typesRead?: boolean
  readingTypes?: Promise<void>
}

const lanesOfPool = new WeakMap<Sql, Lanes>()

/** Declares that tenant transactions started on `main` run on these lanes instead (openDatabase). */
export function attachLanes(main: Sql, pools: Sql[]): Lanes {
  if (pools.length < 2) throw new Error('lanes need at least two pools')
  const lanes = { pools, load: pools.map(() => 0) }
  lanesOfPool.set(main, lanes)
  return lanes
}

export function lanesOf(sql: Sql): Lanes | undefined {
  return lanesOfPool.get(sql)
}

/** FNV-1a, 32 bits: a stable spread of schema names over the lanes. */
export function laneHash(s: string): number {
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
export const STEAL_AT = 2

export function pickLane(lanes: Lanes, schema: string): number {
  const load = (i: number) => lanes.load[i] ?? 0
  const [a, b] = homeLanes(schema, lanes.pools.length)
  const pick = load(b) < load(a) ? b : a
  if (load(pick) < STEAL_AT) return pick
  for (let i = 0; i < lanes.load.length; i++) if (load(i) === 0) return i
  return pick
}

/** Runs `run` with the pool of the lane chosen for the tenant, counted as that lane's load while it runs. */
export async function onLane<T>(lanes: Lanes, schema: string, run: (pool: Sql) => Promise<T>): Promise<T> {
  const i = pickLane(lanes, schema)
  const pool = lanes.pools[i] as Sql
  lanes.load[i] = (lanes.load[i] ?? 0) + 1
  try {
    return await run(pool)
  } finally {
    lanes.load[i] = (lanes.load[i] ?? 1) - 1
  }
}

// postgres.js remembers where each statement was written (for its error messages) in a map keyed by the template's
// strings array, which lives as long as the process: the tagged copies made below are new arrays on every call, so
// the map must never see one. The copies' origin is read from a map of our own, keyed by the original array (one per
// place in the code), taken where the statement was written (postgres.js's own would stop in the proxy below).
const ORIGINAL = Symbol('sportello.untaggedStrings')
type QueryLike = { strings: TemplateStringsArray; [ORIGINAL]?: TemplateStringsArray }
const patchedPrototypes = new WeakSet<object>()
const origins = new WeakMap<TemplateStringsArray, Error | string>()

function patchOrigin(query: object): void {
  const proto = Object.getPrototypeOf(query) as object
  if (patchedPrototypes.has(proto)) return
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
  patchedPrototypes.add(proto)
}

/** Where the statement was written: the frames above the proxy's trap, taken once per place in the code. */
function rememberOrigin(strings: TemplateStringsArray): void {
  if (origins.has(strings)) return
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 5
  origins.set(strings, new Error())
  Error.stackTraceLimit = limit
}

function isTemplate(x: unknown): x is TemplateStringsArray {
  return Array.isArray(x) && Array.isArray((x as { raw?: unknown }).raw)
}

/**
 * tx, whose statements start with `/*<tag>*\/ `: every tagged template and unsafe string, savepoints included. Other
 * calls (identifiers, helpers, fragments passed as values) are tx's own.
 */
export function tagged(tx: Tx, tag: string): Tx {
  if (!/^[a-z0-9_]+$/.test(tag)) throw new Error(`invalid statement tag: ${tag}`)
  // a space after the comment: postgres.js finds the keyword before a helper (`insert into t ${tx(rows)}`) only
  // after whitespace or a parenthesis
  const prefix = `/*${tag}*/ `
  return new Proxy(tx, {
    apply(target, thisArg, args: unknown[]) {
      const query = Reflect.apply(target, thisArg, args) as unknown
      const first = args[0]
      if (isTemplate(first) && query && (query as QueryLike).strings === first) {
        const q = query as QueryLike
        patchOrigin(q)
        rememberOrigin(first)
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
      if (prop === 'savepoint')
        return (...args: unknown[]) => {
          const fn = args[args.length - 1] as (sp: Tx) => unknown
          const head = args.slice(0, -1)
          return (target.savepoint as (...a: unknown[]) => unknown)(...head, (sp: Tx) => fn(tagged(sp, tag)))
        }
      return Reflect.get(target, prop, target)
    },
  }) as Tx
}
