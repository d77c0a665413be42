// What the fuzz suites (forms-fuzz, imports-fuzz) found, each pinned by a focused test:
// - a NUL character in any form field reached PostgreSQL (which refuses it in text): a 500;
// - a school, a closure or a canteen tariff named with one character passed the form and failed the database's
//   "at least 2 characters" check: a 500 (the form counted UTF-16 units, the database counts characters); the
//   set-up wizard's tariff step later the same, with "𝈛" (now every minimum length counts with forms.ts's chars);
// - a camt.053 file whose second statement declared a number of entries that is not a whole number an int
//   column holds ("1.5", "99999999999"): a 500, after the first statement had been imported and committed.
import { beforeAll, describe, expect, it } from 'vitest'
import { type Db, withTenant } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { signedIn, type TestAccount } from '../helpers/accounts.ts'
import { addPupil, setupCanteen } from '../helpers/canteen.ts'
import type { Client } from '../helpers/client.ts'
import { camtXml } from '../helpers/flows.ts'
import { type App, world } from '../helpers/world.ts'

const w = world({ roles: ['admin', 'cittadino'] })
let db: Db
let app: App
let tenant: Tenant
let citizen: TestAccount
let office: Client
let yearId: number

beforeAll(async () => {
  ;({ db, app, tenant } = w)
  citizen = w.accounts.cittadino
  yearId = (await setupCanteen(db, tenant)).yearId
  await addPupil(db, tenant, { payerCf: citizen.codiceFiscale, given: 'Emma' })
  office = await w.client('admin')
})

const tenantRows = <T>(q: (tx: Parameters<Parameters<typeof withTenant>[2]>[0]) => Promise<T>) =>
  withTenant(db.sql, tenant, q)

describe('a NUL character in a form', () => {
  it('is dropped, like any character PostgreSQL cannot store, instead of failing the request', async () => {
    const me = await signedIn(app, citizen)
    const page = await me.get(`/t/${tenant.slug}/istanze/nuova/dieta`)
    expect(page.status).toBe(200)
    const pupil = /name="pupil" type="radio" value="(\d+)"/.exec(me.lastHtml)?.[1] as string
    const res = await me.post(`/t/${tenant.slug}/istanze/nuova/dieta`, {
      pupil,
      dietDescription: 'Senza glutine',
      notes: 'Celiachia\u0000 certificata',
    })
    expect(res.status).toBe(303)
    const [row] = await tenantRows((tx) => tx<{ answers: string }[]>`select answers::text from applications`)
    expect(row?.answers).toContain('Celiachia certificata')

    const profile = await me.submit('/profilo/modifica', {
      email: citizen.email,
      phone: '',
      address: 'Via\u0000 Roma 1',
      lang: 'it',
    })
    expect(profile.status).toBe(303)
    const [acc] = await db.sql<{ address: string }[]>`select address from platform.accounts where id = ${citizen.id}`
    expect(acc?.address).toBe('Via Roma 1')
  })
})

describe('canteen names of one character', () => {
  it('are refused by the form with a message, not by the database with a 500', async () => {
    const base = `/t/${tenant.slug}/ufficio/mensa`
    for (const nome of ['!', '𖬸']) {
      const res = await office.submit(`${base}/scuole`, { tipo: 'primaria', nome, indirizzo: '' })
      expect(res.status).toBe(422)
      expect(await res.text()).toContain('almeno 2 caratteri')
    }
    expect((await office.submit(`${base}/scuole`, { tipo: 'primaria', nome: 'Rodari', indirizzo: '' })).status).toBe(
      303,
    )
    const closure = await office.submit(`${base}/calendario/${yearId}/chiusure`, {
      'dal-day': '2',
      'dal-month': '11',
      'dal-year': '2026',
      'al-day': '2',
      'al-month': '11',
      'al-year': '2026',
      descrizione: 'X',
    })
    expect(closure.status).toBe(422)
    const tariff = await office.submit(`${base}/tariffe`, {
      nome: 'Z',
      prezzo: '5,00',
      'dal-day': '1',
      'dal-month': '9',
      'dal-year': '2026',
    })
    expect(tariff.status).toBe(422)
    expect(await tariff.text()).toContain('almeno 2 caratteri')
    // the set-up wizard's tariff step counted the same way
    for (const tariffName of ['Z', '𝈛']) {
      const res = await office.submit(`/t/${tenant.slug}/ufficio/configurazione/tariffe`, {
        tariffName,
        price: '78,30',
        isDefault: 'si',
      })
      expect(res.status).toBe(422)
    }
    const [n] = await tenantRows(
      (tx) => tx<{ n: number }[]>`
      select (select count(*) from canteen_schools where length(name) < 2)::int
        + (select count(*) from canteen_tariffs where length(name) < 2)::int
        + (select count(*) from canteen_closures where length(description) < 2)::int as n`,
    )
    expect(n?.n).toBe(0)
  })
})

describe('a camt.053 file declaring an impossible number of entries', () => {
  it('is imported whole, every statement, the count read as not declared', async () => {
    const iban = 'IT60X0542811101000000123456'
    const statement = (id: string, declaredCount: string) => ({
      id,
      createdAt: '2031-03-16T06:12:40+01:00',
      iban,
      declaredCount,
      entries: [{ amount: 2500, reference: `REF-${id}`, remittance: 'CONTRIBUTO VOLONTARIO' }],
    })
    for (const declared of ['1.5', '99999999999']) {
      const xml = camtXml([statement(`A-${declared}`, '1'), statement(`B-${declared}`, declared)])
      const path = `/t/${tenant.slug}/ufficio/riconciliazione`
      await office.get(path)
      const res = await office.postMultipart(
        path,
        {},
        { file: { name: 'estratto.xml', type: 'application/xml', bytes: new TextEncoder().encode(xml) } },
      )
      expect(res.status).toBe(303)
      const rows = await tenantRows(
        (tx) => tx<{ flow_id: string; declared_count: number | null; line_count: number }[]>`
        select flow_id, declared_count, line_count from reconciliation_imports
        where flow_id = any(${[`${iban}/A-${declared}`, `${iban}/B-${declared}`]}) order by flow_id`,
      )
      expect(rows).toEqual([
        { flow_id: `${iban}/A-${declared}`, declared_count: 1, line_count: 1 },
        { flow_id: `${iban}/B-${declared}`, declared_count: null, line_count: 1 },
      ])
    }
  })
})
