// The tenant's office: a summary of its data, and its members with their roles (admins manage them).
import { Hono } from 'hono'
import { z } from 'zod'
import { withTenant } from '../../platform/db.ts'
import { NotFound } from '../../platform/errors.ts'
import { fieldError, formValues, parseWith } from '../../platform/forms.ts'
import type { Env } from '../../platform/http.ts'
import { render } from '../../platform/render.ts'
import { requireStaff, STAFF_ROLES } from '../../platform/roles.ts'
import { revokeSessions } from '../../platform/session.ts'
import { emailField } from '../account/schema.ts'

export const staffRoutes = new Hono<Env>()

const anyRole = requireStaff('admin', 'operatore', 'lettore')
const adminOnly = requireStaff('admin')

staffRoutes.get('/t/:tenant/ufficio', anyRole, async (c) => {
  const tenant = c.var.tenant
  if (!tenant) throw new NotFound()
  const [summary] = await withTenant(
    c.var.deps.db.sql,
    tenant,
    (tx) => tx<
      {
        payers: number
        pupils: number
        documents: number
        open_count: number
        open_cents: number
        overdue_count: number
        overdue_cents: number
      }[]
    >`
    select (select count(*) from payers)::int as payers, (select count(*) from pupils)::int as pupils,
      (select count(*) from documents where cancelled_at is null)::int as documents,
      count(*) filter (where status = 'da_pagare')::int as open_count,
      coalesce(sum(amount_cents) filter (where status = 'da_pagare'), 0)::bigint as open_cents,
      count(*) filter (where status = 'da_pagare' and due_date < (now() at time zone 'Europe/Rome')::date)::int as overdue_count,
      coalesce(sum(amount_cents) filter (where status = 'da_pagare' and due_date < (now() at time zone 'Europe/Rome')::date), 0)::bigint as overdue_cents
    from installments`,
  )
  return render(c, 'staff/home', { title: c.var.t('staff.home.title'), summary, role: c.var.staffRole })
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
