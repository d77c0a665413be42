// pagoPA's taxonomy per service (decision 0099): the office chooses a code from the list for its kind of body and
// the prefix that keeps a service out of SEPA Request-To-Pay; bad choices are 422 with nothing saved; every
// transfer the node reads carries `<prefix><code>/`; a service without a code takes its kind's default.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { payNotice } from '../../src/features/pagopa/simulator.ts'
import {
  defaultTaxonomyCode,
  serviceCategory,
  TAXONOMY_PREFIXES,
  taxonomyChoices,
  taxonomyEntry,
} from '../../src/features/pagopa/taxonomy.ts'
import { todayRome } from '../../src/platform/dates.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import { SERVICE_KINDS, type Tenant } from '../../src/platform/tenancy.ts'
import { settings } from '../helpers/db.ts'
import { expectValidHtml } from '../helpers/html.ts'
import { givePayer, issue } from '../helpers/payments.ts'
import { type World, world } from '../helpers/world.ts'

const KEY = 'chiave-di-prova-del-nodo-tassonomia-0123'
beforeAll(() => {
  process.env.PAGOPA_NODE_KEY = KEY
})
afterAll(() => {
  delete process.env.PAGOPA_NODE_KEY
})

const w = world({
  tenant: { settings: settings({ iban: 'IT60X0542811101000000123456' }) },
  serve: true,
  roles: { admin: { givenName: 'Ada', familyName: 'Tassonomia' } },
})
let db: Db
let x: Tenant
let server: World['server']
let payerId: number
const o = (p: string) => `/t/${x.slug}/ufficio${p}`

beforeAll(async () => {
  ;({ db, tenant: x, server } = w)
  payerId = await givePayer(db, x, (await w.account()).codiceFiscale, ['Rita', 'Levi'])
})

async function mensa() {
  const [row] = await withTenant(
    db.sql,
    x,
    (tx) => tx<{ id: number; taxonomy_code: string | null; taxonomy_prefix: string }[]>`
      select id, taxonomy_code, taxonomy_prefix from services where code = 'mensa'`,
  )
  return row as { id: number; taxonomy_code: string | null; taxonomy_prefix: string }
}

async function categorySent() {
  const doc = await issue(db, x, payerId, [4200])
  const r = await payNotice({
    url: `${server.url}/pagopa/nodo`,
    key: KEY,
    noticeNumber: doc.installments[0]?.noticeCode as string,
    fiscalCode: x.fiscalCode,
    version: 2,
    dryRun: true,
  })
  const data = r.steps[1]?.answer?.children.find((c) => c.local === 'data')
  const transfer = data?.children.find((c) => c.local === 'transferList')?.children[0]
  return transfer?.children.find((c) => c.local === 'transferCategory')?.text
}

const serviceForm = (over: Record<string, string>) => ({
  kind: 'mensa',
  name: 'Mensa scolastica',
  causale: 'Mensa scolastica',
  commissionType: 'inherit',
  amountMode: 'importo',
  active: 'si',
  ...over,
})

describe('the shipped taxonomy', () => {
  it('has a listed, valid default for every kind of service, for comuni and for schools', () => {
    const today = todayRome()
    for (const body of ['comune', 'scuola'] as const) {
      const codes = taxonomyChoices(body, today).map((e) => e.code)
      for (const kind of SERVICE_KINDS) expect(codes, `${body} ${kind}`).toContain(defaultTaxonomyCode(body, kind))
    }
    expect(taxonomyEntry('0107101TS')?.serviceName).toBe('Mense scolastiche')
    expect(TAXONOMY_PREFIXES.map((p) => [p.prefix, p.rtp])).toEqual([
      ['9/', true],
      ['6/', false],
      ['7/', false],
      ['8/', false],
    ])
    expect(serviceCategory('scuola', { kind: 'gite', taxonomy_code: null, taxonomy_prefix: '9/' })).toBe('9/0601125AP/')
  })
})

describe("a service's taxonomy", () => {
  it('is the default of its kind until the office chooses, and is sent with its prefix', async () => {
    expect(await mensa()).toMatchObject({ taxonomy_code: null, taxonomy_prefix: '9/' })
    expect(await categorySent()).toBe('9/0107101TS/')
  })

  it('refuses a malformed code, a code of another kind of body and a tax without a code; nothing saved', async () => {
    const admin = await w.client('admin')
    const { id } = await mensa()
    let res = await admin.submit(
      o(`/catalogo/servizi/${id}`),
      serviceForm({ taxonomyCode: 'mensa', taxonomyPrefix: '5/' }),
    )
    expect(res.status).toBe(422)
    let html = await res.text()
    expect(html).toContain('href="#taxonomyCode"')
    expect(html).toContain('href="#taxonomyPrefix"')
    await expectValidHtml(html)
    // a school's canteen code in a comune
    res = await admin.submit(
      o(`/catalogo/servizi/${id}`),
      serviceForm({ taxonomyCode: '0601104TS', taxonomyPrefix: '9/' }),
    )
    expect(res.status).toBe(422)
    html = await res.text()
    expect(html).toContain('href="#taxonomyCode"')
    // the choice is kept in the form
    expect(html).toMatch(/value="9\/" checked/)
    res = await admin.submit(
      o('/catalogo/servizi/nuovo'),
      serviceForm({ code: 'tari', kind: 'tributi', name: 'TARI', causale: 'TARI', taxonomyCode: '' }),
    )
    expect(res.status).toBe(422)
    expect(await res.text()).toContain('href="#taxonomyCode"')
    expect(await mensa()).toMatchObject({ taxonomy_code: null, taxonomy_prefix: '9/' })
    const [tari] = await withTenant(db.sql, x, (tx) => tx`select 1 from services where code = 'tari'`)
    expect(tari).toBeUndefined()
  })

  it('is chosen from the list with a prefix out of Request-To-Pay, audited, and sent so', async () => {
    const admin = await w.client('admin')
    const { id } = await mensa()
    const form = await (await admin.get(o(`/catalogo/servizi/${id}`))).text()
    expect(form).toContain('<option value="0107101TS">0107101TS – Mense scolastiche')
    expect(form).not.toContain('value="0601104TS"')
    const res = await admin.submit(
      o(`/catalogo/servizi/${id}`),
      serviceForm({ taxonomyCode: '0107100ts', taxonomyPrefix: '7/' }),
    )
    expect(res.status).toBe(303)
    expect(await mensa()).toMatchObject({ taxonomy_code: '0107100TS', taxonomy_prefix: '7/' })
    const [entry] = await withTenant(
      db.sql,
      x,
      (tx) => tx<
        { before: { taxonomyCode: string | null }; after: { taxonomyCode: string; taxonomyPrefix: string } }[]
      >`
        select before, after from audit_log where action = 'service.update' and entity_id = ${String(id)}
        order by id desc limit 1`,
    )
    expect(entry?.before.taxonomyCode).toBeNull()
    expect(entry?.after).toMatchObject({ taxonomyCode: '0107100TS', taxonomyPrefix: '7/' })
    expect(await (await admin.get(o(`/catalogo/servizi/${id}`))).text()).toContain('7/0107100TS/')
    expect(await categorySent()).toBe('7/0107100TS/')
    // a tax with its code
    const tari = await admin.submit(
      o('/catalogo/servizi/nuovo'),
      serviceForm({ code: 'tari', kind: 'tributi', name: 'TARI', causale: 'TARI', taxonomyCode: '0101101IM' }),
    )
    expect(tari.status).toBe(303)
  })
})
