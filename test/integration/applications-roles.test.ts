// The role matrix of the office routes of payment control, applications and tenant documents: who reads,
// who changes, who is sent to log in, who is refused. The lettore never changes anything.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { createApp } from '../../src/app.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { addMembership, createAccount, deleteAccounts, signedIn, type TestAccount } from '../helpers/accounts.ts'
import { testApp } from '../helpers/app.ts'
import { Client } from '../helpers/client.ts'
import { createTestTenant, dropTestTenant, openTestDb } from '../helpers/db.ts'

let db: Db
let app: ReturnType<typeof createApp>
let x: Tenant
let y: Tenant
const accounts: Record<string, TestAccount> = {}
const ids = { form: 0, application: 0, document: 0 }

type Actor = 'anonimo' | 'cittadino' | 'lettore' | 'operatore' | 'admin' | 'adminAltroEnte' | 'operatorePiattaforma'
const ACTORS: Actor[] = [
  'anonimo',
  'cittadino',
  'lettore',
  'operatore',
  'admin',
  'adminAltroEnte',
  'operatorePiattaforma',
]

beforeAll(async () => {
  db = await openTestDb()
  ;[x, y] = await Promise.all([createTestTenant(db), createTestTenant(db)])
  app = testApp(db).app
  for (const a of ACTORS.slice(1)) accounts[a] = await createAccount(db, { operator: a === 'operatorePiattaforma' })
  await addMembership(db, (accounts.lettore as TestAccount).id, x.id, 'lettore')
  await addMembership(db, (accounts.operatore as TestAccount).id, x.id, 'operatore')
  await addMembership(db, (accounts.admin as TestAccount).id, x.id, 'admin')
  await addMembership(db, (accounts.adminAltroEnte as TestAccount).id, y.id, 'admin')
  const citizen = accounts.cittadino as TestAccount
  await withTenant(db.sql, x, async (tx) => {
    const [f] = await tx<{ id: number }[]>`
      insert into application_forms (service_id, title, fields)
      select id, 'Iscrizione al trasporto', '{startDate}' from services where code = 'trasporto' returning id`
    ids.form = (f as { id: number }).id
    const [a] = await tx<{ id: number }[]>`
      insert into applications (kind, service_id, status, account_id, applicant_cf, applicant_given_name,
        applicant_family_name, answers, submitted_at)
      select 'dieta', null, 'inviata', ${citizen.id}, ${citizen.codiceFiscale}, 'Prova', 'Utente',
        '{"dietDescription": "Senza glutine"}'::jsonb, now()
      returning id`
    ids.application = (a as { id: number }).id
    await tx`insert into application_attachments (application_id, file_name, content_type, size_bytes, sha256, content)
             values (${ids.application}, 'certificato.pdf', 'application/pdf', 5, 'x', ${new TextEncoder().encode('%PDF-')})`
    const [d] = await tx<{ id: number }[]>`
      insert into tenant_documents (title, category, file_name, size_bytes, sha256, content, updated_by_name)
      values ('Regolamento', 'regolamento', 'regolamento.pdf', 5, 'x', ${new TextEncoder().encode('%PDF-')}, 'Prova')
      returning id`
    ids.document = (d as { id: number }).id
  })
})

afterAll(async () => {
  await deleteAccounts(db, Object.values(accounts))
  await dropTestTenant(db, x)
  await dropTestTenant(db, y)
  await db.close()
})

interface Route {
  method: 'GET' | 'POST'
  path: () => string
  form?: Record<string, string>
  allowed: Actor[]
}

const readers: Actor[] = ['lettore', 'operatore', 'admin']
const writers: Actor[] = ['operatore', 'admin']
const admins: Actor[] = ['admin']
const office = (rest: string) => () => `/t/${x.slug}/ufficio${rest}`

