// The office's pagoPA page: who may read, resolve and configure; receipts flagged for staff; settings form with
// its errors; every change audited; another tenant's receipts are 404.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { payNotice } from '../../src/features/pagopa/simulator.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { expectValidHtml } from '../helpers/html.ts'
import { givePayer, issue } from '../helpers/payments.ts'
import { roleMatrix } from '../helpers/roles.ts'
import { type App, world } from '../helpers/world.ts'

const KEY = 'chiave-del-nodo-per-l-ufficio-0001'
let db: Db
let app: App
let x: Tenant
let y: Tenant
let flaggedId: number
let otherTenantReceipt: number

type Actor = 'anonimo' | 'cittadino' | 'lettore' | 'operatore' | 'admin' | 'adminAltroEnte'
const ACTORS: Actor[] = ['anonimo', 'cittadino', 'lettore', 'operatore', 'admin', 'adminAltroEnte']

const settings = {
  cutoff: '09:15',
  commission: { type: 'none' as const },
  reminderDays: [-7, 0, 7],
  lowBalanceMeals: 3,
  iban: 'IT60X0542811101000000123456',
}

async function paidReceipt(t: Tenant, amountCents?: number) {
  const cf = w.accounts.cittadino.codiceFiscale
  const payer = await givePayer(db, t, cf)
  const doc = await issue(db, t, payer, [5000])
  const r = await payNotice({
    url: '/pagopa/nodo',
    key: KEY,
    noticeNumber: (doc.installments[0] as { noticeCode: string }).noticeCode,
    fiscalCode: t.fiscalCode,
    amountCents,
    fetch: async (u, i) => app.request(u, i),
  })
  expect(r.paid).toBe(true)
  const [row] = await withTenant(
    db.sql,
    t,
    (tx) => tx<{ id: number }[]>`select id from pagopa_receipts where receipt_id = ${r.receiptId}`,
  )
  return (row as { id: number }).id
}

beforeAll(() => {
  process.env.PAGOPA_NODE_KEY = KEY
})
const w = world({ tenant: { settings }, roles: ['cittadino', 'lettore', 'operatore', 'admin', 'adminAltroEnte'] })

beforeAll(async () => {
  ;({ db, app, tenant: x, other: y } = w)
  flaggedId = await paidReceipt(x, 4500)
  otherTenantReceipt = await paidReceipt(y, 4000)
})

afterAll(() => {
  delete process.env.PAGOPA_NODE_KEY
})

