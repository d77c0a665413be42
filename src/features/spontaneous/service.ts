// Spontaneous payments (the Monopoli "Porta dei pagamenti" flow): the services a tenant lets citizens pay
// without a notice, and the issuing of the document + installment a confirmed request becomes.
import { audit } from '../../platform/audit.ts'
import { type CommissionRule, commissionRuleSchema } from '../../platform/commission.ts'
import { todayRome } from '../../platform/dates.ts'
import { type Db, type Tx, withTenant } from '../../platform/db.ts'
import type { SessionUser } from '../../platform/http.ts'
import { PUPIL_SERVICE_KINDS, type Tenant } from '../../platform/tenancy.ts'
import { issueDocuments } from '../debts/issue.ts'
import { type SpontaneousInput, type Tariff, tariffListSchema } from './schema.ts'

export interface ServiceRow {
  id: number
  code: string
  kind: string
  name: string
  /** the English name, when the body gave one */
  nameEn: string | null
  causale: string
  amountMode: 'importo' | 'quantita' | 'tariffa'
  unitPriceCents: number | null
  commission: CommissionRule | null
  /** the fixed tariffs to choose from (tariff services) */
  tariffs: Tariff[] | null
  /** bounds of a free amount, when the service has them */
  minCents: number | null
  maxCents: number | null
}

export interface PupilRow {
  id: number
  name: string
}

/** The tenant's services open to spontaneous payments (a quantity service without a unit price, or a tariff service
 * without tariffs, is not). */
export async function spontaneousServices(tx: Tx): Promise<ServiceRow[]> {
  const rows = await tx<(Omit<ServiceRow, 'commission' | 'tariffs'> & { commission: unknown; tariffs: unknown })[]>`
    select id, code, kind, name, name_en as "nameEn", causale, amount_mode as "amountMode", unit_price_cents as "unitPriceCents", commission,
      tariffs, max_cents as "maxCents",
      -- at least what the other beneficiaries' fixed shares take, plus a cent for the body (decision 0104)
      greatest(min_cents, (select sum(b.share_value) + 1 from service_beneficiaries b
                           where b.service_id = services.id and b.share_kind = 'fisso'))::bigint as "minCents"
    from services
    where active and spontaneous
      and (amount_mode = 'importo' or (amount_mode = 'quantita' and unit_price_cents is not null)
           or (amount_mode = 'tariffa' and jsonb_array_length(coalesce(tariffs, '[]')) > 0))
    order by name, id`
  return rows.map((r) => ({ ...r, commission: serviceRule(r.commission), tariffs: tariffsOf(r.tariffs) }))
}

/** A service's tariffs as stored (a JSON array of {label, cents}); anything unreadable counts as none. */
export function tariffsOf(raw: unknown): Tariff[] | null {
  const value = typeof raw === 'string' ? safeJson(raw) : raw
  const parsed = tariffListSchema.safeParse(value)
  return parsed.success && parsed.data.length ? parsed.data : null
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s)
  } catch {
    return null
  }
}

/**
 * A service's own commission rule, or null (the tenant's applies). Onboarding from tenants/ files stores the
 * rule as a JSON string inside the jsonb column, so both shapes are read; anything invalid counts as none set.
 */
export function serviceRule(raw: unknown): CommissionRule | null {
  if (raw === null || raw === undefined) return null
  let value = raw
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw)
    } catch {
      return null
    }
  }
  const parsed = commissionRuleSchema.safeParse(value)
  return parsed.success ? parsed.data : null
}

/**
 * The pupils a payment of this service may name: the citizen's linked pupils for a service that is for a pupil (a
 * school service), none for town-hall dues (the form then asks no pupil, and refuses one).
 */
export async function pupilsFor(tx: Tx, service: Pick<ServiceRow, 'kind'>, cf: string): Promise<PupilRow[]> {
  return PUPIL_SERVICE_KINDS.includes(service.kind) ? linkedPupils(tx, cf) : []
}

/** The pupils linked to this codice fiscale in the tenant (as parent, guardian or delegate). */
export async function linkedPupils(tx: Tx, cf: string): Promise<PupilRow[]> {
  return tx<PupilRow[]>`
    select distinct pu.id, pu.given_name || ' ' || pu.family_name as name, pu.given_name, pu.family_name
    from pupils pu join pupil_payers pp on pp.pupil_id = pu.id join payers p on p.id = pp.payer_id
    where p.codice_fiscale = ${cf}
    order by pu.given_name, pu.family_name, pu.id`
}

/** One service (by code) with the citizen's pupils, in one transaction; null when it takes no spontaneous payment. */
export async function loadServiceForm(
  db: Db,
  tenant: Tenant,
  code: string,
  cf: string,
): Promise<{ service: ServiceRow; pupils: PupilRow[] } | null> {
  return withTenant(db.sql, tenant, async (tx) => {
    const service = (await spontaneousServices(tx)).find((s) => s.code === code)
    if (!service) return null
    return { service, pupils: await pupilsFor(tx, service, cf) }
  })
}

export interface IssuedRequest {
  documentId: number
  installmentId: number
  /** false when the key had already been used: the first submission's document is returned */
  created: boolean
}

export class KeyOfAnotherAccount extends Error {}

