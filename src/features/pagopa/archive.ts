// pagoPA's central archive (ACA, "GPD for ACA"): every payable debt position is created there, kept up to date
// (amounts, installments, due dates, payments made elsewhere) and invalidated when cancelled, so that the node's
// Stand-In can still collect a notice while Sportello is unreachable; the receipt arrives afterwards through
// paSendRT and settles the installment once, like any other (decision 0100).
//
// `aca_positions` is the outbox: one row per document with the fingerprint of what the archive last accepted.
// The job compares it with the position as it is now (one query per tenant), so a change made anywhere — an
// issue, a correction, a cancellation, a payment, a new IBAN or taxonomy code, a due date running out — is sent
// without each of those paths having to remember it, and a crash between a change and its call loses nothing.
// Calls for one position go in order (paid options, then invalidate or update); a failure is retried with backoff
// and shown to the office; the job's run records the failures on the jobs page.
import { createHash } from 'node:crypto'
import { romeInstant, todayRome } from '../../platform/dates.ts'
import { type Db, type Tx, withTenant } from '../../platform/db.ts'
import { forEachTenant, type JobContext } from '../../platform/jobs.ts'
import { sealer } from '../../platform/secrets.ts'
import type { ServiceKind, Tenant } from '../../platform/tenancy.ts'
import { ownShare, sumShares, type TransferShare } from '../debts/split.ts'
import {
  type Connection,
  currentConnection,
  describeAnswer,
  type PassOptions,
  type RestAnswer,
  restCall,
  retryAt,
  Unreachable,
} from './connection.ts'
import { expiredOn, noticeLabel } from './notice-rules.ts'
import { loadSettings } from './service.ts'
import { clip } from './soap.ts'
import { serviceCategory } from './taxonomy.ts'

export type ArchiveState = 'da_inviare' | 'in_archivio' | 'pagata' | 'invalidata' | 'errore'

interface InstallmentJson {
  id: number
  seq: number
  iuv: string
  nav: string
  amount: number
  due: string
  status: 'da_pagare' | 'in_corso' | 'pagato' | 'annullato'
  /** the other beneficiaries' transfers (decision 0104) */
  others: TransferShare[] | null
}

interface PositionRow {
  id: number
  cancelled: boolean
  description: string
  number: string
  year: number
  service_name: string
  causale: string
  kind: ServiceKind
  taxonomy_code: string | null
  taxonomy_prefix: string
  payer_cf: string
  payer_name: string
  payer_email: string | null
  known: boolean
  state: ArchiveState | null
  created_remote: boolean
  fingerprint: string | null
  sent_navs: string[]
  paid_navs: string[]
  attempts: number
  next_attempt_at: Date | null
  installments: InstallmentJson[]
  /** the single-payment notice of a document in installments (decision 0103) */
  full_notice: { iuv: string; nav: string } | null
}

export const iupdOf = (tenant: Pick<Tenant, 'fiscalCode'>, documentId: number) => `${tenant.fiscalCode}-${documentId}`

/** The positions that may need a call: payable ones not yet in the archive, and those it holds in a live state. */
/**
 * The positions a pass looks at, at most `limit`: first the documents the archive does not hold yet and those to
 * send, then failed ones whose retry is due, then the ones it holds, in turn (the longest unchecked first), so that
 * a body with more live positions than a pass takes sends its new ones at once and compares every other within
 * ceil(live / limit) passes.
 */
