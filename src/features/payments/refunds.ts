// The refund register of a tenant (decision 0096): money given back to a family. The office opens a refund of the
// payment that settled an installment (whole or in part); the paths that find money received twice or for a
// cancelled notice (pagoPA receipts, online payments, reporting flows) propose one; canteen credit left at the
// year's end is refunded through the same register. Every change locks the installment (or pupil) first, so that
// what a basis brought in is never refunded twice over, whatever runs at the same time.
import { electronicFormatIBAN, isValidIBAN } from 'ibantools'
import { type Actor, audit } from '../../platform/audit.ts'
import { formatDate, todayRome } from '../../platform/dates.ts'
import type { Tx } from '../../platform/db.ts'
import { type Lang, translator } from '../../platform/i18n.ts'
import { type MailMessage, textToHtml } from '../../platform/mail.ts'
import { formatMoney } from '../../platform/money.ts'
import type { Tenant } from '../../platform/tenancy.ts'

export const REFUND_BASES = [
  'pagamento',
  'ricevuta_pagopa',
  'pagamento_online',
  'riga_flusso',
  'credito_mensa',
] as const
export type RefundBasis = (typeof REFUND_BASES)[number]
export const REFUND_STATUSES = ['proposto', 'aperto', 'eseguito', 'annullato'] as const
export type RefundStatus = (typeof REFUND_STATUSES)[number]
/** Why a refund was proposed by the system (refunds.reasonCode.*). */
export type ProposalReason =
  | 'doppio_pagopa'
  | 'annullato_pagopa'
  | 'doppio_online'
  | 'doppio_flusso'
  | 'annullato_flusso'

export interface Proposal {
  installmentId: number
  basis: Exclude<RefundBasis, 'pagamento' | 'credito_mensa'>
  basisRef: string
  paidCents: number
  reasonCode: ProposalReason
  /** one proposal per key: `pagopa:<receipt id>` for node money (the receipt and its flow line), … */
  key: string
}

/**
 * Proposes a refund of each duplicate, once per key, in the caller's transaction (the one that found it). The
 * payer is the document's holder; the amount proposed is all of it; the office adds the IBAN and opens it.
 */
export async function proposeRefunds(tx: Tx, proposals: Proposal[]): Promise<void> {
  const list = proposals.filter((p) => p.paidCents > 0)
  if (!list.length) return
  // the proposal and its line in the activity log, in one statement
  await tx`
    with proposed as (
    insert into refunds (installment_id, payer_id, basis, basis_ref, paid_cents, amount_cents, origin, reason_code,
      status, proposal_key, created_by_name)
    select u.installment_id, d.payer_id, u.basis, u.basis_ref, u.paid_cents, u.paid_cents, 'duplicato', u.reason_code,
      'proposto', u.key, 'sistema'
    from unnest(${list.map((p) => p.installmentId)}::bigint[], ${list.map((p) => p.basis)}::text[],
        ${list.map((p) => p.basisRef.slice(0, 200))}::text[], ${list.map((p) => p.paidCents)}::bigint[],
        ${list.map((p) => p.reasonCode)}::text[], ${list.map((p) => p.key)}::text[])
      as u(installment_id, basis, basis_ref, paid_cents, reason_code, key)
      join installments i on i.id = u.installment_id join documents d on d.id = i.document_id
    on conflict (proposal_key) do nothing
    returning id, reason_code, amount_cents)
    insert into audit_log (actor_account_id, actor_name, action, entity, entity_id, after, reason)
    select null, 'sistema', 'refund.propose', 'refund', id::text, jsonb_build_object('amountCents', amount_cents),
      reason_code
    from proposed`
}

/** IBAN as typed (spaces, lower case) → electronic format, or null when its check digits fail. */
export function normaliseIban(raw: string): string | null {
  const iban = electronicFormatIBAN(raw.trim())
  return iban && isValidIBAN(iban) ? iban : null
}

/** "IT60 X054 …" → "…3456": what a page or an email shows of the payer's account. */
export function ibanTail(iban: string | null): string {
  return iban ? `…${iban.slice(-4)}` : ''
}

