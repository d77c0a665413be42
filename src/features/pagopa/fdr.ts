// Reporting flows read from pagoPA's FdR REST interface (FdR 3, "Flussi di Rendicontazione" for organizations),
// which replaces the SOAP flows from 30 June 2026 (decision 0101). The reconciliation job lists the flows the
// body's PSPs published since the last one read, reads each revision with its payments (page by page), and
// imports it exactly as an uploaded file: the same classification and settlement (importFlow), a later revision
// replacing an earlier one, the same revision never twice. The cursor advances only past what was imported.
import { createHash } from 'node:crypto'
import { type Db, withTenant } from '../../platform/db.ts'
import type { JobContext } from '../../platform/jobs.ts'
import { sealer } from '../../platform/secrets.ts'
import type { Tenant } from '../../platform/tenancy.ts'
import type { FlowLine, ParsedFlow } from '../reconciliation/parse.ts'
import { importFlow } from '../reconciliation/service.ts'
import { currentConnection, describeAnswer, type PassOptions, restCall, Unreachable } from './connection.ts'

/** FdR's payStatus as the SOAP flow's codiceEsitoSingoloPagamento (FlussoRiversamento 1.0.5). */
const OUTCOME: Record<string, string> = {
  EXECUTED: '0',
  REVOKED: '3',
  STAND_IN: '4',
  STAND_IN_NO_RPT: '8',
  NO_RPT: '9',
}

interface Listed {
  fdr: string
  pspId: string
  revision: number
  published: string
}

interface RestPayment {
  index: number
  iuv: string
  iur: string
  idTransfer: number
  pay: number
  payStatus: string
  payDate: string
}

export interface FdrCounts {
  flows: number
  imported: number
  unchanged: number
  older: number
  refused: number
  [k: string]: number
}

const cents = (euro: number) => Math.round(Number(euro) * 100)

/** The REST flow and its payments as the reconciliation reads a flow file. */
export function toParsedFlow(flow: Record<string, unknown>, payments: RestPayment[]): ParsedFlow {
  const sender = (flow.sender ?? {}) as Record<string, string>
  const receiver = (flow.receiver ?? {}) as Record<string, string>
  const lines: FlowLine[] = payments.map((p) => ({
    key: `${p.iuv}|${p.iur}|${p.idTransfer}`,
    iuv: p.iuv,
    reference: p.iur,
    amountCents: cents(p.pay),
    paidOn: p.payDate ? new Date(p.payDate).toISOString().slice(0, 10) : null,
    outcomeCode: OUTCOME[p.payStatus] ?? null,
    payerName: null,
    remittance: null,
  }))
  return {
    kind: 'fdr',
    flowId: String(flow.fdr),
    // the revision's publication: later revisions are later versions of the flow
    flowAt: new Date(String(flow.published)),
    settlementRef: (flow.regulation as string | undefined) ?? null,
    settlementDate: (flow.regulationDate as string | undefined)?.slice(0, 10) ?? null,
    sender: sender.pspName ?? sender.pspId ?? null,
    receiver: receiver.organizationId ?? null,
    declaredCount: Number(flow.totPayments),
    declaredCents: cents(flow.sumPayments as number),
    lines,
    skipped: 0,
  }
}