/**
 * Turns a confirmed request into a document with one installment, in the caller's tenant transaction: the
 * idempotency key is claimed first (a concurrent submit of the same page waits on it, then finds the first
 * one's document), then the citizen's payer row (created from the account if missing), then the document.
 */
export async function issueSpontaneous(
  tx: Tx,
  tenant: Tenant,
  user: Pick<SessionUser, 'accountId' | 'codiceFiscale' | 'givenName' | 'familyName' | 'email'>,
  service: ServiceRow,
  input: SpontaneousInput,
  key: string,
  now: Date = new Date(),
): Promise<IssuedRequest> {
  const claimed = await tx<{ idempotency_key: string }[]>`
    insert into spontaneous_requests (idempotency_key, account_id, service_id, pupil_id, quantity, unit_price_cents,
      amount_cents, tariff)
    values (${key}, ${user.accountId}, ${service.id}, ${input.pupilId}, ${input.quantity},
            ${input.quantity === null ? null : service.unitPriceCents}, ${input.amountCents}, ${input.tariff?.label ?? null})
    on conflict (idempotency_key) do nothing
    returning idempotency_key`
  if (!claimed[0]) {
    const [first] = await tx<{ account_id: number; document_id: number | null; installment_id: number | null }[]>`
      select account_id, document_id, installment_id from spontaneous_requests where idempotency_key = ${key}`
    if (!first || first.account_id !== user.accountId || !first.document_id || !first.installment_id) {
      throw new KeyOfAnotherAccount()
    }
    return { documentId: first.document_id, installmentId: first.installment_id, created: false }
  }
  const newPayer = await tx<{ id: number }[]>`
    insert into payers (codice_fiscale, given_name, family_name, email)
    values (${user.codiceFiscale}, ${user.givenName}, ${user.familyName}, ${user.email})
    on conflict (codice_fiscale) do nothing
    returning id`
  const [payer] = await tx<{ id: number }[]>`select id from payers where codice_fiscale = ${user.codiceFiscale}`
  const today = todayRome(now)
  const issued = await issueDocuments(tx, tenant, [
    {
      year: Number(today.slice(0, 4)),
      issueDate: today,
      serviceId: service.id,
      payerId: (payer as { id: number }).id,
      pupilId: input.pupilId,
      description: input.causale,
      installments: [{ dueDate: today, amountCents: input.amountCents }],
    },
  ])
  const documentId = issued.documentIds[0] as number
  const installmentId = (issued.installments[0] as { id: number }).id
  await tx`update spontaneous_requests set document_id = ${documentId}, installment_id = ${installmentId}
           where idempotency_key = ${key}`
  // the office sees in its log who asked for this document and whether its payer row came from the account
  await audit(
    tx,
    { accountId: user.accountId, name: `${user.givenName} ${user.familyName}` },
    {
      action: 'spontaneous.request',
      entity: 'document',
      entityId: documentId,
      after: {
        service: service.code,
        causale: input.causale,
        amountCents: input.amountCents,
        quantity: input.quantity,
        tariff: input.tariff?.label ?? null,
        pupilId: input.pupilId,
        payerCreated: newPayer.length > 0,
      },
    },
  )
  return { documentId, installmentId, created: true }
}

export const WITHDRAW_AFTER_HOURS = 24
export const WITHDRAW_REASON = 'Pagamento spontaneo non completato dal cittadino'

/**
 * Withdraws the spontaneous requests nobody paid: after a day, a document whose only installment is still
 * open (never paid, not being paid) is cancelled, so an abandoned request does not stay in the family's
 * position as a debt nor earn reminders, and leaves the carts. Returns the installment ids withdrawn.
 * Audited as the system.
 */
export async function withdrawAbandoned(db: Db, tenant: Tenant, now: Date = new Date()): Promise<number[]> {
  const cutoff = new Date(now.getTime() - WITHDRAW_AFTER_HOURS * 3_600_000)
  const ids = await withTenant(db.sql, tenant, async (tx) => {
    // the installment's row lock decides a race with a checkout reserving it: whichever comes second sees
    // the other's status and leaves it alone
    const withdrawn = await tx<{ id: number; document_id: number }[]>`
      update installments i set status = 'annullato'
      from spontaneous_requests r
      where r.installment_id = i.id and r.withdrawn_at is null and r.created_at < ${cutoff} and i.status = 'da_pagare'
        and not exists (select 1 from documents d where d.id = i.document_id and d.cancelled_at is not null)
      returning i.id, i.document_id`
    if (withdrawn.length === 0) return []
    const docIds = withdrawn.map((w) => w.document_id)
    await tx`update documents set cancelled_at = ${now}, cancel_reason = ${WITHDRAW_REASON} where id = any(${docIds})`
    await tx`update spontaneous_requests set withdrawn_at = ${now} where document_id = any(${docIds})`
    await tx`insert into audit_log ${tx(
      docIds.map((id) => ({
        actor_account_id: null,
        actor_name: 'sistema',
        action: 'spontaneous.withdraw',
        entity: 'document',
        entity_id: String(id),
        reason: WITHDRAW_REASON,
      })),
    )}`
    return withdrawn.map((w) => w.id)
  })
  // a withdrawn notice has nothing left to pay: out of every cart (a rerun finds none, so this is idempotent)
  if (ids.length) {
    await db.sql`delete from platform.cart_items where tenant_id = ${tenant.id} and installment_id = any(${ids})`
  }
  return ids
}
