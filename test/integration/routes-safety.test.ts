// Every route of the application, as every kind of visitor, with ordinary, missing and hostile values:
// never a 5xx, unsafe methods refused without the CSRF token, hostile text never echoed as markup.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { createApp } from '../../src/app.ts'
import type { Db } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { addMembership, createAccount, deleteAccounts, signedIn, type TestAccount } from '../helpers/accounts.ts'
import { testApp } from '../helpers/app.ts'
import { Client } from '../helpers/client.ts'
import { createTestTenant, dropTestTenant, openTestDb } from '../helpers/db.ts'

let db: Db
let app: ReturnType<typeof createApp>
let tenant: Tenant
const accounts: TestAccount[] = []
let clients: Record<string, Client>

const HOSTILE = [
  "1' or '1'='1",
  "'; drop table payers; --",
  '<script>alert(1)</script>',
  '%00',
  '../../etc/passwd',
  '9'.repeat(30),
  '-1',
]
const EXEMPT = ['/sandbox-psp/', '/pagamenti/notifica/', '/pagopa/']

interface RouteInfo {
  method: string
  path: string
}

function routes(): RouteInfo[] {
  const seen = new Set<string>()
  const out: RouteInfo[] = []
  for (const r of app.routes) {
    if (r.method === 'ALL' || r.path.endsWith('*')) continue
    const key = `${r.method} ${r.path}`
    if (seen.has(key)) continue
    seen.add(key)
    out.push({ method: r.method, path: r.path })
  }
  return out
}

/** Fills a route pattern: the tenant slug, numbers, tokens, file names; or a hostile value everywhere. */
function fill(path: string, value?: string): string {
  return path.replace(/:([a-zA-Z]+)(\{[^}]*\})?/g, (_, name: string, re?: string) => {
    if (name === 'tenant') return tenant.slug
    // a file name keeps its extension, so the hostile part reaches the handler
    if (value !== undefined) return encodeURIComponent(value) + (re?.includes('pdf') ? '.pdf' : '')
    if (re?.includes('pdf')) return '999999.pdf'
    if (name === 'token') return 'A'.repeat(43)
    if (name === 'lang') return 'en'
    if (name === 'provider') return 'sandbox'
    return '999999'
  })
}

beforeAll(async () => {
  db = await openTestDb()
  tenant = await createTestTenant(db)
  app = testApp(db).app
  const citizen = await createAccount(db)
  const admin = await createAccount(db)
  const operator = await createAccount(db, { operator: true })
  accounts.push(citizen, admin, operator)
  await addMembership(db, admin.id, tenant.id, 'admin')
  clients = {
    anonimo: new Client(app),
    cittadino: await signedIn(app, citizen),
    admin: await signedIn(app, admin),
    operatore: await signedIn(app, operator),
  }
})

afterAll(async () => {
  await deleteAccounts(db, accounts)
  await dropTestTenant(db, tenant)
  await db.close()
})

describe('every route', () => {
  it('knows a good number of routes', () => {
    expect(routes().length).toBeGreaterThan(30)
  })

  it('an unknown tenant in any tenant route is a 404', async () => {
    for (const r of routes().filter((x) => x.method === 'GET' && x.path.includes(':tenant'))) {
      const path = fill(r.path).replace(`/t/${tenant.slug}`, '/t/nessun-ente')
      expect((await clients.cittadino?.get(path))?.status, path).toBe(404)
    }
  })

  it('never answers 5xx to any visitor, with ordinary or hostile parameters', async () => {
    const failures: string[] = []
    for (const [who, client] of Object.entries(clients)) {
      for (const r of routes()) {
        for (const value of [undefined, ...HOSTILE]) {
          const path = fill(r.path, value)
          let res: Response
          if (r.method === 'GET') res = await client.get(path)
          else {
            await client.get(who === 'anonimo' ? '/accesso' : '/profilo')
            res = await client.post(path, { email: value ?? 'x', id: value ?? '1', importo: value ?? '1' })
          }
          if (res.status >= 500) failures.push(`${who} ${r.method} ${path}: ${res.status}`)
          const type = res.headers.get('content-type') ?? ''
          if (value?.startsWith('<script') && type.includes('html')) {
            const body = await res.text()
            if (body.includes('<script>alert(1)</script>')) failures.push(`${who} ${r.method} ${path}: echoed markup`)
          }
        }
      }
    }
    expect(failures).toEqual([])
  }, 300_000)

  it('refuses every unsafe request without the CSRF token (except signed server-to-server endpoints)', async () => {
    const failures: string[] = []
    for (const [who, client] of Object.entries(clients)) {
      for (const r of routes().filter((x) => x.method !== 'GET')) {
        const path = fill(r.path)
        const res = await client.post(path, { x: '1' }, null)
        const exempt = EXEMPT.some((p) => path.startsWith(p))
        if (exempt ? res.status >= 500 : res.status !== 403) failures.push(`${who} ${r.method} ${path}: ${res.status}`)
      }
    }
    expect(failures).toEqual([])
  })

  it('never redirects to another site or splits headers through a return address', async () => {
    for (const torna of ['//evil.example', 'https://evil.example', '/ok\r\nSet-Cookie: x=1', '/\\evil.example']) {
      const res = await app.request(`/lingua/it?torna=${encodeURIComponent(torna)}`)
      expect(res.headers.get('location')).toBe('/')
      expect(res.headers.get('set-cookie') ?? '').not.toContain('x=1')
    }
  })
})