async function candidates(tx: Tx, limit: number, now: Date): Promise<PositionRow[]> {
  return tx<PositionRow[]>`
    select d.id, d.cancelled_at is not null as cancelled, d.description, d.number, d.year,
      s.name as service_name, s.causale, s.kind, s.taxonomy_code, s.taxonomy_prefix,
      p.codice_fiscale as payer_cf, p.given_name || ' ' || p.family_name as payer_name, p.email as payer_email,
      a.document_id is not null as known, a.state, coalesce(a.created_remote, false) as created_remote, a.fingerprint,
      coalesce(a.sent_navs, '{}') as sent_navs, coalesce(a.paid_navs, '{}') as paid_navs,
      coalesce(a.attempts, 0) as attempts, a.next_attempt_at,
      (select json_agg(json_build_object('id', i.id, 'seq', i.seq, 'iuv', i.iuv, 'nav', i.notice_code,
          'amount', i.amount_cents, 'due', i.due_date, 'status', i.status,
          'others', (select json_agg(json_build_object('idTransfer', t.id_transfer, 'fiscalCode', t.fiscal_code,
              'name', t.name, 'iban', t.iban, 'postal', t.postal, 'category', t.category, 'remittance', t.remittance,
              'amountCents', t.amount_cents) order by t.id_transfer)
            from installment_transfers t where t.installment_id = i.id))
          order by i.seq)
        from installments i where i.document_id = d.id and i.notice_code is not null) as installments,
      (select json_build_object('iuv', f.iuv, 'nav', f.notice_code) from full_notices f where f.document_id = d.id)
        as full_notice
    from documents d join services s on s.id = d.service_id join payers p on p.id = d.payer_id
      left join aca_positions a on a.document_id = d.id
    where (a.document_id is null and d.cancelled_at is null and exists (
            select 1 from installments i where i.document_id = d.id and i.notice_code is not null
              and i.status in ('da_pagare', 'in_corso')))
       or a.state in ('da_inviare', 'in_archivio')
       or (a.state = 'errore' and (a.next_attempt_at is null or a.next_attempt_at <= ${now}))
    order by case when a.document_id is null or a.state = 'da_inviare' then 0 when a.state = 'errore' then 1 else 2 end,
      a.checked_at nulls first, d.id
    limit ${limit}`
}

interface Plan {
  /** the model the archive should hold (PaymentPositionModel), null when no option is payable or kept */
  model: Record<string, unknown> | null
  /** NAVs of options payable now */
  payable: string[]
  /** NAVs paid here */
  paidHere: string[]
  cancelled: boolean
}

function plan(
  tenant: Tenant,
  row: PositionRow,
  opts: { iban: string; payableDaysAfterDue: number | null; today: string; keepPaid: string[] },
): Plan {
  const all = row.installments ?? []
  const expired = (i: InstallmentJson) => expiredOn(i.due, opts.payableDaysAfterDue, opts.today)
  const payable = row.cancelled
    ? []
    : all.filter((i) => (i.status === 'da_pagare' || i.status === 'in_corso') && !expired(i))
  // the whole document at once, while every installment is still to pay (seq 0: first among the options)
  const whole: InstallmentJson | null = row.full_notice
    ? {
        id: 0,
        seq: 0,
        iuv: row.full_notice.iuv,
        nav: row.full_notice.nav,
        amount: all.reduce((s, i) => s + i.amount, 0),
        due: all[0]?.due ?? '',
        others: sumShares(all.map((i) => i.others ?? [])),
        status: all.every((i) => i.status === 'pagato')
          ? 'pagato'
          : all.every((i) => i.status === 'da_pagare')
            ? 'da_pagare'
            : 'annullato',
      }
    : null
  if (whole && whole.status === 'da_pagare' && !row.cancelled && !expired(whole) && payable.length === all.length)
    payable.unshift(whole)
  // an option the archive holds as paid stays in every update (the archive refuses to drop it)
  const kept = [...(whole ? [whole] : []), ...all].filter((i) => opts.keepPaid.includes(i.nav))
  const options = [...kept, ...payable.filter((i) => !opts.keepPaid.includes(i.nav))].sort((a, b) => a.seq - b.seq)
  const category = serviceCategory(tenant.kind, {
    kind: row.kind,
    taxonomy_code: row.taxonomy_code,
    taxonomy_prefix: row.taxonomy_prefix,
  })
  const model =
    options.length === 0
      ? null
      : {
          iupd: iupdOf(tenant, row.id),
          type: /^[0-9]{11}$/.test(row.payer_cf) ? 'G' : 'F',
          payStandIn: true,
          fiscalCode: row.payer_cf,
          fullName: clip(row.payer_name, 70),
          ...(row.payer_email ? { email: row.payer_email } : {}),
          switchToExpired: false,
          companyName: clip(tenant.name, 140),
          officeName: clip(row.service_name, 140),
          paymentOption: options.map((i) => ({
            nav: i.nav,
            iuv: i.iuv,
            amount: i.amount,
            description: clip(noticeLabel(row.description, i.seq, all.length), 140),
            isPartialPayment: i.seq !== 0 && all.length > 1,
            dueDate: romeInstant(`${i.due}T23:59:59`).toISOString(),
            transfer: [
              {
                idTransfer: '1',
                amount: ownShare(i.amount, i.others ?? []),
                organizationFiscalCode: tenant.fiscalCode,
                remittanceInformation: clip(`${row.causale} ${row.number}/${row.year}`, 140),
                category,
                iban: opts.iban,
              },
              ...(i.others ?? []).map((o) => ({
                idTransfer: String(o.idTransfer),
                amount: o.amountCents,
                organizationFiscalCode: o.fiscalCode,
                companyName: clip(o.name, 140),
                remittanceInformation: clip(o.remittance, 140),
                category: o.category,
                ...(o.postal ? { postalIban: o.iban } : { iban: o.iban }),
              })),
            ],
          })),
        }
  return {
    model,
    payable: payable.map((i) => i.nav),
    paidHere: [...(whole?.status === 'pagato' ? [whole] : []), ...all]
      .filter((i) => i.status === 'pagato')
      .map((i) => i.nav),
    cancelled: row.cancelled,
  }
}

