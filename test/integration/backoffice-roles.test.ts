// The back office against every kind of visitor (who reads, who changes, who is refused), bad input of every
// form (422, nothing saved), catalog and settings with their audit entries, the dashboard and the audit log.
import { beforeAll, describe, expect, it } from 'vitest'
import { addDays, todayRome } from '../../src/platform/dates.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { randomCf } from '../helpers/accounts.ts'
import { expectValidHtml } from '../helpers/html.ts'
import { issue } from '../helpers/payments.ts'
import { type Route, roleMatrix } from '../helpers/roles.ts'
import { world } from '../helpers/world.ts'

const named = (givenName: string) => ({ givenName, familyName: 'Prova' })
const w = world({
  roles: {
    cittadino: named('cittadino'),
    lettore: named('lettore'),
    operatore: named('operatore'),
    admin: named('admin'),
    adminAltroEnte: named('adminAltroEnte'),
  },
})
let db: Db
let x: Tenant
let y: Tenant
const ids = { service: 0, payer: 0, pupil: 0, document: 0 }

type Actor = 'anonimo' | 'cittadino' | 'lettore' | 'operatore' | 'admin' | 'adminAltroEnte'
const ACTORS: Actor[] = ['anonimo', 'cittadino', 'lettore', 'operatore', 'admin', 'adminAltroEnte']
const readers: Actor[] = ['lettore', 'operatore', 'admin']
const writers: Actor[] = ['operatore', 'admin']
const admins: Actor[] = ['admin']

async function q<T>(fn: (tx: Parameters<Parameters<typeof withTenant>[2]>[0]) => Promise<T>): Promise<T> {
  return withTenant(db.sql, x, fn)
}

beforeAll(async () => {
  ;({ db, tenant: x, other: y } = w)
  await q(async (tx) => {
    const [s] = await tx<{ id: number }[]>`select id from services where code = 'mensa'`
    const [p] = await tx<{ id: number }[]>`
      insert into payers (codice_fiscale, given_name, family_name) values (${randomCf()}, 'Mario', 'Rossi') returning id`
    const [u] = await tx<{ id: number }[]>`
      insert into pupils (codice_fiscale, given_name, family_name) values (${randomCf()}, 'Giulia', 'Rossi') returning id`
    await tx`insert into pupil_payers (pupil_id, payer_id, holder) values (${u?.id as number}, ${p?.id as number}, true)`
    ids.service = s?.id as number
    ids.payer = p?.id as number
    ids.pupil = u?.id as number
  })
  ids.document = (await issue(db, x, ids.payer, [5000, 5000], { firstDue: -20 })).documentId
})