describe('pagoPA office routes', () => {
  it('answer each actor as its role allows', async () => {
    const staff: Actor[] = ['lettore', 'operatore', 'admin']
    const routes: { method: 'GET' | 'POST'; path: () => string; form?: Record<string, string>; allowed: Actor[] }[] = [
      { method: 'GET', path: () => `/t/${x.slug}/ufficio/pagopa`, allowed: staff },
      { method: 'GET', path: () => `/t/${x.slug}/ufficio/pagopa/ricevute/${flaggedId}`, allowed: staff },
      {
        method: 'POST',
        path: () => `/t/${x.slug}/ufficio/pagopa/ricevute/${flaggedId}/risolvi`,
        form: { note: '' },
        allowed: ['operatore', 'admin'],
      },
      {
        method: 'POST',
        path: () => `/t/${x.slug}/ufficio/pagopa/impostazioni`,
        form: { iban: 'no', payableDays: '' },
        allowed: ['admin'],
      },
    ]
    const failures = await roleMatrix(w, {
      actors: ACTORS,
      routes,
      // allowed posts here carry invalid input on purpose: 422, nothing changes
      answers: (route) => (route.method === 'GET' ? [200] : [422]),
      toLogin: false,
    })
    expect(failures).toEqual([])
  })

  it("lists the flagged receipt; another tenant's receipt is 404", async () => {
    const admin = await w.client('admin')
    const page = await admin.get(`/t/${x.slug}/ufficio/pagopa`)
    const html = await page.text()
    await expectValidHtml(html)
    expect(html).toContain('Importo diverso dall&#39;avviso')
    expect(html).toContain(`/ufficio/pagopa/ricevute/${flaggedId}`)
    expect(html).toContain('45,00')
    const detail = await admin.get(`/t/${x.slug}/ufficio/pagopa/ricevute/${flaggedId}`)
    await expectValidHtml(await detail.text())
    const ids = [otherTenantReceipt, 999999999].filter((id) => id !== flaggedId)
    for (const id of ids) expect((await admin.get(`/t/${x.slug}/ufficio/pagopa/ricevute/${id}`)).status).toBe(404)
    expect((await admin.get(`/t/${x.slug}/ufficio/pagopa/ricevute/abc`)).status).toBe(404)
  })

  it('resolves a flagged receipt with a note, audited; the note is required', async () => {
    const operator = await w.client('operatore')
    const path = `/t/${x.slug}/ufficio/pagopa/ricevute/${flaggedId}`
    await operator.get(path)
    const missing = await operator.post(`${path}/risolvi`, { note: '   ' })
    expect(missing.status).toBe(422)
    const html = await missing.text()
    expect(html).toContain('href="#note"')
    await expectValidHtml(html)
    await operator.get(path)
    const ok = await operator.post(`${path}/risolvi`, { note: 'Emesso nuovo avviso per i 5,00 € mancanti' })
    expect(ok.status).toBe(303)
    expect(ok.headers.get('location')).toBe(`/t/${x.slug}/ufficio/pagopa?risolta=1`)
    const [row] = await withTenant(
      db.sql,
      x,
      (tx) => tx<{ resolved_by_name: string; resolution_note: string }[]>`
      select resolved_by_name, resolution_note from pagopa_receipts where id = ${flaggedId}`,
    )
    expect(row?.resolution_note).toBe('Emesso nuovo avviso per i 5,00 € mancanti')
    const log = await withTenant(
      db.sql,
      x,
      (tx) => tx<{ action: string; actor_account_id: number; reason: string }[]>`
      select action, actor_account_id, reason from audit_log where entity = 'pagopa_receipt'`,
    )
    expect(log).toEqual([
      {
        action: 'pagopa.receipt.resolve',
        actor_account_id: w.accounts.operatore.id,
        reason: 'Emesso nuovo avviso per i 5,00 € mancanti',
      },
    ])
    const list = await (await operator.get(`/t/${x.slug}/ufficio/pagopa?risolta=1`)).text()
    expect(list).toContain('Nessuna ricevuta da verificare')
    // resolving again changes nothing
    await operator.get(path)
    expect((await operator.post(`${path}/risolvi`, { note: 'di nuovo' })).status).toBe(303)
    const again = await withTenant(
      db.sql,
      x,
      (tx) => tx<{ n: number }[]>`select count(*)::int as n from audit_log where entity = 'pagopa_receipt'`,
    )
    expect(again[0]?.n).toBe(1)
  })

  it('an admin saves the settings (IBAN, payable days), audited; errors keep the input', async () => {
    const admin = await w.client('admin')
    const path = `/t/${x.slug}/ufficio/pagopa`
    await admin.get(path)
    const bad = await admin.post(`${path}/impostazioni`, {
      iban: 'IT60 X054 2811 1010 0000 0123 457',
      payableDays: '99999',
    })
    expect(bad.status).toBe(422)
    const html = await bad.text()
    for (const f of ['iban', 'payableDays']) expect(html).toContain(`href="#${f}"`)
    expect(html).toContain('value="IT60 X054 2811 1010 0000 0123 457"')
    await expectValidHtml(html)
    await admin.get(path)
    const ok = await admin.post(`${path}/impostazioni`, {
      iban: 'it52 g010 3014 2000 0006 3201 234',
      payableDays: '',
    })
    expect(ok.status).toBe(303)
    const [t] = await db.sql<
      { settings: { iban?: string } }[]
    >`select settings from platform.tenants where id = ${x.id}`
    expect(t?.settings.iban).toBe('IT52G0103014200000063201234')
    const [s] = await withTenant(
      db.sql,
      x,
      (tx) => tx<{ payable_days_after_due: number | null }[]>`select payable_days_after_due from pagopa_settings`,
    )
    expect(s).toEqual({ payable_days_after_due: null })
    const [entry] = await withTenant(
      db.sql,
      x,
      (tx) => tx<{ before: { iban: string }; after: { iban: string } }[]>`
      select before, after from audit_log where action = 'pagopa.settings.update'`,
    )
    expect(entry?.before.iban).toBe(settings.iban)
    expect(entry?.after.iban).toBe('IT52G0103014200000063201234')
    const page = await (await admin.get(`${path}?salvato=1`)).text()
    expect(page).toContain('Impostazioni pagoPA salvate')
    expect(page).toContain('sempre pagabili')
  })
})
