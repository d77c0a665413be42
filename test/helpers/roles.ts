// The role matrix the *-roles test files walk: every actor against every route, who gets the page, who is sent to
// log in, who is refused; the misses come back as lines, for one expect(…).toEqual([]).
import type { Client } from './client.ts'
import type { Actor } from './world.ts'

export interface Route<A extends string = Actor> {
  method: 'GET' | 'POST'
  path: string | (() => string)
  /** the form a POST sends (none: an empty one) */
  form?: Record<string, string> | (() => Record<string, string>)
  /** the actors the route lets in; anonimo is always sent to log in (303), the others refused (403) */
  allowed: readonly A[]
}

export interface Matrix<A extends string> {
  actors: readonly A[]
  routes: readonly Route<A>[]
  /** what an allowed actor's request may answer (default: a GET 200; a POST its redirect, 404 or 422) */
  answers?: (route: Route<A>, path: string, form: Record<string, string>) => readonly number[]
  /** the page each client opens first, for its CSRF token: before every route (the default), or once */
  refresh?: 'every route' | 'once'
  /** whether anonimo's 303 must go to /accesso (default true) */
  toLogin?: boolean
}

const value = <T>(v: T | (() => T)): T => (typeof v === 'function' ? (v as () => T)() : v)
const usual = (route: Route<string>) => (route.method === 'GET' ? [200] : [303, 404, 422])

/**
 * Walks the matrix with a client for each actor from `from` (a world, test/helpers/world.ts); returns a line for
 * each answer that is not the one the route's roles call for.
 */
export async function roleMatrix<A extends string>(
  from: { client(actor: NoInfer<A>): Promise<Client> },
  m: Matrix<A>,
): Promise<string[]> {
  const failures: string[] = []
  const answers = m.answers ?? usual
  for (const actor of m.actors) {
    const client = await from.client(actor)
    const home = actor === 'anonimo' ? '/accesso' : '/'
    if (m.refresh === 'once') await client.get(home)
    for (const route of m.routes) {
      if (m.refresh !== 'once') await client.get(home)
      const path = value(route.path)
      const form = value(route.form ?? {})
      const res = route.method === 'GET' ? await client.get(path) : await client.post(path, form)
      const expected = actor === 'anonimo' ? [303] : route.allowed.includes(actor) ? answers(route, path, form) : [403]
      if (!expected.includes(res.status))
        failures.push(`${actor} ${route.method} ${path}: ${res.status}, expected ${expected}`)
      if (actor === 'anonimo' && m.toLogin !== false && !(res.headers.get('location') ?? '').startsWith('/accesso'))
        failures.push(`anonimo ${route.method} ${path}: ${res.status} not sent to log in`)
    }
  }
  return failures
}