const ROUTES: Route[] = [
  // payment control: every role reads, nothing changes
  { method: 'GET', path: office('/pagamenti'), allowed: readers },
  { method: 'GET', path: office('/pagamenti/alunni'), allowed: readers },
  { method: 'GET', path: office('/pagamenti/morosi'), allowed: readers },
  { method: 'GET', path: office('/pagamenti/transazioni'), allowed: readers },
  ...['servizi', 'pagatori', 'alunni', 'morosi', 'transazioni'].map(
    (v): Route => ({ method: 'GET', path: office(`/pagamenti/esporta/${v}.csv`), allowed: readers }),
  ),
  // applications: every role reads; admin and operatore handle; admin defines the forms
  { method: 'GET', path: office('/istanze'), allowed: readers },
  { method: 'GET', path: () => `/t/${x.slug}/ufficio/istanze/${ids.application}`, allowed: readers },
  { method: 'GET', path: () => `/t/${x.slug}/ufficio/istanze/${ids.application}/allegato`, allowed: readers },
  { method: 'POST', path: () => `/t/${x.slug}/ufficio/istanze/${ids.application}/presa-in-carico`, allowed: writers },
  { method: 'POST', path: () => `/t/${x.slug}/ufficio/istanze/${ids.application}/decisione`, allowed: writers },
  { method: 'GET', path: office('/istanze/moduli'), allowed: readers },
  { method: 'GET', path: office('/istanze/moduli/nuovo'), allowed: admins },
  { method: 'POST', path: office('/istanze/moduli/nuovo'), allowed: admins },
  { method: 'GET', path: () => `/t/${x.slug}/ufficio/istanze/moduli/${ids.form}`, allowed: admins },
  { method: 'POST', path: () => `/t/${x.slug}/ufficio/istanze/moduli/${ids.form}`, allowed: admins },
  // tenant documents: every role reads; admin and operatore publish, replace and delete
  { method: 'GET', path: office('/documenti-ente'), allowed: readers },
  { method: 'POST', path: office('/documenti-ente'), allowed: writers },
  { method: 'GET', path: () => `/t/${x.slug}/ufficio/documenti-ente/${ids.document}`, allowed: writers },
  { method: 'POST', path: () => `/t/${x.slug}/ufficio/documenti-ente/${ids.document}`, allowed: writers },
  { method: 'GET', path: () => `/t/${x.slug}/ufficio/documenti-ente/${ids.document}/elimina`, allowed: writers },
  { method: 'POST', path: office('/documenti-ente/999999999/elimina'), allowed: writers },
]

async function clientFor(actor: Actor): Promise<Client> {
  if (actor === 'anonimo') return new Client(app)
  return signedIn(app, accounts[actor] as TestAccount)
}

describe('office routes of control, applications and documents', () => {
  it('answer each actor as its role allows', async () => {
    const failures: string[] = []
    for (const actor of ACTORS) {
      const client = await clientFor(actor)
      for (const route of ROUTES) {
        await client.get(actor === 'anonimo' ? '/accesso' : '/')
        const res =
          route.method === 'GET' ? await client.get(route.path()) : await client.post(route.path(), route.form ?? {})
        const allowed = route.allowed.includes(actor)
        // an allowed change answers with its redirect, a form with errors, not found or "already done"
        const expected =
          actor === 'anonimo' ? [303] : allowed ? (route.method === 'GET' ? [200] : [303, 404, 409, 422]) : [403]
        if (!expected.includes(res.status))
          failures.push(`${actor} ${route.method} ${route.path()}: ${res.status}, expected ${expected}`)
        if (actor === 'anonimo' && !(res.headers.get('location') ?? '').startsWith('/accesso'))
          failures.push(`anonimo ${route.method} ${route.path()}: not sent to log in`)
      }
    }
    expect(failures).toEqual([])
  })

  it('the citizen pages of applications ask to log in', async () => {
    const anon = new Client(app)
    for (const path of ['/istanze', '/istanze/nuova/indirizzo', `/istanze/${ids.application}`]) {
      const res = await anon.get(`/t/${x.slug}${path}`)
      expect(res.status, path).toBe(303)
      expect(res.headers.get('location'), path).toMatch(/^\/accesso\?torna=/)
    }
  })

  it("another tenant's staff cannot see this tenant's applications or exports", async () => {
    const c = await clientFor('adminAltroEnte')
    expect((await c.get(`/t/${x.slug}/ufficio/istanze/${ids.application}`)).status).toBe(403)
    // and in their own tenant the same id is not found
    expect((await c.get(`/t/${y.slug}/ufficio/istanze/${ids.application}`)).status).toBe(404)
    expect((await c.get(`/t/${y.slug}/ufficio/documenti-ente/${ids.document}`)).status).toBe(404)
  })
})