const fingerprintOf = (p: Plan, env: string) =>
  createHash('sha256')
    .update(JSON.stringify({ env, model: p.model, paid: p.paidHere, cancelled: p.cancelled }))
    .digest('hex')

interface Outcome {
  documentId: number
  iupd: string
  state: ArchiveState
  createdRemote: boolean
  fingerprint: string | null
  sentNavs: string[]
  paidNavs: string[]
  remoteStatus: string | null
  error: string | null
  attempts: number
}

class CallFailed extends Error {}

/** Brings one position in the archive to what it should be; throws CallFailed or Unreachable on a failed call. */
async function syncOne(
  conn: Connection,
  tenant: Tenant,
  row: PositionRow,
  settings: { iban: string; payableDaysAfterDue: number | null; today: string },
  /** the plan the pass already made for this row (with the paid options it knew) */
  first: Plan,
  log: JobContext['log'],
): Promise<Outcome> {
  const key = conn.keys.aca as string
  const cf = encodeURIComponent(tenant.fiscalCode)
  const iupd = iupdOf(tenant, row.id)
  const call = async (method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown, query?: Record<string, string>) => {
    const a = await restCall(conn, 'aca', { method, path: `/organizations/${cf}${path}`, key, body, query })
    if (a.status >= 500 || a.status === 429) throw new Unreachable(describeAnswer(a))
    if (a.status === 401 || a.status === 403) throw new CallFailed(`the archive refused the key (${describeAnswer(a)})`)
    return a
  }
  const fail = (what: string, a: RestAnswer): never => {
    throw new CallFailed(`${what}: ${describeAnswer(a)}`)
  }
  let sent = [...row.sent_navs]
  const paid = [...row.paid_navs]
  let created = row.created_remote
  let remoteStatus: string | null = null

  let p = first
  if (!created) {
    if (!p.model) {
      // never in the archive and nothing to put there (cancelled, paid or expired first)
      return outcome(row, iupd, p.cancelled ? 'invalidata' : 'pagata', false, p, sent, paid, null)
    }
    const a = await call('POST', '/debtpositions', p.model, { toPublish: 'true' })
    if (a.status === 201) {
      created = true
      sent = p.payable
      remoteStatus = String((a.body as { status?: string })?.status ?? 'VALID')
      return outcome(row, iupd, 'in_archivio', true, p, sent, paid, remoteStatus)
    }
    // created by an earlier run whose answer was lost: it is ours, update it below
    if (a.status !== 409) fail('create', a)
    created = true
    const current = await call('GET', `/debtpositions/${encodeURIComponent(iupd)}`)
    if (current.status !== 200) fail('read', current)
    sent = ((current.body as { paymentOption?: { nav?: string }[] }).paymentOption ?? []).map((o) => o.nav as string)
  }

  // payments made here (online, at the desk, by the node's receipt) for options the archive holds as unpaid
  for (const nav of p.paidHere.filter((n) => sent.includes(n) && !paid.includes(n))) {
    const a = await call('POST', `/paymentoptions/paids/${encodeURIComponent(nav)}`, {
      paymentDate: new Date().toISOString(),
    })
    if (a.status === 200 || a.status === 409) paid.push(nav)
    else if (a.status === 404) sent = sent.filter((n) => n !== nav)
    else fail(`paid ${nav}`, a)
  }
  p = plan(tenant, row, { ...settings, keepPaid: paid })

  const unpaidSent = sent.filter((n) => !paid.includes(n))
  if (p.payable.length === 0) {
    if (unpaidSent.length === 0)
      return outcome(row, iupd, p.cancelled ? 'invalidata' : 'pagata', true, p, sent, paid, null)
    if (paid.length === 0) {
      const a = await call('POST', `/debtpositions/${encodeURIComponent(iupd)}/invalidate`)
      if (a.status === 200 || a.status === 409) {
        // 409: already invalid, or paid in Stand-In meanwhile (its receipt is on its way and will settle it)
        if (a.status === 409)
          log.warn({ tenant: tenant.slug, iupd }, 'archive position not invalidated: not valid any more')
        return outcome(row, iupd, 'invalidata', true, p, sent, paid, 'INVALID')
      }
      fail('invalidate', a)
    }
    // some options paid: the others leave the position
    const a = await call('PUT', `/debtpositions/${encodeURIComponent(iupd)}`, p.model, { toPublish: 'true' })
    if (a.status !== 200 && a.status !== 409) fail('update', a)
    return outcome(row, iupd, p.cancelled ? 'invalidata' : 'pagata', true, p, paid, paid, 'PAID')
  }

  if (row.fingerprint !== fingerprintOf(p, conn.environment) || row.state !== 'in_archivio') {
    const a = await call('PUT', `/debtpositions/${encodeURIComponent(iupd)}`, p.model, { toPublish: 'true' })
    if (a.status !== 200) fail('update', a)
    remoteStatus = String((a.body as { status?: string })?.status ?? 'VALID')
    sent = ((p.model?.paymentOption as { nav: string }[]) ?? []).map((o) => o.nav)
  }
  return outcome(row, iupd, 'in_archivio', created, p, sent, paid, remoteStatus)

  function outcome(
    r: PositionRow,
    id: string,
    state: ArchiveState,
    createdRemote: boolean,
    pl: Plan,
    s: string[],
    pd: string[],
    status: string | null,
  ): Outcome {
    return {
      documentId: r.id,
      iupd: id,
      state,
      createdRemote,
      fingerprint: fingerprintOf(pl, conn.environment),
      sentNavs: s,
      paidNavs: pd,
      remoteStatus: status,
      error: null,
      attempts: 0,
    }
  }
}

