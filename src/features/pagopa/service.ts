// The creditor side of pagoPA: what Sportello answers the node for each operation of the "paForNode"
// interface. verify and get payment describe a notice as it is now (current amount and due date) or refuse it
// with the specified fault; a receipt (paSendRT) is recorded once and settles its installment once.
// Decisions: docs/decisions/0070–0074, operator guide docs/pagopa.md.

import type { Logger } from 'pino'
import { romeInstant, todayRome } from '../../platform/dates.ts'
import { type Db, type Tx, withTenant } from '../../platform/db.ts'
import { isLang, type Lang, translator } from '../../platform/i18n.ts'
import { enqueueMail, textToHtml } from '../../platform/mail.ts'
import { formatMoney } from '../../platform/money.ts'
import type { ServiceKind, Tenant, TenantRegistry } from '../../platform/tenancy.ts'
import { ownShare, storedTransfers, sumByBody, sumShares, type TransferShare } from '../debts/split.ts'
import { renderReceiptPdf } from '../payments/receipt-pdf.ts'
import { proposeRefunds } from '../payments/refunds.ts'
import { finish } from '../payments/service.ts'
import { settleInstallments } from '../payments/settle.ts'
import type { PagopaConfig } from './config.ts'
import { expiredOn, noticeLabel } from './notice-rules.ts'
import {
  amountToCents,
  centsToAmount,
  clip,
  Fault,
  faultResponse,
  guessOperation,
  okResponse,
  parseRequest,
  type RequestElement,
  soapFault,
} from './soap.ts'
import { serviceCategory } from './taxonomy.ts'
import { kid, kids, textAt, type XNode } from './xml.ts'

export interface NodeDeps {
  db: Db
  tenants: TenantRegistry
  config: PagopaConfig
  log: Logger
}

/** Defaults when a tenant has not saved its pagoPA settings. */
export const DEFAULT_SETTINGS = { payableDaysAfterDue: 365 as number | null }

export interface PagopaSettings {
  payableDaysAfterDue: number | null
}

export async function loadSettings(tx: Tx): Promise<PagopaSettings> {
  const [row] = await tx<{ payable_days_after_due: number | null }[]>`
    select payable_days_after_due from pagopa_settings where id = 1`
  return row ? { payableDaysAfterDue: row.payable_days_after_due } : { ...DEFAULT_SETTINGS }
}

/** The node's answer to one request: never a 500, always the interface's own fault when something is wrong. */
export async function handleNodeRequest(
  deps: NodeDeps,
  xml: string,
  soapAction?: string,
): Promise<{ status: 200 | 400; body: string; operation: string | null; outcome: string }> {
  let element: RequestElement | null = guessOperation(xml, soapAction)
  let faultId = /<idPA>\s*([0-9]{11})\s*<\/idPA>/.exec(xml)?.[1] ?? deps.config.brokerId ?? 'Sportello'
  try {
    const req = parseRequest(xml)
    element = req.element
    const idPA = textAt(req.body, 'idPA') as string
    faultId = idPA
    authorize(deps.config, req.body)
    const tenant = (await deps.tenants.list()).find((t) => t.fiscalCode === idPA)
    if (!tenant) throw new Fault('PAA_ID_DOMINIO_ERRATO', `no creditor with fiscal code ${idPA} on this station`)
    // a creditor being set up or suspended takes no new payments; receipts of money that moved still count
    if (tenant.status !== 'active' && !element.startsWith('paSendRT'))
      throw new Fault('PAA_ID_DOMINIO_ERRATO', `the creditor ${idPA} is not active on this station`)
    let data: Record<string, unknown> = {}
    switch (element) {
      case 'paVerifyPaymentNoticeReq':
        data = await verify(deps, tenant, req.body)
        break
      case 'paGetPaymentReq':
        data = await getPayment(deps, tenant, req.body, 1)
        break
      case 'paGetPaymentV2Request':
        data = await getPayment(deps, tenant, req.body, 2)
        break
      case 'paSendRTReq':
        await sendReceipt(deps, tenant, req.body, 'paSendRT', xml)
        break
      case 'paSendRTV2Request':
        await sendReceipt(deps, tenant, req.body, 'paSendRTV2', xml)
        break
      case 'paDemandPaymentNoticeRequest':
        throw new Fault('PAA_SEMANTICA', 'spontaneous payments at the PSP (paDemandPaymentNotice) are not offered')
    }
    return { status: 200, body: okResponse(element, data), operation: element, outcome: 'OK' }
  } catch (err) {
    let fault: Fault
    if (err instanceof Fault) fault = err
    else {
      deps.log.error({ err, operation: element }, 'pagoPA node request failed')
      fault = new Fault('PAA_SYSTEM_ERROR', 'the creditor could not process the request; retry later')
    }
    if (!element) return { status: 400, body: soapFault(fault, faultId), operation: null, outcome: fault.code }
    return { status: 200, body: faultResponse(element, fault, faultId), operation: element, outcome: fault.code }
  }
}

