// The tenant's office: the dashboard (src/features/backoffice/dashboard.ts), and its members with their roles
// (admins manage them). A person joins only by accepting an invitation (/invito/:token, also the first
// administrator's of an onboarding request): adding someone never reveals whether the address has an account.
import { type Context, Hono } from 'hono'
import { type Actor, actorOf, audit } from '../../platform/audit.ts'
import { todayRome } from '../../platform/dates.ts'
import { type Sql, withTenant } from '../../platform/db.ts'
import { NotFound } from '../../platform/errors.ts'
import { type FormValues, fieldError, formValues, parseWith } from '../../platform/forms.ts'
import type { Env, SessionUser } from '../../platform/http.ts'
import { enqueueMail } from '../../platform/mail.ts'
import { formatMoney } from '../../platform/money.ts'
import { type FormErrors, render } from '../../platform/render.ts'
import { requireStaff, type StaffRole } from '../../platform/roles.ts'
import { revokeSessions, startSession } from '../../platform/session.ts'
import type { Tenant } from '../../platform/tenancy.ts'
import { hashPassword } from '../account/passwords.ts'
import { dashboardData, lastReconciliation, monthsChart, servicesChart } from '../backoffice/dashboard.ts'
import { platformThenTenant } from '../onboarding/platform-log.ts'
import {
  acceptInvitation,
  createInvitation,
  type Invitation,
  type InvitationProblem,
  loadInvitation,
  openInvitations,
  staffInviteMail,
} from './invitations.ts'
import { addMemberSchema, INVITATION_ACCOUNT_ORDER, invitationAccountSchema, roleSchema } from './schema.ts'

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

/** The members page: members, open invitations (only the address: nothing of any account), the invite form. */
async function membersPage(
  c: Context<Env>,
  opts: { values?: FormValues; errors?: FormErrors; status?: 200 | 404 | 422 } = {},
) {
  const tenant = c.var.tenant as Tenant
  const [list, invitations] = await Promise.all([members(c), openInvitations(c.var.deps.db.sql, tenant.id)])
  const done = c.req.query('fatto') ?? null
  const about = Number(c.req.query('invito') ?? '')
  return render(
    c,
    'staff/members',
    {
      title: c.var.t('staff.members.title'),
      members: list,
      invitations,
      values: opts.values ?? {},
      errors: opts.errors,
      role: c.var.staffRole,
      done: done && ['invitato', 'inviato', 'ritirato'].includes(done) ? done : null,
      doneEmail: invitations.find((i) => i.id === about)?.email ?? null,
    },
    opts.status ?? (opts.errors ? 422 : 200),
  )
}

staffRoutes.get('/t/:tenant/ufficio/membri', anyRole, (c) => membersPage(c))

function actor(c: Context<Env>): Actor {
  return actorOf(c.var.user as SessionUser)
}

/**
 * Invites a person (new or again): the invitation, its mail, the platform log and the tenant's audit in one
 * transaction. The mail says whether to sign in or create an account; the page says the same either way.
 */
async function invite(
  sql: Sql,
  c: Context<Env>,
  input: { email: string; role: StaffRole; again?: number },
): Promise<number> {
  const tenant = c.var.tenant as Tenant
  const { config } = c.var.deps
  const who = actor(c)
  return platformThenTenant(
    sql,
    tenant,
    async (tx) => {
      const inv = await createInvitation(tx, config, who, {
        tenantId: tenant.id,
        role: input.role,
        email: input.email,
        lang: c.var.lang,
      })
      await enqueueMail(
        tx,
        staffInviteMail(
          inv.lang,
          { tenantName: tenant.name, role: input.role, link: inv.link, existing: inv.accountId !== null },
          inv.to,
        ),
      )
      return inv.id
    },
    async (tx, id) => {
      await audit(tx, who, {
        action: 'member.invited',
        entity: 'invitation',
        entityId: id,
        after: { role: input.role, email: input.email },
        reason: input.again ? `invito ${input.again} inviato di nuovo` : null,
      })
    },
  )
}

staffRoutes.post('/t/:tenant/ufficio/membri', adminOnly, async (c) => {
  const tenant = c.var.tenant as Tenant
  const sql = c.var.deps.db.sql
  const values = await formValues(c)
  const parsed = parseWith(addMemberSchema, values, c.var.t, ['email', 'role'])
  if (!parsed.ok) return membersPage(c, { values: parsed.values, errors: parsed.errors })
  // who is already staff here is on this very page: saying so reveals nothing else
  const [member] = await sql<{ one: number }[]>`
    select 1 as one from platform.memberships m join platform.accounts a on a.id = m.account_id
    where m.tenant_id = ${tenant.id} and lower(a.email) = ${parsed.data.email}`
  if (member)
    return membersPage(c, {
      values: { email: parsed.data.email, role: parsed.data.role },
      errors: fieldError(c.var.t, 'email', 'staff.errors.alreadyMember'),
    })
  const id = await invite(sql, c, parsed.data)
  c.var.deps.kickMail()
  return c.redirect(`/t/${tenant.slug}/ufficio/membri?fatto=invitato&invito=${id}`, 303)
})