export type RefundError =
  | { field: 'rata'; code: 'notPaid' | 'unknown' }
  | { field: 'amount'; code: 'over'; maxCents: number }
  | { field: 'status'; code: 'notOpen' | 'notProposed' | 'closed' }

/** What is left to refund of the payment that settled an installment; the installment row locked. */
async function paymentRoom(
  tx: Tx,
  installmentId: number,
): Promise<{ paid: { receipt_number: string; amount_cents: number } | null; used: number }> {
  await tx`select id from installments where id = ${installmentId} for update`
  const [paid] = await tx<{ receipt_number: string; amount_cents: number }[]>`
    select receipt_number, amount_cents from installment_payments where installment_id = ${installmentId}`
  const [u] = await tx<{ used: number }[]>`
    select coalesce(sum(amount_cents), 0)::bigint as used from refunds
    where installment_id = ${installmentId} and basis = 'pagamento' and status <> 'annullato'`
  return { paid: paid ?? null, used: Number(u?.used ?? 0) }
}

export interface OpenInput {
  installmentId: number
  amountCents: number
  reason: string
  iban: string
  beneficiary: string
}

/** Opens a refund of the payment that settled an installment; refused over what is left of it. */
export async function openRefund(
  tx: Tx,
  actor: Actor,
  input: OpenInput,
): Promise<{ ok: true; id: number } | { ok: false; error: RefundError }> {
  const room = await paymentRoom(tx, input.installmentId)
  if (!room.paid) return { ok: false, error: { field: 'rata', code: 'notPaid' } }
  const max = room.paid.amount_cents - room.used
  if (input.amountCents > max) return { ok: false, error: { field: 'amount', code: 'over', maxCents: max } }
  // the holder first, then a plain insert (Citus plans an INSERT … SELECT with a join and constants as a repartition)
  const [holder] = await tx<{ payer_id: number }[]>`
    select d.payer_id from installments i join documents d on d.id = i.document_id where i.id = ${input.installmentId}`
  const [row] = await tx<{ id: number }[]>`
    insert into refunds (installment_id, payer_id, basis, basis_ref, paid_cents, amount_cents, origin, reason, status,
      iban, beneficiary, created_by_name, opened_by_name, opened_at)
    values (${input.installmentId}, ${(holder as { payer_id: number }).payer_id}, 'pagamento', ${room.paid.receipt_number},
      ${room.paid.amount_cents}, ${input.amountCents}, 'ufficio', ${input.reason}, 'aperto', ${input.iban},
      ${input.beneficiary}, ${actor.name}, ${actor.name}, now())
    returning id`
  const id = (row as { id: number }).id
  await audit(tx, actor, {
    action: 'refund.open',
    entity: 'refund',
    entityId: id,
    reason: input.reason,
    after: { installmentId: input.installmentId, amountCents: input.amountCents, iban: ibanTail(input.iban) },
  })
  return { ok: true, id }
}

export interface RefundRow {
  id: number
  installment_id: number | null
  pupil_id: number | null
  payer_id: number
  basis: RefundBasis
  basis_ref: string
  paid_cents: number
  amount_cents: number
  origin: 'ufficio' | 'duplicato' | 'credito_mensa'
  reason_code: ProposalReason | null
  reason: string
  status: RefundStatus
  iban: string | null
  beneficiary: string | null
  bank_reference: string | null
  executed_on: string | null
  cancel_reason: string | null
  created_by_name: string
  created_at: Date
  opened_by_name: string | null
  opened_at: Date | null
  executed_by_name: string | null
  executed_at: Date | null
  cancelled_by_name: string | null
  cancelled_at: Date | null
}

/** A refund row, locked with its installment first (the order every writer takes). */
async function lockRefund(tx: Tx, id: number): Promise<RefundRow | null> {
  const [head] = await tx<{ installment_id: number | null; pupil_id: number | null }[]>`
    select installment_id, pupil_id from refunds where id = ${id}`
  if (!head) return null
  if (head.installment_id !== null) await tx`select id from installments where id = ${head.installment_id} for update`
  else await tx`select id from pupils where id = ${head.pupil_id} for update`
  const [row] = await tx<RefundRow[]>`select * from refunds where id = ${id} for update`
  return row ?? null
}