function authorize(config: PagopaConfig, body: XNode) {
  const broker = textAt(body, 'idBrokerPA') as string
  const station = textAt(body, 'idStation') as string
  if (config.brokerId && broker !== config.brokerId)
    throw new Fault('PAA_ID_INTERMEDIARIO_ERRATO', `idBrokerPA ${broker} is not this station's broker`)
  if (config.stationIds.length && !config.stationIds.includes(station))
    throw new Fault('PAA_STAZIONE_INT_ERRATA', `idStation ${station} is not served here`)
}

interface NoticeRow {
  id: number
  iuv: string
  notice_code: string
  seq: number
  installments: number
  amount_cents: number
  due_date: string
  status: 'da_pagare' | 'in_corso' | 'pagato' | 'annullato'
  pending_payment_id: number | null
  cancelled: boolean
  in_cart: boolean
  description: string
  causale: string
  number: string
  year: number
  payer_cf: string
  payer_name: string
  payer_email: string | null
  pupil_name: string | null
  service_kind: ServiceKind
  taxonomy_code: string | null
  taxonomy_prefix: string
  /** the document's single-payment notice (decision 0103): `id` is its first installment's */
  full: { installmentIds: number[]; amounts: number[]; partlyPaid: boolean } | null
}

const noticeColumns = (tx: Tx) => tx`
  d.cancelled_at is not null as cancelled, d.description, d.number, d.year, s.causale,
  s.kind as service_kind, s.taxonomy_code, s.taxonomy_prefix,
  p.codice_fiscale as payer_cf, p.given_name || ' ' || p.family_name as payer_name, p.email as payer_email,
  pu.given_name || ' ' || pu.family_name as pupil_name`

async function loadNotice(tx: Tx, noticeNumber: string, lock: boolean): Promise<NoticeRow | null> {
  const [row] = await tx<Omit<NoticeRow, 'full' | 'in_cart'>[]>`
    select i.id, i.iuv, i.notice_code, i.seq, i.amount_cents, i.due_date, i.status, i.pending_payment_id,
      (select count(*)::int from installments x where x.document_id = d.id) as installments, ${noticeColumns(tx)}
    from installments i join documents d on d.id = i.document_id join services s on s.id = d.service_id
      join payers p on p.id = d.payer_id left join pupils pu on pu.id = d.pupil_id
    where i.notice_code = ${noticeNumber}
    ${lock ? tx`for update of i` : tx``}`
  if (!row) return loadFullNotice(tx, noticeNumber, lock)
  // a statement of its own: Citus joins no platform table (on the coordinator) inside a tenant's query
  if (row.pending_payment_id === null) return { ...row, in_cart: false, full: null }
  const [cart] = await tx<{ yes: boolean }[]>`
    select exists (select 1 from platform.pagopa_carts where payment_id = ${row.pending_payment_id}) as yes`
  return { ...row, in_cart: !!cart?.yes, full: null }
}

/**
 * A document's single-payment notice as the node sees it: the installments' total, the first due date, payable
 * only while every installment is: one paid makes it "already paid", one being paid "in progress".
 */
