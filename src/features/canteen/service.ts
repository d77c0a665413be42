// The canteen's rules over the database: enrollment, attendance (families before the cut-off, the office at
// any time), the daily meal charges, the wallet ledger credited when canteen installments are settled, and
// pre-loads of meals paid through the normal checkout. Functions take the tenant transaction first; "now" is
// passed in, so tests move the clock without touching Date.
import { type Actor, audit } from '../../platform/audit.ts'
import type { CommissionRule } from '../../platform/commission.ts'
import { addDays, todayRome } from '../../platform/dates.ts'
import type { Tx } from '../../platform/db.ts'
import { NotFound } from '../../platform/errors.ts'
import type { SessionUser } from '../../platform/http.ts'
import { translator } from '../../platform/i18n.ts'
import { formatMoney } from '../../platform/money.ts'
import type { Tenant } from '../../platform/tenancy.ts'
import { issueDocuments } from '../debts/issue.ts'
import {
  type AttendanceStatus,
  type ChargeRow,
  dayServed,
  holderOf,
  lockDay,
  pupilDays,
  type WalletRow,
  walletRows,
} from './queries.ts'
import { familyWindow, mealCharge, schoolYearOf } from './rules.ts'

// ---- enrollment

export interface EnrollInput {
  pupilId: number
  classId: number | null
  tariffId: number | null
  /** 'YYYY-MM-DD': the school year is the one it falls in (August to July) */
  startDate: string
}

/**
 * Enrolls a pupil in the canteen for the school year of the start date, once: a second call for the same pupil
 * and year returns the first enrollment unchanged. Without a tariff the tenant's default tariff applies (if
 * any). Called by the office's enrollment page and when an office accepts a canteen application.
 */
export async function enrollInCanteen(tx: Tx, input: EnrollInput): Promise<number> {
  const schoolYear = schoolYearOf(input.startDate)
  const [pupil] = await tx<{ id: number }[]>`select id from pupils where id = ${input.pupilId}`
  if (!pupil) throw new NotFound('unknown pupil')
  if (input.classId !== null) {
    const [c] = await tx<{ id: number }[]>`select id from canteen_classes where id = ${input.classId}`
    if (!c) throw new NotFound('unknown class')
  }
  let tariffId = input.tariffId
  if (tariffId !== null) {
    const [t] = await tx<{ id: number }[]>`select id from canteen_tariffs where id = ${tariffId}`
    if (!t) throw new NotFound('unknown tariff')
  } else {
    const [d] = await tx<{ id: number }[]>`select id from canteen_tariffs where is_default and active`
    tariffId = d?.id ?? null
  }
  const inserted = await tx<{ id: number }[]>`
    insert into canteen_enrollments (pupil_id, school_year, class_id, start_date)
    values (${input.pupilId}, ${schoolYear}, ${input.classId}, ${input.startDate})
    on conflict (pupil_id, school_year) do nothing
    returning id`
  if (!inserted[0]) {
    const [existing] = await tx<{ id: number }[]>`
      select id from canteen_enrollments where pupil_id = ${input.pupilId} and school_year = ${schoolYear}`
    return (existing as { id: number }).id
  }
  const id = inserted[0].id
  // the pupil's payers find this tenant in their personal area (and its canteen) from now on
  await tx`
    insert into platform.payer_index (codice_fiscale, tenant_id)
    select distinct p.codice_fiscale, t.id
    from pupil_payers pp join payers p on p.id = pp.payer_id join platform.tenants t on t.schema_name = current_schema()
    where pp.pupil_id = ${input.pupilId}
    on conflict do nothing`
  if (tariffId !== null) {
    await tx`insert into canteen_enrollment_tariffs (enrollment_id, valid_from, tariff_id)
             values (${id}, ${input.startDate}, ${tariffId})`
  }
  return id
}

/** The tariff of an enrollment from a day on (replacing a change already planned for that same day). */
export async function setEnrollmentTariff(tx: Tx, enrollmentId: number, tariffId: number, validFrom: string) {
  await tx`
    insert into canteen_enrollment_tariffs (enrollment_id, valid_from, tariff_id)
    values (${enrollmentId}, ${validFrom}, ${tariffId})
    on conflict (enrollment_id, valid_from) do update set tariff_id = excluded.tariff_id`
}

// ---- attendance

export interface MarkResult {
  /** days changed */
  changed: string[]
  /** days that could not change any more: past, or today after the cut-off */
  closed: string[]
  /** days without service for the pupil (holidays, weekends, before the enrollment) */
  noService: string[]
}

