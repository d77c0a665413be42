// The office's page of a service's connection to the IO app (decision 0102): whether its notices and reminders go
// to IO, the IO service's API key (sealed, never shown back: last four characters), "test the key", and how the
// service's messages went. Admins change it; every staff role reads it.
import { type Context, Hono } from 'hono'
import { z } from 'zod'
import { actorOf, audit } from '../../platform/audit.ts'
import { withTenant } from '../../platform/db.ts'
import { NotFound } from '../../platform/errors.ts'
import { fieldError, formValues, parseWith } from '../../platform/forms.ts'
import type { Env } from '../../platform/http.ts'
import { type FormErrors, render } from '../../platform/render.ts'
import { requireStaff } from '../../platform/roles.ts'
import { sealer } from '../../platform/secrets.ts'
import type { Tenant } from '../../platform/tenancy.ts'
import { currentIoUrl, describeAnswer, restCall, Unreachable } from '../pagopa/connection.ts'
import { IO_TEST_FISCAL_CODE, ioKeyContext } from './service.ts'

export const ioRoutes = new Hono<Env>()

const anyRole = requireStaff('admin', 'operatore', 'lettore')
const adminOnly = requireStaff('admin')

interface IoRow {
  enabled: boolean
  io_service_id: string | null
  api_key: string | null
  api_key_last4: string | null
  updated_at: Date
}

function serviceId(c: Context<Env>): number {
  const id = Number(c.req.param('id'))
  if (!Number.isSafeInteger(id) || id < 1) throw new NotFound()
  return id
}

const pathOf = (c: Context<Env>, id: number) => `/t/${(c.var.tenant as Tenant).slug}/ufficio/catalogo/servizi/${id}/io`

async function load(c: Context<Env>, id: number) {
  const tenant = c.var.tenant as Tenant
  return withTenant(c.var.deps.db.sql, tenant, async (tx) => {
    const [[service], [io], counts] = await Promise.all([
      tx<{ id: number; name: string }[]>`select id, name from services where id = ${id}`,
      tx<
        IoRow[]
      >`select enabled, io_service_id, api_key, api_key_last4, updated_at from service_io where service_id = ${id}`,
      tx<{ status: string; n: number }[]>`
        select status, count(*)::int as n from io_messages where service_id = ${id}
          and created_at > now() - interval '90 days' group by status`,
    ])
    if (!service) throw new NotFound()
    return { service, io: io ?? null, counts: Object.fromEntries(counts.map((r) => [r.status, r.n])) }
  })
}

async function ioPage(c: Context<Env>, id: number, values?: Record<string, string>, errors?: FormErrors) {
  const data = await load(c, id)
  const tested = c.req.query('prova')
  return render(
    c,
    'io/service',
    {
      title: c.var.t('io.service.title', { name: data.service.name }),
      ...data,
      role: c.var.staffRole,
      key: data.io?.api_key_last4 ? `••••${data.io.api_key_last4}` : null,
      values: values ?? { enabled: data.io?.enabled ? 'si' : '', ioServiceId: data.io?.io_service_id ?? '' },
      errors,
      saved: c.req.query('salvato') === '1',
      tested: tested && ['ok', 'rifiutata', 'irraggiungibile', 'errore'].includes(tested) ? tested : null,
    },
    errors ? 422 : 200,
  )
}

ioRoutes.get('/t/:tenant/ufficio/catalogo/servizi/:id{[0-9]+}/io', anyRole, (c) => ioPage(c, serviceId(c)))

const schema = z.object({
  enabled: z
    .string()
    .optional()
    .transform((v) => v === 'si'),
  ioServiceId: z
    .string()
    .trim()
    .refine((v) => v === '' || /^[A-Za-z0-9_-]{1,64}$/.test(v), 'io.errors.serviceId'),
  apiKey: z
    .string()
    .trim()
    .refine((v) => v === '' || /^[\x21-\x7e]{16,200}$/.test(v), 'io.errors.apiKey'),
})