async function loadFullNotice(tx: Tx, noticeNumber: string, lock: boolean): Promise<NoticeRow | null> {
  const [f] = await tx<
    (Omit<
      NoticeRow,
      'full' | 'in_cart' | 'id' | 'seq' | 'installments' | 'amount_cents' | 'due_date' | 'status' | 'pending_payment_id'
    > & { document_id: number })[]
  >`
    select f.document_id, f.iuv, f.notice_code, ${noticeColumns(tx)}
    from full_notices f join documents d on d.id = f.document_id join services s on s.id = d.service_id
      join payers p on p.id = d.payer_id left join pupils pu on pu.id = d.pupil_id
    where f.notice_code = ${noticeNumber}`
  if (!f) return null
  const parts = await tx<{ id: number; amount_cents: number; due_date: string; status: NoticeRow['status'] }[]>`
    select id, amount_cents, due_date, status from installments where document_id = ${f.document_id} order by seq
    ${lock ? tx`for update` : tx``}`
  const first = parts[0]
  if (!first) return null
  const paid = parts.filter((x) => x.status === 'pagato').length
  const status: NoticeRow['status'] =
    paid > 0
      ? 'pagato'
      : parts.some((x) => x.status === 'in_corso')
        ? 'in_corso'
        : parts.some((x) => x.status === 'annullato')
          ? 'annullato'
          : 'da_pagare'
  const { document_id: _d, ...rest } = f
  return {
    ...rest,
    id: first.id,
    seq: 0,
    installments: parts.length,
    amount_cents: parts.reduce((s2, x) => s2 + x.amount_cents, 0),
    due_date: first.due_date,
    status,
    pending_payment_id: null,
    in_cart: false,
    full: {
      installmentIds: parts.map((x) => x.id),
      amounts: parts.map((x) => x.amount_cents),
      partlyPaid: paid > 0 && paid < parts.length,
    },
  }
}

const noticeText = (n: Pick<NoticeRow, 'description' | 'installments' | 'seq' | 'full'>) =>
  noticeLabel(n.description, n.full ? 0 : n.seq, n.installments)

/**
 * Whether the node may collect a notice now. Paid → DUPLICATO; cancelled → ANNULLATO; being paid online
 * through another channel → IN_CORSO (a pagoPA Checkout cart of ours is pagoPA's own payment: allowed);
 * more than `payableDaysAfterDue` days past its due date (Europe/Rome) → SCADUTO (decision 0071).
 */
export function payability(
  n: (Pick<NoticeRow, 'status' | 'cancelled' | 'in_cart' | 'due_date'> & { full?: NoticeRow['full'] }) | null,
  settings: PagopaSettings,
  today: string,
): Fault | null {
  if (!n) return new Fault('PAA_PAGAMENTO_SCONOSCIUTO', 'no notice with this number')
  if (n.full?.partlyPaid)
    return new Fault(
      'PAA_PAGAMENTO_DUPLICATO',
      'an installment of this document is already paid: pay the remaining installments with their own notices',
    )
  if (n.status === 'pagato') return new Fault('PAA_PAGAMENTO_DUPLICATO', 'the notice is already paid')
  if (n.cancelled || n.status === 'annullato')
    return new Fault('PAA_PAGAMENTO_ANNULLATO', 'the creditor cancelled the notice')
  if (n.status === 'in_corso' && !n.in_cart)
    return new Fault('PAA_PAGAMENTO_IN_CORSO', 'a payment of this notice is in progress on another channel')
  if (expiredOn(n.due_date, settings.payableDaysAfterDue, today))
    return new Fault(
      'PAA_PAGAMENTO_SCADUTO',
      `due on ${n.due_date}; payable until ${settings.payableDaysAfterDue} days after the due date`,
    )
  return null
}

function qrCode(tenant: Tenant, body: XNode): string {
  const fiscalCode = textAt(body, 'qrCode', 'fiscalCode')
  if (fiscalCode !== tenant.fiscalCode) throw new Fault('PAA_ID_DOMINIO_ERRATO', 'qrCode/fiscalCode differs from idPA')
  return textAt(body, 'qrCode', 'noticeNumber') as string
}