const o = (p: string) => `/t/${x?.slug}/ufficio${p}`
function routes(): Route<Actor>[] {
  return [
    { method: 'GET', path: o(''), allowed: readers },
    { method: 'GET', path: o('/catalogo'), allowed: readers },
    { method: 'GET', path: o(`/catalogo/servizi/${ids.service}`), allowed: readers },
    { method: 'GET', path: o('/catalogo/servizi/nuovo'), allowed: admins },
    { method: 'POST', path: o('/catalogo/servizi/nuovo'), form: { code: '' }, allowed: admins },
    { method: 'POST', path: o(`/catalogo/servizi/${ids.service}`), form: { name: '' }, allowed: admins },
    { method: 'GET', path: o('/impostazioni'), allowed: readers },
    { method: 'POST', path: o('/impostazioni'), form: { email: 'x' }, allowed: admins },
    { method: 'GET', path: o('/anagrafiche'), allowed: readers },
    { method: 'GET', path: o('/anagrafiche?q=rossi'), allowed: readers },
    { method: 'GET', path: o(`/anagrafiche/intestatari/${ids.payer}`), allowed: readers },
    { method: 'GET', path: o('/anagrafiche/intestatari/nuovo'), allowed: writers },
    { method: 'POST', path: o('/anagrafiche/intestatari/nuovo'), form: { codiceFiscale: '' }, allowed: writers },
    { method: 'GET', path: o(`/anagrafiche/intestatari/${ids.payer}/modifica`), allowed: writers },
    {
      method: 'POST',
      path: o(`/anagrafiche/intestatari/${ids.payer}/modifica`),
      form: { codiceFiscale: '' },
      allowed: writers,
    },
    { method: 'GET', path: o(`/anagrafiche/alunni/${ids.pupil}`), allowed: readers },
    { method: 'GET', path: o('/anagrafiche/alunni/nuovo'), allowed: writers },
    { method: 'POST', path: o('/anagrafiche/alunni/nuovo'), form: { givenName: '' }, allowed: writers },
    { method: 'GET', path: o(`/anagrafiche/alunni/${ids.pupil}/modifica`), allowed: writers },
    { method: 'POST', path: o(`/anagrafiche/alunni/${ids.pupil}/modifica`), form: {}, allowed: writers },
    { method: 'POST', path: o(`/anagrafiche/alunni/${ids.pupil}/collega`), form: { payerCf: 'x' }, allowed: writers },
    {
      method: 'POST',
      path: o(`/anagrafiche/alunni/${ids.pupil}/titolare`),
      form: { payer: '999999' },
      allowed: writers,
    },
    {
      method: 'POST',
      path: o(`/anagrafiche/alunni/${ids.pupil}/scollega`),
      form: { payer: '999999' },
      allowed: writers,
    },
    { method: 'GET', path: o('/documenti'), allowed: readers },
    { method: 'GET', path: o('/documenti?stato=scaduti&q=rossi'), allowed: readers },
    { method: 'GET', path: o(`/documenti/${ids.document}`), allowed: readers },
    { method: 'GET', path: o('/documenti/nuovo'), allowed: writers },
    { method: 'POST', path: o('/documenti/nuovo'), form: { description: '' }, allowed: writers },
    { method: 'POST', path: o('/documenti/nuovo/conferma'), form: { description: '' }, allowed: writers },
    { method: 'GET', path: o(`/documenti/${ids.document}/annulla`), allowed: writers },
    { method: 'POST', path: o(`/documenti/${ids.document}/annulla`), form: { reason: '' }, allowed: writers },
    { method: 'GET', path: o(`/documenti/${ids.document}/correggi`), allowed: writers },
    { method: 'POST', path: o(`/documenti/${ids.document}/correggi`), form: { reason: '' }, allowed: writers },
    { method: 'GET', path: o('/documenti/importa'), allowed: writers },
    { method: 'GET', path: o('/documenti/importa/modello.csv'), allowed: writers },
    { method: 'POST', path: o('/documenti/importa'), form: {}, allowed: writers },
    { method: 'GET', path: o('/documenti/importa/999999'), allowed: writers },
    { method: 'POST', path: o('/documenti/importa/999999'), form: {}, allowed: writers },
    { method: 'GET', path: o('/registro'), allowed: readers },
    { method: 'GET', path: o('/registro?entita=document&pagina=2'), allowed: readers },
  ]
}

describe('back office route matrix', () => {
  it('answers each actor as its role allows, and changes nothing', async () => {
    const before = await q((tx) => tx<{ n: number }[]>`select count(*)::int as n from audit_log`)
    const failures = await roleMatrix(w, {
      actors: ACTORS,
      routes: routes(),
      answers: (route, path, form) =>
        path.includes('999999') || Object.values(form).includes('999999')
          ? [404]
          : route.method === 'GET'
            ? [200]
            : [422],
      refresh: 'once',
    })
    expect(failures).toEqual([])
    const after = await q((tx) => tx<{ n: number }[]>`select count(*)::int as n from audit_log`)
    expect(after).toEqual(before)
  })

  it("another tenant's ids are 404 in this tenant's office", async () => {
    const other = await withTenant(db.sql, y, async (tx) => {
      const [p] = await tx<{ id: number }[]>`
        insert into payers (codice_fiscale, given_name, family_name) values (${randomCf()}, 'Altro', 'Ente') returning id`
      return p?.id as number
    })
    const admin = await w.client('admin')
    // ids that exist only in y: x answers 404 (ids may coincide across schemas, so pick beyond x's range)
    expect((await admin.get(o(`/anagrafiche/intestatari/${other + 1_000_000}`))).status).toBe(404)
    expect((await admin.get(o('/documenti/123456789'))).status).toBe(404)
    expect((await admin.get(o('/catalogo/servizi/abc'))).status).toBe(404)
  })

  it('a lettore sees the pages without any form that changes something', async () => {
    const c = await w.client('lettore')
    for (const p of ['/catalogo', '/impostazioni', `/anagrafiche/alunni/${ids.pupil}`, `/documenti/${ids.document}`]) {
      const html = await (await c.get(o(p))).text()
      expect(html, p).not.toMatch(/<form method="post" action="\/t\/[^"]+\/ufficio/)
    }
  })
})

