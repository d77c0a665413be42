// The office's pages for the body's connection to pagoPA's REST services (decision 0100): an overview of both
// environments and the one in use, a form per environment (addresses, subscription keys, client certificate),
// and "test the connection", which calls the archive and the reporting flows with the saved keys and records
// what they answered. Keys and private keys are sealed when saved and never shown back (last four only).
import { createPrivateKey, X509Certificate } from 'node:crypto'
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
import {
  activeEnvironment,
  type ConnectionRow,
  DEFAULT_URLS,
  describeAnswer,
  ENVIRONMENTS,
  type Environment,
  loadConnectionRows,
  openConnection,
  restCall,
  secretContext,
  type TestResult,
  Unreachable,
} from './connection.ts'

export const connectionRoutes = new Hono<Env>()

const anyRole = requireStaff('admin', 'operatore', 'lettore')
const adminOnly = requireStaff('admin')
const base = (c: Context<Env>) => `/t/${(c.var.tenant as Tenant).slug}/ufficio/pagopa/collegamento`

function envParam(c: Context<Env>): Environment {
  const env = c.req.param('env')
  if (!ENVIRONMENTS.includes(env as Environment)) throw new NotFound()
  return env as Environment
}

/** What the office sees of a connection: never a key, only whether one is saved and its last four characters. */
function view(row: ConnectionRow | undefined, env: Environment) {
  let certificate: { subject: string; validTo: string } | null = null
  if (row?.client_cert) {
    try {
      const x = new X509Certificate(row.client_cert)
      certificate = { subject: x.subject.replace(/\n/g, ', '), validTo: x.validTo }
    } catch {
      certificate = null
    }
  }
  return {
    environment: env,
    configured: !!row,
    acaUrl: row?.aca_url ?? DEFAULT_URLS[env].aca,
    fdrUrl: row?.fdr_url ?? DEFAULT_URLS[env].fdr,
    ioUrl: row?.io_url ?? DEFAULT_URLS[env].io,
    acaKey: row?.aca_key_last4 ? `••••${row.aca_key_last4}` : null,
    fdrKey: row?.fdr_key_last4 ? `••••${row.fdr_key_last4}` : null,
    certificate,
    testedAt: row?.tested_at ?? null,
    testResult: row?.test_result ?? null,
    updatedAt: row?.updated_at ?? null,
  }
}

connectionRoutes.get('/t/:tenant/ufficio/pagopa/collegamento', anyRole, async (c) => {
  const tenant = c.var.tenant as Tenant
  const { rows, env } = await withTenant(c.var.deps.db.sql, tenant, async (tx) => ({
    rows: await loadConnectionRows(tx),
    env: await activeEnvironment(tx),
  }))
  return render(c, 'pagopa/connection', {
    title: c.var.t('pagopa.connection.title'),
    active: env,
    environments: ENVIRONMENTS.map((e) =>
      view(
        rows.find((r) => r.environment === e),
        e,
      ),
    ),
    role: c.var.staffRole,
    done: ['salvato', 'ambiente', 'provato'].find((d) => d === c.req.query('fatto')) ?? null,
  })
})

const environmentSchema = z.object({
  environment: z.enum(ENVIRONMENTS, { error: 'pagopa.errors.environment' }),
})

connectionRoutes.post('/t/:tenant/ufficio/pagopa/collegamento/ambiente', adminOnly, async (c) => {
  const tenant = c.var.tenant as Tenant
  const parsed = parseWith(environmentSchema, await formValues(c), c.var.t, ['environment'])
  if (!parsed.ok) return c.redirect(base(c), 303)
  await withTenant(c.var.deps.db.sql, tenant, async (tx) => {
    const before = await activeEnvironment(tx)
    // no now() in DO UPDATE: Citus accepts only immutable functions there
    await tx`insert into pagopa_settings (id, payable_days_after_due, environment, updated_at)
             values (1, 365, ${parsed.data.environment}, ${new Date()})
             on conflict (id) do update set environment = excluded.environment, updated_at = excluded.updated_at`
    await audit(tx, actorOf(c.var.user), {
      action: 'pagopa.environment.update',
      entity: 'pagopa_settings',
      entityId: 1,
      before: { environment: before },
      after: { environment: parsed.data.environment },
    })
  })
  return c.redirect(`${base(c)}?fatto=ambiente`, 303)
})

