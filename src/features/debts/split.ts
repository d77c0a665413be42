// Several beneficiaries of one notice (decision 0104): a service's rule gives part of each amount to up to four
// other bodies (a percentage, rounded down to the cent, or a fixed amount); the body itself takes what is left,
// which must be at least one cent. The split is computed when an installment is issued or its amount corrected and
// kept in installment_transfers, so the node, the central archive, the printed notice and the reconciliation all
// read the same transfers, and the amounts always add up.
import type { Tx } from '../../platform/db.ts'
import { HttpError } from '../../platform/errors.ts'
import { transferCategory } from '../pagopa/taxonomy.ts'

export interface BeneficiaryRule {
  id: number
  service_id: number
  position: number
  fiscal_code: string
  name: string
  iban: string
  postal: boolean
  taxonomy_code: string
  taxonomy_prefix: string
  remittance: string
  share_kind: 'percentuale' | 'fisso'
  share_value: number
}

export interface TransferShare {
  idTransfer: number
  fiscalCode: string
  name: string
  iban: string
  postal: boolean
  category: string
  remittance: string
  amountCents: number
}

/**
 * An amount the rule cannot split: the others' shares leave nothing to the body. The forms check it first (422 on
 * their fields); anywhere else it is a 422 page that names the problem, never a 500.
 */
export class SplitError extends HttpError {
  constructor(
    readonly serviceId: number,
    readonly amountCents: number,
    readonly othersCents: number,
  ) {
    super(
      422,
      'errors.splitTooSmall',
      `the beneficiaries' shares (${othersCents} cents) leave nothing of ${amountCents} cents to the body`,
    )
  }
}

/** The other bodies' transfers of an amount (a share that rounds to zero is left out), or null if they take it all. */
export function splitAmount(amountCents: number, rules: BeneficiaryRule[]): TransferShare[] | null {
  const shares = rules
    .slice()
    .sort((a, b) => a.position - b.position)
    .map((r) => ({
      idTransfer: r.position,
      fiscalCode: r.fiscal_code,
      name: r.name,
      iban: r.iban,
      postal: r.postal,
      category: transferCategory(r.taxonomy_prefix, r.taxonomy_code),
      remittance: r.remittance,
      amountCents:
        r.share_kind === 'fisso' ? Number(r.share_value) : Math.floor((amountCents * Number(r.share_value)) / 10_000),
    }))
    .filter((s) => s.amountCents > 0)
    // transfers are numbered 2… in order, without the gap a share that rounded to nothing would leave
    .map((s, k) => ({ ...s, idTransfer: k + 2 }))
  return ownShare(amountCents, shares) >= 1 ? shares : null
}

/** The body's own transfer: what the other beneficiaries leave (at least a cent: checked when issued). */
export function ownShare(amountCents: number, others: { amountCents: number }[]): number {
  return amountCents - others.reduce((s, o) => s + o.amountCents, 0)
}

/** The least amount a notice of this service may have: the fixed shares plus one cent (percentages aside). */
export function minimumAmount(rules: BeneficiaryRule[]): number {
  return rules.filter((r) => r.share_kind === 'fisso').reduce((s, r) => s + Number(r.share_value), 0) + 1
}

/** The rules of these services, by service (one query). */
export async function beneficiaryRules(tx: Tx, serviceIds: number[]): Promise<Map<number, BeneficiaryRule[]>> {
  const out = new Map<number, BeneficiaryRule[]>()
  if (!serviceIds.length) return out
  const rows = await tx<BeneficiaryRule[]>`
    select * from service_beneficiaries where service_id = any(${[...new Set(serviceIds)]}::bigint[]) order by position`
  for (const r of rows) listIn(out, Number(r.service_id)).push(r)
  return out
}

/** installment_transfers rows of these shares. */
export function transferRows(installmentId: number, shares: TransferShare[]) {
  return shares.map((s) => ({
    installment_id: installmentId,
    id_transfer: s.idTransfer,
    fiscal_code: s.fiscalCode,
    name: s.name,
    iban: s.iban,
    postal: s.postal,
    category: s.category,
    remittance: s.remittance,
    amount_cents: s.amountCents,
  }))
}

/** Stored transfers of installments, by installment (one query). */
export async function storedTransfers(tx: Tx, installmentIds: number[]): Promise<Map<number, TransferShare[]>> {
  const out = new Map<number, TransferShare[]>()
  if (!installmentIds.length) return out
  const rows = await tx<
    {
      installment_id: number
      id_transfer: number
      fiscal_code: string
      name: string
      iban: string
      postal: boolean
      category: string
      remittance: string
      amount_cents: number
    }[]
  >`select * from installment_transfers where installment_id = any(${installmentIds}::bigint[]) order by installment_id, id_transfer`
  for (const r of rows)
    listIn(out, Number(r.installment_id)).push({
      idTransfer: r.id_transfer,
      fiscalCode: r.fiscal_code,
      name: r.name,
      iban: r.iban,
      postal: r.postal,
      category: r.category,
      remittance: r.remittance,
      amountCents: Number(r.amount_cents),
    })
  return out
}

/** The list a map keeps under a key, made empty the first time. */
function listIn<K, V>(map: Map<K, V[]>, key: K): V[] {
  const list = map.get(key)
  if (list) return list
  const made: V[] = []
  map.set(key, made)
  return made
}

/** Shares of several installments summed per beneficiary body, in the order the bodies first come. */
export function sumByBody<T extends { fiscalCode: string; amountCents: number }>(lists: T[][]): T[] {
  const by = new Map<string, T>()
  for (const s of lists.flat()) {
    const prev = by.get(s.fiscalCode)
    by.set(s.fiscalCode, prev ? { ...prev, amountCents: prev.amountCents + Number(s.amountCents) } : { ...s })
  }
  return [...by.values()]
}

/**
 * The transfers of several installments paid together (a single-payment notice): summed per body and numbered
 * 2… again (an installment whose share rounded to nothing numbered the others differently).
 */
export function sumShares(lists: TransferShare[][]): TransferShare[] {
  return sumByBody(lists).map((s, k) => ({ ...s, idTransfer: k + 2 }))
}