describe('catalog and settings', () => {
  it('creates and edits a service with its commission rule; bad input is 422 and saves nothing', async () => {
    const admin = await w.client('admin')
    let res = await admin.submit(o('/catalogo/servizi/nuovo'), {
      code: 'Gite Scolastiche',
      kind: '',
      name: 'G',
      causale: '',
      commissionType: 'percent',
      commissionValue: '30',
      amountMode: 'quantita',
      unitPrice: '',
    })
    expect(res.status).toBe(422)
    const html = await res.text()
    for (const f of ['code', 'kind', 'name', 'causale', 'commissionValue', 'unitPrice'])
      expect(html).toContain(`href="#${f}"`)
    expect(html).toContain('value="Gite Scolastiche"')
    await expectValidHtml(html)
    res = await admin.submit(o('/catalogo/servizi/nuovo'), {
      code: 'gite',
      kind: 'gite',
      name: 'Gite scolastiche',
      causale: 'Contributo gite',
      commissionType: 'grossup',
      commissionValue: '1,5',
      spontaneous: 'si',
      amountMode: 'importo',
      active: 'si',
    })
    expect(res.status).toBe(303)
    const [svc] = await q(
      (tx) => tx<{ id: number; commission: unknown; spontaneous: boolean }[]>`
      select id, commission, spontaneous from services where code = 'gite'`,
    )
    expect(svc?.commission).toEqual({ type: 'grossup', basisPoints: 150 })
    expect(svc?.spontaneous).toBe(true)
    // the same code again
    res = await admin.submit(o('/catalogo/servizi/nuovo'), {
      code: 'gite',
      kind: 'gite',
      name: 'Gite',
      causale: 'Gite',
      commissionType: 'inherit',
      amountMode: 'importo',
    })
    expect(res.status).toBe(422)
    res = await admin.submit(o(`/catalogo/servizi/${svc?.id as number}`), {
      kind: 'gite',
      name: 'Gite e uscite',
      causale: 'Contributo gite',
      commissionType: 'fixed',
      commissionValue: '1,00',
      amountMode: 'importo',
    })
    expect(res.status).toBe(303)
    const [entry] = await q(
      (tx) => tx<
        { before: { commission: unknown; active: boolean }; after: { commission: unknown; active: boolean } }[]
      >`
      select before, after from audit_log where action = 'service.update' and entity_id = ${String(svc?.id)}`,
    )
    expect(entry?.before.commission).toEqual({ type: 'grossup', basisPoints: 150 })
    expect(entry?.after.commission).toEqual({ type: 'fixed', cents: 100 })
    expect(entry?.after.active).toBe(false)
  })

  it('saves the tenant settings, keeps keys it does not manage, and audits before/after', async () => {
    await db.admin`update platform.tenants set contacts = contacts || '{"website":"https://prova.example"}'::jsonb where id = ${x.id}`
    const admin = await w.client('admin')
    const bad = await admin.submit(o('/impostazioni'), {
      email: 'non-una-email',
      pec: 'x@',
      phone: 'abc',
      address: '',
      cutoff: '25:00',
      reminderDays: '-7, 0, 90',
      lowBalanceMeals: '200',
      commissionType: 'percent',
      commissionValue: '',
      accessibilityUrl: 'ftp://x',
    })
    expect(bad.status).toBe(422)
    const html = await bad.text()
    for (const f of [
      'email',
      'pec',
      'phone',
      'address',
      'cutoff',
      'reminderDays',
      'lowBalanceMeals',
      'commissionValue',
      'accessibilityUrl',
    ])
      expect(html).toContain(`href="#${f}"`)
    const [unchanged] = await db.sql<
      { settings: { cutoff: string } }[]
    >`select settings from platform.tenants where id = ${x.id}`
    expect(unchanged?.settings.cutoff).toBe('09:15')
    const res = await admin.submit(o('/impostazioni'), {
      email: 'Scuola@Prova.example',
      pec: 'pec@pec.prova.example',
      phone: '+39 06 1234567',
      address: 'Via Nuova 2, 00100 Roma',
      cutoff: '9.30',
      reminderDays: '7, −3 0',
      lowBalanceMeals: '5',
      commissionType: 'grossup',
      commissionValue: '1,5',
      accessibilityUrl: 'https://form.agid.gov.it/view/prova',
    })
    expect(res.status).toBe(303)
    const [row] = await db.sql<{ contacts: Record<string, unknown>; settings: Record<string, unknown> }[]>`
      select contacts, settings from platform.tenants where id = ${x.id}`
    expect(row?.contacts).toMatchObject({
      email: 'scuola@prova.example',
      website: 'https://prova.example',
      phone: '+39 06 1234567',
    })
    expect(row?.settings).toMatchObject({
      cutoff: '09:30',
      reminderDays: [-3, 0, 7],
      lowBalanceMeals: 5,
      commission: { type: 'grossup', basisPoints: 150 },
      accessibilityUrl: 'https://form.agid.gov.it/view/prova',
    })
    // the next page already shows the new values (the registry was told)
    const page = await (await admin.get(o('/impostazioni'))).text()
    expect(page).toContain('value="09:30"')
    expect(page).toContain('data-element="accessibility-link"')
    const [entry] = await q(
      (tx) => tx<{ before: { settings: { cutoff: string } }; after: { settings: { cutoff: string } } }[]>`
      select before, after from audit_log where action = 'settings.update'`,
    )
    expect(entry?.before.settings.cutoff).toBe('09:15')
    expect(entry?.after.settings.cutoff).toBe('09:30')
    // the audit page shows the change readably
    const log = await (await admin.get(o('/registro?entita=tenant_settings'))).text()
    expect(log).toContain('Impostazioni modificate')
    expect(log).toContain('settings.cutoff')
    expect(log).toContain('09:30')
    await expectValidHtml(log)
  })

  it('refuses bad payer, pupil and link input with 422 and saves nothing', async () => {
    const op = await w.client('operatore')
    const before = await q(
      (tx) => tx<{ payers: number; pupils: number; links: number }[]>`
      select (select count(*) from payers)::int as payers, (select count(*) from pupils)::int as pupils,
        (select count(*) from pupil_payers)::int as links`,
    )
    let res = await op.submit(o('/anagrafiche/intestatari/nuovo'), {
      codiceFiscale: 'RSSMRA80A01H501X',
      givenName: '',
      familyName: 'R0ss1',
      email: 'no',
      phone: 'telefono',
    })
    expect(res.status).toBe(422)
    let html = await res.text()
    for (const f of ['codiceFiscale', 'givenName', 'familyName', 'email', 'phone'])
      expect(html).toContain(`href="#${f}"`)
    res = await op.submit(o('/anagrafiche/alunni/nuovo'), {
      codiceFiscale: '',
      givenName: 'Anna',
      familyName: '',
      'birthDate-day': '31',
      'birthDate-month': '02',
      'birthDate-year': '2015',
    })
    expect(res.status).toBe(422)
    html = await res.text()
    for (const f of ['codiceFiscale', 'familyName', 'birthDate-day']) expect(html).toContain(`href="#${f}"`)
    res = await op.submit(
      o(`/anagrafiche/alunni/${ids.pupil}`),
      { payerCf: randomCf(), relation: 'genitore' },
      o(`/anagrafiche/alunni/${ids.pupil}/collega`),
    )
    expect(res.status).toBe(422)
    expect(await res.text()).toContain('Nessun intestatario con questo codice fiscale')
    res = await op.submit(
      o(`/anagrafiche/alunni/${ids.pupil}`),
      { payerCf: '' },
      o(`/anagrafiche/alunni/${ids.pupil}/collega`),
    )
    expect(res.status).toBe(422)
    html = await res.text()
    expect(html).toContain('href="#relation"')
    const after = await q(
      (tx) => tx<{ payers: number; pupils: number; links: number }[]>`
      select (select count(*) from payers)::int as payers, (select count(*) from pupils)::int as pupils,
        (select count(*) from pupil_payers)::int as links`,
    )
    expect(after).toEqual(before)
  })
})

