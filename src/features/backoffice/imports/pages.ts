// Bulk issue from CSV: upload (multipart, 5 MB, .csv), every line checked, a report line by line, a check
// page ("N documents, M installments, total €"), then everything created in one transaction.
import type { Context } from 'hono'
import { Hono } from 'hono'
import { actorOf, audit } from '../../../platform/audit.ts'
import { todayRome } from '../../../platform/dates.ts'
import { NotFound } from '../../../platform/errors.ts'
import type { Env } from '../../../platform/http.ts'
import type { FormErrors } from '../../../platform/render.ts'
import { idParam, inTenant, officePath, page, tenantOf, writers } from '../common.ts'
import {
  COLUMNS,
  decode,
  MAX_FILE_BYTES,
  MAX_LINES,
  type ParsedFile,
  type Problem,
  parseImport,
  REQUIRED_COLUMNS,
  templateCsv,
} from './parse.ts'
import { executeImport, planImport, sha256 } from './plan.ts'

export const importRoutes = new Hono<Env>()

const REPORT_LIMIT = 2000
const CSV_TYPES = [
  'text/csv',
  'application/csv',
  'text/plain',
  'application/vnd.ms-excel',
  'text/comma-separated-values',
  '',
]

function uploadPage(
  c: Context<Env>,
  extra: { errors?: FormErrors; problems?: Problem[]; fileName?: string; lineCount?: number } = {},
) {
  const problems = extra.problems ?? []
  return page(c, 'import', {
    title: c.var.t('backoffice.import.title'),
    columns: COLUMNS,
    required: REQUIRED_COLUMNS,
    maxMb: MAX_FILE_BYTES / 1024 / 1024,
    maxLines: MAX_LINES,
    problems: problems.slice(0, REPORT_LIMIT),
    more: Math.max(0, problems.length - REPORT_LIMIT),
    badLines: new Set(problems.map((p) => p.line)).size,
    fileName: extra.fileName ?? null,
    lineCount: extra.lineCount ?? 0,
    errors: extra.errors,
  })
}

function fileError(c: Context<Env>, key: string, params?: Record<string, string | number>): FormErrors {
  const text = c.var.t(key, params)
  return { summary: [{ text, href: '#file' }], fields: { file: text } }
}

importRoutes.get('/t/:tenant/ufficio/documenti/importa', writers, (c) => uploadPage(c))

importRoutes.get('/t/:tenant/ufficio/documenti/importa/modello.csv', writers, (c) => {
  c.header('Content-Type', 'text/csv; charset=utf-8')
  c.header('Content-Disposition', 'attachment; filename="modello-emissione.csv"')
  return c.body(templateCsv())
})

importRoutes.post('/t/:tenant/ufficio/documenti/importa', writers, async (c) => {
  // the session middleware has already read the body (for its CSRF token): the limit is checked here on what
  // arrived, and on the declared length first
  const declared = Number(c.req.header('content-length') ?? '0')
  if (declared > MAX_FILE_BYTES + 64 * 1024)
    return uploadPage(c, { errors: fileError(c, 'backoffice.import.tooBig', { mb: 5 }) })
  const body = await c.req.parseBody()
  const file = body.file
  if (!(file instanceof File) || file.size === 0)
    return uploadPage(c, { errors: fileError(c, 'backoffice.import.fileRequired') })
  if (file.size > MAX_FILE_BYTES) return uploadPage(c, { errors: fileError(c, 'backoffice.import.tooBig', { mb: 5 }) })
  const name = (file.name || 'file.csv').slice(0, 200)
  if (!/\.csv$/i.test(name) || !CSV_TYPES.includes(file.type.split(';')[0]?.trim().toLowerCase() ?? ''))
    return uploadPage(c, { errors: fileError(c, 'backoffice.import.notCsv') })
  const bytes = new Uint8Array(await file.arrayBuffer())
  const decoded = decode(bytes)
  if ('badLines' in decoded) {
    const problems: Problem[] = decoded.badLines.map((line) => ({ line, field: null, code: 'encoding' }))
    return uploadPage(c, {
      errors: fileError(c, 'backoffice.import.hasProblems', { count: problems.length }),
      problems,
      fileName: name,
    })
  }
  const parsed: ParsedFile = parseImport(decoded.text)
  const user = c.var.user
  const result = await inTenant(c, async (tx) => {
    const plan = await planImport(tx, parsed)
    if (plan.problems.length) return { plan, id: null }
    // drafts older than a day were never confirmed: dropped as new ones arrive
    await tx`delete from document_imports where status = 'draft' and created_at < now() - interval '1 day'`
    const [row] = await tx<{ id: number }[]>`
      insert into document_imports (file_name, file_sha256, content, line_count, document_count, installment_count,
        total_cents, created_by, created_by_name)
      values (${name}, ${sha256(bytes)}, ${decoded.text}, ${plan.lineCount}, ${plan.documents}, ${plan.installments},
        ${plan.totalCents}, ${user?.accountId ?? null}, ${user ? `${user.givenName} ${user.familyName}` : 'sistema'})
      returning id`
    return { plan, id: (row as { id: number }).id }
  })
  if (result.id === null)
    return uploadPage(c, {
      errors: fileError(c, 'backoffice.import.hasProblems', { count: result.plan.problems.length }),
      problems: result.plan.problems,
      fileName: name,
      lineCount: result.plan.lineCount,
    })
  return c.redirect(officePath(c, `/documenti/importa/${result.id}`), 303)
})