/** Reads the flows published since the cursor and imports them, oldest first. */
export async function syncFlows(db: Db, tenant: Tenant, opts: PassOptions & { pageSize?: number }): Promise<FdrCounts> {
  const counts: FdrCounts = { flows: 0, imported: 0, unchanged: 0, older: 0, refused: 0 }
  const loaded = await withTenant(db.sql, tenant, async (tx) => {
    const conn = await currentConnection(tx, tenant, sealer(opts.secretsKey))
    if (!conn?.keys.fdr) return null
    const [cursor] = await tx<{ published_after: Date | null }[]>`select published_after from fdr_cursor where id = 1`
    return { conn, after: cursor?.published_after ?? null }
  })
  if (!loaded) return counts
  const { conn, after } = loaded
  const key = conn.keys.fdr as string
  const size = String(opts.pageSize ?? 1000)
  const org = `/organizations/${encodeURIComponent(tenant.fiscalCode)}/fdrs`
  const get = async (path: string, query: Record<string, string>) => {
    const a = await restCall(conn, 'fdr', { method: 'GET', path, key, query })
    if (a.status !== 200) throw new Unreachable(describeAnswer(a))
    return a.body as Record<string, unknown>
  }
  async function allPages<T>(path: string, query: Record<string, string>): Promise<T[]> {
    const out: T[] = []
    for (let page = 1; ; page++) {
      const body = await get(path, { ...query, page: String(page), size })
      out.push(...((body.data as T[] | undefined) ?? []))
      const total = Number((body.metadata as { totPage?: number } | undefined)?.totPage ?? 1)
      if (page >= total) return out
    }
  }

  let cursor = after
  let problem: string | null = null
  try {
    // a millisecond before the cursor: flows published in the same instant as the last one read are listed again
    // (and skipped below), never lost
    const since = after ? new Date(after.getTime() - 1).toISOString() : null
    const listed = await allPages<Listed>(org, since ? { publishedGt: since } : {})
    listed.sort((a, b) => Date.parse(a.published) - Date.parse(b.published) || a.revision - b.revision)
    // the revisions already imported, in one query
    const done = listed.length
      ? await withTenant(
          db.sql,
          tenant,
          (tx) => tx<{ flow_id: string; revision: number }[]>`
          select flow_id, max(revision)::int as revision from reconciliation_imports
          where kind = 'fdr' and source = 'api' and flow_id = any(${[...new Set(listed.map((f) => f.fdr))]}::text[])
          group by flow_id`,
        )
      : []
    const imported = new Map(done.map((d) => [d.flow_id, d.revision]))
    for (const f of listed) {
      counts.flows++
      if ((imported.get(f.fdr) ?? 0) >= f.revision) {
        counts[(imported.get(f.fdr) ?? 0) > f.revision ? 'older' : 'unchanged']++
        cursor = new Date(f.published)
        continue
      }
      const path = `${org}/${encodeURIComponent(f.fdr)}/revisions/${f.revision}/psps/${encodeURIComponent(f.pspId)}`
      const flow = await get(path, {})
      const payments = await allPages<RestPayment>(`${path}/payments`, {})
      const parsed = toParsedFlow(flow, payments)
      const sum = parsed.lines.reduce((s, l) => s + l.amountCents, 0)
      // a flow for another body, or one that does not add up, is never half-applied; the office can still upload
      // the file once the PSP corrects it
      const refusal =
        parsed.receiver !== tenant.fiscalCode
          ? `flow ${f.fdr} rev ${f.revision} is for ${parsed.receiver}`
          : parsed.declaredCount !== parsed.lines.length || parsed.declaredCents !== sum
            ? `flow ${f.fdr} rev ${f.revision}: ${parsed.lines.length} payments for ${sum} cents, declared ${parsed.declaredCount} for ${parsed.declaredCents}`
            : null
      if (refusal) {
        counts.refused++
        problem = refusal
        opts.log.warn({ tenant: tenant.slug, problem }, 'FdR flow not imported')
      } else {
        const out = await importFlow(db.sql, tenant, parsed, {
          source: 'api',
          fileName: `FdR ${f.fdr} (${f.pspId}), revisione ${f.revision}`,
          actor: { accountId: null, name: 'sistema' },
          sha: createHash('sha256').update(JSON.stringify({ flow, payments })).digest('hex'),
          revision: f.revision,
        })
        counts[out.status] = (counts[out.status] ?? 0) + 1
        imported.set(f.fdr, Math.max(imported.get(f.fdr) ?? 0, f.revision))
      }
      cursor = new Date(f.published)
    }
  } catch (err) {
    if (!(err instanceof Unreachable)) throw err
    problem = err.message
    opts.log.warn({ tenant: tenant.slug, err: err.message }, 'FdR unreachable')
  }
  await withTenant(
    db.sql,
    tenant,
    (tx) => tx`
    insert into fdr_cursor (id, published_after, last_run_at, last_error, updated_at)
    values (1, ${cursor}, ${opts.now ?? new Date()}, ${problem}, ${new Date()})
    on conflict (id) do update set published_after = excluded.published_after, last_run_at = excluded.last_run_at,
      last_error = excluded.last_error, updated_at = excluded.updated_at`,
  )
  if (problem && counts.refused === 0) throw new Unreachable(problem)
  return counts
}