describe('dashboard and audit log', () => {
  it("shows this month's figures and two charts, each with its data table", async () => {
    const today = todayRome()
    await issue(db, x, ids.payer, [1234], { service: 'trasporto', firstDue: 0 })
    await q(async (tx) => {
      const [i] = await tx<{ id: number; amount_cents: number }[]>`
        select id, amount_cents from installments where amount_cents = 1234`
      await tx`update installments set status = 'pagato', paid_at = now(), paid_cents = amount_cents where id = ${i?.id as number}`
      await tx`insert into installment_payments (installment_id, source, receipt_number, amount_cents, paid_at)
        values (${i?.id as number}, 'manuale', 'R-1', ${i?.amount_cents as number}, now())`
    })
    const c = await w.client('lettore')
    const res = await c.get(o(''))
    expect(res.status).toBe(200)
    const html = await res.text()
    expect(html).toContain('Incassato questo mese')
    expect(html).toMatch(/12,34\s€ \(1 rate\)/)
    // the overdue first installment of the document issued in beforeAll (due 20 days ago)
    expect(html).toMatch(/Rate scadute<\/dt><dd>50,00\s€ \(1 rate\)/)
    expect(html).toContain('<svg class="chart"')
    expect(html).toContain('role="img"')
    expect(html).toContain('<title id="chart-months-title">')
    expect(html).toContain('<caption id="months-caption">')
    expect(html).toContain('<th scope="row">Mensa scolastica</th>')
    expect(html).not.toContain('<script>')
    // applications are counted only where the applications feature's table exists
    const [apps] = await q((tx) => tx<{ ok: boolean }[]>`select to_regclass('applications') is not null as ok`)
    expect(html.includes('Istanze in attesa')).toBe(Boolean(apps?.ok))
    expect(addDays(today, 0)).toBe(today)
    await expectValidHtml(html)
  })

  it('filters the audit log by who, entity and period, and reports a bad date', async () => {
    const c = await w.client('admin')
    const admin = w.accounts.admin
    let html = await (await c.get(o(`/registro?chi=${admin.id}`))).text()
    expect(html).toContain('Servizio creato')
    html = await (await c.get(o('/registro?entita=payer'))).text()
    expect(html).not.toContain('Servizio creato')
    const [y1, m1, d1] = addDays(todayRome(), 1).split('-')
    html = await (await c.get(o(`/registro?dal-day=${d1}&dal-month=${m1}&dal-year=${y1}`))).text()
    expect(html).toContain('Nessuna attività registrata')
    const bad = await c.get(o('/registro?dal-day=40&dal-month=1&dal-year=2026'))
    expect(bad.status).toBe(422)
    expect(await bad.text()).toContain('href="#dal-day"')
  })
})

