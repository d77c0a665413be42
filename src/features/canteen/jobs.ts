// The canteen's scheduled jobs: the daily meal charge (after each tenant's cut-off, once per day) and the
// low-balance alert (one email per threshold crossing). Both walk the active tenants (suspended ones are
// skipped by forEachTenant) and take (ctx, { date? }) so tests call them directly with their own clock.

import { todayRome } from '../../platform/dates.ts'
import { type Tx, withTenant } from '../../platform/db.ts'
import { type Lang, translator } from '../../platform/i18n.ts'
import { forEachTenant, type JobContext } from '../../platform/jobs.ts'
import { enqueueMail, textToHtml } from '../../platform/mail.ts'
import { formatMoney } from '../../platform/money.ts'
import type { Tenant } from '../../platform/tenancy.ts'
import { belowThreshold, chargeable, mealsLeft, schoolYearOf } from './rules.ts'
import { chargeDay, daysToCharge, withdrawAbandonedTopups } from './service.ts'

export interface JobOptions {
  /** the day to work on ('YYYY-MM-DD'); by default today in Rome (and, for charging, the days missed) */
  date?: string
}

/**
 * Charges the meals of each service day whose cut-off has passed: the given day, or today plus the days a
 * stopped scheduler missed (up to a week). A day already charged is skipped; a day before its cut-off waits
 * for a later run. Also withdraws pre-loads left unpaid for a day.
 */
export async function chargeMealsJob(ctx: JobContext, opts: JobOptions = {}): Promise<Record<string, number>> {
  const today = todayRome(ctx.now)
  return forEachTenant(ctx, 'canteen-charge-meals', async (tenant) => {
    const counts: Record<string, number> = {
      days: 0,
      meals: 0,
      lightMeals: 0,
      absent: 0,
      unpriced: 0,
      cents: 0,
      notYet: 0,
      withdrawn: 0,
    }
    const days = opts.date ? [opts.date] : await withTenant(ctx.db.sql, tenant, (tx) => daysToCharge(tx, today))
    for (const day of days) {
      if (!chargeable(day, tenant.settings.cutoff, ctx.now)) {
        counts.notYet = (counts.notYet ?? 0) + 1
        continue
      }
      const c = await withTenant(ctx.db.sql, tenant, (tx) => chargeDay(tx, day))
      for (const [k, v] of Object.entries(c)) counts[k] = (counts[k] ?? 0) + v
      await ctx.step?.('charged')
    }
    const withdrawn = await withTenant(ctx.db.sql, tenant, (tx) => withdrawAbandonedTopups(tx, ctx.now))
    if (withdrawn.length) {
      await ctx.db
        .sql`delete from platform.cart_items where tenant_id = ${tenant.id} and installment_id = any(${withdrawn})`
    }
    counts.withdrawn = withdrawn.length
    return counts
  })
}

interface Candidate {
  pupilId: number
  balance: number
  priceCents: number | null
  below: boolean | null
}

interface PendingMail {
  pupilId: number
  crossings: number
  givenName: string
  familyName: string
  balance: number
  priceCents: number | null
  payerName: string | null
  payerEmail: string | null
  accountEmail: string | null
  accountConfirmed: boolean | null
  lang: Lang | null
}

/** Moves each pupil's low-balance state; returns how many crossed below the threshold and how many re-armed. */
async function decide(tx: Tx, today: string, threshold: number): Promise<{ crossed: number; rearmed: number }> {
  const rows = await tx<Candidate[]>`
    select e.pupil_id as "pupilId", coalesce(b.balance, 0)::bigint as balance, st.below,
      (select p.price_cents from canteen_tariff_prices p where p.tariff_id = et.tariff_id and p.valid_from <= ${today}::date
        order by p.valid_from desc limit 1) as "priceCents"
    from canteen_enrollments e
      left join lateral (select sum(l.amount_cents) as balance from canteen_ledger l where l.pupil_id = e.pupil_id) b on true
      left join lateral (
        select x.tariff_id from canteen_enrollment_tariffs x where x.enrollment_id = e.id and x.valid_from <= ${today}::date
        order by x.valid_from desc limit 1) et on true
      left join canteen_low_balance st on st.pupil_id = e.pupil_id
    where e.school_year = ${schoolYearOf(today)} and e.status = 'attiva'`
  const down = rows.filter((r) => belowThreshold(r.balance, r.priceCents, threshold) && r.below !== true)
  const up = rows.filter((r) => !belowThreshold(r.balance, r.priceCents, threshold) && r.below === true)
  let crossed = 0
  if (down.length) {
    // the conditional update decides: a concurrent run that got here first leaves nothing to do
    const ids = down.map((r) => r.pupilId)
    const changed = await tx`
      insert into canteen_low_balance (pupil_id, below, crossings, mail_pending, changed_at)
      select p, true, 1, true, now() from unnest(${ids}::bigint[]) p
      on conflict (pupil_id) do update set below = true, crossings = canteen_low_balance.crossings + 1,
        mail_pending = true, changed_at = excluded.changed_at
        where canteen_low_balance.below = false
      returning pupil_id`
    crossed = changed.length
  }
  if (up.length) {
    await tx`update canteen_low_balance set below = false, changed_at = now()
             where pupil_id = any(${up.map((r) => r.pupilId)}) and below`
  }
  return { crossed, rearmed: up.length }
}