/**
 * A family marks days (an absence or a light meal; null cancels what was marked): only service days of the
 * pupil, only later days or today before the tenant's cut-off. Nothing is written for the other days; the
 * result says which were refused and why.
 */
export async function familyMark(
  tx: Tx,
  tenant: Pick<Tenant, 'settings'>,
  actor: Actor,
  pupilId: number,
  from: string,
  to: string,
  status: AttendanceStatus | null,
  now: Date,
): Promise<MarkResult> {
  const days = await pupilDays(tx, pupilId, from, to)
  const result: MarkResult = { changed: [], closed: [], noService: [] }
  const open: string[] = []
  for (const d of days) {
    if (!d.service) result.noService.push(d.day)
    else if (familyWindow(d.day, tenant.settings.cutoff, now) === 'closed') result.closed.push(d.day)
    else open.push(d.day)
  }
  if (open.length === 0) return result
  if (status === null) {
    const rows = await tx<{ day: string }[]>`
      delete from canteen_attendance where pupil_id = ${pupilId} and day = any(${open}::date[]) returning day`
    result.changed = rows.map((r) => r.day).sort()
  } else {
    const rows = await tx<{ day: string }[]>`
      insert into canteen_attendance (pupil_id, day, status, source, account_id, actor_name, updated_at)
      select ${pupilId}, d, ${status}, 'famiglia', ${actor.accountId}, ${actor.name}, now() from unnest(${open}::date[]) d
      on conflict (pupil_id, day) do update set status = excluded.status, source = excluded.source,
        account_id = excluded.account_id, actor_name = excluded.actor_name, updated_at = excluded.updated_at
      returning day`
    result.changed = rows.map((r) => r.day).sort()
  }
  return result
}

/**
 * The office records or corrects a day of a pupil (any day; null = present). When that day has already been
 * charged, the ledger gets the difference at once (a correction entry); otherwise the charging job will use
 * the new record. Audited, in the caller's transaction.
 */
export async function officeRecord(
  tx: Tx,
  actor: Actor,
  pupilId: number,
  day: string,
  status: AttendanceStatus | null,
  reason: string | null,
): Promise<{ correctionCents: number }> {
  await lockDay(tx, day)
  const [before] = await tx<{ status: AttendanceStatus }[]>`
    select status from canteen_attendance where pupil_id = ${pupilId} and day = ${day}`
  if (status === null) {
    await tx`delete from canteen_attendance where pupil_id = ${pupilId} and day = ${day}`
  } else {
    await tx`
      insert into canteen_attendance (pupil_id, day, status, source, account_id, actor_name, updated_at)
      values (${pupilId}, ${day}, ${status}, 'ufficio', ${actor.accountId}, ${actor.name}, now())
      on conflict (pupil_id, day) do update set status = excluded.status, source = 'ufficio',
        account_id = excluded.account_id, actor_name = excluded.actor_name, updated_at = excluded.updated_at`
  }
  const [charged] = await tx<{ day: string }[]>`select day::text from canteen_charge_days where day = ${day}`
  const correctionCents = charged ? await correctDay(tx, actor, pupilId, day, reason) : 0
  await audit(tx, actor, {
    action: 'canteen.attendance',
    entity: 'pupil',
    entityId: pupilId,
    before: { day, status: before?.status ?? 'presente' },
    after: { day, status: status ?? 'presente', correctionCents },
    reason,
  })
  return { correctionCents }
}

/** Brings the ledger of a charged day in line with what the day should cost now; returns the difference. */
async function correctDay(tx: Tx, actor: Actor, pupilId: number, day: string, reason: string | null): Promise<number> {
  const [served] = await dayServed(tx, day, [pupilId])
  const want =
    served && served.priceCents !== null
      ? mealCharge(
          served.attendance,
          served.priceCents,
          served.basePriceCents ?? served.priceCents,
          served.lightMealCharged ?? true,
        )
      : { amountCents: 0, grossCents: 0, meals: 0 }
  const [have] = await tx<{ amount: number; gross: number; meals: number; corrections: number }[]>`
    select coalesce(sum(amount_cents), 0)::bigint as amount, coalesce(sum(gross_cents), 0)::bigint as gross,
      coalesce(sum(meals), 0)::int as meals, count(*) filter (where kind = 'rettifica_pasto')::int as corrections
    from canteen_ledger where pupil_id = ${pupilId} and entry_date = ${day} and kind in ('pasto', 'rettifica_pasto')`
  const h = have as { amount: number; gross: number; meals: number; corrections: number }
  const delta = { amount: want.amountCents - h.amount, gross: want.grossCents - h.gross, meals: want.meals - h.meals }
  if (delta.amount === 0 && delta.meals === 0) return 0
  await tx`
    insert into canteen_ledger (pupil_id, payer_id, kind, entry_date, amount_cents, meals, tariff_id, unit_price_cents,
      gross_cents, entry_key, note, actor_account_id, actor_name)
    values (${pupilId}, ${served?.payerId ?? (await holderOf(tx, pupilId))}, 'rettifica_pasto', ${day}, ${delta.amount},
      ${delta.meals}, ${served?.tariffId ?? null}, ${served?.priceCents ?? null}, ${delta.gross},
      ${`rettifica_pasto:${pupilId}:${day}:${h.corrections + 1}`}, ${reason}, ${actor.accountId}, ${actor.name})`
  return delta.amount
}