describe("a service's item of the tax return", () => {
  it("the admin chooses it (or leaves the kind's default); it is saved and audited; a made-up one is a 422", async () => {
    const admin = await w.client('admin')
    const page = await (await admin.get(o(`/catalogo/servizi/${ids.service}`))).text()
    expect(page).toContain('name="taxCategory"')
    expect(page).toContain('Secondo il tipo di servizio')
    const current = await withTenant(
      w.db.sql,
      x,
      (tx) => tx<{ kind: string; name: string; causale: string }[]>`
      select kind, name, causale from services where id = ${ids.service}`,
    )
    const form = {
      kind: current[0]?.kind as string,
      name: current[0]?.name as string,
      causale: current[0]?.causale as string,
      commissionType: 'inherit',
      amountMode: 'importo',
      active: 'si',
    }
    const bad = await admin.post(o(`/catalogo/servizi/${ids.service}`), { ...form, taxCategory: 'tutto-detraibile' })
    expect(bad.status).toBe(422)
    expect(await bad.text()).toContain('href="#taxCategory"')
    const ok = await admin.submit(o(`/catalogo/servizi/${ids.service}`), { ...form, taxCategory: 'erogazioni' })
    expect(ok.status).toBe(303)
    const [row] = await withTenant(
      w.db.sql,
      x,
      (tx) => tx<{ tax_category: string | null }[]>`
      select tax_category from services where id = ${ids.service}`,
    )
    expect(row?.tax_category).toBe('erogazioni')
    const [audit] = await withTenant(
      w.db.sql,
      x,
      (tx) => tx<{ after: { taxCategory: string } }[]>`
      select after from audit_log where action = 'service.update' and entity_id = ${String(ids.service)} order by id desc limit 1`,
    )
    expect(audit?.after.taxCategory).toBe('erogazioni')
    // back to the default of the kind
    await admin.submit(o(`/catalogo/servizi/${ids.service}`), { ...form, taxCategory: '' })
    const [again] = await withTenant(
      w.db.sql,
      x,
      (tx) => tx<{ tax_category: string | null }[]>`
      select tax_category from services where id = ${ids.service}`,
    )
    expect(again?.tax_category).toBeNull()
  })
})