function invitationId(c: Context<Env>): number {
  const id = Number(c.req.param('id'))
  if (!Number.isSafeInteger(id) || id < 1) throw new NotFound()
  return id
}

/** Sends an open invitation again: a new link (the old one stops working), the same address and role. */
staffRoutes.post('/t/:tenant/ufficio/membri/inviti/:id{[0-9]+}/invia', adminOnly, async (c) => {
  const tenant = c.var.tenant as Tenant
  const sql = c.var.deps.db.sql
  const id = invitationId(c)
  const [open] = await sql<{ email: string; role: StaffRole; request_id: number | null }[]>`
    select email, role, request_id from platform.invitations
    where id = ${id} and tenant_id = ${tenant.id} and accepted_at is null and revoked_at is null`
  if (!open) throw new NotFound()
  const again = await invite(sql, c, { email: open.email, role: open.role, again: id })
  c.var.deps.kickMail()
  return c.redirect(`/t/${tenant.slug}/ufficio/membri?fatto=inviato&invito=${again}`, 303)
})

staffRoutes.post('/t/:tenant/ufficio/membri/inviti/:id{[0-9]+}/ritira', adminOnly, async (c) => {
  const tenant = c.var.tenant as Tenant
  const id = invitationId(c)
  const who = actor(c)
  const revoked = await platformThenTenant(
    c.var.deps.db.sql,
    tenant,
    async (tx) => {
      const [row] = await tx<{ email: string; role: string }[]>`
        update platform.invitations set revoked_at = now()
        where id = ${id} and tenant_id = ${tenant.id} and accepted_at is null and revoked_at is null
        returning email, role`
      return row ?? null
    },
    async (tx, row) => {
      if (!row) return
      await audit(tx, who, { action: 'member.invitationRevoked', entity: 'invitation', entityId: id, before: row })
    },
  )
  if (!revoked) throw new NotFound()
  return c.redirect(`/t/${tenant.slug}/ufficio/membri?fatto=ritirato`, 303)
})

async function adminsLeft(sql: Sql, tenantId: number, without: number) {
  const [r] = await sql<{ n: number }[]>`select count(*)::int as n from platform.memberships
    where tenant_id = ${tenantId} and role = 'admin' and account_id <> ${without}`
  return r?.n ?? 0
}

staffRoutes.post('/t/:tenant/ufficio/membri/:account{[0-9]+}/ruolo', adminOnly, async (c) => {
  const tenant = c.var.tenant as Tenant
  const sql = c.var.deps.db.sql
  const accountId = Number(c.req.param('account'))
  if (!Number.isSafeInteger(accountId)) throw new NotFound()
  const parsed = parseWith(roleSchema, await formValues(c), c.var.t, ['role'])
  if (!parsed.ok) return membersPage(c, { errors: parsed.errors })
  if (parsed.data.role !== 'admin' && (await adminsLeft(sql, tenant.id, accountId)) === 0)
    return membersPage(c, { errors: fieldError(c.var.t, 'email', 'staff.errors.lastAdmin') })
  const who = actor(c)
  const done = await platformThenTenant(
    sql,
    tenant,
    async (tx) => {
      const [row] = await tx<{ before: string }[]>`
        update platform.memberships m set role = ${parsed.data.role}
        from (select role from platform.memberships where tenant_id = ${tenant.id} and account_id = ${accountId}) old
        where m.tenant_id = ${tenant.id} and m.account_id = ${accountId} returning old.role as before`
      // a change of privilege: the member signs in again with the new role
      if (row) await revokeSessions(tx, accountId)
      return row ?? null
    },
    async (tx, row) => {
      if (!row) return
      await audit(tx, who, {
        action: 'member.role',
        entity: 'membership',
        entityId: accountId,
        before: { role: row.before },
        after: { role: parsed.data.role },
      })
    },
  )
  if (!done) throw new NotFound()
  return c.redirect(`/t/${tenant.slug}/ufficio/membri`, 303)
})