/**
 * The other beneficiaries' transfers of a notice as issued (decision 0104), summed per body for a single-payment
 * notice: what paGetPayment gives the PSP and a receipt must bring back.
 */
async function otherShares(tx: Tx, n: NoticeRow): Promise<TransferShare[]> {
  const ids = n.full?.installmentIds ?? [n.id]
  const stored = await storedTransfers(tx, ids)
  return sumShares(ids.map((id) => stored.get(id) ?? []))
}

async function payableNotice(deps: NodeDeps, tenant: Tenant, noticeNumber: string, withTransfers = false) {
  const { notice, settings, others } = await withTenant(deps.db.sql, tenant, async (tx) => {
    const [n, s] = await Promise.all([loadNotice(tx, noticeNumber, false), loadSettings(tx)])
    return { notice: n, settings: s, others: withTransfers && n ? await otherShares(tx, n) : [] }
  })
  const refusal = payability(notice, settings, todayRome())
  if (refusal) throw refusal
  return { notice: notice as NoticeRow, settings, others }
}

async function verify(deps: NodeDeps, tenant: Tenant, body: XNode) {
  const { notice } = await payableNotice(deps, tenant, qrCode(tenant, body))
  const text = clip(noticeText(notice), 140)
  return {
    paymentList: {
      paymentOptionDescription: {
        amount: centsToAmount(notice.amount_cents),
        options: 'EQ',
        dueDate: notice.due_date,
        detailDescription: text,
        allCCP: 'false',
      },
    },
    paymentDescription: text,
    fiscalCodePA: tenant.fiscalCode,
    companyName: clip(tenant.name, 140),
  }
}

const EMAIL_RE = /^[a-zA-Z0-9_.+-]+@[a-zA-Z0-9-]+(\.[a-zA-Z0-9-]+)*$/

async function getPayment(deps: NodeDeps, tenant: Tenant, body: XNode, version: 1 | 2) {
  const { notice, others } = await payableNotice(deps, tenant, qrCode(tenant, body), true)
  const iban = tenant.settings.iban
  if (!iban) throw new Fault('PAA_SEMANTICA', 'the creditor has not configured the IBAN for pagoPA transfers')
  const amount = centsToAmount(notice.amount_cents)
  const own = ownShare(notice.amount_cents, others)
  const debtor: Record<string, unknown> = {
    uniqueIdentifier: { entityUniqueIdentifierType: 'F', entityUniqueIdentifierValue: notice.payer_cf },
    fullName: clip(notice.payer_name, 70),
  }
  if (notice.payer_email && EMAIL_RE.test(notice.payer_email) && notice.payer_email.length <= 256)
    debtor['e-mail'] = notice.payer_email
  return {
    data: {
      creditorReferenceId: notice.iuv,
      paymentAmount: amount,
      dueDate: notice.due_date,
      description: clip(noticeText(notice), 140),
      companyName: clip(tenant.name, 140),
      debtor,
      transferList: {
        transfer: [
          {
            idTransfer: '1',
            transferAmount: centsToAmount(own),
            fiscalCodePA: tenant.fiscalCode,
            ...(version === 2 ? { companyName: clip(tenant.name, 140) } : {}),
            IBAN: iban,
            remittanceInformation: clip(`${notice.causale} ${notice.number}/${notice.year}`, 140),
            transferCategory: serviceCategory(tenant.kind, {
              kind: notice.service_kind,
              taxonomy_code: notice.taxonomy_code,
              taxonomy_prefix: notice.taxonomy_prefix,
            }),
          },
          ...others.map((o) => ({
            idTransfer: String(o.idTransfer),
            transferAmount: centsToAmount(o.amountCents),
            fiscalCodePA: o.fiscalCode,
            ...(version === 2 ? { companyName: clip(o.name, 140) } : {}),
            IBAN: o.iban,
            remittanceInformation: clip(o.remittance, 140),
            transferCategory: o.category,
          })),
        ],
      },
    },
  }
}

