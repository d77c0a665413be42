// The office's reconciliation: upload a reporting flow or bank statement, see the imported flows, what each
// line matched, and resolve discrepancies with a note. Everyone on the staff reads; admins and operators
// import and resolve; every change is audited in the same transaction.
import { type Context, Hono } from 'hono'
import { z } from 'zod'
import { actorOf } from '../../platform/audit.ts'
import { withTenant } from '../../platform/db.ts'
import { NotFound } from '../../platform/errors.ts'
import { fieldError, formValues, parseWith } from '../../platform/forms.ts'
import type { Env } from '../../platform/http.ts'
import { type FormErrors, render } from '../../platform/render.ts'
import { requireStaff } from '../../platform/roles.ts'
import type { Tenant } from '../../platform/tenancy.ts'
import { FlowFormatError } from './parse.ts'
import {
  importLines,
  listDiscrepancies,
  listImports,
  loadImport,
  loadLine,
  openDiscrepancyCount,
  resultCounts,
} from './queries.ts'
import { ImportRefused, importFile, resolveDiscrepancy } from './service.ts'

export const reconciliationRoutes = new Hono<Env>()

const readers = requireStaff('admin', 'operatore', 'lettore')
const changers = requireStaff('admin', 'operatore')

/** Uploads larger than this are refused (a 100,000-line pagoPA flow is about 40 MB). */
export const MAX_UPLOAD_BYTES = 64 * 1024 * 1024
const MATCHED_SHOWN = 200
const DISCREPANCIES_SHOWN = 1000

const base = (c: Context<Env>) => `/t/${(c.var.tenant as Tenant).slug}/ufficio/riconciliazione`

function id(param: string | undefined): number {
  const n = Number(param)
  if (!Number.isSafeInteger(n) || n < 1) throw new NotFound()
  return n
}

async function indexPage(
  c: Context<Env>,
  extra: { errors?: FormErrors; outcome?: string | null } = {},
  status: 200 | 422 = 200,
) {
  const tenant = c.var.tenant as Tenant
  const data = await withTenant(c.var.deps.db.sql, tenant, async (tx) => {
    const [imports, open, [fdr]] = await Promise.all([
      listImports(tx),
      openDiscrepancyCount(tx),
      // how far the flows published on pagoPA's FdR interface have been read (decision 0101)
      tx<{ published_after: Date | null; last_run_at: Date | null; last_error: string | null }[]>`
        select published_after, last_run_at, last_error from fdr_cursor where id = 1`,
    ])
    return { imports, open, fdr: fdr ?? null }
  })
  return render(
    c,
    'reconciliation/index',
    {
      title: c.var.t('reconciliation.title'),
      ...data,
      role: c.var.staffRole,
      values: {},
      errors: extra.errors,
      outcome: extra.outcome ?? null,
      maxMb: Math.round(MAX_UPLOAD_BYTES / 1024 / 1024),
    },
    status,
  )
}

reconciliationRoutes.get('/t/:tenant/ufficio/riconciliazione', readers, (c) => {
  const esito = c.req.query('esito')
  return indexPage(c, { outcome: esito === 'unchanged' || esito === 'older' || esito === 'imported' ? esito : null })
})

reconciliationRoutes.post('/t/:tenant/ufficio/riconciliazione', changers, async (c) => {
  const t = c.var.t
  const tenant = c.var.tenant as Tenant
  const body = await c.req.parseBody({ all: true })
  const file = body.file
  const upload = Array.isArray(file) ? file[0] : file
  if (!(upload instanceof File) || upload.size === 0)
    return indexPage(c, { errors: fieldError(t, 'file', 'reconciliation.errors.fileRequired') }, 422)
  if (upload.size > MAX_UPLOAD_BYTES)
    return indexPage(
      c,
      { errors: fieldError(t, 'file', 'reconciliation.errors.tooLarge', { mb: String(MAX_UPLOAD_BYTES / 1048576) }) },
      422,
    )
  try {
    const outcomes = await importFile(c.var.deps.db.sql, tenant, {
      bytes: new Uint8Array(await upload.arrayBuffer()),
      fileName: upload.name || null,
      source: 'upload',
      actor: actorOf(c.var.user),
    })
    const first = outcomes[0]
    if (outcomes.length === 1 && first?.importId)
      return c.redirect(`${base(c)}/flussi/${first.importId}?esito=${first.status}`, 303)
    const status = outcomes.some((o) => o.status === 'imported') ? 'imported' : 'unchanged'
    return c.redirect(`${base(c)}?esito=${status}`, 303)
  } catch (err) {
    if (err instanceof FlowFormatError)
      return indexPage(c, { errors: fieldError(t, 'file', `reconciliation.errors.${err.code}`) }, 422)
    if (err instanceof ImportRefused)
      return indexPage(c, { errors: fieldError(t, 'file', `reconciliation.errors.${err.code}`) }, 422)
    throw err
  }
})