interface ImportRow {
  id: number
  status: 'draft' | 'done'
  file_name: string
  content: string
  line_count: number
  document_count: number
  installment_count: number
  total_cents: number
  created_by_name: string
  created_at: Date
  completed_at: Date | null
}

importRoutes.get('/t/:tenant/ufficio/documenti/importa/:id{[0-9]+}', writers, async (c) => {
  const id = idParam(c)
  const data = await inTenant(c, async (tx) => {
    const [imp] = await tx<ImportRow[]>`
      select id, status, file_name, content, line_count, document_count, installment_count, total_cents, created_by_name,
        created_at, completed_at
      from document_imports where id = ${id}`
    if (!imp) throw new NotFound()
    if (imp.status === 'done') return { imp, plan: null }
    // the check page shows the file as it would be created now
    const plan = await planImport(tx, parseImport(imp.content))
    return { imp, plan }
  })
  if (data.imp.status === 'done')
    return page(c, 'import-done', { title: c.var.t('backoffice.import.doneTitle'), imp: data.imp })
  const plan = data.plan as NonNullable<typeof data.plan>
  if (plan.problems.length)
    return uploadPage(c, {
      errors: fileError(c, 'backoffice.import.hasProblems', { count: plan.problems.length }),
      problems: plan.problems,
      fileName: data.imp.file_name,
      lineCount: plan.lineCount,
    })
  return page(c, 'import-check', { title: c.var.t('backoffice.import.checkTitle'), imp: data.imp, plan })
})

importRoutes.post('/t/:tenant/ufficio/documenti/importa/:id{[0-9]+}', writers, async (c) => {
  const id = idParam(c)
  const tenant = tenantOf(c)
  const outcome = await inTenant(c, async (tx) => {
    // the draft row locked: a second click waits, then finds the import done
    const [imp] = await tx<{ status: string; content: string; file_name: string }[]>`
      select status, content, file_name from document_imports where id = ${id} for update`
    if (!imp) throw new NotFound()
    if (imp.status === 'done') return { problems: null }
    const plan = await planImport(tx, parseImport(imp.content))
    if (plan.problems.length) return { problems: plan.problems, fileName: imp.file_name, lineCount: plan.lineCount }
    const { documentIds } = await executeImport(tx, tenant, plan, id, todayRome())
    await tx`update document_imports set status = 'done', completed_at = now(), document_count = ${plan.documents},
      installment_count = ${plan.installments}, total_cents = ${plan.totalCents} where id = ${id}`
    await audit(tx, actorOf(c.var.user), {
      action: 'import.create',
      entity: 'document_import',
      entityId: id,
      after: {
        file: imp.file_name,
        documents: documentIds.length,
        installments: plan.installments,
        totalCents: plan.totalCents,
        newPayers: plan.newPayers,
        newPupils: plan.newPupils,
        firstDocumentId: documentIds[0] ?? null,
        lastDocumentId: documentIds[documentIds.length - 1] ?? null,
      },
    })
    return { problems: null }
  })
  if (outcome.problems)
    return uploadPage(c, {
      errors: fileError(c, 'backoffice.import.hasProblems', { count: outcome.problems.length }),
      problems: outcome.problems,
      fileName: outcome.fileName,
      lineCount: outcome.lineCount,
    })
  return c.redirect(officePath(c, `/documenti/importa/${id}`), 303)
})
