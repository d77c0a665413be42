// Publications of the body ("documenti dell'ente"): the office publishes PDFs (regulations, tariffs, privacy notice, diet forms, menus) and
// citizens read them from the tenant's home page. Admin and operatore upload, replace and delete; every role
// of the office reads; anyone may download.
import { type Context, Hono } from 'hono'
import { z } from 'zod'
import { actorOf, audit } from '../../platform/audit.ts'
import { type Tx, withTenant } from '../../platform/db.ts'
import { NotFound } from '../../platform/errors.ts'
import { chars, formErrors, formValues } from '../../platform/forms.ts'
import type { Env } from '../../platform/http.ts'
import { type FormErrors, render } from '../../platform/render.ts'
import { requireStaff } from '../../platform/roles.ts'
import type { Tenant } from '../../platform/tenancy.ts'
import {
  contentDisposition,
  declaredTooBig,
  MB,
  readUpload,
  safeFileName,
  sha256,
  type UploadProblem,
} from './files.ts'
import {
  CATEGORIES,
  documentContent,
  downloadPath,
  findDocument,
  formatSize,
  publicDocuments,
  snapshot,
  type TenantDocument,
} from './queries.ts'

export const publicationRoutes = new Hono<Env>()

export const DOCUMENT_LIMIT = 10 * MB

const readers = requireStaff('admin', 'operatore', 'lettore')
const writers = requireStaff('admin', 'operatore')

const docSchema = z.object({
  title: z
    .string()
    .trim()
    .min(1, 'tenantdocs.errors.titleRequired')
    .refine((s) => chars(s) >= 3, 'tenantdocs.errors.titleShort')
    .max(150, 'tenantdocs.errors.titleLong'),
  category: z.enum(CATEGORIES, { error: 'tenantdocs.errors.categoryRequired' }),
})
const ORDER = ['title', 'category', 'file']

type Snapshot = Pick<TenantDocument, 'title' | 'category' | 'file_name' | 'size_bytes' | 'sha256'>

/** A problem with the file alone, as form errors (e.g. refused by its declared length before parsing). */
function fileOnlyError(c: Context<Env>, key: string): FormErrors {
  return formErrors(
    [{ code: 'custom', path: ['file'], message: key, input: undefined } as z.core.$ZodIssue],
    c.var.t,
    ORDER,
  )
}

function tenantOf(c: Context<Env>): Tenant {
  const t = c.var.tenant
  if (!t) throw new NotFound()
  return t
}

function idParam(c: Context<Env>): number {
  const v = c.req.param('id') ?? ''
  if (!/^[1-9][0-9]{0,15}$/.test(v) || !Number.isSafeInteger(Number(v))) throw new NotFound()
  return Number(v)
}

function inTenant<T>(c: Context<Env>, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return withTenant(c.var.deps.db.sql, tenantOf(c), fn)
}

const staffBase = (c: Context<Env>) => `/t/${tenantOf(c).slug}/ufficio/documenti-ente`

function uploadError(problem: UploadProblem, required: boolean): string | null {
  if (problem === 'missing') return required ? 'tenantdocs.errors.fileRequired' : null
  return `tenantdocs.errors.file${problem[0]?.toUpperCase()}${problem.slice(1)}`
}

/** Form errors from zod issues plus the file's problem, in page order. */
function errorsOf(c: Context<Env>, issues: z.core.$ZodIssue[], fileKey: string | null): FormErrors | null {
  const all = [...issues]
  if (fileKey) all.push({ code: 'custom', path: ['file'], message: fileKey, input: undefined } as z.core.$ZodIssue)
  return all.length ? formErrors(all, c.var.t, ORDER) : null
}

