// The creditor's payment-options endpoint (orgs_payment_options, decision 0103): for any notice of a document,
// pagoPA asks which ways there are to pay it and shows them to the citizen — the whole amount at once (a document
// in installments has its own single-payment notice) and the installments, each with its notice. Amounts, due
// dates and payability are the ones paVerifyPaymentNotice and paGetPayment answer for the same notices, and the ones
// the printed notice shows.
import { romeInstant, todayRome } from '../../platform/dates.ts'
import { type Db, withTenant } from '../../platform/db.ts'
import type { Tenant, TenantRegistry } from '../../platform/tenancy.ts'
import { expiredOn, noticeLabel } from './notice-rules.ts'
import { loadSettings } from './service.ts'
import { clip } from './soap.ts'

type PoStatus = 'PO_UNPAID' | 'PO_PAID' | 'PO_PARTIALLY_PAID' | 'PO_EXPIRED_NOT_PAYABLE' | 'PO_INVALID'
type PoiStatus = 'POI_UNPAID' | 'POI_PAID' | 'POI_EXPIRED_NOT_PAYABLE' | 'POI_INVALID'

export interface OptionsError {
  status: 400 | 404 | 409 | 422
  code: string
  message: string
}

const ERRORS = {
  syntax: { status: 400, code: 'ODP-101', message: 'PAA_SINTASSI the notice number is 18 digits' },
  domain: { status: 400, code: 'ODP-104', message: 'PAA_ID_DOMINIO_ERRATO no creditor with this fiscal code here' },
  unknown: { status: 404, code: 'ODP-107', message: 'PAA_PAGAMENTO_SCONOSCIUTO no notice with this number' },
  paid: { status: 409, code: 'ODP-108', message: 'PAA_PAGAMENTO_DUPLICATO the notice is already paid' },
  cancelled: { status: 422, code: 'ODP-111', message: 'PAA_PAGAMENTO_ANNULLATO the creditor cancelled the notice' },
} as const satisfies Record<string, OptionsError>

const NOTICE_RE = /^3[0-9]{17}$/
const endOfDay = (date: string) => romeInstant(`${date}T23:59:59`).toISOString()

export function errorBody(e: OptionsError) {
  const now = new Date()
  return {
    httpStatusCode: e.status,
    httpStatusDescription: { 400: 'Bad Request', 404: 'Not Found', 409: 'Conflict', 422: 'Unprocessable Entity' }[
      e.status
    ],
    errorMessage: e.message,
    appErrorCode: e.code,
    timestamp: Math.floor(now.getTime() / 1000),
    dateTime: now.toISOString(),
  }
}

interface DocRow {
  document_id: number
  description: string
  service_name: string
  cancelled: boolean
  full_iuv: string | null
  full_nav: string | null
}

interface PartRow {
  seq: number
  iuv: string
  notice_code: string
  amount_cents: number
  due_date: string
  status: 'da_pagare' | 'in_corso' | 'pagato' | 'annullato'
}

/** The options for a notice number, or the error the interface specifies. */
export async function paymentOptions(
  deps: { db: Db; tenants: TenantRegistry },
  fiscalCode: string,
  noticeNumber: string,
): Promise<{ ok: true; body: Record<string, unknown> } | { ok: false; error: OptionsError }> {
  if (!NOTICE_RE.test(noticeNumber)) return { ok: false, error: ERRORS.syntax }
  const tenant = (await deps.tenants.list()).find((t) => t.fiscalCode === fiscalCode && t.status === 'active')
  if (!tenant) return { ok: false, error: ERRORS.domain }
  const found = await withTenant(deps.db.sql, tenant, async (tx) => {
    const [doc] = await tx<DocRow[]>`
      select d.id as document_id, d.description, s.name as service_name, d.cancelled_at is not null as cancelled,
        f.iuv as full_iuv, f.notice_code as full_nav
      from documents d join services s on s.id = d.service_id left join full_notices f on f.document_id = d.id
      where d.id = coalesce(
        (select document_id from installments where notice_code = ${noticeNumber}),
        (select document_id from full_notices where notice_code = ${noticeNumber}))`
    if (!doc) return null
    const [parts, settings] = await Promise.all([
      tx<PartRow[]>`select seq, iuv, notice_code, amount_cents, due_date, status from installments
        where document_id = ${doc.document_id} order by seq`,
      loadSettings(tx),
    ])
    return { doc, parts, settings }
  })
  if (!found) return { ok: false, error: ERRORS.unknown }
  const { doc, parts, settings } = found
  if (doc.cancelled || parts.every((p) => p.status === 'annullato')) return { ok: false, error: ERRORS.cancelled }
  if (parts.every((p) => p.status === 'pagato')) return { ok: false, error: ERRORS.paid }
  return { ok: true, body: build(tenant, doc, parts, settings.payableDaysAfterDue, todayRome()) }
}