staffRoutes.post('/t/:tenant/ufficio/membri/:account{[0-9]+}/rimuovi', adminOnly, async (c) => {
  const tenant = c.var.tenant as Tenant
  const sql = c.var.deps.db.sql
  const accountId = Number(c.req.param('account'))
  if (!Number.isSafeInteger(accountId)) throw new NotFound()
  if ((await adminsLeft(sql, tenant.id, accountId)) === 0)
    return membersPage(c, { errors: fieldError(c.var.t, 'email', 'staff.errors.lastAdmin') })
  const who = actor(c)
  const removed = await platformThenTenant(
    sql,
    tenant,
    async (tx) => {
      const [row] = await tx<{ role: string }[]>`
        delete from platform.memberships where tenant_id = ${tenant.id} and account_id = ${accountId} returning role`
      return row ?? null
    },
    async (tx, row) => {
      if (!row) return
      await audit(tx, who, { action: 'member.removed', entity: 'membership', entityId: accountId, before: row })
    },
  )
  if (!removed) throw new NotFound()
  return c.redirect(`/t/${tenant.slug}/ufficio/membri`, 303)
})

// --- the invitation link --------------------------------------------------------------------------------

function invitationProblem(c: Context<Env>, status: InvitationProblem | 'otherAccount') {
  return render(
    c,
    'staff/invitation-problem',
    { title: c.var.t(`staff.invitation.problem.${status}`), status },
    status === 'unknown' ? 404 : status === 'otherAccount' ? 403 : 410,
  )
}

/**
 * The page of a link: for an existing account, sign in (and come back) then accept; for a person without one,
 * the account to create. The account's name or address is never shown to someone signed in as another.
 */
function invitationPage(c: Context<Env>, token: string, inv: Invitation, values?: FormValues, errors?: FormErrors) {
  const user = c.var.user
  const existing = inv.accountId !== null
  return render(
    c,
    existing ? 'staff/invitation-existing' : 'staff/invitation-new',
    {
      title: c.var.t(existing ? 'staff.invitation.existing.title' : 'staff.invitation.new.title'),
      invitation: inv,
      token,
      signedInAs: user ? (user.accountId === inv.accountId ? 'same' : 'other') : 'nobody',
      values: values ?? {
        givenName: inv.givenName ?? '',
        familyName: inv.familyName ?? '',
        codiceFiscale: inv.codiceFiscale ?? '',
      },
      errors,
    },
    errors ? 422 : 200,
  )
}

/** Where the person lands: the set-up wizard for the administrator of a tenant in set-up, else the office. */
function landing(inv: Invitation): string {
  return inv.role === 'admin' && inv.tenantStatus === 'setup'
    ? `/t/${inv.tenantSlug}/ufficio/configurazione?benvenuto=1`
    : `/t/${inv.tenantSlug}/ufficio`
}

staffRoutes.get('/invito/:token', async (c) => {
  const token = c.req.param('token')
  const check = await loadInvitation(c.var.deps.db.sql, c.var.deps.config, token)
  if (check.status !== 'ok') return invitationProblem(c, check.status)
  return invitationPage(c, token, check.invitation)
})

staffRoutes.post('/invito/:token', async (c) => {
  const { db, config } = c.var.deps
  const token = c.req.param('token')
  const peek = await loadInvitation(db.sql, config, token)
  if (peek.status !== 'ok') return invitationProblem(c, peek.status)
  const user = c.var.user
  if (peek.invitation.accountId !== null) {
    // an existing account: only by signing in as that account, never through the link alone
    if (!user) return c.redirect(`/accesso?torna=${encodeURIComponent(`/invito/${token}`)}`, 303)
    if (user.accountId !== peek.invitation.accountId) return invitationProblem(c, 'otherAccount')
    const done = await acceptInvitation(db, config, token, { accountId: user.accountId }, (tx, id) =>
      // a new privilege: a new session token
      startSession(c, tx, id),
    )
    if (done.status === 'ok') return c.redirect(landing(done.invitation), 303)
    if (done.status === 'signIn') return c.redirect(`/invito/${token}`, 303)
    return invitationProblem(c, done.status)
  }
  const values = await formValues(c)
  const parsed = parseWith(invitationAccountSchema, values, c.var.t, INVITATION_ACCOUNT_ORDER)
  if (!parsed.ok) return invitationPage(c, token, peek.invitation, parsed.values, parsed.errors)
  const passwordHash = await hashPassword(parsed.data.password)
  const done = await acceptInvitation(
    db,
    config,
    token,
    {
      newAccount: {
        givenName: parsed.data.givenName,
        familyName: parsed.data.familyName,
        codiceFiscale: parsed.data.codiceFiscale,
        passwordHash,
        lang: c.var.lang,
      },
    },
    (tx, id) => startSession(c, tx, id),
  )
  if (done.status === 'ok') return c.redirect(landing(done.invitation), 303)
  // the address got an account meanwhile: that account signs in to accept
  if (done.status === 'signIn') return c.redirect(`/invito/${token}`, 303)
  return invitationProblem(c, done.status)
})