export interface SyncCounts {
  created: number
  updated: number
  invalidated: number
  unchanged: number
  failed: number
  [k: string]: number
}

/**
 * One pass over a tenant's positions. Returns counts; positions that failed keep their error (shown to the
 * office) and are retried after their backoff.
 */
export async function syncArchive(db: Db, tenant: Tenant, opts: PassOptions & { limit?: number }): Promise<SyncCounts> {
  const counts: SyncCounts = { created: 0, updated: 0, invalidated: 0, unchanged: 0, failed: 0 }
  const now = opts.now ?? new Date()
  const loaded = await withTenant(db.sql, tenant, async (tx) => {
    const conn = await currentConnection(tx, tenant, sealer(opts.secretsKey))
    if (!conn?.keys.aca || !tenant.settings.iban) return null
    const [settings, rows] = await Promise.all([loadSettings(tx), candidates(tx, opts.limit ?? 500, now)])
    return { conn, settings, rows }
  })
  if (!loaded) return counts
  const { conn, settings, rows } = loaded
  const iban = tenant.settings.iban as string
  const today = todayRome(now)
  const outcomes: Outcome[] = []
  const unchanged: number[] = []
  for (const row of rows) {
    const p = plan(tenant, row, {
      iban,
      payableDaysAfterDue: settings.payableDaysAfterDue,
      today,
      keepPaid: row.paid_navs,
    })
    const due = row.state !== 'errore' || !row.next_attempt_at || row.next_attempt_at <= now
    if (!due || (row.state === 'in_archivio' && row.fingerprint === fingerprintOf(p, conn.environment))) {
      counts.unchanged++
      if (row.known) unchanged.push(row.id)
      continue
    }
    try {
      const o = await syncOne(
        conn,
        tenant,
        row,
        { iban, payableDaysAfterDue: settings.payableDaysAfterDue, today },
        p,
        opts.log,
      )
      outcomes.push(o)
      if (!row.created_remote && o.createdRemote) counts.created++
      else if (o.state === 'invalidata') counts.invalidated++
      else counts.updated++
    } catch (err) {
      if (!(err instanceof Unreachable || err instanceof CallFailed)) throw err
      counts.failed++
      opts.log.warn({ tenant: tenant.slug, document: row.id, err: err.message }, 'central archive call failed')
      outcomes.push({
        documentId: row.id,
        iupd: iupdOf(tenant, row.id),
        state: 'errore',
        createdRemote: row.created_remote,
        fingerprint: row.fingerprint,
        sentNavs: row.sent_navs,
        paidNavs: row.paid_navs,
        remoteStatus: null,
        error: err.message.slice(0, 500),
        attempts: row.attempts + 1,
      })
    }
  }
  if (outcomes.length || unchanged.length) await record(db, tenant, conn.environment, outcomes, unchanged, now)
  return counts
}