reconciliationRoutes.get('/t/:tenant/ufficio/riconciliazione/flussi/:id', readers, async (c) => {
  const importId = id(c.req.param('id'))
  const tenant = c.var.tenant as Tenant
  const data = await withTenant(c.var.deps.db.sql, tenant, async (tx) => {
    const imp = await loadImport(tx, importId)
    if (!imp) return null
    return {
      imp,
      counts: await resultCounts(tx, importId),
      discrepancies: await importLines(tx, importId, 'discrepancies', DISCREPANCIES_SHOWN),
      matched: await importLines(tx, importId, 'matched', MATCHED_SHOWN),
    }
  })
  if (!data) throw new NotFound()
  const esito = c.req.query('esito')
  return render(c, 'reconciliation/import', {
    title: c.var.t('reconciliation.import.title', { id: data.imp.flow_id }),
    ...data,
    shownMatched: MATCHED_SHOWN,
    outcome: esito === 'unchanged' || esito === 'older' || esito === 'imported' ? esito : null,
    role: c.var.staffRole,
  })
})

reconciliationRoutes.get('/t/:tenant/ufficio/riconciliazione/discrepanze', readers, async (c) => {
  const state = c.req.query('stato') === 'risolte' ? 'risolte' : 'aperte'
  const lines = await withTenant(c.var.deps.db.sql, c.var.tenant as Tenant, (tx) => listDiscrepancies(tx, state))
  return render(c, 'reconciliation/discrepancies', {
    title: c.var.t('reconciliation.discrepancies.title'),
    lines,
    state,
    resolved: c.req.query('risolta') === '1',
  })
})

const resolveSchema = z.object({
  // PostgreSQL text cannot hold NUL
  nota: z.preprocess(
    (v) => (typeof v === 'string' ? v.replaceAll('\u0000', '') : v),
    z.string().trim().min(1, 'reconciliation.errors.noteRequired').max(1000, 'reconciliation.errors.noteTooLong'),
  ),
})

async function linePage(
  c: Context<Env>,
  lineId: number,
  extra: { errors?: FormErrors; values?: Record<string, unknown> } = {},
  status: 200 | 422 = 200,
) {
  const line = await withTenant(c.var.deps.db.sql, c.var.tenant as Tenant, (tx) => loadLine(tx, lineId))
  if (!line?.discrepancy) throw new NotFound()
  return render(
    c,
    'reconciliation/resolve',
    {
      title: c.var.t('reconciliation.resolve.title'),
      line,
      role: c.var.staffRole,
      values: extra.values ?? {},
      errors: extra.errors,
    },
    status,
  )
}

reconciliationRoutes.get('/t/:tenant/ufficio/riconciliazione/discrepanze/:id', readers, (c) =>
  linePage(c, id(c.req.param('id'))),
)

reconciliationRoutes.post('/t/:tenant/ufficio/riconciliazione/discrepanze/:id', changers, async (c) => {
  const lineId = id(c.req.param('id'))
  const parsed = parseWith(resolveSchema, await formValues(c), c.var.t, ['nota'])
  if (!parsed.ok) return linePage(c, lineId, { errors: parsed.errors, values: parsed.values }, 422)
  const done = await withTenant(c.var.deps.db.sql, c.var.tenant as Tenant, async (tx) => {
    const line = await loadLine(tx, lineId)
    if (!line?.discrepancy) return null
    return resolveDiscrepancy(tx, lineId, parsed.data.nota, actorOf(c.var.user))
  })
  if (done === null) throw new NotFound()
  // already resolved (a colleague was quicker) or superseded: the page says so
  if (!done) return c.redirect(`${base(c)}/discrepanze/${lineId}`, 303)
  return c.redirect(`${base(c)}/discrepanze?risolta=1`, 303)
})
