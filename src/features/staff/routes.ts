// The tenant's office: the dashboard (src/features/backoffice/dashboard.ts), and its members with their roles (admins manage them).
import { Hono } from 'hono'
import { z } from 'zod'
import { todayRome } from '../../platform/dates.ts'
import { withTenant } from '../../platform/db.ts'
import { NotFound } from '../../platform/errors.ts'
import { fieldError, formValues, parseWith } from '../../platform/forms.ts'
import type { Env } from '../../platform/http.ts'
import { formatMoney } from '../../platform/money.ts'
import { render } from '../../platform/render.ts'
import { requireStaff, STAFF_ROLES } from '../../platform/roles.ts'
import { revokeSessions } from '../../platform/session.ts'
import { emailField } from '../account/schema.ts'
import { dashboardData, lastReconciliation, monthsChart, servicesChart } from '../backoffice/dashboard.ts'

export const staffRoutes = new Hono<Env>()

const anyRole = requireStaff('admin', 'operatore', 'lettore')
const adminOnly = requireStaff('admin')

staffRoutes.get('/t/:tenant/ufficio', anyRole, async (c) => {
  const tenant = c.var.tenant
  if (!tenant) throw new NotFound()
  const t = c.var.t
  const lang = c.var.lang
  const today = todayRome()
  const [data, lastRun] = await Promise.all([
    withTenant(c.var.deps.db.sql, tenant, (tx) => dashboardData(tx, today)),
    lastReconciliation(c.var.deps.db.sql),
  ])
  const monthName = (m: string, style: 'long' | 'narrow' | 'short') =>
    new Intl.DateTimeFormat(lang === 'en' ? 'en-GB' : 'it-IT', {
      month: style,
      year: style === 'long' ? 'numeric' : undefined,
      timeZone: 'UTC',
    }).format(new Date(`${m}-15T00:00:00Z`))
  const totalDue = data.months.reduce((s, m) => s + m.dueCents, 0)
  const totalCollected = data.months.reduce((s, m) => s + m.collectedCents, 0)
  const yearLabel = `${data.months[0]?.month.slice(0, 4)}/${data.months[11]?.month.slice(0, 4)}`
  const monthsSvg = monthsChart(data.months, {
    id: 'chart-months',
    title: t('backoffice.dashboard.chartMonths', { year: yearLabel }),
    desc: t('backoffice.dashboard.chartMonthsDesc', {
      due: formatMoney(totalDue, lang),
      collected: formatMoney(totalCollected, lang),
    }),
    due: t('backoffice.dashboard.due'),
    collected: t('backoffice.dashboard.collected'),
    monthShort: (m) => monthName(m, 'short'),
  })
  const servicesSvg = data.byService.length
    ? servicesChart(data.byService, {
        id: 'chart-services',
        title: t('backoffice.dashboard.chartServices'),
        desc: t('backoffice.dashboard.chartServicesDesc', {
          count: data.byService.length,
          amount: formatMoney(data.figures.overdueCents, lang),
        }),
        lang,
      })
    : null
  return render(c, 'staff/home', {
    title: t('staff.home.title'),
    role: c.var.staffRole,
    ...data,
    months: data.months.map((m) => ({ ...m, label: monthName(m.month, 'long') })),
    yearLabel,
    totalDue,
    totalCollected,
    monthsSvg,
    servicesSvg,
    lastRun,
    monthLabel: monthName(today.slice(0, 7), 'long'),
  })
})

interface MemberRow {
  account_id: number
  given_name: string
  family_name: string
  email: string
  role: string
}

async function members(c: { var: Env['Variables'] }) {
  const tenant = c.var.tenant as { id: number }
  return c.var.deps.db.sql<MemberRow[]>`
    select m.account_id, a.given_name, a.family_name, a.email, m.role
    from platform.memberships m join platform.accounts a on a.id = m.account_id
    where m.tenant_id = ${tenant.id} order by a.family_name, a.given_name`
}

const addMemberSchema = z.object({
  email: emailField,
  role: z.enum(STAFF_ROLES, { error: 'staff.errors.roleRequired' }),
})

staffRoutes.get('/t/:tenant/ufficio/membri', anyRole, async (c) =>
  render(c, 'staff/members', {
    title: c.var.t('staff.members.title'),
    members: await members(c),
    values: {},
    role: c.var.staffRole,
  }),
)

