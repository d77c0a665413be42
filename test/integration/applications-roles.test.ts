// The role matrix of the office routes of payment control, applications and tenant documents: who reads,
// who changes, who is sent to log in, who is refused. The lettore never changes anything.
import { beforeAll, describe, expect, it } from 'vitest'
import { withTenant } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { Client } from '../helpers/client.ts'
import { type Route, roleMatrix } from '../helpers/roles.ts'
import { ACTORS, type Actor, PEOPLE, world } from '../helpers/world.ts'

const w = world({ roles: PEOPLE })
let x: Tenant
let y: Tenant
const ids = { form: 0, application: 0, document: 0 }

beforeAll(async () => {
  ;({ tenant: x, other: y } = w)
  const citizen = w.accounts.cittadino
  await withTenant(w.db.sql, x, async (tx) => {
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

describe('office routes of control, applications and documents', () => {
  it('answer each actor as its role allows', async () => {
    const failures = await roleMatrix(w, {
      actors: ACTORS,
      routes: ROUTES,
      // an allowed change answers with its redirect, a form with errors, not found or "already done"
      answers: (route) => (route.method === 'GET' ? [200] : [303, 404, 409, 422]),
    })
    expect(failures).toEqual([])
  })

  it('the citizen pages of applications ask to log in', async () => {
    const anon = new Client(w.app)
    for (const path of ['/istanze', '/istanze/nuova/indirizzo', `/istanze/${ids.application}`]) {
      const res = await anon.get(`/t/${x.slug}${path}`)
      expect(res.status, path).toBe(303)
      expect(res.headers.get('location'), path).toMatch(/^\/accesso\?torna=/)
    }
  })

  it("another tenant's staff cannot see this tenant's applications or exports", async () => {
    const c = await w.client('adminAltroEnte')
    expect((await c.get(`/t/${x.slug}/ufficio/istanze/${ids.application}`)).status).toBe(403)
    // and in their own tenant the same id is not found
    expect((await c.get(`/t/${y.slug}/ufficio/istanze/${ids.application}`)).status).toBe(404)
    expect((await c.get(`/t/${y.slug}/ufficio/documenti-ente/${ids.document}`)).status).toBe(404)
  })
})