ioRoutes.post('/t/:tenant/ufficio/catalogo/servizi/:id{[0-9]+}/io', adminOnly, async (c) => {
  const id = serviceId(c)
  const tenant = c.var.tenant as Tenant
  const values = await formValues(c)
  const kept = { ...(values as Record<string, string>), apiKey: '' }
  const parsed = parseWith(schema, values, c.var.t, ['enabled', 'ioServiceId', 'apiKey'])
  if (!parsed.ok) return ioPage(c, id, kept, parsed.errors)
  const f = parsed.data
  const sealed = f.apiKey ? sealer(c.var.deps.config.secretsKey).seal(f.apiKey, ioKeyContext(tenant, id)) : null
  // read, checked and written in one transaction, the service's row locked: two admins saving meet in order
  const saved = await withTenant(c.var.deps.db.sql, tenant, async (tx) => {
    const [service] = await tx<{ id: number }[]>`select id from services where id = ${id} for update`
    if (!service) throw new NotFound()
    const [io] = await tx<IoRow[]>`
      select enabled, io_service_id, api_key, api_key_last4, updated_at from service_io where service_id = ${id}`
    if (f.enabled && !sealed && !io?.api_key) return false
    const next = {
      service_id: id,
      enabled: f.enabled,
      io_service_id: f.ioServiceId || null,
      api_key: sealed ?? io?.api_key ?? null,
      api_key_last4: f.apiKey ? f.apiKey.slice(-4) : (io?.api_key_last4 ?? null),
      updated_at: new Date(),
    }
    await tx`insert into service_io ${tx(next)}
      on conflict (service_id) do update set enabled = excluded.enabled, io_service_id = excluded.io_service_id,
        api_key = excluded.api_key, api_key_last4 = excluded.api_key_last4, updated_at = excluded.updated_at`
    await audit(tx, actorOf(c.var.user), {
      action: 'service.io.update',
      entity: 'service',
      entityId: id,
      before: { enabled: io?.enabled ?? false, ioServiceId: io?.io_service_id ?? null, key: io?.api_key_last4 ?? null },
      after: { enabled: next.enabled, ioServiceId: next.io_service_id, key: next.api_key_last4 },
    })
    return true
  })
  if (!saved) return ioPage(c, id, kept, fieldError(c.var.t, 'apiKey', 'io.errors.apiKeyRequired'))
  return c.redirect(`${pathOf(c, id)}?salvato=1`, 303)
})

/** Asks IO for its test citizen's profile with the saved key: found or not, a key that works is not refused. */
ioRoutes.post('/t/:tenant/ufficio/catalogo/servizi/:id{[0-9]+}/io/prova', adminOnly, async (c) => {
  const id = serviceId(c)
  const tenant = c.var.tenant as Tenant
  // the saved key and IO's address, in one transaction
  const { sealed, url } = await withTenant(c.var.deps.db.sql, tenant, async (tx) => {
    const [[io], address] = await Promise.all([
      tx<{ api_key: string | null }[]>`select api_key from service_io where service_id = ${id}`,
      currentIoUrl(tx),
    ])
    return { sealed: io?.api_key ?? null, url: address }
  })
  const key = sealed ? sealer(c.var.deps.config.secretsKey).open(sealed, ioKeyContext(tenant, id)) : null
  if (!key) return ioPage(c, id, undefined, fieldError(c.var.t, 'apiKey', 'io.errors.apiKeyRequired'))
  let outcome: 'ok' | 'rifiutata' | 'irraggiungibile' | 'errore'
  try {
    const a = await restCall({ urls: { aca: '', fdr: '', io: url }, tls: null }, 'io', {
      method: 'POST',
      path: '/profiles',
      key,
      body: { fiscal_code: IO_TEST_FISCAL_CODE },
    })
    outcome =
      a.status === 200 || a.status === 404 ? 'ok' : a.status === 401 || a.status === 403 ? 'rifiutata' : 'errore'
    if (outcome === 'errore') c.var.deps.log.warn({ tenant: tenant.slug, answer: describeAnswer(a) }, 'IO key test')
  } catch (err) {
    if (!(err instanceof Unreachable)) throw err
    outcome = 'irraggiungibile'
  }
  return c.redirect(`${pathOf(c, id)}?prova=${outcome}`, 303)
})
