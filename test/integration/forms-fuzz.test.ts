// Generated submissions against every form the application shows (found by reading its pages as a
// citizen, an office administrator and a platform operator): never a 5xx, whatever is typed.
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { createApp } from '../../src/app.ts'
import type { Db } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { addMembership, createAccount, deleteAccounts, signedIn, type TestAccount } from '../helpers/accounts.ts'
import { testApp } from '../helpers/app.ts'
import type { Client } from '../helpers/client.ts'
import { createTestTenant, dropTestTenant, openTestDb } from '../helpers/db.ts'
import { givePayer, issue } from '../helpers/payments.ts'

const TOTAL = Number(process.env.FUZZ_SUBMISSIONS ?? 10_000)
// forms whose every submission costs a password hash: fewer runs, same coverage of shapes
const SLOW = [
  '/accesso',
  '/registrazione',
  '/profilo/password',
  '/profilo/elimina',
  '/reimposta-password/',
  '/accesso/spid',
]

let db: Db
let app: ReturnType<typeof createApp>
let tenant: Tenant
const accounts: TestAccount[] = []

interface Form {
  who: string
  page: string
  action: string
  fields: string[]
}

function formsIn(html: string, page: string, who: string): Form[] {
  const out: Form[] = []
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)) {
    const attrs = m[1] as string
    if (!/method="post"/i.test(attrs)) continue
    const action = /action="([^"]+)"/.exec(attrs)?.[1]
    if (!action?.startsWith('/')) continue
    const fields = [
      ...new Set(
        [...(m[2] as string).matchAll(/<(?:input|select|textarea)\b[^>]*name="([^"]+)"/g)].map((x) => x[1] as string),
      ),
    ]
    out.push({ who, page, action: action.replace(/&amp;/g, '&'), fields: fields.filter((f) => f !== '_csrf') })
  }
  return out
}

const value = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.integer({ min: -1e9, max: 1e12 }).map(String),
  fc.constantFrom(
    '',
    ' ',
    'si',
    'no',
    '0',
    '-1',
    '1,5',
    '1.234,56',
    '31/02/2026',
    '2026-13-01',
    "'; drop table payers; --",
    '<b>x</b>',
    'a'.repeat(5000),
    'RSSMRA80A01I726K',
    'x@example.it',
    '999999999999999999999',
  ),
)

beforeAll(async () => {
  db = await openTestDb()
  tenant = await createTestTenant(db)
  app = testApp(db).app
  const citizen = await createAccount(db)
  const admin = await createAccount(db)
  const operator = await createAccount(db, { operator: true })
  accounts.push(citizen, admin, operator)
  await addMembership(db, admin.id, tenant.id, 'admin')
  const payer = await givePayer(db, tenant, citizen.codiceFiscale)
  await issue(db, tenant, payer, [1000, 2000])
})

afterAll(async () => {
  await deleteAccounts(db, accounts)
  await dropTestTenant(db, tenant)
  await db.close()
})

describe('form fuzzing', () => {
  it(`answers ${TOTAL} generated submissions without a server error`, async () => {
    const clients: Record<string, Client> = {
      cittadino: await signedIn(app, accounts[0] as TestAccount),
      admin: await signedIn(app, accounts[1] as TestAccount),
      operatore: await signedIn(app, accounts[2] as TestAccount),
    }
    // discover the forms: every GET route without parameters, plus the tenant's pages
    const pages = new Set<string>()
    for (const r of app.routes) {
      if (r.method !== 'GET' || r.path.includes('*')) continue
      const p = r.path.replace(':tenant', tenant.slug)
      if (!p.includes(':')) pages.add(p)
    }
    const [doc] = await db.sql`select 1`
    expect(doc).toBeTruthy()
    const forms: Form[] = []
    for (const [who, client] of Object.entries(clients)) {
      for (const page of pages) {
        const res = await client.get(page)
        if (res.status !== 200 || !(res.headers.get('content-type') ?? '').includes('html')) continue
        forms.push(...formsIn(client.lastHtml, page, who))
      }
    }
    const unique = [...new Map(forms.map((f) => [`${f.who} ${f.action}`, f])).values()].filter(
      (f) => !['/esci', '/esci-ovunque'].includes(f.action),
    )
    expect(unique.length).toBeGreaterThan(8)
    const slow = unique.filter((f) => SLOW.some((s) => f.action.startsWith(s)))
    const fast = unique.filter((f) => !slow.includes(f))
    const perSlow = 20
    const perFast = Math.max(20, Math.ceil((TOTAL - perSlow * slow.length) / Math.max(1, fast.length)))
    const failures: string[] = []
    let sent = 0
    for (const form of unique) {
      const client = clients[form.who] as Client
      await client.get(form.page)
      const csrf = client.csrf()
      const runs = slow.includes(form) ? perSlow : perFast
      const samples = fc.sample(fc.tuple(...form.fields.map(() => value), fc.boolean()), runs)
      for (const sample of samples) {
        const keepAll = sample[sample.length - 1] as boolean
        const body: Record<string, string> = {}
        form.fields.forEach((f, i) => {
          if (keepAll || i % 2 === 0) body[f] = sample[i] as string
        })
        const res = await client.post(form.action, body, csrf)
        sent++
        if (res.status >= 500)
          failures.push(`${form.who} ${form.action} ${JSON.stringify(body).slice(0, 200)}: ${res.status}`)
        // a signed-out client (logout, deletion) would only test the login redirect from here on
        if (!client.cookies.get('sid')) break
      }
    }
    console.log(`form fuzzing: ${unique.length} forms, ${sent} submissions`)
    expect(failures.slice(0, 20)).toEqual([])
    expect(sent).toBeGreaterThanOrEqual(Math.min(TOTAL, 2000))
  }, 600_000)
})