// ---- the daily charge

export interface ChargeCounts {
  /** 1 when this call charged the day, 0 when it had been charged before or could not be yet */
  days: number
  meals: number
  lightMeals: number
  absent: number
  /** served pupils without a tariff or a price valid that day: not charged, listed for the office */
  unpriced: number
  cents: number
}

/**
 * Charges one meal to every pupil the canteen serves that day and who is not absent, at the tariff valid that
 * day, once: the day is recorded, each charge has the unique key pasto:<pupil>:<day>, and the day's lock
 * serialises this with the office's corrections. A day without service charges nothing (and is recorded).
 */
export async function chargeDay(tx: Tx, day: string): Promise<ChargeCounts> {
  const counts: ChargeCounts = { days: 0, meals: 0, lightMeals: 0, absent: 0, unpriced: 0, cents: 0 }
  await lockDay(tx, day)
  const [done] = await tx<{ day: string }[]>`select day::text from canteen_charge_days where day = ${day}`
  if (done) return counts
  const served = await dayServed(tx, day)
  const rows = []
  for (const s of served) {
    if (s.attendance === 'assente') {
      counts.absent++
      continue
    }
    if (s.priceCents === null || s.tariffId === null) {
      counts.unpriced++
      continue
    }
    const c = mealCharge(s.attendance, s.priceCents, s.basePriceCents ?? s.priceCents, s.lightMealCharged ?? true)
    if (s.attendance === 'bianco') counts.lightMeals++
    rows.push(chargeEntry(s, day, c))
  }
  for (let i = 0; i < rows.length; i += 4000) {
    const inserted = await tx<{ amount_cents: number; meals: number }[]>`
      insert into canteen_ledger ${tx(rows.slice(i, i + 4000))}
      on conflict (entry_key) do nothing returning amount_cents, meals`
    for (const r of inserted) {
      counts.meals += r.meals
      counts.cents -= r.amount_cents
    }
  }
  await tx`insert into canteen_charge_days (day, meals) values (${day}, ${counts.meals})`
  counts.days = 1
  return counts
}

function chargeEntry(s: ChargeRow, day: string, c: ReturnType<typeof mealCharge>) {
  return {
    pupil_id: s.pupilId,
    payer_id: s.payerId,
    kind: 'pasto',
    entry_date: day,
    amount_cents: c.amountCents,
    meals: c.meals,
    tariff_id: s.tariffId,
    unit_price_cents: s.priceCents,
    gross_cents: c.grossCents,
    entry_key: `pasto:${s.pupilId}:${day}`,
  }
}

/** The service days to charge in a run: the given day, or today plus the days missed since the last run. */
export async function daysToCharge(tx: Tx, today: string, catchUpDays = 7): Promise<string[]> {
  const [last] = await tx<{ day: string | null }[]>`select max(day)::text as day from canteen_charge_days`
  if (!last?.day) return [today]
  const out: string[] = []
  const from = last.day >= addDays(today, -catchUpDays) ? addDays(last.day, 1) : addDays(today, -catchUpDays)
  for (let d = from; d <= today; d = addDays(d, 1)) out.push(d)
  return out
}

// ---- the wallet

export interface Wallet extends WalletRow {
  reductionsCents: number
}

export async function wallets(tx: Tx, pupilIds: number[], from: string, to: string): Promise<Map<number, Wallet>> {
  if (pupilIds.length === 0) return new Map()
  const rows = await walletRows(tx, pupilIds, from, to)
  return new Map(rows.map((r) => [r.pupilId, { ...r, reductionsCents: Math.max(0, r.grossCents - r.consumedCents) }]))
}

