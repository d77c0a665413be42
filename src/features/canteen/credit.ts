// Canteen credit left in a wallet (decision 0096): refunded to the family through the refund register — the credit
// leaves the wallet as the refund is opened (a 'rimborso' ledger line) and comes back if the refund is cancelled — or
// moved to a sibling's wallet (two 'trasferimento' lines, one out and one in). The pupils' rows are locked first, in id
// order, so that two clerks never move or refund the same credit twice.
import { type Actor, audit } from '../../platform/audit.ts'
import type { Tx } from '../../platform/db.ts'
import { ibanTail } from '../payments/refunds.ts'
import { holderOf } from './queries.ts'

export interface Sibling {
  id: number
  name: string
}

/** The other pupils of the same family: linked to any payer this pupil is linked to. */
export function siblingsOf(tx: Tx, pupilId: number): Promise<Sibling[]> {
  return tx<Sibling[]>`
    select pu.id, pu.given_name || ' ' || pu.family_name as name from pupils pu
    where pu.id <> ${pupilId}
      and pu.id in (select pp.pupil_id from pupil_payers pp where pp.payer_id in (
        select payer_id from pupil_payers where pupil_id = ${pupilId}))
    order by pu.given_name, pu.family_name, pu.id`
}

/** The wallet's balance, with the rows of this pupil (and of `alsoLock`) locked, in id order. */
async function lockedBalance(tx: Tx, pupilId: number, alsoLock: number[] = []): Promise<number> {
  await tx`select id from pupils where id = any(${[pupilId, ...alsoLock]}) order by id for update`
  const [r] = await tx<{ balance: number }[]>`
    select coalesce(sum(amount_cents), 0)::bigint as balance from canteen_ledger where pupil_id = ${pupilId}`
  return Number(r?.balance ?? 0)
}

export type CreditError = { field: 'amount'; code: 'over'; maxCents: number } | { field: 'sibling'; code: 'notSibling' }

/** Opens a refund of the wallet's credit (at most the balance) to the pupil's holder; the credit leaves the wallet. */
export async function refundCredit(
  tx: Tx,
  actor: Actor,
  pupilId: number,
  input: {
    amountCents: number
    reason: string
    iban: string
    beneficiary: string
    schoolYear: string
    today: string
  },
): Promise<{ ok: true; id: number } | { ok: false; error: CreditError } | { ok: false; error: { field: 'holder' } }> {
  const balance = await lockedBalance(tx, pupilId)
  if (input.amountCents > balance)
    return { ok: false, error: { field: 'amount', code: 'over', maxCents: Math.max(0, balance) } }
  const payerId = await holderOf(tx, pupilId)
  if (payerId === null) return { ok: false, error: { field: 'holder' } }
  const [row] = await tx<{ id: number }[]>`
    insert into refunds (pupil_id, payer_id, basis, basis_ref, paid_cents, amount_cents, origin, reason, status, iban,
      beneficiary, created_by_name, opened_by_name, opened_at)
    values (${pupilId}, ${payerId}, 'credito_mensa', ${input.schoolYear}, ${balance}, ${input.amountCents},
      'credito_mensa', ${input.reason}, 'aperto', ${input.iban}, ${input.beneficiary}, ${actor.name}, ${actor.name}, now())
    returning id`
  const id = (row as { id: number }).id
  await tx`
    insert into canteen_ledger (pupil_id, payer_id, kind, entry_date, amount_cents, entry_key, note, actor_account_id,
      actor_name)
    values (${pupilId}, ${payerId}, 'rimborso', ${input.today}, ${-input.amountCents}, ${`rimborso:${id}`},
      ${input.reason.slice(0, 300)}, ${actor.accountId}, ${actor.name})`
  await audit(tx, actor, {
    action: 'refund.open',
    entity: 'refund',
    entityId: id,
    reason: input.reason,
    after: { pupilId, amountCents: input.amountCents, balanceCents: balance, iban: ibanTail(input.iban) },
  })
  return { ok: true, id }
}

/** Moves credit (at most the balance) to a sibling's wallet: one line out, one in, the same key. */
export async function moveCredit(
  tx: Tx,
  actor: Actor,
  pupilId: number,
  input: { toPupilId: number; amountCents: number; note: string; key: string; today: string },
): Promise<{ ok: true; moved: boolean } | { ok: false; error: CreditError }> {
  const siblings = await siblingsOf(tx, pupilId)
  const to = siblings.find((s) => s.id === input.toPupilId)
  if (!to) return { ok: false, error: { field: 'sibling', code: 'notSibling' } }
  // the same form sent twice moves once
  const [done] = await tx`select 1 from canteen_ledger where entry_key = ${`trasferimento:${input.key}:da`}`
  if (done) return { ok: true, moved: false }
  const available = await lockedBalance(tx, pupilId, [to.id])
  if (input.amountCents > available)
    return { ok: false, error: { field: 'amount', code: 'over', maxCents: Math.max(0, available) } }
  const [fromPayer, toPayer] = [await holderOf(tx, pupilId), await holderOf(tx, to.id)]
  const [me] = await tx<
    { name: string }[]
  >`select given_name || ' ' || family_name as name from pupils where id = ${pupilId}`
  await tx`
    insert into canteen_ledger (pupil_id, payer_id, kind, entry_date, amount_cents, entry_key, note, actor_account_id,
      actor_name)
    values
      (${pupilId}, ${fromPayer}, 'trasferimento', ${input.today}, ${-input.amountCents}, ${`trasferimento:${input.key}:da`},
       ${`→ ${to.name}${input.note ? ` – ${input.note}` : ''}`.slice(0, 300)}, ${actor.accountId}, ${actor.name}),
      (${to.id}, ${toPayer}, 'trasferimento', ${input.today}, ${input.amountCents}, ${`trasferimento:${input.key}:a`},
       ${`← ${me?.name ?? ''}${input.note ? ` – ${input.note}` : ''}`.slice(0, 300)}, ${actor.accountId}, ${actor.name})`
  for (const [id, amount] of [
    [pupilId, -input.amountCents],
    [to.id, input.amountCents],
  ] as const)
    await audit(tx, actor, {
      action: 'canteen.trasferimento',
      entity: 'pupil',
      entityId: id,
      reason: input.note || null,
      after: { amountCents: amount, from: pupilId, to: to.id },
    })
  return { ok: true, moved: true }
}
