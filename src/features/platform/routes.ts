// The platform operator's console: requests to join (approve or reject), tenants with status, schema version,
// last migration error and size; suspend and resume; the platform log. Operators only.
import { type Context, Hono } from 'hono'
import { z } from 'zod'
import { actorOf } from '../../platform/audit.ts'
import { NotFound } from '../../platform/errors.ts'
import { fieldError, formValues, parseWith } from '../../platform/forms.ts'
import type { Env, SessionUser } from '../../platform/http.ts'
import { type FormErrors, render } from '../../platform/render.ts'
import { requireOperator } from '../../platform/roles.ts'
import { approveRequest, rejectRequest, resendInvite } from '../onboarding/decisions.ts'
import { DEFAULT_SEGREGATION_CODE } from '../onboarding/defaults.ts'
import { findAdminAccount, listRequests, loadRequest, requestClashes } from '../onboarding/requests.ts'
import { approveSchema, rejectSchema, suspendSchema } from '../onboarding/schema.ts'
import {
  formatBytes,
  listLog,
  listTenants,
  loadTenantDetail,
  PAGE_SIZE,
  setSuspended,
  TENANT_FILTERS,
} from '../onboarding/tenants.ts'

export const platformRoutes = new Hono<Env>()
platformRoutes.use('/piattaforma', requireOperator)
platformRoutes.use('/piattaforma/*', requireOperator)

const listQuery = z.object({
  stato: z.enum(TENANT_FILTERS).catch('tutti'),
  q: z.string().trim().max(100).catch('').default(''),
  pagina: z.coerce.number().int().min(1).max(10_000).catch(1).default(1),
})

platformRoutes.get('/piattaforma', async (c) => {
  const sql = c.var.deps.db.sql
  const query = listQuery.parse(c.req.query())
  const [list, [pending]] = await Promise.all([
    listTenants(sql, { filter: query.stato, q: query.q, page: query.pagina }),
    sql<{ n: number }[]>`select count(*)::int as n from platform.onboarding_requests where status = 'pending'`,
  ])
  const pages = Math.max(1, Math.ceil(list.total / PAGE_SIZE))
  const link = (page: number) => {
    const p = new URLSearchParams()
    if (query.stato !== 'tutti') p.set('stato', query.stato)
    if (query.q) p.set('q', query.q)
    if (page > 1) p.set('pagina', String(page))
    const s = p.toString()
    return `/piattaforma${s ? `?${s}` : ''}`
  }
  return render(c, 'platform/console', {
    title: c.var.t('platform.title'),
    tenants: list.rows.map((r) => ({ ...r, size: formatBytes(r.bytes, c.var.lang) })),
    total: list.total,
    counts: list.counts,
    pending: pending?.n ?? 0,
    query,
    filters: TENANT_FILTERS,
    page: query.pagina,
    pages,
    prev: query.pagina > 1 ? link(query.pagina - 1) : null,
    next: query.pagina < pages ? link(query.pagina + 1) : null,
  })
})

// --- requests to join -----------------------------------------------------------------------------------

platformRoutes.get('/piattaforma/richieste', async (c) => {
  const sql = c.var.deps.db.sql
  const [pending, decided] = await Promise.all([listRequests(sql, 'pending'), listRequests(sql, 'decided')])
  return render(c, 'platform/requests', { title: c.var.t('platform.requests.title'), pending, decided })
})

function requestId(c: Context<Env>): number {
  const id = Number(c.req.param('id'))
  if (!Number.isSafeInteger(id) || id < 1) throw new NotFound()
  return id
}

async function requestPage(
  c: Context<Env>,
  id: number,
  opts: { values?: Record<string, unknown>; errors?: FormErrors; status?: 200 | 409 | 422 } = {},
) {
  const sql = c.var.deps.db.sql
  const request = await loadRequest(sql, id)
  if (!request) throw new NotFound()
  const pending = request.status === 'pending'
  const [account, clashes] = await Promise.all([
    pending ? findAdminAccount(sql, request.admin_email, request.admin_codice_fiscale) : null,
    pending ? requestClashes(sql, request) : null,
  ])
  return render(
    c,
    'platform/request',
    {
      title: c.var.t('platform.request.title', { ref: request.public_ref }),
      request,
      account,
      clashes,
      values: opts.values ?? { segregationCode: DEFAULT_SEGREGATION_CODE, slug: request.slug },
      errors: opts.errors,
      outcome: c.req.query('esito') ?? null,
    },
    opts.status ?? (opts.errors ? 422 : 200),
  )
}

platformRoutes.get('/piattaforma/richieste/:id{[0-9]+}', (c) => requestPage(c, requestId(c)))

function decisionProblem(c: Context<Env>, key: string, href: string): FormErrors {
  const text = c.var.t(key)
  return { summary: [{ text, href }], fields: {} }
}

