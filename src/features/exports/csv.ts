// The office's exports as CSV that opens in a spreadsheet set to Italian (control/csv.ts: BOM, ';', decimal commas,
// dd/mm/yyyy, CRLF, formula-like text neutralised).
import { formatDate, formatDateTime } from '../../platform/dates.ts'
import type { Translate } from '../../platform/i18n.ts'
import { formatDecimalIt } from '../../platform/money.ts'
import { safeText, toCsv } from '../control/csv.ts'
import type { PaymentExportRow, ReceiptExportRow, RefundExportRow } from './queries.ts'
import type { Excluded, TaxRecord } from './tax-file.ts'

const money = formatDecimalIt
const when = (d: Date | null) => (d ? formatDateTime(d).replace(', ', ' ') : '')

export function paymentsCsv(t: Translate, rows: PaymentExportRow[]): string {
  return toCsv(
    [
      t('exports.col.date'),
      t('exports.col.source'),
      t('exports.col.channel'),
      t('exports.col.receipt'),
      t('exports.col.payer'),
      t('exports.col.cf'),
      t('exports.col.pupil'),
      t('exports.col.service'),
      t('exports.col.document'),
      t('exports.col.installment'),
      t('exports.col.amount'),
      t('exports.col.refunded'),
    ],
    rows.map((r) => [
      formatDate(r.paid_on),
      t(`exports.source.${r.source}`),
      safeText(r.channel ?? r.psp),
      safeText(r.receipt_number),
      safeText(r.payer),
      r.payer_cf,
      safeText(r.pupil),
      safeText(r.service),
      safeText(r.document),
      `${r.seq}/${r.of}`,
      money(r.amount_cents),
      money(r.refunded_cents),
    ]),
  )
}

export function refundsCsv(t: Translate, rows: RefundExportRow[]): string {
  return toCsv(
    [
      t('exports.col.refund'),
      t('exports.col.state'),
      t('exports.col.opened'),
      t('exports.col.executed'),
      t('exports.col.payer'),
      t('exports.col.cf'),
      t('exports.col.pupil'),
      t('exports.col.document'),
      t('exports.col.installment'),
      t('exports.col.basis'),
      t('exports.col.basisRef'),
      t('exports.col.reason'),
      t('exports.col.collected'),
      t('exports.col.amount'),
      t('exports.col.iban'),
      t('exports.col.bankReference'),
    ],
    rows.map((r) => [
      r.id,
      t(`status.rimborso_${r.status}`),
      formatDate(r.created_on),
      r.executed_on ? formatDate(r.executed_on) : '',
      safeText(r.payer),
      r.payer_cf,
      safeText(r.pupil),
      safeText(r.document),
      r.seq ?? '',
      t(`refunds.basis.${r.basis}`),
      safeText(r.basis_ref),
      safeText(r.reason || (r.reason_code ? t(`refunds.reasonCode.${r.reason_code}`) : '')),
      money(r.paid_cents),
      money(r.amount_cents),
      r.iban ?? '',
      safeText(r.bank_reference),
    ]),
  )
}

export function receiptsCsv(t: Translate, rows: ReceiptExportRow[]): string {
  return toCsv(
    [
      t('exports.col.received'),
      t('exports.col.receipt'),
      t('exports.col.notice'),
      t('exports.col.outcome'),
      t('exports.col.paidAt'),
      t('exports.col.amount'),
      t('exports.col.fee'),
      t('exports.col.psp'),
      t('exports.col.channel'),
      t('exports.col.method'),
      t('exports.col.debtor'),
      t('exports.col.effect'),
      t('exports.col.flag'),
    ],
    rows.map((r) => [
      when(r.received_at),
      safeText(r.receipt_id),
      r.notice_number,
      r.outcome,
      when(r.paid_at),
      money(r.amount_cents),
      r.fee_cents === null ? '' : money(r.fee_cents),
      safeText(r.psp_name),
      safeText(r.channel_description),
      safeText(r.payment_method),
      safeText(r.debtor_id),
      t(`exports.effect.${r.effect}`),
      r.flag ? t(`exports.flag.${r.flag}`) : '',
    ]),
  )
}

/** The year's file in words: each record sent, then each line left out and why. */
export function taxSummaryCsv(
  t: Translate,
  parts: { supply: string; records: TaxRecord[]; excluded: Excluded[] }[],
): string {
  const rows: (string | number)[][] = []
  for (const p of parts) {
    for (const r of p.records)
      rows.push([
        p.supply,
        t(`exports.tax.kind.${r.kind}`),
        r.type,
        r.pupilCf,
        safeText(r.pupilName),
        r.payerCf,
        safeText(r.payerName),
        r.year,
        money(r.cents),
        r.euros,
        safeText(r.refs.join(' ')),
        '',
      ])
    for (const x of p.excluded)
      rows.push([
        p.supply,
        t(`exports.tax.kind.${x.line.kind}`),
        x.line.type,
        x.line.pupilCf ?? '',
        safeText(x.line.pupilName),
        x.line.payerCf,
        safeText(x.line.payerName),
        x.line.year,
        money(x.line.cents),
        '',
        safeText(x.line.ref),
        t(`exports.tax.excluded.${x.reason}`),
      ])
  }
  return toCsv(
    [
      t('exports.tax.col.supply'),
      t('exports.tax.col.kind'),
      t('exports.tax.col.type'),
      t('exports.tax.col.pupilCf'),
      t('exports.col.pupil'),
      t('exports.tax.col.payerCf'),
      t('exports.col.payer'),
      t('exports.tax.col.year'),
      t('exports.tax.col.cents'),
      t('exports.tax.col.euros'),
      t('exports.tax.col.refs'),
      t('exports.tax.col.excluded'),
    ],
    rows,
  )
}
