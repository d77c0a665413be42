// Demo data of the canteen, so its screens have something real to show: schools and classes, the school year
// 2026/2027 (and the current one) with holidays, tariffs RESIDENTE / NON RESIDENTE / ISEE brackets, the demo
// pupils enrolled, the meals of the last weeks charged, a paid top-up, an opening debt and a few absences.
import { addDays, todayRome } from '../../platform/dates.ts'
import { type Db, type TenantScope, type Tx, withTenant } from '../../platform/db.ts'
import { issueDocuments } from '../debts/issue.ts'
import { settleInstallments } from '../payments/settle.ts'
import { schoolYearOf } from './rules.ts'
import { canteenService, chargeDay, enrollInCanteen } from './service.ts'

/** A school year's holidays (Italian calendar, most regions): Christmas, Easter and the bank holidays. */
function holidays(label: string): { from: string; to: string; description: string }[] {
  const y = Number(label.slice(0, 4))
  const n = y + 1
  return [
    { from: `${y}-11-01`, to: `${y}-11-01`, description: 'Ognissanti' },
    { from: `${y}-12-08`, to: `${y}-12-08`, description: 'Immacolata' },
    { from: `${y}-12-23`, to: `${n}-01-06`, description: 'Vacanze di Natale' },
    { from: `${n}-04-02`, to: `${n}-04-07`, description: 'Vacanze di Pasqua' },
    { from: `${n}-04-25`, to: `${n}-04-25`, description: 'Festa della Liberazione' },
    { from: `${n}-05-01`, to: `${n}-05-01`, description: 'Festa del lavoro' },
    { from: `${n}-06-02`, to: `${n}-06-02`, description: 'Festa della Repubblica' },
  ]
}

async function schoolYear(tx: Tx, label: string) {
  const y = Number(label.slice(0, 4))
  const [row] = await tx<{ id: number }[]>`
    insert into canteen_school_years (label, starts_on, ends_on) values (${label}, ${`${y}-09-14`}, ${`${y + 1}-06-10`})
    on conflict (label) do nothing returning id`
  if (!row) return
  const days = holidays(label)
  await tx`insert into canteen_closures ${tx(
    days.map((h) => ({ school_year_id: row.id, starts_on: h.from, ends_on: h.to, description: h.description })),
  )}`
}