export interface ReceiptData {
  receiptId: string
  noticeNumber: string
  fiscalCode: string
  outcome: 'OK' | 'KO'
  creditorReferenceId: string
  amountCents: number
  feeCents: number | null
  pspId: string
  pspName: string
  pspFiscalCode: string | null
  channelId: string
  channelDescription: string
  paymentMethod: string | null
  paidAt: Date | null
  applicationDate: string | null
  transferDate: string | null
  debtorId: string
  payer: { id: string; name: string; email: string | null } | null
  transfers: {
    idTransfer: number
    amountCents: number
    fiscalCodePA: string
    iban: string | null
    remittanceInformation: string
    transferCategory: string
  }[]
}

/** A schema-valid ctReceipt / ctReceiptV2 as plain data. */
export function readReceipt(body: XNode): ReceiptData {
  const r = kid(body, 'receipt') as XNode
  const t = (...p: string[]) => textAt(r, ...p)
  const payer = kid(r, 'payer')
  const fee = t('fee')
  const when = t('paymentDateTime')
  return {
    receiptId: t('receiptId') as string,
    noticeNumber: t('noticeNumber') as string,
    fiscalCode: t('fiscalCode') as string,
    outcome: t('outcome') as 'OK' | 'KO',
    creditorReferenceId: t('creditorReferenceId') as string,
    amountCents: amountToCents(t('paymentAmount') as string),
    feeCents: fee === undefined ? null : amountToCents(fee),
    pspId: t('idPSP') as string,
    pspName: t('PSPCompanyName') as string,
    pspFiscalCode: t('pspFiscalCode') ?? null,
    channelId: t('idChannel') as string,
    channelDescription: t('channelDescription') as string,
    paymentMethod: t('paymentMethod') ?? null,
    paidAt: when === undefined ? null : romeInstant(when),
    applicationDate: t('applicationDate')?.slice(0, 10) ?? null,
    transferDate: t('transferDate')?.slice(0, 10) ?? null,
    debtorId: t('debtor', 'uniqueIdentifier', 'entityUniqueIdentifierValue') as string,
    payer: payer
      ? {
          id: textAt(payer, 'uniqueIdentifier', 'entityUniqueIdentifierValue') as string,
          name: textAt(payer, 'fullName') as string,
          email: textAt(payer, 'e-mail') ?? null,
        }
      : null,
    transfers: kids(kid(r, 'transferList'), 'transfer').map((x) => ({
      idTransfer: Number(textAt(x, 'idTransfer')),
      amountCents: amountToCents(textAt(x, 'transferAmount') as string),
      fiscalCodePA: textAt(x, 'fiscalCodePA') as string,
      iban: textAt(x, 'IBAN') ?? null,
      remittanceInformation: textAt(x, 'remittanceInformation') as string,
      transferCategory: textAt(x, 'transferCategory') as string,
    })),
  }
}

type Effect = 'settled' | 'checkout' | 'already_paid' | 'cancelled' | 'not_ok'
type Flag = 'amount_mismatch' | 'already_paid' | 'cancelled' | 'transfers_mismatch' | null

/** What one body receives of a notice's amount. */
export interface BodyShare {
  fiscalCode: string
  amountCents: number
}

/** How a notice's amount was issued among the bodies (the body itself is never one of the others). */
async function issuedShares(tx: Tx, tenant: Tenant, n: NoticeRow): Promise<BodyShare[]> {
  const others = await otherShares(tx, n)
  return [
    { fiscalCode: tenant.fiscalCode, amountCents: ownShare(n.amount_cents, others) },
    ...others.map((o) => ({ fiscalCode: o.fiscalCode, amountCents: o.amountCents })),
  ]
}

/**
 * Each body's share as issued beside what a receipt's transfers gave it (summed per body, order and numbering aside),
 * then any body the receipt paid that was not issued one: the office's comparison, and the receipt's check.
 */
