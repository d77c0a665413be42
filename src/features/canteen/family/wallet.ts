// The family's canteen, first pages: the entry from the personal area (the bodies where the citizen has canteen
// pupils) and the wallet (portafoglio) of each pupil: balance, price and meals left, over a chosen period.
import { Hono } from 'hono'
import { todayRome } from '../../../platform/dates.ts'
import { withTenant } from '../../../platform/db.ts'
import { parseWith } from '../../../platform/forms.ts'
import type { Env } from '../../../platform/http.ts'
import { render } from '../../../platform/render.ts'
import type { Tenant } from '../../../platform/tenancy.ts'
import { citizenTenants } from '../../debts/routes.ts'
import { classLabel } from '../common.ts'
import { type CitizenPupil, citizenPupils, listEnrollments, officeMovements } from '../queries.ts'
import {
  defaultPeriod,
  mealsLeft,
  monthOf,
  romeTime,
  schoolYearBounds,
  schoolYearOf,
  yearFromParam,
  yearToParam,
} from '../rules.ts'
import { dateHrefs, dateValues, walletFilter, withDates } from '../schema.ts'
import { wallets } from '../service.ts'
import { BASE, base, inTenant, tenantOf, userOf } from './common.ts'

export const walletRoutes = new Hono<Env>()

// ---- the entry from the personal area: the tenants where the citizen has canteen pupils

walletRoutes.get('/mensa', async (c) => {
  const user = userOf(c)
  const found: { tenant: Tenant; pupils: CitizenPupil[] }[] = []
  for (const tenant of await citizenTenants(c, user.codiceFiscale)) {
    const pupils = await withTenant(c.var.deps.db.sql, tenant, (tx) => citizenPupils(tx, user.codiceFiscale))
    if (pupils.length) found.push({ tenant, pupils })
  }
  if (found.length === 1) return c.redirect(`/t/${(found[0] as { tenant: Tenant }).tenant.slug}/mensa`, 303)
  return render(c, 'canteen/tenants', { title: c.var.t('canteen.tenants.title'), found })
})

// ---- the wallet

walletRoutes.get(BASE, async (c) => {
  const tenant = tenantOf(c)
  const user = userOf(c)
  const now = new Date()
  const today = todayRome(now)
  const query = withDates(c.req.query(), ['dal', 'al'])
  const filter = parseWith(walletFilter, query, c.var.t, ['dal', 'al'], dateHrefs(['dal', 'al']))
  const data = await inTenant(c, async (tx) => {
    const pupils = await citizenPupils(tx, user.codiceFiscale)
    const years = [...new Set(pupils.flatMap((p) => p.years))].sort().reverse()
    const current = schoolYearOf(today)
    const year =
      yearFromParam(c.req.query('anno')) ?? (years.includes(current) || years.length === 0 ? current : years[0])
    const bounds = schoolYearBounds(year as string)
    let from = bounds.from
    let to = defaultPeriod(year as string, today).to
    if (filter.ok) {
      from = filter.data.dal ?? from
      to = filter.data.al ?? to
    }
    const ids = pupils.map((p) => p.id)
    const money = await wallets(tx, ids, from, to)
    const movements = await officeMovements(tx, ids, from, to)
    const enrollments = await listEnrollments(tx, year as string, today, { pupilIds: ids })
    const currentEnrollments =
      year === current ? enrollments : await listEnrollments(tx, current, today, { pupilIds: ids })
    return {
      years,
      year: year as string,
      from,
      to,
      pupils: pupils.map((p) => {
        const enrollment = enrollments.find((e) => e.pupilId === p.id) ?? null
        const price = currentEnrollments.find((e) => e.pupilId === p.id)?.priceCents ?? enrollment?.priceCents ?? null
        const wallet = money.get(p.id)
        return {
          pupil: p,
          enrollment,
          classText: enrollment ? classLabel(c.var.t, enrollment) : null,
          wallet,
          priceCents: price,
          mealsLeft: mealsLeft(wallet?.balanceCents ?? 0, price),
          movements: movements.filter((m) => m.pupilId === p.id),
        }
      }),
    }
  })
  const values = filter.ok
    ? { ...dateValues('dal', data.from), ...dateValues('al', data.to) }
    : (filter.values as Record<string, string>)
  return render(
    c,
    'canteen/wallet',
    {
      title: c.var.t('canteen.wallet.title'),
      ...data,
      yearParam: yearToParam(data.year),
      yearToParam,
      values,
      errors: filter.ok ? undefined : filter.errors,
      updatedDate: today,
      updatedTime: romeTime(now),
      month: monthOf(today),
      base: base(c),
      suspended: tenant.status === 'suspended',
    },
    filter.ok ? 200 : 422,
  )
})