async function staffPage(
  c: Context<Env>,
  extra: { values?: Record<string, unknown>; errors?: FormErrors },
  status: 200 | 413 | 422 = 200,
) {
  const tenant = tenantOf(c)
  const documents = await inTenant(c, (tx) => publicDocuments(tx, tenant, c.var.lang))
  return render(
    c,
    'publications/staff',
    {
      title: c.var.t('tenantdocs.staff.title'),
      documents,
      categories: CATEGORIES,
      canWrite: c.var.staffRole === 'admin' || c.var.staffRole === 'operatore',
      done: ['caricato', 'modificato', 'eliminato'].includes(c.req.query('esito') ?? '') ? c.req.query('esito') : null,
      base: staffBase(c),
      limitMb: DOCUMENT_LIMIT / MB,
      values: extra.values ?? {},
      errors: extra.errors,
    },
    status,
  )
}

publicationRoutes.get('/t/:tenant/ufficio/documenti-ente', readers, (c) => staffPage(c, {}))

publicationRoutes.post('/t/:tenant/ufficio/documenti-ente', writers, async (c) => {
  if (declaredTooBig(c, DOCUMENT_LIMIT)) {
    return staffPage(c, { values: {}, errors: fileOnlyError(c, 'tenantdocs.errors.fileTooBig') }, 413)
  }
  const values = await formValues(c)
  const parsed = docSchema.safeParse(values)
  const upload = await readUpload(c, 'file', DOCUMENT_LIMIT, ['application/pdf'])
  const errors = errorsOf(
    c,
    parsed.success ? [] : parsed.error.issues,
    upload.ok ? null : uploadError(upload.problem, true),
  )
  if (errors || !parsed.success || !upload.ok) return staffPage(c, { values, errors: errors ?? undefined }, 422)
  const file = upload.file
  const row = {
    title: parsed.data.title,
    category: parsed.data.category,
    file_name: safeFileName(file.name, file.type, 'documento'),
    size_bytes: file.size,
    sha256: sha256(file.bytes),
  }
  await inTenant(c, async (tx) => {
    const [created] = await tx<{ id: number }[]>`
      insert into tenant_documents (title, category, file_name, size_bytes, sha256, content, updated_by_name)
      values (${row.title}, ${row.category}, ${row.file_name}, ${row.size_bytes}, ${row.sha256}, ${file.bytes},
              ${actorOf(c.var.user).name})
      returning id`
    await audit(tx, actorOf(c.var.user), {
      action: 'tenantdocs.upload',
      entity: 'tenant_document',
      entityId: created?.id,
      after: snapshot(row),
    })
  })
  return c.redirect(`${staffBase(c)}?esito=caricato`, 303)
})

async function editPage(
  c: Context<Env>,
  id: number,
  extra: { values?: Record<string, unknown>; errors?: FormErrors },
  status: 200 | 413 | 422 = 200,
) {
  const doc = await inTenant(c, (tx) => findDocument(tx, id))
  if (!doc) throw new NotFound()
  return render(
    c,
    'publications/edit',
    {
      title: c.var.t('tenantdocs.edit.title'),
      doc,
      href: downloadPath(tenantOf(c).slug, doc),
      size: formatSize(doc.size_bytes, c.var.lang),
      categories: CATEGORIES,
      base: staffBase(c),
      limitMb: DOCUMENT_LIMIT / MB,
      values: extra.values ?? { title: doc.title, category: doc.category },
      errors: extra.errors,
    },
    status,
  )
}

publicationRoutes.get('/t/:tenant/ufficio/documenti-ente/:id', writers, (c) => editPage(c, idParam(c), {}))

