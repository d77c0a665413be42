// The citizen's debt position across every tenant that bills them, a document's detail, printed notices.
import { type Context, Hono } from 'hono'
import { z } from 'zod'
import { todayRome } from '../../platform/dates.ts'
import { withTenant } from '../../platform/db.ts'
import { NotFound } from '../../platform/errors.ts'
import type { Env, SessionUser } from '../../platform/http.ts'
import { render } from '../../platform/render.ts'
import {
  loginRedirect,
  requireUser,
  resolveSession,
  sessionLookedUpByRoute,
  withTenantSession,
} from '../../platform/session.ts'
import type { Tenant } from '../../platform/tenancy.ts'
import { cartIdsColumn } from '../cart/service.ts'
import { type NoticePdfData, noticeFor, renderNoticePdf, renderNoticesPdf } from './notice-pdf.ts'
import {
  type DocumentSummary,
  listDocuments,
  loadDocument,
  loadDocumentNotices,
  loadNotice,
  type NoticeRow,
} from './queries.ts'

export const debtRoutes = new Hono<Env>()

debtRoutes.use('/posizione-debitoria', requireUser)
debtRoutes.use('/t/:tenant/avvisi/*', requireUser)
debtRoutes.use('/t/:tenant/documenti/:id{[0-9]+}/avvisi.pdf', requireUser)
// the two pages of one tenant find the session in the first statement of their own transaction
sessionLookedUpByRoute(/^\/t\/([a-z0-9-]{1,40})\/posizione-debitoria$/, /^\/t\/([a-z0-9-]{1,40})\/documenti\/[0-9]+$/)

/** The active tenants that bill this codice fiscale (the platform index says which to ask). */
export async function citizenTenants(c: { var: Env['Variables'] }, cf: string): Promise<Tenant[]> {
  const rows = await c.var.deps.db.sql<
    { tenant_id: number }[]
  >`select tenant_id from platform.payer_index where codice_fiscale = ${cf}`
  const ids = new Set(rows.map((r) => r.tenant_id))
  return (await c.var.deps.tenants.list()).filter(
    (t) => ids.has(t.id) && (t.status === 'active' || t.status === 'suspended'),
  )
}

const filterSchema = z.object({
  stato: z.enum(['aperti', 'pagati', 'tutti']).catch('aperti'),
  anno: z.coerce.number().int().min(2000).max(2100).optional().catch(undefined),
  ente: z
    .string()
    .regex(/^[a-z0-9-]{1,40}$/)
    .optional()
    .catch(undefined),
})

async function positionPage(c: Context<Env>, only?: Tenant) {
  const filter = filterSchema.parse(c.req.query())
  const today = todayRome()
  const groups: { tenant: Tenant; documents: DocumentSummary[] }[] = []
  let all: Tenant[]
  if (only) {
    // one tenant: one transaction, the session included
    const found = await withTenantSession(c, only, (tx, cf) =>
      listDocuments(tx, cf, today, { state: filter.stato, year: filter.anno }),
    )
    if (!found) return loginRedirect(c)
    all = [only]
    groups.push({ tenant: only, documents: found.value })
  } else {
    const user = c.var.user as SessionUser
    all = await citizenTenants(c, user.codiceFiscale)
    const tenants = filter.ente ? all.filter((t) => t.slug === filter.ente) : all
    for (const tenant of tenants) {
      const documents = await withTenant(c.var.deps.db.sql, tenant, (tx) =>
        listDocuments(tx, user.codiceFiscale, today, { state: filter.stato, year: filter.anno }),
      )
      groups.push({ tenant, documents })
    }
  }
  const years = [...new Set(groups.flatMap((g) => g.documents.map((d) => d.year)))].sort((a, b) => b - a)
  return render(c, 'debts/position', {
    title: c.var.t('debts.title'),
    groups,
    filter,
    tenants: all,
    only: only ?? null,
    years,
    total: groups.reduce((s, g) => s + g.documents.reduce((x, d) => x + d.residual_cents, 0), 0),
  })
}

debtRoutes.get('/posizione-debitoria', (c) => positionPage(c))
debtRoutes.get('/t/:tenant/posizione-debitoria', (c) => positionPage(c, c.var.tenant))

debtRoutes.get('/t/:tenant/documenti/:id', async (c) => {
  const tenant = c.var.tenant as Tenant
  const id = Number(c.req.param('id'))
  if (!Number.isSafeInteger(id) || id < 1) {
    if (!(await resolveSession(c))) return loginRedirect(c)
    throw new NotFound()
  }
  // the session, this tenant's part of the cart, the document: one transaction
  const result = await withTenantSession<Awaited<ReturnType<typeof loadDocument>>, { cart_ids: number[] }>(
    c,
    tenant,
    (tx, cf) => loadDocument(tx, cf, todayRome(), id),
    (tx) => cartIdsColumn(tx, tenant.id),
  )
  if (!result) return loginRedirect(c)
  const found = result.value
  if (!found) throw new NotFound()
  const inCart = new Set(result.extra.cart_ids)
  return render(c, 'debts/document', {
    title: c.var.t('debts.document.title', { number: `${found.doc.number}/${found.doc.year}` }),
    doc: found.doc,
    installments: found.installments.map((i) => ({ ...i, in_cart: inCart.has(i.id) })),
    added: c.req.query('aggiunto'),
  })
})

function noticeData(c: Context<Env>, tenant: Tenant, n: NoticeRow): NoticePdfData {
  const payer = { name: n.payer_name, codiceFiscale: n.payer_cf, address: n.payer_address }
  return noticeFor(tenant, c.var.deps.config.baseUrl, c.var.lang, payer, n)
}

function pdfResponse(c: Context<Env>, pdf: Buffer, filename: string) {
  c.header('Content-Type', 'application/pdf')
  c.header('Content-Disposition', `inline; filename="${filename}"`)
  c.header('Cache-Control', 'private, no-store')
  return c.body(new Uint8Array(pdf))
}

debtRoutes.get('/t/:tenant/avvisi/:file{[0-9]+\\.pdf}', async (c) => {
  const user = c.var.user as SessionUser
  const tenant = c.var.tenant as Tenant
  const id = Number(c.req.param('file').replace('.pdf', ''))
  if (!Number.isSafeInteger(id)) throw new NotFound()
  const n = await withTenant(c.var.deps.db.sql, tenant, (tx) => loadNotice(tx, user.codiceFiscale, id))
  if (!n || n.cancelled || n.status === 'annullato') throw new NotFound()
  return pdfResponse(c, await renderNoticePdf(noticeData(c, tenant, n)), `avviso-${n.notice_code}.pdf`)
})

// every notice of a document still to pay, one page each, in one file (as the notice model prints installments)
debtRoutes.get('/t/:tenant/documenti/:id{[0-9]+}/avvisi.pdf', async (c) => {
  const user = c.var.user as SessionUser
  const tenant = c.var.tenant as Tenant
  const id = Number(c.req.param('id'))
  if (!Number.isSafeInteger(id)) throw new NotFound()
  const notices = await withTenant(c.var.deps.db.sql, tenant, (tx) => loadDocumentNotices(tx, user.codiceFiscale, id))
  if (notices.length === 0) throw new NotFound()
  const pdf = await renderNoticesPdf(notices.map((n) => noticeData(c, tenant, n)))
  return pdfResponse(c, pdf, `avvisi-documento-${id}.pdf`)
})