describe("a service's tariffs and bounds", () => {
  it('the admin lists fixed tariffs or bounds a free amount; unreadable lines and crossed bounds are a 422', async () => {
    const admin = await w.client('admin')
    await admin.get(o(`/catalogo/servizi/${ids.service}`))
    const [cur] = await withTenant(
      w.db.sql,
      x,
      (tx) => tx<{ kind: string; name: string; causale: string }[]>`
      select kind, name, causale from services where id = ${ids.service}`,
    )
    const base = {
      kind: cur?.kind as string,
      name: cur?.name as string,
      causale: cur?.causale as string,
      commissionType: 'inherit',
      active: 'si',
    }
    const post = (form: Record<string, string>) =>
      admin.submit(o(`/catalogo/servizi/${ids.service}`), { ...base, ...form })
    const noTariffs = await post({ amountMode: 'tariffa', tariffs: '' })
    expect(noTariffs.status).toBe(422)
    expect(await noTariffs.text()).toContain('Indica almeno una tariffa')
    const unreadable = await post({ amountMode: 'tariffa', tariffs: 'Quota intera 12,50' })
    expect(unreadable.status).toBe(422)
    expect(await unreadable.text()).toContain('href="#tariffs"')
    const crossed = await post({ amountMode: 'importo', minAmount: '50', maxAmount: '10' })
    expect(crossed.status).toBe(422)
    expect(await crossed.text()).toContain('massimo non può essere inferiore al minimo')
    expect((await post({ amountMode: 'tariffa', tariffs: 'Quota intera; 12,50\nRidotta; 6' })).status).toBe(303)
    const [row] = await withTenant(
      w.db.sql,
      x,
      (tx) => tx<{ amount_mode: string; tariffs: unknown }[]>`
      select amount_mode, tariffs from services where id = ${ids.service}`,
    )
    expect(row?.amount_mode).toBe('tariffa')
    expect(row?.tariffs).toEqual([
      { label: 'Quota intera', cents: 1250 },
      { label: 'Ridotta', cents: 600 },
    ])
    // the form shows them back as typed
    expect(await (await admin.get(o(`/catalogo/servizi/${ids.service}`))).text()).toContain(
      'Quota intera; 12,50\nRidotta; 6,00',
    )
    expect((await post({ amountMode: 'importo', minAmount: '10', maxAmount: '500' })).status).toBe(303)
    const [bounded] = await withTenant(
      w.db.sql,
      x,
      (tx) => tx<{ tariffs: unknown; min_cents: number; max_cents: number }[]>`
      select tariffs, min_cents, max_cents from services where id = ${ids.service}`,
    )
    expect(bounded).toEqual({ tariffs: null, min_cents: 1000, max_cents: 50000 })
    await post({ amountMode: 'importo', minAmount: '', maxAmount: '' })
  })
})
