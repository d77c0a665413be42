// Canteen credit left in a wallet: refunded to the family through the refund register (the credit leaves the wallet
// as the refund opens, comes back if it is cancelled, the family gets an email when it is executed) or moved to a
// sibling's wallet through the ledger; never more than the balance, even when two clerks act at once; bad input a
// 422 with nothing saved; lettore and citizen cannot.
import { beforeAll, describe, expect, it } from 'vitest'
import { todayRome } from '../../src/platform/dates.ts'
import { withTenant } from '../../src/platform/db.ts'
import { addPupil, type CanteenSetup, enroll, setupCurrentYear } from '../helpers/canteen.ts'
import type { Client } from '../helpers/client.ts'
import { expectValidHtml } from '../helpers/html.ts'
import { world } from '../helpers/world.ts'

const FAMILY_IBAN = 'IT42L1234512345123456789012'
const w = world({ canteen: true, roles: ['operatore', 'lettore', 'cittadino'] })
let office: Client
let year: CanteenSetup & { start: string }
const pupilPath = (id: number) => `/t/${w.tenant.slug}/ufficio/mensa/alunni/${id}`

async function family(creditCents: number) {
  const cf = w.accounts.cittadino.codiceFiscale
  const a = await addPupil(w.db, w.tenant, { payerCf: cf, given: 'Emma', family: 'Bruni' })
  const b = await addPupil(w.db, w.tenant, { payerCf: cf, given: 'Luca', family: 'Bruni' })
  for (const p of [a, b])
    await enroll(w.db, w.tenant, p.pupilId, { classId: year.classId, tariffId: year.residente, start: year.start })
  const stranger = await addPupil(w.db, w.tenant, { given: 'Ada', family: 'Neri' })
  await withTenant(
    w.db.sql,
    w.tenant,
    (
      tx,
    ) => tx`insert into canteen_ledger (pupil_id, payer_id, kind, entry_date, amount_cents, entry_key, note, actor_name)
               values (${a.pupilId}, ${a.payerId}, 'rettifica', ${todayRome()}, ${creditCents},
                       ${`credito:${a.pupilId}`}, 'Credito di prova', 'Ufficio')`,
  )
  return { a: a.pupilId, b: b.pupilId, stranger: stranger.pupilId }
}

async function balances(ids: number[]) {
  const rows = await withTenant(
    w.db.sql,
    w.tenant,
    (tx) => tx<{ pupil_id: number; balance: number }[]>`
      select pupil_id, coalesce(sum(amount_cents), 0)::int as balance from canteen_ledger
      where pupil_id = any(${ids}) group by pupil_id`,
  )
  return ids.map((id) => rows.find((r) => r.pupil_id === id)?.balance ?? 0)
}

const refundForm = (these: Record<string, string> = {}) => ({
  amount: '10',
  reason: 'Credito mensa di fine anno',
  iban: FAMILY_IBAN,
  beneficiary: 'Maria Bruni',
  ...these,
})

beforeAll(async () => {
  office = await w.client('operatore')
  year = await setupCurrentYear(w.db, w.tenant)
})