const FORM_ORDER = ['acaUrl', 'acaKey', 'fdrUrl', 'fdrKey', 'ioUrl', 'clientCert', 'clientKey']

function schemaFor(production: boolean) {
  const url = z
    .string()
    .trim()
    .max(300, 'pagopa.errors.url')
    .refine(
      (v) => {
        if (v === '') return true
        try {
          const u = new URL(v)
          // in production only pagoPA's own hosts: the server calls what is saved here (no probing of the network)
          if (production) return u.protocol === 'https:' && /(^|\.)pagopa\.it$/.test(u.hostname)
          return u.protocol === 'https:' || u.protocol === 'http:'
        } catch {
          return false
        }
      },
      production ? 'pagopa.errors.urlHttps' : 'pagopa.errors.url',
    )
  const key = z
    .string()
    .trim()
    .refine((v) => v === '' || /^[\x21-\x7e]{8,300}$/.test(v), 'pagopa.errors.key')
  return z
    .object({
      acaUrl: url,
      acaKey: key,
      fdrUrl: url,
      fdrKey: key,
      ioUrl: url,
      clientCert: z.string().trim().max(20_000, 'pagopa.errors.certificate'),
      clientKey: z.string().trim().max(20_000, 'pagopa.errors.privateKey'),
      removeCertificate: z
        .string()
        .optional()
        .transform((v) => v === 'si'),
    })
    .superRefine((v, ctx) => {
      let cert: X509Certificate | null = null
      if (v.clientCert) {
        try {
          cert = new X509Certificate(v.clientCert)
        } catch {
          ctx.addIssue({ code: 'custom', path: ['clientCert'], message: 'pagopa.errors.certificate' })
        }
      }
      if (v.clientKey) {
        try {
          const k = createPrivateKey(v.clientKey)
          if (cert && !cert.checkPrivateKey(k))
            ctx.addIssue({ code: 'custom', path: ['clientKey'], message: 'pagopa.errors.keyMismatch' })
        } catch {
          ctx.addIssue({ code: 'custom', path: ['clientKey'], message: 'pagopa.errors.privateKey' })
        }
      }
      if (v.clientCert && !v.clientKey)
        ctx.addIssue({ code: 'custom', path: ['clientKey'], message: 'pagopa.errors.privateKeyRequired' })
    })
}

async function formPage(c: Context<Env>, env: Environment, values?: Record<string, string>, errors?: FormErrors) {
  const tenant = c.var.tenant as Tenant
  const rows = await withTenant(c.var.deps.db.sql, tenant, (tx) => loadConnectionRows(tx))
  const row = rows.find((r) => r.environment === env)
  const v = view(row, env)
  return render(
    c,
    'pagopa/connection-form',
    {
      title: c.var.t('pagopa.connection.formTitle', { environment: c.var.t(`pagopa.environment.${env}`) }),
      connection: v,
      defaults: DEFAULT_URLS[env],
      values: values ?? {
        acaUrl: row?.aca_url ?? '',
        fdrUrl: row?.fdr_url ?? '',
        ioUrl: row?.io_url ?? '',
        clientCert: row?.client_cert ?? '',
      },
      errors,
    },
    errors ? 422 : 200,
  )
}

connectionRoutes.get('/t/:tenant/ufficio/pagopa/collegamento/:env', adminOnly, (c) => formPage(c, envParam(c)))