/** Completes a proposal: the office checks the amount, gives the reason and the payer's IBAN; it is then open. */
export async function openProposal(
  tx: Tx,
  actor: Actor,
  id: number,
  input: Omit<OpenInput, 'installmentId'>,
): Promise<{ ok: true } | { ok: false; error: RefundError } | null> {
  const r = await lockRefund(tx, id)
  if (!r) return null
  if (r.status !== 'proposto') return { ok: false, error: { field: 'status', code: 'notProposed' } }
  // a proposal is the only refund of its money (one per key): at most all of it
  const max = r.paid_cents
  if (input.amountCents > max) return { ok: false, error: { field: 'amount', code: 'over', maxCents: max } }
  await tx`update refunds set status = 'aperto', amount_cents = ${input.amountCents}, reason = ${input.reason},
             iban = ${input.iban}, beneficiary = ${input.beneficiary}, opened_by_name = ${actor.name}, opened_at = now()
           where id = ${id}`
  await audit(tx, actor, {
    action: 'refund.open',
    entity: 'refund',
    entityId: id,
    reason: input.reason,
    before: { status: 'proposto', amountCents: r.amount_cents },
    after: { status: 'aperto', amountCents: input.amountCents, iban: ibanTail(input.iban) },
  })
  return { ok: true }
}

/**
 * Marks an open refund executed with the bank's reference: an installment's refunded amount follows (a refund of
 * the payment that settled it), canteen credit is already out of the wallet, and the family is told by email.
 */
export async function executeRefund(
  tx: Tx,
  actor: Actor,
  id: number,
  input: { bankReference: string; executedOn: string },
  mail: { tenant: Tenant; baseUrl: string },
): Promise<{ ok: true; mailed: boolean } | { ok: false; error: RefundError } | null> {
  const r = await lockRefund(tx, id)
  if (!r) return null
  if (r.status !== 'aperto') return { ok: false, error: { field: 'status', code: 'notOpen' } }
  await tx`update refunds set status = 'eseguito', bank_reference = ${input.bankReference},
             executed_on = ${input.executedOn}, executed_by_name = ${actor.name}, executed_at = now()
           where id = ${id}`
  if (r.basis === 'pagamento' && r.installment_id !== null)
    await tx`update installments set refunded_cents = refunded_cents + ${r.amount_cents} where id = ${r.installment_id}`
  await audit(tx, actor, {
    action: 'refund.execute',
    entity: 'refund',
    entityId: id,
    reason: input.bankReference,
    before: { status: 'aperto' },
    after: { status: 'eseguito', executedOn: input.executedOn, amountCents: r.amount_cents },
  })
  const mailed = await queueRefundMail(
    tx,
    { ...r, bank_reference: input.bankReference, executed_on: input.executedOn },
    mail,
  )
  return { ok: true, mailed }
}

/** Cancels a proposed or open refund (the proposal was not a refund after all, the family was paid otherwise…). */
export async function cancelRefund(
  tx: Tx,
  actor: Actor,
  id: number,
  reason: string,
): Promise<{ ok: true } | { ok: false; error: RefundError } | null> {
  const r = await lockRefund(tx, id)
  if (!r) return null
  if (r.status !== 'proposto' && r.status !== 'aperto') return { ok: false, error: { field: 'status', code: 'closed' } }
  await tx`update refunds set status = 'annullato', cancel_reason = ${reason}, cancelled_by_name = ${actor.name},
             cancelled_at = now() where id = ${id}`
  // canteen credit left the wallet when the refund was opened: it comes back
  if (r.basis === 'credito_mensa' && r.pupil_id !== null)
    await tx`
      insert into canteen_ledger (pupil_id, payer_id, kind, entry_date, amount_cents, entry_key, note, actor_account_id,
        actor_name)
      values (${r.pupil_id}, ${r.payer_id}, 'rimborso', ${todayRome()}, ${r.amount_cents}, ${`rimborso-annullato:${id}`},
        ${reason.slice(0, 300)}, ${actor.accountId}, ${actor.name})
      on conflict (entry_key) do nothing`
  await audit(tx, actor, {
    action: 'refund.cancel',
    entity: 'refund',
    entityId: id,
    reason,
    before: { status: r.status },
    after: { status: 'annullato' },
  })
  return { ok: true }
}