describe("a wallet's credit at the end of the year", () => {
  it('moves to a sibling through the ledger, once per form, never more than the balance', async () => {
    const f = await family(5000)
    const page = await office.get(pupilPath(f.a))
    const html = await page.text()
    await expectValidHtml(html)
    expect(html).toContain('Credito rimasto')
    expect(html).toContain('Luca Bruni')
    expect(html).not.toContain('Ada Neri')
    const key = /name="chiaveSposta" value="([^"]+)"/.exec(html)?.[1] as string
    const path = `${pupilPath(f.a)}/credito/sposta`

    let res = await office.post(path, { chiaveSposta: key, fratello: String(f.b), importoSposta: '60' })
    expect(res.status).toBe(422)
    const bad = await res.text()
    await expectValidHtml(bad)
    expect(bad).toContain('<a href="#importoSposta">L&#39;importo supera il credito del borsellino (50,00 euro)')
    expect(bad).toMatch(/<details class="canteen-form" open>\s*<summary>Sposta il credito/)
    res = await office.post(path, { chiaveSposta: key, fratello: String(f.stranger), importoSposta: '10' })
    expect(await res.text()).toContain('Scegli a chi spostare il credito')
    res = await office.post(path, { chiaveSposta: key, importoSposta: '' })
    expect(res.status).toBe(422)
    expect(await balances([f.a, f.b])).toEqual([5000, 0])

    const form = { chiaveSposta: key, fratello: String(f.b), importoSposta: '20', notaSposta: 'Fine anno' }
    res = await office.submit(path, form)
    expect(res.status).toBe(303)
    // the same form sent again moves nothing
    expect((await office.post(path, form)).status).toBe(303)
    expect(await balances([f.a, f.b])).toEqual([3000, 2000])
    const lines = await withTenant(
      w.db.sql,
      w.tenant,
      (tx) => tx<{ pupil_id: number; kind: string; amount_cents: number; note: string }[]>`
        select pupil_id, kind, amount_cents, note from canteen_ledger where kind = 'trasferimento'
          and pupil_id = any(${[f.a, f.b]}) order by id`,
    )
    expect(lines).toEqual([
      { pupil_id: f.a, kind: 'trasferimento', amount_cents: -2000, note: '→ Luca Bruni – Fine anno' },
      { pupil_id: f.b, kind: 'trasferimento', amount_cents: 2000, note: '← Emma Bruni – Fine anno' },
    ])
    // the family sees the move in each wallet
    const citizen = await w.client('cittadino')
    const wallet = await (await citizen.get(`/t/${w.tenant.slug}/mensa`)).text()
    expect(wallet).toContain('Credito spostato tra fratelli')
  })

  it('is refunded to the family: out of the wallet when opened, back if cancelled, an email when executed', async () => {
    const f = await family(3000)
    const path = `${pupilPath(f.a)}/credito/rimborso`
    let res = await office.post(path, refundForm({ amount: '40', iban: 'IT00' }))
    expect(res.status).toBe(422)
    let html = await res.text()
    await expectValidHtml(html)
    expect(html).toContain('<a href="#iban">L&#39;IBAN non è valido')
    res = await office.post(path, refundForm({ amount: '40' }))
    expect(await res.text()).toContain('<a href="#amount">L&#39;importo supera il credito del borsellino (30,00 euro)')
    expect(await balances([f.a])).toEqual([3000])

    // a refund opened and cancelled: the credit comes back
    res = await office.submit(path, refundForm({ amount: '5' }))
    const cancelled = Number(/rimborsi\/(\d+)/.exec(res.headers.get('location') ?? '')?.[1])
    expect(await balances([f.a])).toEqual([2500])
    await office.submit(`/t/${w.tenant.slug}/ufficio/rimborsi/${cancelled}/annulla`, { cancelReason: 'Errore' })
    expect(await balances([f.a])).toEqual([3000])

    res = await office.submit(path, refundForm({ amount: '30' }))
    expect(res.status).toBe(303)
    const id = Number(/rimborsi\/(\d+)\?fatto=aperto/.exec(res.headers.get('location') ?? '')?.[1])
    expect(await balances([f.a])).toEqual([0])
    const [refund] = await withTenant(
      w.db.sql,
      w.tenant,
      (tx) => tx<{ basis: string; pupil_id: number; amount_cents: number; paid_cents: number; status: string }[]>`
        select basis, pupil_id, amount_cents, paid_cents, status from refunds where id = ${id}`,
    )
    expect(refund).toEqual({
      basis: 'credito_mensa',
      pupil_id: f.a,
      amount_cents: 3000,
      paid_cents: 3000,
      status: 'aperto',
    })
    // nothing left: the section is gone, and a refund is refused
    expect(await (await office.get(pupilPath(f.a))).text()).not.toContain('Credito rimasto')
    res = await office.post(path, refundForm({ amount: '1' }))
    expect(await res.text()).toContain('Il borsellino non ha credito')

    const [y, m, d] = todayRome().split('-')
    res = await office.submit(`/t/${w.tenant.slug}/ufficio/rimborsi/${id}/esegui`, {
      bankReference: 'TRN MENSA 1',
      'executed-day': d as string,
      'executed-month': m as string,
      'executed-year': y as string,
    })
    expect(res.status).toBe(303)
    const [mail] = await w.db.sql<{ text_body: string; to_address: string }[]>`
      select text_body, to_address from platform.outbox where dedupe_key = ${`refund:${w.tenant.id}:${id}:eseguito`}`
    expect(mail?.to_address).toBe(w.accounts.cittadino.email)
    expect(mail?.text_body).toContain('il credito mensa rimasto di Emma Bruni')
    expect(mail?.text_body).toContain('TRN MENSA 1')
    html = await (await office.get(`/t/${w.tenant.slug}/ufficio/rimborsi/${id}`)).text()
    await expectValidHtml(html)
    expect(html).toContain('Credito mensa rimasto a fine anno')
  })

  it('two clerks refunding the same credit at once never take more than the balance', async () => {
    const f = await family(4000)
    const second = await w.client('operatore')
    await second.get(pupilPath(f.a))
    const path = `${pupilPath(f.a)}/credito/rimborso`
    const answers = await Promise.all([
      office.post(path, refundForm({ amount: '30' })),
      second.post(path, refundForm({ amount: '30' })),
    ])
    expect(answers.map((r) => r.status).sort()).toEqual([303, 422])
    expect(await balances([f.a])).toEqual([1000])
  })

  it('a lettore and a citizen cannot refund or move credit', async () => {
    const f = await family(1000)
    for (const who of ['lettore', 'cittadino'] as const) {
      const c = await w.client(who)
      expect((await c.post(`${pupilPath(f.a)}/credito/rimborso`, refundForm())).status, who).toBe(403)
      expect(
        (await c.post(`${pupilPath(f.a)}/credito/sposta`, { fratello: String(f.b), importoSposta: '5' })).status,
        who,
      ).toBe(403)
    }
    const reader = await w.client('lettore')
    expect(await (await reader.get(pupilPath(f.a))).text()).not.toContain('/credito/rimborso')
    expect((await office.post(`${pupilPath(999999)}/credito/rimborso`, refundForm())).status).toBe(404)
    expect(await balances([f.a, f.b])).toEqual([1000, 0])
  })
})