/**
 * Credits the wallets for installments just settled (a PAID_HOOK, in the settling transaction): a pre-load
 * (canteen_topups) or a spontaneous canteen payment is "paid spontaneously from the site"; any other
 * installment of a canteen service is "paid by notice". It goes to the document's pupil, or, for a document
 * issued to the payer without a pupil, to the payer's first pupil enrolled in the canteen (decision 0022).
 * Once per installment: the ledger's unique key is rata:<installment id>.
 */
export async function creditWallets(tx: Tx, installmentIds: number[]): Promise<void> {
  if (installmentIds.length === 0) return
  await tx`
    insert into canteen_ledger (pupil_id, payer_id, kind, entry_date, amount_cents, meals, tariff_id, unit_price_cents,
      installment_id, entry_key, note)
    select coalesce(t.pupil_id, d.pupil_id, f.pupil_id), coalesce(t.payer_id, d.payer_id),
      case when t.id is not null or exists (select 1 from spontaneous_requests r where r.installment_id = i.id)
        then 'ricarica' else 'avviso' end,
      (ip.paid_at at time zone 'Europe/Rome')::date, ip.amount_cents, 0, t.tariff_id, t.unit_price_cents,
      i.id, 'rata:' || i.id, left(d.description, 300)
    from installments i
      join installment_payments ip on ip.installment_id = i.id
      join documents d on d.id = i.document_id
      join services s on s.id = d.service_id
      left join canteen_topups t on t.installment_id = i.id
      left join lateral (
        select e.pupil_id from canteen_enrollments e join pupil_payers pp on pp.pupil_id = e.pupil_id
        where pp.payer_id = d.payer_id order by e.pupil_id limit 1) f on true
    where i.id = any(${installmentIds}) and (t.id is not null or s.kind = 'mensa')
      and coalesce(t.pupil_id, d.pupil_id, f.pupil_id) is not null
    on conflict do nothing`
}

/** A manual entry by the office: an adjustment (credit or debit) or the opening balance of a school year. */
export async function addAdjustment(
  tx: Tx,
  actor: Actor,
  pupilId: number,
  input: { kind: 'rettifica' | 'saldo_iniziale'; amountCents: number; entryDate: string; note: string; key: string },
): Promise<boolean> {
  const payerId = await holderOf(tx, pupilId)
  const rows = await tx`
    insert into canteen_ledger (pupil_id, payer_id, kind, entry_date, amount_cents, entry_key, note, actor_account_id, actor_name)
    values (${pupilId}, ${payerId}, ${input.kind}, ${input.entryDate}, ${input.amountCents}, ${input.key}, ${input.note},
            ${actor.accountId}, ${actor.name})
    on conflict (entry_key) do nothing returning id`
  if (rows.length === 0) return false
  await audit(tx, actor, {
    action: `canteen.${input.kind}`,
    entity: 'pupil',
    entityId: pupilId,
    after: { amountCents: input.amountCents, entryDate: input.entryDate },
    reason: input.note,
  })
  return true
}

// ---- pre-loading meals

export interface TopupOption {
  pupilId: number
  name: string
  enrollmentId: number
  tariffId: number | null
  tariffName: string | null
  priceCents: number | null
}

/** The citizen's pupils enrolled in the canteen this school year, with the tariff and price of today. */
export async function topupOptions(tx: Tx, cf: string, today: string): Promise<TopupOption[]> {
  return tx<TopupOption[]>`
    select pu.id as "pupilId", pu.given_name || ' ' || pu.family_name as name, e.id as "enrollmentId",
      t.id as "tariffId", t.name as "tariffName",
      (select p.price_cents from canteen_tariff_prices p where p.tariff_id = t.id and p.valid_from <= ${today}::date
        order by p.valid_from desc limit 1) as "priceCents"
    from canteen_enrollments e
      join pupils pu on pu.id = e.pupil_id
      left join lateral (
        select x.tariff_id from canteen_enrollment_tariffs x where x.enrollment_id = e.id
        order by (x.valid_from <= ${today}::date) desc, case when x.valid_from <= ${today}::date then x.valid_from end desc,
          x.valid_from
        limit 1) et on true
      left join canteen_tariffs t on t.id = et.tariff_id
    where e.school_year = ${schoolYearOf(today)} and e.status <> 'cessata'
      and e.pupil_id in (select pp.pupil_id from pupil_payers pp join payers p on p.id = pp.payer_id
                         where p.codice_fiscale = ${cf})
    order by pu.given_name, pu.family_name, pu.id`
}

export interface CanteenService {
  id: number
  name: string
  causale: string
  commission: CommissionRule | null
}