function pendingMails(tx: Tx, today: string): Promise<PendingMail[]> {
  return tx<PendingMail[]>`
    select st.pupil_id as "pupilId", st.crossings, pu.given_name as "givenName", pu.family_name as "familyName",
      coalesce((select sum(l.amount_cents) from canteen_ledger l where l.pupil_id = st.pupil_id), 0)::bigint as balance,
      (select p.price_cents from canteen_enrollments e
         join lateral (select x.tariff_id from canteen_enrollment_tariffs x where x.enrollment_id = e.id
                         and x.valid_from <= ${today}::date order by x.valid_from desc limit 1) et on true
         join canteen_tariff_prices p on p.tariff_id = et.tariff_id and p.valid_from <= ${today}::date
       where e.pupil_id = st.pupil_id order by e.school_year desc, p.valid_from desc limit 1) as "priceCents",
      py.given_name || ' ' || py.family_name as "payerName", py.email as "payerEmail",
      a.email as "accountEmail", a.email_confirmed_at is not null as "accountConfirmed", a.lang
    from canteen_low_balance st
      join pupils pu on pu.id = st.pupil_id
      left join lateral (select pp.payer_id from pupil_payers pp where pp.pupil_id = st.pupil_id
                         order by pp.holder desc, pp.payer_id limit 1) h on true
      left join payers py on py.id = h.payer_id
      left join platform.accounts a on a.codice_fiscale = py.codice_fiscale and a.deletion_requested_at is null
        and a.cf_proved_at is not null
    where st.mail_pending`
}

export function composeLowBalance(
  lang: Lang,
  tenant: Pick<Tenant, 'name' | 'slug'>,
  m: PendingMail,
  threshold: number,
  baseUrl: string,
): { subject: string; text: string; html: string } {
  const t = translator(lang)
  const pupil = `${m.givenName} ${m.familyName}`
  const link = `${baseUrl}/t/${tenant.slug}/mensa/ricarica?alunno=${m.pupilId}`
  const text = [
    t('canteen.mail.lowBalance.greeting', { name: m.payerName ?? '' }),
    t('canteen.mail.lowBalance.body', {
      pupil,
      tenant: tenant.name,
      balance: formatMoney(m.balance, lang),
      meals: mealsLeft(m.balance, m.priceCents),
      price: m.priceCents ? formatMoney(m.priceCents, lang) : '–',
      threshold,
    }),
    t('canteen.mail.lowBalance.link', { link }),
    t('canteen.mail.lowBalance.already'),
    t('mail.signature'),
  ].join('\n\n')
  return { subject: t('canteen.mail.lowBalance.subject', { pupil }), text, html: textToHtml(text, lang) }
}

/**
 * Emails the holder of each pupil whose balance went below the tenant's threshold (settings.lowBalanceMeals
 * meals at the pupil's price of today), once per crossing: the state changes first (in the tenant), then the
 * email is queued with a dedupe key naming the crossing, then the state is marked sent. A crash between the
 * two leaves mail_pending set, and the next run queues it again under the same key: never twice, never lost.
 */
export async function lowBalanceJob(ctx: JobContext, opts: JobOptions = {}): Promise<Record<string, number>> {
  const today = opts.date ?? todayRome(ctx.now)
  try {
    return await forEachTenant(ctx, 'canteen-low-balance', async (tenant) => {
      const counts = { crossed: 0, rearmed: 0, emails: 0, noAddress: 0 }
      const threshold = tenant.settings.lowBalanceMeals
      const pending = await withTenant(ctx.db.sql, tenant, async (tx) => {
        if (threshold > 0) Object.assign(counts, await decide(tx, today, threshold))
        return pendingMails(tx, today)
      })
      await ctx.step?.('decided')
      for (const m of pending) {
        const to = (m.accountConfirmed ? m.accountEmail : null) ?? m.payerEmail
        if (to) {
          const mail = composeLowBalance(m.lang ?? 'it', tenant, m, threshold, ctx.config.baseUrl)
          await enqueueMail(ctx.db.sql, {
            to,
            ...mail,
            dedupeKey: `canteen-low:${tenant.id}:${m.pupilId}:${m.crossings}`,
          })
          counts.emails++
        } else counts.noAddress++
      }
      if (pending.length) {
        await withTenant(ctx.db.sql, tenant, async (tx) => {
          await tx`update canteen_low_balance st set mail_pending = false
                   from unnest(${pending.map((m) => m.pupilId)}::bigint[], ${pending.map((m) => m.crossings)}::int[]) as x(p, n)
                   where st.pupil_id = x.p and st.crossings = x.n`
        })
      }
      return counts
    })
  } finally {
    ctx.kickMail()
  }
}
