// Two rules every channel of a notice says the same way: what the notice is for (the node's description, the central
// archive's option, the payment options, the IO message) and until when the node may still collect it.
import { addDays } from '../../platform/dates.ts'
import { type Lang, translator } from '../../platform/i18n.ts'

/**
 * "… – unica soluzione" for a document's single-payment notice (seq 0), "… – rata N di M" for an installment; in
 * Italian for pagoPA, in the family's language for its IO message.
 */
export function noticeLabel(description: string, seq: number, of: number, lang: Lang = 'it'): string {
  const t = translator(lang)
  if (seq === 0) return t('pagopa.notice.whole', { description })
  return of > 1 ? t('pagopa.notice.installment', { description, seq, of }) : description
}

/**
 * Past the days the node may still collect a notice after its due date, in Italian days (decision 0071); never when
 * the body set no limit.
 */
export function expiredOn(dueDate: string, payableDaysAfterDue: number | null, today: string): boolean {
  return payableDaysAfterDue !== null && addDays(dueDate, payableDaysAfterDue) < today
}