export function splitRows(
  expected: BodyShare[],
  received: { fiscalCodePA: string; amountCents: number }[],
): { fiscalCode: string; issuedCents: number; receivedCents: number }[] {
  const got = new Map(
    sumByBody([received.map((t) => ({ fiscalCode: t.fiscalCodePA, amountCents: t.amountCents }))]).map((g) => [
      g.fiscalCode,
      g.amountCents,
    ]),
  )
  const rows = expected.map((e) => ({
    fiscalCode: e.fiscalCode,
    issuedCents: e.amountCents,
    receivedCents: got.get(e.fiscalCode) ?? 0,
  }))
  for (const [fiscalCode, cents] of got)
    if (!expected.some((e) => e.fiscalCode === fiscalCode))
      rows.push({ fiscalCode, issuedCents: 0, receivedCents: cents })
  return rows
}

/** Whether a receipt's transfers give each body what was issued. */
const sameShares = (expected: BodyShare[], received: { fiscalCodePA: string; amountCents: number }[]) =>
  splitRows(expected, received).every((r) => r.issuedCents === r.receivedCents)

/**
 * Records a receipt once and settles its installment once (decisions 0072–0073). A duplicate receipt id →
 * PAA_RECEIPT_DUPLICATA with no change. Money that moved is never refused: a receipt for a notice paid
 * otherwise, cancelled, or of another amount is kept and flagged for staff.
 */