function build(
  tenant: Tenant,
  doc: DocRow,
  parts: PartRow[],
  payableDays: number | null,
  today: string,
): Record<string, unknown> {
  const expired = (due: string) => expiredOn(due, payableDays, today)
  const poi = (p: PartRow): PoiStatus =>
    p.status === 'pagato'
      ? 'POI_PAID'
      : p.status === 'annullato'
        ? 'POI_INVALID'
        : expired(p.due_date)
          ? 'POI_EXPIRED_NOT_PAYABLE'
          : 'POI_UNPAID'
  const total = parts.reduce((s, p) => s + p.amount_cents, 0)
  const first = parts[0] as PartRow
  const last = parts[parts.length - 1] as PartRow
  const options: Record<string, unknown>[] = []
  if (doc.full_iuv && doc.full_nav) {
    const paid = parts.some((p) => p.status === 'pagato')
    const status: PoStatus = paid ? 'PO_INVALID' : expired(first.due_date) ? 'PO_EXPIRED_NOT_PAYABLE' : 'PO_UNPAID'
    const description = clip(noticeLabel(doc.description, 0, parts.length), 140)
    options.push({
      description,
      numberOfInstallments: 1,
      amount: total,
      dueDate: endOfDay(first.due_date),
      status,
      ...(paid ? { statusReason: 'an installment is already paid: pay the remaining installments' } : {}),
      allCCP: false,
      installments: [
        {
          nav: doc.full_nav,
          iuv: doc.full_iuv,
          amount: total,
          description,
          dueDate: endOfDay(first.due_date),
          status: paid ? 'POI_INVALID' : expired(first.due_date) ? 'POI_EXPIRED_NOT_PAYABLE' : 'POI_UNPAID',
        },
      ],
    })
  }
  const statuses = parts.map(poi)
  const paidCount = statuses.filter((s) => s === 'POI_PAID').length
  const planStatus: PoStatus =
    paidCount === parts.length
      ? 'PO_PAID'
      : paidCount > 0
        ? 'PO_PARTIALLY_PAID'
        : statuses.every((s) => s === 'POI_EXPIRED_NOT_PAYABLE')
          ? 'PO_EXPIRED_NOT_PAYABLE'
          : 'PO_UNPAID'
  options.push({
    description: clip(parts.length > 1 ? `${doc.description} – ${parts.length} rate` : doc.description, 140),
    numberOfInstallments: parts.length,
    amount: total,
    dueDate: endOfDay(last.due_date),
    status: planStatus,
    allCCP: false,
    installments: parts.map((p, k) => ({
      nav: p.notice_code,
      iuv: p.iuv,
      amount: p.amount_cents,
      description: clip(noticeLabel(doc.description, p.seq, parts.length), 140),
      dueDate: endOfDay(p.due_date),
      status: statuses[k],
    })),
  })
  return {
    organizationFiscalCode: tenant.fiscalCode,
    companyName: clip(tenant.name, 140),
    officeName: clip(doc.service_name, 140),
    standin: false,
    paymentOptions: options,
  }
}