staffRoutes.post('/t/:tenant/ufficio/membri', adminOnly, async (c) => {
  const t = c.var.t
  const tenant = c.var.tenant as { id: number }
  const sql = c.var.deps.db.sql
  const parsed = parseWith(addMemberSchema, await formValues(c), t, ['email', 'role'])
  const page = async (values: Record<string, unknown>, errors: import('../../platform/render.ts').FormErrors) =>
    render(
      c,
      'staff/members',
      { title: t('staff.members.title'), members: await members(c), values, errors, role: c.var.staffRole },
      422,
    )
  if (!parsed.ok) return page(parsed.values, parsed.errors)
  const [account] = await sql<
    { id: number }[]
  >`select id from platform.accounts where lower(email) = ${parsed.data.email}`
  if (!account)
    return page({ email: parsed.data.email, role: parsed.data.role }, fieldError(t, 'email', 'staff.errors.noAccount'))
  const rows =
    await sql`insert into platform.memberships (account_id, tenant_id, role) values (${account.id}, ${tenant.id}, ${parsed.data.role})
            on conflict do nothing returning account_id`
  if (rows.length === 0)
    return page(
      { email: parsed.data.email, role: parsed.data.role },
      fieldError(t, 'email', 'staff.errors.alreadyMember'),
    )
  return c.redirect(`/t/${c.req.param('tenant')}/ufficio/membri`, 303)
})

const roleSchema = z.object({ role: z.enum(STAFF_ROLES, { error: 'staff.errors.roleRequired' }) })

async function adminsLeft(sql: import('../../platform/db.ts').Sql, tenantId: number, without: number) {
  const [r] = await sql<{ n: number }[]>`select count(*)::int as n from platform.memberships
    where tenant_id = ${tenantId} and role = 'admin' and account_id <> ${without}`
  return r?.n ?? 0
}

staffRoutes.post('/t/:tenant/ufficio/membri/:account/ruolo', adminOnly, async (c) => {
  const tenant = c.var.tenant as { id: number }
  const sql = c.var.deps.db.sql
  const accountId = Number(c.req.param('account'))
  if (!Number.isSafeInteger(accountId)) throw new NotFound()
  const parsed = parseWith(roleSchema, await formValues(c), c.var.t, ['role'])
  if (!parsed.ok) {
    return render(
      c,
      'staff/members',
      {
        title: c.var.t('staff.members.title'),
        members: await members(c),
        values: {},
        errors: parsed.errors,
        role: c.var.staffRole,
      },
      422,
    )
  }
  if (parsed.data.role !== 'admin' && (await adminsLeft(sql, tenant.id, accountId)) === 0) {
    return render(
      c,
      'staff/members',
      {
        title: c.var.t('staff.members.title'),
        members: await members(c),
        values: {},
        errors: fieldError(c.var.t, 'email', 'staff.errors.lastAdmin'),
        role: c.var.staffRole,
      },
      422,
    )
  }
  const done = await sql.begin(async (tx) => {
    const rows = await tx`update platform.memberships set role = ${parsed.data.role}
                          where tenant_id = ${tenant.id} and account_id = ${accountId} returning account_id`
    // a change of privilege: the member signs in again with the new role
    if (rows.length) await revokeSessions(tx, accountId)
    return rows.length
  })
  if (!done) throw new NotFound()
  return c.redirect(`/t/${c.req.param('tenant')}/ufficio/membri`, 303)
})

staffRoutes.post('/t/:tenant/ufficio/membri/:account/rimuovi', adminOnly, async (c) => {
  const tenant = c.var.tenant as { id: number }
  const sql = c.var.deps.db.sql
  const accountId = Number(c.req.param('account'))
  if (!Number.isSafeInteger(accountId)) throw new NotFound()
  if ((await adminsLeft(sql, tenant.id, accountId)) === 0) {
    return render(
      c,
      'staff/members',
      {
        title: c.var.t('staff.members.title'),
        members: await members(c),
        values: {},
        errors: fieldError(c.var.t, 'email', 'staff.errors.lastAdmin'),
        role: c.var.staffRole,
      },
      422,
    )
  }
  const rows =
    await sql`delete from platform.memberships where tenant_id = ${tenant.id} and account_id = ${accountId} returning account_id`
  if (!rows.length) throw new NotFound()
  return c.redirect(`/t/${c.req.param('tenant')}/ufficio/membri`, 303)
})
