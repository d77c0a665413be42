// The reconciliation and jobs routes against every kind of visitor: who reads, who changes, who is sent to
// log in, who is refused; another tenant's ids are 404; a reader sees no form that changes anything.
import { beforeAll, describe, expect, it } from 'vitest'
import { type DocumentInput, issueDocuments } from '../../src/features/debts/issue.ts'
import { importFile } from '../../src/features/reconciliation/service.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { type Route, roleMatrix } from '../helpers/roles.ts'
import { ACTORS, type Actor, PEOPLE, world } from '../helpers/world.ts'

const w = world({ roles: PEOPLE })
let db: Db
let x: Tenant
let y: Tenant
let importId = 0
let lineId = 0

beforeAll(async () => {
  ;({ db, tenant: x, other: y } = w)
  // one imported flow with one discrepancy (unknown IUV)
  const xml = `<FlussoRiversamento xmlns="http://www.digitpa.gov.it/schemas/2011/Pagamenti/"><versioneOggetto>1.0</versioneOggetto>
    <identificativoFlusso>RUOLI-${x.id}</identificativoFlusso><dataOraFlusso>2031-03-15T07:00:00</dataOraFlusso>
    <identificativoUnivocoRegolamento>SCT-1</identificativoUnivocoRegolamento><dataRegolamento>2031-03-15</dataRegolamento>
    <istitutoMittente><identificativoUnivocoMittente><tipoIdentificativoUnivoco>B</tipoIdentificativoUnivoco><codiceIdentificativoUnivoco>ABI1</codiceIdentificativoUnivoco></identificativoUnivocoMittente></istitutoMittente>
    <istitutoRicevente><identificativoUnivocoRicevente><tipoIdentificativoUnivoco>G</tipoIdentificativoUnivoco><codiceIdentificativoUnivoco>${x.fiscalCode}</codiceIdentificativoUnivoco></identificativoUnivocoRicevente></istitutoRicevente>
    <numeroTotalePagamenti>1</numeroTotalePagamenti><importoTotalePagamenti>12.00</importoTotalePagamenti>
    <datiSingoliPagamenti><identificativoUnivocoVersamento>09999999999999999</identificativoUnivocoVersamento><identificativoUnivocoRiscossione>R1</identificativoUnivocoRiscossione>
    <singoloImportoPagato>12.00</singoloImportoPagato><codiceEsitoSingoloPagamento>0</codiceEsitoSingoloPagamento><dataEsitoSingoloPagamento>2031-03-14</dataEsitoSingoloPagamento></datiSingoliPagamenti>
    </FlussoRiversamento>`
  const [r] = await importFile(db.sql, x, {
    bytes: new TextEncoder().encode(xml),
    fileName: 'ruoli.xml',
    source: 'upload',
    actor: { accountId: null, name: 'sistema' },
  })
  importId = r?.importId as number
  const [line] = await withTenant(
    db.sql,
    x,
    (tx) => tx<{ id: number }[]>`select id from reconciliation_lines where import_id = ${importId}`,
  )
  lineId = line?.id as number
  // y has data of its own, so "not found" is not just an empty schema
  await withTenant(db.sql, y, async (tx) => {
    const [p] = await tx<
      { id: number }[]
    >`insert into payers (codice_fiscale, given_name, family_name) values ('RSSMRA80A01H501U', 'M', 'R') returning id`
    const [svc] = await tx<{ id: number }[]>`select id from services where code = 'mensa'`
    const doc: DocumentInput = {
      year: 2031,
      issueDate: '2031-01-01',
      serviceId: svc?.id as number,
      payerId: p?.id as number,
      pupilId: null,
      description: 'x',
      installments: [{ dueDate: '2031-02-01', amountCents: 100 }],
    }
    await issueDocuments(tx, y, [doc])
  })
})

const staffAll: Actor[] = ['lettore', 'operatore', 'admin']
const changers: Actor[] = ['operatore', 'admin']
const base = () => `/t/${x.slug}/ufficio/riconciliazione`
const ROUTES: Route[] = [
  { method: 'GET', path: base, allowed: staffAll },
  { method: 'POST', path: base, form: () => ({}), allowed: changers },
  { method: 'GET', path: () => `${base()}/flussi/${importId}`, allowed: staffAll },
  { method: 'GET', path: () => `${base()}/discrepanze`, allowed: staffAll },
  { method: 'GET', path: () => `${base()}/discrepanze?stato=risolte`, allowed: staffAll },
  { method: 'GET', path: () => `${base()}/discrepanze/${lineId}`, allowed: staffAll },
  { method: 'POST', path: () => `${base()}/discrepanze/${lineId}`, form: () => ({ nota: '' }), allowed: changers },
  { method: 'GET', path: () => '/piattaforma/lavori', allowed: ['operatorePiattaforma'] },
  {
    method: 'POST',
    path: () => '/piattaforma/lavori/posta/999999999/riprova',
    form: () => ({}),
    allowed: ['operatorePiattaforma'],
  },
]

describe('reconciliation and jobs route matrix', () => {
  it('answers each actor as its role allows', async () => {
    const failures = await roleMatrix(w, {
      actors: ACTORS,
      routes: ROUTES,
    })
    expect(failures).toEqual([])
  })

  it('a reader sees no upload or resolve form; another tenant’s ids are 404 in its own office', async () => {
    const reader = await w.client('lettore')
    expect(await (await reader.get(base())).text()).not.toContain('enctype="multipart/form-data"')
    expect(await (await reader.get(`${base()}/discrepanze/${lineId}`)).text()).not.toContain('name="nota"')
    const admin = await w.client('admin')
    expect(await (await admin.get(`${base()}/discrepanze/${lineId}`)).text()).toContain('name="nota"')
    const other = await w.client('adminAltroEnte')
    const ybase = `/t/${y.slug}/ufficio/riconciliazione`
    expect((await other.get(`${ybase}/flussi/${importId}`)).status).toBe(404)
    expect((await other.get(`${ybase}/discrepanze/${lineId}`)).status).toBe(404)
    await other.get(ybase)
    expect((await other.post(`${ybase}/discrepanze/${lineId}`, { nota: 'non mia' })).status).toBe(404)
    const [open] = await withTenant(
      db.sql,
      x,
      (tx) => tx<{ resolved: boolean }[]>`
      select resolved_at is not null as resolved from reconciliation_lines where id = ${lineId}`,
    )
    expect(open?.resolved).toBe(false)
  })
})