async function sendReceipt(
  deps: NodeDeps,
  tenant: Tenant,
  body: XNode,
  operation: 'paSendRT' | 'paSendRTV2',
  xml: string,
): Promise<void> {
  const r = readReceipt(body)
  if (r.fiscalCode !== tenant.fiscalCode)
    throw new Fault('PAA_ID_DOMINIO_ERRATO', 'receipt/fiscalCode differs from idPA')
  if (r.creditorReferenceId !== r.noticeNumber.slice(1))
    throw new Fault('PAA_SEMANTICA', 'creditorReferenceId is not the IUV of noticeNumber')
  const transfersTotal = r.transfers.reduce((s, x) => s + x.amountCents, 0)
  if (r.outcome === 'OK' && transfersTotal !== r.amountCents)
    throw new Fault('PAA_SEMANTICA', 'the transfers do not add up to paymentAmount')
  if (r.paidAt && Number.isNaN(r.paidAt.getTime())) throw new Fault('PAA_SINTASSI_XSD', 'bad paymentDateTime')

  const result = await withTenant(deps.db.sql, tenant, async (tx) => {
    const n = await loadNotice(tx, r.noticeNumber, true)
    if (!n) return { kind: 'unknown' as const }
    const [dup] = await tx<{ checkout_payment_id: number | null; effect: Effect }[]>`
      select checkout_payment_id, effect from pagopa_receipts where receipt_id = ${r.receiptId}`
    if (dup) return { kind: 'duplicate' as const, checkoutPaymentId: dup.checkout_payment_id, effect: dup.effect }

    let effect: Effect
    let flag: Flag = null
    let checkoutPaymentId: number | null = null
    if (r.outcome !== 'OK') effect = 'not_ok'
    else if (n.status === 'pagato') {
      effect = 'already_paid'
      flag = 'already_paid'
    } else if (n.cancelled || n.status === 'annullato') {
      effect = 'cancelled'
      flag = 'cancelled'
    } else if (n.status === 'in_corso' && n.in_cart && n.pending_payment_id !== null) {
      effect = 'checkout'
      checkoutPaymentId = n.pending_payment_id
    } else effect = 'settled'
    if ((effect === 'settled' || effect === 'checkout') && r.amountCents !== n.amount_cents) flag = 'amount_mismatch'
    // the whole amount came, but shared among the bodies otherwise than issued (decision 0105)
    let expectedTransfers: BodyShare[] | null = null
    if ((effect === 'settled' || effect === 'checkout') && flag === null) {
      const expected = await issuedShares(tx, tenant, n)
      if (!sameShares(expected, r.transfers)) {
        flag = 'transfers_mismatch'
        expectedTransfers = expected
      }
    }

    const paidAt = r.paidAt ?? new Date()
    const inserted = await tx<{ id: number }[]>`
      insert into pagopa_receipts (receipt_id, installment_id, notice_number, operation, outcome, amount_cents,
        expected_cents, fee_cents, psp_id, psp_name, psp_fiscal_code, channel_id, channel_description, payment_method,
        paid_at, application_date, transfer_date, debtor_id, payer_id, payer_name, payer_email, transfers,
        checkout_payment_id, effect, flag, expected_transfers, xml)
      values (${r.receiptId}, ${n.id}, ${r.noticeNumber}, ${operation}, ${r.outcome}, ${r.amountCents},
        ${n.amount_cents}, ${r.feeCents}, ${r.pspId}, ${r.pspName}, ${r.pspFiscalCode}, ${r.channelId},
        ${r.channelDescription}, ${r.paymentMethod}, ${paidAt}, ${r.applicationDate}, ${r.transferDate}, ${r.debtorId},
        ${r.payer?.id ?? null}, ${r.payer?.name ?? null}, ${r.payer?.email ?? null},
        ${tx.json(r.transfers as unknown as Parameters<typeof tx.json>[0])}, ${checkoutPaymentId}, ${effect}, ${flag},
        ${expectedTransfers ? tx.json(expectedTransfers as unknown as Parameters<typeof tx.json>[0]) : null}, ${xml})
      on conflict (receipt_id) do nothing
      returning id`
    // a concurrent delivery of the same receipt won the insert
    if (!inserted[0]) return { kind: 'duplicate' as const, checkoutPaymentId: null, effect: null }

    if (effect === 'settled' || effect === 'checkout') {
      // a single-payment notice settles every installment of its document, each with its share of the money
      const parts = n.full
        ? allocate(r.amountCents, n.full.amounts).map((cents, k) => ({
            id: n.full?.installmentIds[k] as number,
            cents,
          }))
        : [{ id: n.id, cents: r.amountCents }]
      await settleInstallments(
        tx,
        parts
          .filter((x) => x.cents > 0)
          .map((x) => ({
            installmentId: x.id,
            paymentId: checkoutPaymentId,
            // a Checkout cart's notices belong to its platform payment (the archive lists it once)
            source: effect === 'checkout' ? 'checkout' : 'pagopa',
            receiptNumber: r.receiptId,
            amountCents: x.cents,
            paidAt,
            psp: r.pspName,
            channel: r.channelDescription,
            authCode: null,
          })),
      )
    }
    // money for a notice already paid or cancelled goes back: a refund proposed for the office (decision 0096)
    if (flag === 'already_paid' || flag === 'cancelled')
      await proposeRefunds(tx, [
        {
          installmentId: n.id,
          basis: 'ricevuta_pagopa',
          basisRef: r.receiptId,
          paidCents: r.amountCents,
          reasonCode: flag === 'already_paid' ? 'doppio_pagopa' : 'annullato_pagopa',
          key: `pagopa:${r.receiptId}`,
        },
      ])
    if (effect === 'checkout') {
      await tx`insert into platform.pagopa_cart_receipts (payment_id, tenant_id, installment_id, receipt_id, amount_cents)
               values (${checkoutPaymentId}, ${tenant.id}, ${n.id}, ${r.receiptId}, ${r.amountCents})
               on conflict do nothing`
    }
    return { kind: 'recorded' as const, effect, flag, checkoutPaymentId }
  })

  if (result.kind === 'unknown') throw new Fault('PAA_PAGAMENTO_SCONOSCIUTO', 'no notice with this number')
  if (result.checkoutPaymentId) await completeCheckout(deps.db, result.checkoutPaymentId)
  // after the commit (a tenant role may not read the outbox); a redelivered receipt queues it again, deduplicated,
  // so a crash between the two loses nothing
  if (result.effect === 'settled') await queueCitizenReceipt(deps.db, tenant, r.receiptId)
  if (result.kind === 'duplicate')
    throw new Fault('PAA_RECEIPT_DUPLICATA', `receipt ${r.receiptId} was already recorded`)
  if (result.flag)
    deps.log.warn(
      { tenant: tenant.slug, receiptId: r.receiptId, flag: result.flag },
      'pagoPA receipt flagged for staff',
    )
}