/** Every outcome of a pass in one statement, and the time the unchanged ones were checked in another. */
async function record(db: Db, tenant: Tenant, env: string, outcomes: Outcome[], unchanged: number[], now: Date) {
  const rows = outcomes.map((o) => ({
    document_id: o.documentId,
    iupd: o.iupd,
    environment: env,
    state: o.state,
    created_remote: o.createdRemote,
    fingerprint: o.fingerprint,
    sent_navs: `{${o.sentNavs.join(',')}}`,
    paid_navs: `{${o.paidNavs.join(',')}}`,
    remote_status: o.remoteStatus,
    attempts: o.attempts,
    next_attempt_at: o.state === 'errore' ? retryAt(now, o.attempts) : null,
    last_error: o.error,
    synced_at: o.state === 'errore' ? null : now,
    checked_at: now,
    updated_at: now,
  }))
  await withTenant(db.sql, tenant, async (tx) => {
    if (rows.length)
      await tx`
        insert into aca_positions ${tx(rows)}
        on conflict (document_id) do update set environment = excluded.environment, state = excluded.state,
          created_remote = excluded.created_remote, fingerprint = excluded.fingerprint, sent_navs = excluded.sent_navs,
          paid_navs = excluded.paid_navs, remote_status = coalesce(excluded.remote_status, aca_positions.remote_status),
          attempts = excluded.attempts, next_attempt_at = excluded.next_attempt_at, last_error = excluded.last_error,
          synced_at = coalesce(excluded.synced_at, aca_positions.synced_at), checked_at = excluded.checked_at,
          updated_at = excluded.updated_at`
    if (unchanged.length)
      await tx`update aca_positions set checked_at = ${now} where document_id = any(${unchanged}::bigint[])`
  })
}

/** The job: every active tenant with a connection to the archive. */
export async function runArchiveSync(ctx: JobContext): Promise<Record<string, number>> {
  return forEachTenant(ctx, 'pagopa-archive', async (tenant) => {
    const c = await syncArchive(ctx.db, tenant, { secretsKey: ctx.config.secretsKey, log: ctx.log, now: ctx.now })
    if (c.failed > 0)
      throw new Error(`${c.failed} position(s) not accepted by the central archive; see the pagoPA page`)
    return c
  })
}