platformRoutes.post('/piattaforma/richieste/:id{[0-9]+}/approva', async (c) => {
  const id = requestId(c)
  const values = await formValues(c)
  const parsed = parseWith(approveSchema, values, c.var.t, ['segregationCode', 'slug', 'message'])
  if (!parsed.ok) return requestPage(c, id, { values, errors: parsed.errors })
  const { db, config } = c.var.deps
  const result = await approveRequest(db, config, actorOf(c.var.user as SessionUser), id, parsed.data)
  if (!result.ok) {
    // uniqueness is settled here, not when a request waits: say which key collides and what to do
    const errors =
      result.reason === 'slugTaken'
        ? fieldError(c.var.t, 'slug', 'platform.request.errors.slugTaken', {
            slug: parsed.data.slug || (await loadRequest(db.sql, id))?.slug || '',
            suggestion: result.suggestion,
          })
        : result.reason === 'fiscalTaken'
          ? {
              summary: [
                { text: c.var.t('platform.request.errors.fiscalTaken', { name: result.name }), href: '#decision' },
              ],
              fields: {},
            }
          : decisionProblem(c, 'platform.request.errors.decided', '#decision')
    return requestPage(c, id, { values, errors, status: 409 })
  }
  c.var.deps.tenants.invalidate()
  c.var.deps.kickMail()
  return c.redirect(`/piattaforma/richieste/${id}?esito=approvata`, 303)
})

platformRoutes.post('/piattaforma/richieste/:id{[0-9]+}/respingi', async (c) => {
  const id = requestId(c)
  const values = await formValues(c)
  const parsed = parseWith(rejectSchema, values, c.var.t, ['reason'])
  if (!parsed.ok)
    return requestPage(c, id, {
      values: { segregationCode: DEFAULT_SEGREGATION_CODE, ...values },
      errors: parsed.errors,
    })
  const r = await rejectRequest(c.var.deps.db.sql, actorOf(c.var.user as SessionUser), id, parsed.data.reason)
  if (!r.ok) {
    return requestPage(c, id, {
      values,
      errors: decisionProblem(c, 'platform.request.errors.decided', '#decision'),
      status: 409,
    })
  }
  c.var.deps.kickMail()
  return c.redirect(`/piattaforma/richieste/${id}?esito=respinta`, 303)
})

// --- one tenant -----------------------------------------------------------------------------------------

async function tenantPage(c: Context<Env>, opts: { values?: Record<string, unknown>; errors?: FormErrors } = {}) {
  const detail = await loadTenantDetail(c.var.deps.db.sql, c.req.param('slug') ?? '')
  if (!detail) throw new NotFound()
  return render(
    c,
    'platform/tenant',
    {
      title: detail.tenant.short_name,
      // not `tenant`: the layout reads that name as the tenant of the page
      target: detail.tenant,
      members: detail.members,
      invitations: detail.invitations,
      log: detail.log,
      request: detail.request,
      size: formatBytes(detail.bytes, c.var.lang),
      values: opts.values ?? {},
      errors: opts.errors,
      done: c.req.query('fatto') ?? null,
    },
    opts.errors ? 422 : 200,
  )
}

platformRoutes.get('/piattaforma/enti/:slug{[a-z0-9-]{1,40}}', (c) => tenantPage(c))

async function registryTenant(c: Context<Env>) {
  const tenant = await c.var.deps.tenants.get(c.req.param('slug') ?? '')
  if (!tenant) throw new NotFound()
  return tenant
}

platformRoutes.post('/piattaforma/enti/:slug{[a-z0-9-]{1,40}}/sospendi', async (c) => {
  const tenant = await registryTenant(c)
  const values = await formValues(c)
  const parsed = parseWith(suspendSchema, values, c.var.t, ['reason'])
  if (!parsed.ok) return tenantPage(c, { values, errors: parsed.errors })
  await setSuspended(c.var.deps.db.sql, tenant, actorOf(c.var.user as SessionUser), true, parsed.data.reason)
  c.var.deps.tenants.invalidate(tenant.slug)
  c.var.deps.kickMail()
  return c.redirect(`/piattaforma/enti/${tenant.slug}?fatto=sospeso`, 303)
})

platformRoutes.post('/piattaforma/enti/:slug{[a-z0-9-]{1,40}}/riattiva', async (c) => {
  const tenant = await registryTenant(c)
  await setSuspended(c.var.deps.db.sql, tenant, actorOf(c.var.user as SessionUser), false, '')
  c.var.deps.tenants.invalidate(tenant.slug)
  c.var.deps.kickMail()
  return c.redirect(`/piattaforma/enti/${tenant.slug}?fatto=riattivato`, 303)
})

platformRoutes.post('/piattaforma/enti/:slug{[a-z0-9-]{1,40}}/invito', async (c) => {
  const tenant = await registryTenant(c)
  const ok = await resendInvite(c.var.deps.db.sql, c.var.deps.config, actorOf(c.var.user as SessionUser), tenant.id)
  if (!ok) throw new NotFound()
  c.var.deps.kickMail()
  return c.redirect(`/piattaforma/enti/${tenant.slug}?fatto=invito`, 303)
})

// --- the platform log -----------------------------------------------------------------------------------

platformRoutes.get('/piattaforma/registro', async (c) => {
  const before = Number(c.req.query('prima') ?? '')
  const rows = await listLog(c.var.deps.db.sql, Number.isSafeInteger(before) && before > 0 ? before : undefined)
  return render(c, 'platform/log', {
    title: c.var.t('platform.log.title'),
    rows,
    older: rows.length === 100 ? `/piattaforma/registro?prima=${rows[rows.length - 1]?.id}` : null,
  })
})