publicationRoutes.post('/t/:tenant/ufficio/documenti-ente/:id', writers, async (c) => {
  const id = idParam(c)
  if (declaredTooBig(c, DOCUMENT_LIMIT)) {
    return editPage(c, id, { errors: fileOnlyError(c, 'tenantdocs.errors.fileTooBig') }, 413)
  }
  const values = await formValues(c)
  const parsed = docSchema.safeParse(values)
  const upload = await readUpload(c, 'file', DOCUMENT_LIMIT, ['application/pdf'])
  const fileKey = upload.ok ? null : uploadError(upload.problem, false)
  const errors = errorsOf(c, parsed.success ? [] : parsed.error.issues, fileKey)
  if (errors || !parsed.success) return editPage(c, id, { values, errors: errors ?? undefined }, 422)
  const file = upload.ok ? upload.file : null
  const found = await inTenant(c, async (tx) => {
    const [before] = await tx<Snapshot[]>`
      select title, category, file_name, size_bytes, sha256 from tenant_documents where id = ${id} for update`
    if (!before) return false
    const after = {
      title: parsed.data.title,
      category: parsed.data.category,
      file_name: file ? safeFileName(file.name, file.type) : before.file_name,
      size_bytes: file ? file.size : before.size_bytes,
      sha256: file ? sha256(file.bytes) : before.sha256,
    }
    await tx`
      update tenant_documents set title = ${after.title}, category = ${after.category}, file_name = ${after.file_name},
        size_bytes = ${after.size_bytes}, sha256 = ${after.sha256},
        ${file ? tx`content = ${file.bytes},` : tx``}
        updated_at = now(), updated_by_name = ${actorOf(c.var.user).name}
      where id = ${id}`
    await audit(tx, actorOf(c.var.user), {
      action: file ? 'tenantdocs.replace' : 'tenantdocs.update',
      entity: 'tenant_document',
      entityId: id,
      before: snapshot(before),
      after: snapshot(after),
    })
    return true
  })
  if (!found) throw new NotFound()
  return c.redirect(`${staffBase(c)}?esito=modificato`, 303)
})

publicationRoutes.get('/t/:tenant/ufficio/documenti-ente/:id/elimina', writers, async (c) => {
  const doc = await inTenant(c, (tx) => findDocument(tx, idParam(c)))
  if (!doc) throw new NotFound()
  return render(c, 'publications/delete', {
    title: c.var.t('tenantdocs.delete.title', { title: doc.title }),
    doc,
    base: staffBase(c),
  })
})

publicationRoutes.post('/t/:tenant/ufficio/documenti-ente/:id/elimina', writers, async (c) => {
  const id = idParam(c)
  const found = await inTenant(c, async (tx) => {
    const [gone] = await tx<Snapshot[]>`
      delete from tenant_documents where id = ${id} returning title, category, file_name, size_bytes, sha256`
    if (!gone) return false
    await audit(tx, actorOf(c.var.user), {
      action: 'tenantdocs.delete',
      entity: 'tenant_document',
      entityId: id,
      before: snapshot(gone),
    })
    return true
  })
  if (!found) throw new NotFound()
  return c.redirect(`${staffBase(c)}?esito=eliminato`, 303)
})

// ---- citizens ----------------------------------------------------------------------------------------------

publicationRoutes.get('/t/:tenant/documenti-ente', async (c) => {
  const tenant = tenantOf(c)
  const documents = await inTenant(c, (tx) => publicDocuments(tx, tenant, c.var.lang))
  return render(c, 'publications/public', {
    title: c.var.t('tenantdocs.public.title'),
    documents,
    categories: CATEGORIES,
  })
})

publicationRoutes.get('/t/:tenant/documenti-ente/:id/:name', async (c) => {
  const id = idParam(c)
  const doc = await inTenant(c, (tx) => documentContent(tx, id))
  if (!doc) throw new NotFound()
  // an old link with the name of a replaced file still finds the current file, under its current name
  if (c.req.param('name') !== doc.file_name)
    return c.redirect(downloadPath(tenantOf(c).slug, { id, file_name: doc.file_name }), 302)
  c.header('Content-Type', 'application/pdf')
  c.header('Content-Disposition', contentDisposition(doc.file_name))
  c.header('Cache-Control', 'public, max-age=300')
  c.header('ETag', `"${doc.sha256}"`)
  return c.body(new Uint8Array(doc.content))
})