interface MailTarget {
  given_name: string
  family_name: string
  payer_email: string | null
  account_email: string | null
  account_confirmed: boolean | null
  lang: Lang | null
  description: string | null
  number: string | null
  year: number | null
  document_id: number | null
  seq: number | null
  pupil: string | null
}

/** The family's email when a refund is executed: to the proved account of the payer's codice fiscale, else the payer's address. */
async function queueRefundMail(tx: Tx, r: RefundRow, opts: { tenant: Tenant; baseUrl: string }): Promise<boolean> {
  const [p] = await tx<MailTarget[]>`
    select p.given_name, p.family_name, p.email as payer_email, a.email as account_email,
      a.email_confirmed_at is not null as account_confirmed, a.lang,
      d.description, d.number, d.year, d.id as document_id, i.seq,
      (select pu.given_name || ' ' || pu.family_name from pupils pu where pu.id = ${r.pupil_id}) as pupil
    from payers p
      left join platform.accounts a on a.codice_fiscale = p.codice_fiscale and a.deletion_requested_at is null
        and a.cf_proved_at is not null
      left join installments i on i.id = ${r.installment_id}
      left join documents d on d.id = i.document_id
    where p.id = ${r.payer_id}`
  if (!p) return false
  const to = (p.account_confirmed ? p.account_email : null) ?? p.payer_email
  if (!to) return false
  const msg = refundMail(p.lang ?? 'it', to, opts.tenant, r, p, opts.baseUrl)
  await tx`
    insert into platform.outbox (dedupe_key, to_address, subject, text_body, html_body, attachments)
    values (${`refund:${opts.tenant.id}:${r.id}:eseguito`}, ${msg.to}, ${msg.subject}, ${msg.text}, ${msg.html ?? null},
      '[]'::jsonb)
    on conflict do nothing`
  return true
}

export function refundMail(
  lang: Lang,
  to: string,
  tenant: Pick<Tenant, 'name' | 'slug'>,
  r: Pick<RefundRow, 'amount_cents' | 'iban' | 'bank_reference' | 'executed_on' | 'reason' | 'reason_code' | 'basis'>,
  p: Pick<
    MailTarget,
    'given_name' | 'family_name' | 'description' | 'number' | 'year' | 'document_id' | 'seq' | 'pupil'
  >,
  baseUrl: string,
): MailMessage {
  const t = translator(lang)
  const what =
    r.basis === 'credito_mensa'
      ? t('refunds.mail.canteen', { pupil: p.pupil ?? '' })
      : t('refunds.mail.document', {
          description: p.description ?? '',
          number: `${p.number}/${p.year}`,
          seq: p.seq ?? 1,
        })
  const reason = r.reason || (r.reason_code ? t(`refunds.reasonCode.${r.reason_code}`) : '')
  const link =
    r.basis === 'credito_mensa' || p.document_id === null
      ? `${baseUrl}/t/${tenant.slug}/posizione-debitoria`
      : `${baseUrl}/t/${tenant.slug}/documenti/${p.document_id}`
  const params = {
    name: `${p.given_name} ${p.family_name}`,
    tenant: tenant.name,
    amount: formatMoney(r.amount_cents, lang),
    what,
    iban: ibanTail(r.iban),
    reference: r.bank_reference ?? '',
    date: r.executed_on ? formatDate(r.executed_on) : '',
    reason,
    link,
  }
  const text = `${t('refunds.mail.body', params)}\n\n${t('mail.signature')}`
  return { to, subject: t('refunds.mail.subject', params), text, html: textToHtml(text, lang) }
}