connectionRoutes.post('/t/:tenant/ufficio/pagopa/collegamento/:env', adminOnly, async (c) => {
  const env = envParam(c)
  const tenant = c.var.tenant as Tenant
  const { db, config } = c.var.deps
  const values = await formValues(c)
  const parsed = parseWith(schemaFor(config.production), values, c.var.t, FORM_ORDER)
  // secrets are never put back into the page
  const kept = { ...(values as Record<string, string>), acaKey: '', fdrKey: '', clientKey: '' }
  if (!parsed.ok) return formPage(c, env, kept, parsed.errors)
  const f = parsed.data
  const s = sealer(config.secretsKey)
  const seal = (value: string, field: string) => s.seal(value, secretContext(tenant, env, field))
  await withTenant(db.sql, tenant, async (tx) => {
    const [before] = await tx<ConnectionRow[]>`select * from pagopa_connections where environment = ${env} for update`
    const next = {
      environment: env,
      aca_url: f.acaUrl || null,
      aca_key: f.acaKey ? seal(f.acaKey, 'aca_key') : (before?.aca_key ?? null),
      aca_key_last4: f.acaKey ? f.acaKey.slice(-4) : (before?.aca_key_last4 ?? null),
      fdr_url: f.fdrUrl || null,
      fdr_key: f.fdrKey ? seal(f.fdrKey, 'fdr_key') : (before?.fdr_key ?? null),
      fdr_key_last4: f.fdrKey ? f.fdrKey.slice(-4) : (before?.fdr_key_last4 ?? null),
      io_url: f.ioUrl || null,
      client_cert: f.removeCertificate ? null : f.clientCert || before?.client_cert || null,
      client_key: f.removeCertificate
        ? null
        : f.clientKey
          ? seal(f.clientKey, 'client_key')
          : (before?.client_key ?? null),
      updated_at: new Date(),
    }
    await tx`insert into pagopa_connections ${tx(next)}
      on conflict (environment) do update set aca_url = excluded.aca_url, aca_key = excluded.aca_key,
        aca_key_last4 = excluded.aca_key_last4, fdr_url = excluded.fdr_url, fdr_key = excluded.fdr_key,
        fdr_key_last4 = excluded.fdr_key_last4, io_url = excluded.io_url, client_cert = excluded.client_cert,
        client_key = excluded.client_key, updated_at = excluded.updated_at`
    const shown = (r: Partial<ConnectionRow> | undefined) => ({
      acaUrl: r?.aca_url ?? null,
      acaKey: r?.aca_key_last4 ?? null,
      fdrUrl: r?.fdr_url ?? null,
      fdrKey: r?.fdr_key_last4 ?? null,
      ioUrl: r?.io_url ?? null,
      certificate: !!r?.client_cert,
    })
    await audit(tx, actorOf(c.var.user), {
      action: 'pagopa.connection.update',
      entity: 'pagopa_connection',
      entityId: env,
      before: shown(before),
      after: shown(next),
    })
  })
  return c.redirect(`${base(c)}?fatto=salvato`, 303)
})

/** Calls each service with the saved keys: the archive's list of positions and the list of reporting flows. */
connectionRoutes.post('/t/:tenant/ufficio/pagopa/collegamento/:env/prova', adminOnly, async (c) => {
  const env = envParam(c)
  const tenant = c.var.tenant as Tenant
  const { db, config } = c.var.deps
  const row = await withTenant(db.sql, tenant, async (tx) =>
    (await loadConnectionRows(tx)).find((r) => r.environment === env),
  )
  const conn = openConnection(tenant, row, sealer(config.secretsKey), env)
  if (!conn) {
    const errors = fieldError(c.var.t, 'acaKey', 'pagopa.errors.nothingToTest')
    return formPage(c, env, undefined, errors)
  }
  const cf = encodeURIComponent(tenant.fiscalCode)
  const probes: { service: 'aca' | 'fdr'; path: string; query: Record<string, string> }[] = [
    { service: 'aca', path: `/organizations/${cf}/debtpositions`, query: { limit: '1', page: '0' } },
    { service: 'fdr', path: `/organizations/${cf}/fdrs`, query: { page: '1', size: '1' } },
  ]
  const result: TestResult = {}
  for (const p of probes) {
    const key = conn.keys[p.service]
    if (!key) {
      result[p.service] = { ok: false, status: null, detail: 'no key' }
      continue
    }
    try {
      const a = await restCall(conn, p.service, { method: 'GET', path: p.path, key, query: p.query })
      result[p.service] = { ok: a.status === 200, status: a.status, detail: describeAnswer(a) }
    } catch (err) {
      if (!(err instanceof Unreachable)) throw err
      result[p.service] = { ok: false, status: null, detail: err.message.slice(0, 300) }
    }
  }
  await withTenant(db.sql, tenant, async (tx) => {
    await tx`update pagopa_connections set tested_at = now(), test_result = ${tx.json(result)} where environment = ${env}`
    await audit(tx, actorOf(c.var.user), {
      action: 'pagopa.connection.test',
      entity: 'pagopa_connection',
      entityId: env,
      after: result,
    })
  })
  return c.redirect(`${base(c)}?fatto=provato#${env}`, 303)
})
