// Two rules every channel of a notice says the same way: what the notice is for (the node's description, the central
// archive's option, the payment options, the IO message) and until when the node may still collect it.
import { addDays } from '../../platform/dates.ts'

/** "… – unica soluzione" for a document's single-payment notice (seq 0), "… – rata N di M" for an installment. */
export function noticeLabel(description: string, seq: number, of: number): string {
  if (seq === 0) return `${description} – unica soluzione`
  return of > 1 ? `${description} – rata ${seq} di ${of}` : description
}

/**
 * Past the days the node may still collect a notice after its due date, in Italian days (decision 0071); never when
 * the body set no limit.
 */
export function expiredOn(dueDate: string, payableDaysAfterDue: number | null, today: string): boolean {
  return payableDaysAfterDue !== null && addDays(dueDate, payableDaysAfterDue) < today
}
