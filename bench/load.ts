// Loads one page of a server that is already running, for profiling (docs/performance.md shows how):
//
//   node --import tsx bench/load.ts http://127.0.0.1:3999 position 10
import autocannon from 'autocannon'
import { Assets } from '../src/platform/assets.ts'
import { CSS_COOKIE, STYLESHEET } from '../src/platform/render.ts'
import { openBenchDb, startBenchPostgres } from './common.ts'
import { type BenchUser, loadUsers, shuffled } from './users.ts'

const [base = 'http://127.0.0.1:3999', page = 'position', seconds = '10'] = process.argv.slice(2)
const paths: Record<string, (u: BenchUser) => string> = {
  tenant: (u) => `/t/${u.slug}`,
  position: (u) => `/t/${u.slug}/posizione-debitoria`,
  document: (u) => `/t/${u.slug}/documenti/${u.documentId}`,
  cart: () => '/carrello',
}
const CSS_VERSION = new Assets().named(STYLESHEET).hash
const path = paths[page]
if (!path) throw new Error(`unknown page ${page}: ${Object.keys(paths).join(', ')}`)
startBenchPostgres()
const db = await openBenchDb(1)
const users = shuffled(await loadUsers(db)).filter((u) => page !== 'cart' || u.cartItems > 0)
await db.close()
let i = 0
const r = await autocannon({
  url: base,
  connections: Number(process.env.CONNECTIONS ?? 64),
  duration: Number(seconds),
  requests: [
    {
      method: 'GET',
      setupRequest: (req) => {
        const u = users[i++ % users.length] as BenchUser
        const headers: Record<string, string> = { ...req.headers }
        // a returning browser: the stylesheet cached (render.ts), the session when signed in
        headers.cookie =
          page !== 'tenant' ? `sid=${u.token}; ${CSS_COOKIE}=${CSS_VERSION}` : `${CSS_COOKIE}=${CSS_VERSION}`
        return { ...req, path: path(u), headers }
      },
    },
  ],
})
console.log(
  `${page}: ${Math.round(r.requests.average)} req/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, non-2xx ${r.non2xx}, errors ${r.errors}`,
)