export async function seedCanteenDemo(
  db: Db,
  tenant: TenantScope & { id: number; segregationCode: string },
  today = todayRome(),
): Promise<void> {
  await withTenant(db.sql, tenant, async (tx) => {
    const service = await canteenService(tx)
    if (!service) return
    const current = schoolYearOf(today)
    for (const label of new Set(['2026/2027', current])) await schoolYear(tx, label)

    const schools = await tx<{ id: number; name: string }[]>`
      insert into canteen_schools ${tx([
        { kind: 'primaria', name: 'DANTE ALIGHIERI', address: 'Via Dante 10' },
        { kind: 'primaria', name: 'GIOVANNI PASCOLI', address: 'Via Pascoli 4' },
        { kind: 'infanzia', name: 'GIANNI RODARI', address: 'Piazza Rodari 1' },
      ])} returning id, name`
    const school = (name: string) => (schools.find((s) => s.name === name) as { id: number }).id
    const classes: { id: number; name: string }[] = []
    for (const [schoolName, name, note, weekdays] of [
      ['DANTE ALIGHIERI', '5 A', '1 rientro', [3]],
      ['DANTE ALIGHIERI', '3 B', 'tempo pieno', [1, 2, 3, 4, 5]],
      ['GIOVANNI PASCOLI', '4 C', 'tempo pieno', [1, 2, 3, 4, 5]],
      ['GIANNI RODARI', 'Sezione A', null, [1, 2, 3, 4, 5]],
    ] as [string, string, string | null, number[]][]) {
      const [row] = await tx<{ id: number; name: string }[]>`
        insert into canteen_classes (school_id, name, note, weekdays)
        values (${school(schoolName)}, ${name}, ${note}, ${weekdays}::smallint[]) returning id, name`
      classes.push(row as { id: number; name: string })
    }
    const klass = (name: string) => (classes.find((k) => k.name === name) as { id: number }).id

    const tariffs = await tx<{ id: number; name: string }[]>`
      insert into canteen_tariffs (name, description, is_default) values
        ('RESIDENTE', 'Famiglie residenti nel comune', true),
        ('NON RESIDENTE', 'Famiglie residenti in altri comuni', false)
      returning id, name`
    const residente = (tariffs.find((t) => t.name === 'RESIDENTE') as { id: number }).id
    const nonResidente = (tariffs.find((t) => t.name === 'NON RESIDENTE') as { id: number }).id
    const bands = await tx<{ id: number; name: string }[]>`
      insert into canteen_tariffs (name, description, base_tariff_id, isee_min_cents, isee_max_cents) values
        ('ISEE FASCIA 1', 'Riduzione per ISEE fino a 6.000 €', ${residente}, 0, 600000),
        ('ISEE FASCIA 2', 'Riduzione per ISEE da 6.000,01 a 12.000 €', ${residente}, 600001, 1200000)
      returning id, name`
    const band1 = (bands.find((t) => t.name === 'ISEE FASCIA 1') as { id: number }).id
    const band2 = (bands.find((t) => t.name === 'ISEE FASCIA 2') as { id: number }).id
    // NON RESIDENTE went up at the start of 2026/2027: the older meals keep the older price
    await tx`insert into canteen_tariff_prices ${tx([
      { tariff_id: residente, valid_from: '2025-08-01', price_cents: 580 },
      { tariff_id: nonResidente, valid_from: '2025-08-01', price_cents: 680 },
      { tariff_id: nonResidente, valid_from: '2026-08-01', price_cents: 700 },
      { tariff_id: band1, valid_from: '2025-08-01', price_cents: 290 },
      { tariff_id: band2, valid_from: '2025-08-01', price_cents: 420 },
    ])}`

    // the demo pupils (seeded by seedTenantDemo): Giulia, Luca, Sofia
    const pupils = await tx<{ id: number; given_name: string }[]>`select id, given_name from pupils order by id`
    const pupil = (name: string) => pupils.find((p) => p.given_name === name)?.id
    const start = `${current.slice(0, 4)}-09-14`
    const plan: [number | undefined, string, number][] = [
      [pupil('Giulia'), '3 B', residente],
      [pupil('Luca'), '5 A', band1],
      [pupil('Sofia'), 'Sezione A', nonResidente],
    ]
    for (const [pupilId, className, tariffId] of plan) {
      if (pupilId) await enrollInCanteen(tx, { pupilId, classId: klass(className), tariffId, startDate: start })
    }
    const luca = pupil('Luca')
    if (luca) await tx`update canteen_enrollments set isee_cents = 550000 where pupil_id = ${luca}`

    // a few absences and a light meal, in the past and the days ahead
    const giulia = pupil('Giulia')
    const sofia = pupil('Sofia')
    const marks = [
      giulia && { pupil_id: giulia, day: addDays(today, -6), status: 'assente' },
      giulia && { pupil_id: giulia, day: addDays(today, 2), status: 'bianco' },
      sofia && { pupil_id: sofia, day: addDays(today, -3), status: 'assente' },
      sofia && { pupil_id: sofia, day: addDays(today, -2), status: 'assente' },
      sofia && { pupil_id: sofia, day: addDays(today, 7), status: 'assente' },
    ].filter((m): m is { pupil_id: number; day: string; status: string } => !!m)
    if (marks.length) {
      await tx`insert into canteen_attendance ${tx(marks.map((m) => ({ ...m, source: 'famiglia', actor_name: 'Demo' })))}`
    }

    // the meals of the last three weeks, charged as the daily job would
    for (let d = addDays(today, -21); d < today; d = addDays(d, 1)) await chargeDay(tx, d)

    // Sofia arrives with a debt from last year
    if (sofia) {
      await tx`insert into canteen_ledger (pupil_id, kind, entry_date, amount_cents, entry_key, note, actor_name)
               values (${sofia}, 'saldo_iniziale', ${addDays(`${current.slice(0, 4)}-08-01`, -1)}, -1160,
                       ${`saldo_iniziale:${sofia}:${current}`}, 'Debito dell''anno scolastico precedente', 'Ufficio')`
    }

    // Giulia's family pre-loaded 20 meals, paid and credited through the payment hook
    if (giulia) {
      const [payer] = await tx<{ payer_id: number }[]>`
        select payer_id from pupil_payers where pupil_id = ${giulia} order by holder desc limit 1`
      if (payer) {
        const paidOn = addDays(today, -14)
        const issued = await issueDocuments(tx, tenant, [
          {
            year: Number(paidOn.slice(0, 4)),
            issueDate: paidOn,
            serviceId: service.id,
            payerId: payer.payer_id,
            pupilId: giulia,
            description: `${service.causale} – ricarica di 20 pasti a 5,80 € – Giulia Rossi`,
            installments: [{ dueDate: paidOn, amountCents: 11600 }],
          },
        ])
        const inst = issued.installments[0] as { id: number; iuv: string }
        await tx`insert into canteen_topups (idempotency_key, account_id, pupil_id, payer_id, meals, unit_price_cents, tariff_id,
                   document_id, installment_id)
                 values (${'demo-topup-giulia-0000000000000000000000000'.slice(0, 43)}, 0, ${giulia}, ${payer.payer_id}, 20, 580,
                   ${residente}, ${issued.documentIds[0] as number}, ${inst.id})`
        await settleInstallments(tx, [
          {
            installmentId: inst.id,
            paymentId: null,
            source: 'pagopa',
            receiptNumber: `DEMO-${inst.iuv}`,
            amountCents: 11600,
            paidAt: new Date(`${paidOn}T10:30:00Z`),
            channel: 'demo',
          },
        ])
      }
    }
  })
}
