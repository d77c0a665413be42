// CSV exports that open as they should in a spreadsheet set to Italian: UTF-8 with a BOM (so accents survive),
// ';' between cells, decimal commas without grouping, dates dd/mm/yyyy, CRLF line ends.
import { stringify } from 'csv-stringify/sync'
import { formatDate, formatDateTime } from '../../platform/dates.ts'
import type { Translate } from '../../platform/i18n.ts'
import { formatDecimalIt } from '../../platform/money.ts'
import type { DebtorRow, PayerRow, PaymentRow, PupilRow, ServiceRow } from './queries.ts'
import { sourceLabel } from './sources.ts'

/**
 * Text typed by people may start with a character a spreadsheet reads as a formula ("=HYPERLINK(…)"):
 * such cells get a leading apostrophe, which shows the text as it is (OWASP, CSV injection).
 */
export function safeText(v: string | null | undefined): string {
  if (v === null || v === undefined) return ''
  return /^[=+\-@\t\r]/.test(v) ? `'${v}` : v
}

export function toCsv(header: string[], rows: (string | number)[][]): string {
  return stringify([header, ...rows], { bom: true, delimiter: ';', record_delimiter: 'windows', quoted_string: false })
}

const money = formatDecimalIt

export function servicesCsv(t: Translate, rows: ServiceRow[]): string {
  return toCsv(
    [
      t('control.col.service'),
      t('control.col.installments'),
      t('control.col.due'),
      t('control.col.paid'),
      t('control.col.open'),
      t('control.col.overdue'),
    ],
    rows.map((r) => [
      safeText(r.service),
      r.installments,
      money(r.due_cents),
      money(r.paid_cents),
      money(r.open_cents),
      money(r.overdue_cents),
    ]),
  )
}

export function payersCsv(t: Translate, rows: PayerRow[]): string {
  return toCsv(
    [
      t('control.col.familyName'),
      t('control.col.givenName'),
      t('control.col.cf'),
      t('control.col.email'),
      t('control.col.phone'),
      t('control.col.installments'),
      t('control.col.due'),
      t('control.col.paid'),
      t('control.col.open'),
      t('control.col.overdue'),
      t('control.col.overdueCount'),
    ],
    rows.map((r) => [
      safeText(r.family_name),
      safeText(r.given_name),
      r.codice_fiscale,
      safeText(r.email),
      safeText(r.phone),
      r.installments,
      money(r.due_cents),
      money(r.paid_cents),
      money(r.open_cents),
      money(r.overdue_cents),
      r.overdue_count,
    ]),
  )
}

export function pupilsCsv(t: Translate, rows: PupilRow[]): string {
  return toCsv(
    [
      t('control.col.familyName'),
      t('control.col.givenName'),
      t('control.col.cf'),
      t('control.col.holders'),
      t('control.col.installments'),
      t('control.col.due'),
      t('control.col.paid'),
      t('control.col.open'),
      t('control.col.overdue'),
    ],
    rows.map((r) => [
      safeText(r.family_name),
      safeText(r.given_name),
      r.codice_fiscale ?? '',
      safeText(r.holders),
      r.installments,
      money(r.due_cents),
      money(r.paid_cents),
      money(r.open_cents),
      money(r.overdue_cents),
    ]),
  )
}

export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000)
}

export function debtorsCsv(t: Translate, rows: DebtorRow[], today: string): string {
  return toCsv(
    [
      t('control.col.familyName'),
      t('control.col.givenName'),
      t('control.col.cf'),
      t('control.col.email'),
      t('control.col.phone'),
      t('control.col.address'),
      t('control.col.pupils'),
      t('control.col.overdueCount'),
      t('control.col.overdue'),
      t('control.col.oldestDue'),
      t('control.col.daysLate'),
    ],
    rows.map((r) => [
      safeText(r.family_name),
      safeText(r.given_name),
      r.codice_fiscale,
      safeText(r.email),
      safeText(r.phone),
      safeText(r.address),
      safeText(r.pupils),
      r.overdue_count,
      money(r.overdue_cents),
      formatDate(r.oldest_due),
      daysBetween(r.oldest_due, today),
    ]),
  )
}

export function paymentsCsv(t: Translate, rows: PaymentRow[]): string {
  return toCsv(
    [
      t('control.col.date'),
      t('control.col.channel'),
      t('control.col.state'),
      t('control.col.provider'),
      t('control.col.providerRef'),
      t('control.col.receipt'),
      t('control.col.payer'),
      t('control.col.cf'),
      t('control.col.description'),
      t('control.col.installments'),
      t('control.col.amount'),
      t('control.col.commission'),
      t('control.col.needsRefund'),
    ],
    rows.map((r) => [
      formatDateTime(r.at).replace(', ', ' '),
      t(`control.channel.${r.kind}`),
      t(`control.paymentState.${r.status}`),
      safeText(sourceLabel(t, r.provider)),
      safeText(r.provider_ref),
      safeText(r.receipt_number),
      safeText(r.payer),
      r.payer_cf ?? '',
      safeText(r.description),
      r.installments,
      money(r.amount_cents),
      money(r.commission_cents),
      r.needs_refund ? t('control.yes') : '',
    ]),
  )
}