/**
 * The money of a single-payment receipt shared among the installments in order: each its amount, the last what is
 * left when the receipt brought more; when it brought less, the installments it does not reach get nothing.
 */
export function allocate(total: number, amounts: number[]): number[] {
  let left = total
  return amounts.map((a, k) => {
    const share = k === amounts.length - 1 ? Math.max(left, 0) : Math.min(a, Math.max(left, 0))
    left -= share
    return share
  })
}

/** The citizen's receipt email with its PDF: to the account of the payer's codice fiscale, else payers.email. */
async function queueCitizenReceipt(db: Db, tenant: Tenant, receiptId: string) {
  const found = await withTenant(db.sql, tenant, async (tx) => {
    const [rec] = await tx<
      { notice_number: string; amount_cents: number; fee_cents: number | null; psp_name: string; paid_at: Date }[]
    >`select notice_number, amount_cents, fee_cents, psp_name, paid_at from pagopa_receipts where receipt_id = ${receiptId}`
    if (!rec) return null
    const n = await loadNotice(tx, rec.notice_number, false)
    if (!n) return null
    const [account] = await tx<{ email: string; lang: string }[]>`
      select email, lang from platform.accounts
      where codice_fiscale = ${n.payer_cf} and email_confirmed_at is not null and cf_proved_at is not null`
    return { rec, n, account }
  })
  if (!found) return
  const { rec, n, account } = found
  const to = account?.email ?? n.payer_email
  if (!to) return
  const lang: Lang = account && isLang(account.lang) ? account.lang : 'it'
  const t = translator(lang)
  const fee = rec.fee_cents ?? 0
  const pdf = await renderReceiptPdf({
    lang,
    receiptNumber: receiptId,
    paidAt: rec.paid_at,
    payer: { name: n.payer_name, codiceFiscale: n.payer_cf },
    provider: rec.psp_name,
    authCode: null,
    items: [
      {
        tenantName: tenant.name,
        tenantFiscalCode: tenant.fiscalCode,
        causale: noticeText(n),
        pupilName: n.pupil_name,
        iuv: n.iuv,
        amountCents: rec.amount_cents,
      },
    ],
    commissionCents: fee,
    totalCents: rec.amount_cents + fee,
  })
  const params = {
    tenant: tenant.name,
    description: noticeText(n),
    amount: formatMoney(rec.amount_cents, lang),
    psp: rec.psp_name,
    receipt: receiptId,
  }
  const text = `${t('pagopa.mail.receipt.body', params)}\n\n${t('mail.signature')}`
  await enqueueMail(db.sql, {
    to,
    subject: t('pagopa.mail.receipt.subject', params),
    text,
    html: textToHtml(text, lang),
    dedupeKey: `pagopa-receipt:${tenant.id}:${receiptId}`,
    attachments: [
      { filename: `ricevuta-${n.iuv}.pdf`, contentType: 'application/pdf', contentBase64: pdf.toString('base64') },
    ],
  })
}

/**
 * Finishes a pagoPA Checkout payment once every notice of its cart has its receipt. Idempotent. While the cart
 * is not whole, a receipt gives the rest more time: pagoPA pays a cart in one transaction, so the others are
 * on their way, and the reconciliation job must not expire a payment whose money is moving.
 */
export async function completeCheckout(db: Db, paymentId: number): Promise<boolean> {
  await db.sql`update platform.payments set expires_at = greatest(expires_at, now() + interval '2 hours'), updated_at = now()
               where id = ${paymentId} and status = 'pending'`
  const [r] = await db.sql<{ items: number; receipts: number }[]>`
    select (select count(*)::int from platform.payment_items where payment_id = ${paymentId}) as items,
           (select count(*)::int from platform.pagopa_cart_receipts where payment_id = ${paymentId}) as receipts`
  if (!r || r.items === 0 || r.receipts < r.items) return false
  return finish(db, paymentId, 'succeeded', {
    source: 'pagopa',
    eventId: `pagopa-cart:${paymentId}`,
    detail: 'every notice of the pagoPA Checkout cart has its receipt (paSendRT)',
  })
}