export async function canteenService(tx: Tx): Promise<CanteenService | null> {
  const [s] = await tx<CanteenService[]>`
    select id, name, causale, commission from services where kind = 'mensa' and active order by id limit 1`
  return s ?? null
}

export class TopupKeyTaken extends Error {}

/**
 * Turns a confirmed pre-load into a document with one installment of the canteen service (meals × the
 * pupil's price of today, integer cents), once per check-page key: a second submit returns the first one's
 * installment. The payer is the citizen (created from the account when the office does not know them yet).
 */
export async function issueTopup(
  tx: Tx,
  tenant: Pick<Tenant, 'id' | 'segregationCode'>,
  user: Pick<SessionUser, 'accountId' | 'codiceFiscale' | 'givenName' | 'familyName' | 'email'>,
  option: TopupOption & { priceCents: number },
  service: CanteenService,
  meals: number,
  key: string,
  now: Date,
): Promise<{ installmentId: number; documentId: number; amountCents: number; created: boolean }> {
  const amountCents = meals * option.priceCents
  if (!Number.isSafeInteger(amountCents) || amountCents <= 0) throw new Error('bad pre-load amount')
  await tx`
    insert into payers (codice_fiscale, given_name, family_name, email)
    values (${user.codiceFiscale}, ${user.givenName}, ${user.familyName}, ${user.email})
    on conflict (codice_fiscale) do nothing`
  const [payer] = await tx<{ id: number }[]>`select id from payers where codice_fiscale = ${user.codiceFiscale}`
  const payerId = (payer as { id: number }).id
  const claimed = await tx<{ id: number }[]>`
    insert into canteen_topups (idempotency_key, account_id, pupil_id, payer_id, meals, unit_price_cents, tariff_id)
    values (${key}, ${user.accountId}, ${option.pupilId}, ${payerId}, ${meals}, ${option.priceCents}, ${option.tariffId})
    on conflict (idempotency_key) do nothing returning id`
  if (!claimed[0]) {
    const [first] = await tx<
      { account_id: number; installment_id: number | null; document_id: number | null; amount: number }[]
    >`select t.account_id, t.installment_id, t.document_id, t.meals * t.unit_price_cents as amount
      from canteen_topups t where t.idempotency_key = ${key}`
    if (!first || first.account_id !== user.accountId || !first.installment_id || !first.document_id) {
      throw new TopupKeyTaken()
    }
    return {
      installmentId: first.installment_id,
      documentId: first.document_id,
      amountCents: first.amount,
      created: false,
    }
  }
  const today = todayRome(now)
  const it = translator('it')
  const issued = await issueDocuments(tx, tenant, [
    {
      year: Number(today.slice(0, 4)),
      issueDate: today,
      serviceId: service.id,
      payerId,
      pupilId: option.pupilId,
      description: it('canteen.topup.causale', {
        causale: service.causale,
        meals,
        price: formatMoney(option.priceCents),
        pupil: option.name,
      }).slice(0, 140),
      installments: [{ dueDate: today, amountCents }],
    },
  ])
  const documentId = issued.documentIds[0] as number
  const installmentId = (issued.installments[0] as { id: number }).id
  await tx`update canteen_topups set document_id = ${documentId}, installment_id = ${installmentId}
           where id = ${claimed[0].id}`
  return { installmentId, documentId, amountCents, created: true }
}

export const WITHDRAW_AFTER_HOURS = 24

/**
 * Pre-loads nobody paid are withdrawn after a day: the document is cancelled (a pre-load is not a debt), the
 * request marked. Returns the installment ids withdrawn, for the caller to take out of carts.
 */
export async function withdrawAbandonedTopups(tx: Tx, now: Date): Promise<number[]> {
  const cutoff = new Date(now.getTime() - WITHDRAW_AFTER_HOURS * 3_600_000)
  const rows = await tx<{ id: number; document_id: number }[]>`
    update installments i set status = 'annullato'
    from canteen_topups t
    where t.installment_id = i.id and t.withdrawn_at is null and t.created_at < ${cutoff} and i.status = 'da_pagare'
    returning i.id, i.document_id`
  if (rows.length === 0) return []
  const docs = rows.map((r) => r.document_id)
  await tx`update documents set cancelled_at = ${now}, cancel_reason = 'Ricarica mensa non pagata'
           where id = any(${docs}) and cancelled_at is null`
  await tx`update canteen_topups set withdrawn_at = ${now} where document_id = any(${docs})`
  return rows.map((r) => r.id)
}
