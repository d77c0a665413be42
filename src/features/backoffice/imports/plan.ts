// Bulk issue from CSV, against the tenant's data: the parsed lines checked against its services and the documents
// already issued (a handful of queries for any size), then everything of a checked plan created in the caller's
// transaction: new payers and pupils, their links, the documents with their notices.

import { createHash } from 'node:crypto'
import type { Tx } from '../../../platform/db.ts'
import { formatDecimalIt } from '../../../platform/money.ts'
import { type DocumentInput, issueDocuments } from '../../debts/issue.ts'
import { beneficiaryRules, minimumAmount, splitAmount } from '../../debts/split.ts'
import { enqueueIoNotices } from '../../io/service.ts'
import { type ImportLine, normalizeDescription, type ParsedFile, type Problem } from './parse.ts'

export interface ImportPlan {
  lines: ImportLine[]
  problems: Problem[]
  lineCount: number
  documents: number
  installments: number
  totalCents: number
  newPayers: number
  newPupils: number
  byService: { code: string; name: string; documents: number; totalCents: number }[]
}

interface Lookups {
  services: Map<string, { id: number; name: string; active: boolean }>
  payers: Map<string, number>
  pupils: Map<string, number>
}

async function lookups(tx: Tx, lines: ImportLine[]): Promise<Lookups> {
  const payerCfs = [...new Set(lines.map((l) => l.payerCf))]
  const pupilCfs = [...new Set(lines.flatMap((l) => (l.pupilCf ? [l.pupilCf] : [])))]
  const [services, payers, pupils] = await Promise.all([
    tx<{ id: number; code: string; name: string; active: boolean }[]>`select id, code, name, active from services`,
    tx<
      { id: number; codice_fiscale: string }[]
    >`select id, codice_fiscale from payers where codice_fiscale = any(${payerCfs})`,
    tx<
      { id: number; codice_fiscale: string }[]
    >`select id, codice_fiscale from pupils where codice_fiscale = any(${pupilCfs})`,
  ])
  return {
    services: new Map(services.map((s) => [s.code, { id: s.id, name: s.name, active: s.active }])),
    payers: new Map(payers.map((p) => [p.codice_fiscale, p.id])),
    pupils: new Map(pupils.map((p) => [p.codice_fiscale, p.id])),
  }
}

/** Checks the parsed lines against the tenant's services and documents: a handful of queries for any size. */
export async function planImport(tx: Tx, parsed: ParsedFile): Promise<ImportPlan & { lookups: Lookups }> {
  const problems = [...parsed.problems]
  const look = await lookups(tx, parsed.lines)
  const rules = await beneficiaryRules(
    tx,
    [...look.services.values()].map((s) => s.id),
  )
  const ok: ImportLine[] = []
  for (const l of parsed.lines) {
    const s = look.services.get(l.service)
    if (!s) problems.push({ line: l.line, field: 'servizio', code: 'unknownService', params: { code: l.service } })
    else if (!s.active)
      problems.push({ line: l.line, field: 'servizio', code: 'inactiveService', params: { code: l.service } })
    else {
      // other beneficiaries' shares must leave something to the body in every installment (decision 0104)
      const shares = rules.get(s.id) ?? []
      const tooSmall = shares.length
        ? l.installments.find((i) => splitAmount(i.amountCents, shares) === null)
        : undefined
      if (tooSmall)
        problems.push({
          line: l.line,
          field: 'importo',
          code: 'splitTooSmall',
          params: { amount: formatDecimalIt(minimumAmount(shares)) },
        })
      else ok.push(l)
    }
  }
  // duplicates of documents already issued (not cancelled), only possible for payers that exist
  const candidates = ok.filter((l) => look.payers.has(l.payerCf) && (!l.pupilCf || look.pupils.has(l.pupilCf)))
  if (candidates.length) {
    const dups = await tx<{ line: number; number: string; year: number }[]>`
      select k.line, d.number, d.year
      from unnest(${candidates.map((l) => l.line)}::int[], ${candidates.map((l) => look.services.get(l.service)?.id as number)}::bigint[],
                  ${candidates.map((l) => look.payers.get(l.payerCf) as number)}::bigint[],
                  ${candidates.map((l) => (l.pupilCf ? (look.pupils.get(l.pupilCf) as number) : 0))}::bigint[],
                  ${candidates.map((l) => l.year)}::int[], ${candidates.map((l) => normalizeDescription(l.description))}::text[])
        as k(line, service_id, payer_id, pupil_id, year, description)
      join documents d on d.service_id = k.service_id and d.payer_id = k.payer_id and d.year = k.year
        and coalesce(d.pupil_id, 0) = k.pupil_id and d.cancelled_at is null
        and lower(regexp_replace(btrim(d.description), '\\s+', ' ', 'g')) = k.description`
    const seen = new Set<number>()
    for (const d of dups) {
      if (seen.has(d.line)) continue
      seen.add(d.line)
      problems.push({
        line: d.line,
        field: null,
        code: 'duplicateExisting',
        params: { number: `${d.number}/${d.year}` },
      })
    }
  }
  problems.sort((a, b) => a.line - b.line)
  const lines = problems.length ? [] : ok
  const byService = new Map<string, { code: string; name: string; documents: number; totalCents: number }>()
  for (const l of lines) {
    const s = byService.get(l.service) ?? {
      code: l.service,
      name: look.services.get(l.service)?.name ?? l.service,
      documents: 0,
      totalCents: 0,
    }
    s.documents++
    s.totalCents += l.totalCents
    byService.set(l.service, s)
  }
  return {
    lines,
    problems,
    lineCount: parsed.lineCount,
    documents: lines.length,
    installments: lines.reduce((n, l) => n + l.installments.length, 0),
    totalCents: lines.reduce((n, l) => n + l.totalCents, 0),
    newPayers: new Set(lines.filter((l) => !look.payers.has(l.payerCf)).map((l) => l.payerCf)).size,
    newPupils: new Set(lines.filter((l) => l.pupilCf && !look.pupils.has(l.pupilCf)).map((l) => l.pupilCf)).size,
    byService: [...byService.values()].sort((a, b) => a.name.localeCompare(b.name)),
    lookups: look,
  }
}

export function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/**
 * Creates everything of a checked plan, inside the caller's transaction: new payers and pupils, the links
 * (the first payer of a pupil without a holder becomes the holder), the documents with their notices.
 */
export async function executeImport(
  tx: Tx,
  tenant: { id: number; segregationCode: string; name: string },
  plan: ImportPlan & { lookups: Lookups },
  importId: number,
  issueDate: string,
): Promise<{ documentIds: number[] }> {
  const { lines, lookups: look } = plan
  const newPayers = new Map<string, ImportLine>()
  for (const l of lines) if (!look.payers.has(l.payerCf) && !newPayers.has(l.payerCf)) newPayers.set(l.payerCf, l)
  const rows = [...newPayers.values()]
  for (let i = 0; i < rows.length; i += 5000) {
    const chunk = rows.slice(i, i + 5000)
    await tx`insert into payers ${tx(
      chunk.map((l) => ({
        codice_fiscale: l.payerCf,
        given_name: l.payerGiven,
        family_name: l.payerFamily,
        email: l.payerEmail,
      })),
    )} on conflict (codice_fiscale) do nothing`
  }
  const newPupils = new Map<string, ImportLine>()
  for (const l of lines)
    if (l.pupilCf && !look.pupils.has(l.pupilCf) && !newPupils.has(l.pupilCf)) newPupils.set(l.pupilCf, l)
  const pupilRows = [...newPupils.values()]
  for (let i = 0; i < pupilRows.length; i += 5000) {
    await tx`insert into pupils ${tx(
      pupilRows.slice(i, i + 5000).map((l) => ({
        codice_fiscale: l.pupilCf,
        given_name: l.pupilGiven,
        family_name: l.pupilFamily,
      })),
    )} on conflict (codice_fiscale) do nothing`
  }
  const fresh = await lookups(tx, lines)
  const pupilIds = [...new Set(lines.flatMap((l) => (l.pupilCf ? [fresh.pupils.get(l.pupilCf) as number] : [])))]
  const existingLinks = pupilIds.length
    ? await tx<{ pupil_id: number; payer_id: number; holder: boolean }[]>`
        select pupil_id, payer_id, holder from pupil_payers where pupil_id = any(${pupilIds})`
    : []
  const linked = new Set(existingLinks.map((l) => `${l.pupil_id}:${l.payer_id}`))
  const withHolder = new Set(existingLinks.filter((l) => l.holder).map((l) => l.pupil_id))
  const newLinks: { pupil_id: number; payer_id: number; relation: string; holder: boolean }[] = []
  for (const l of lines) {
    if (!l.pupilCf) continue
    const pupilId = fresh.pupils.get(l.pupilCf) as number
    const payerId = fresh.payers.get(l.payerCf) as number
    const key = `${pupilId}:${payerId}`
    if (linked.has(key)) continue
    linked.add(key)
    const holder = !withHolder.has(pupilId)
    if (holder) withHolder.add(pupilId)
    newLinks.push({ pupil_id: pupilId, payer_id: payerId, relation: 'genitore', holder })
  }
  for (let i = 0; i < newLinks.length; i += 5000)
    await tx`insert into pupil_payers ${tx(newLinks.slice(i, i + 5000))} on conflict do nothing`

  const docs: DocumentInput[] = lines.map((l) => ({
    year: l.year,
    issueDate,
    serviceId: look.services.get(l.service)?.id as number,
    payerId: fresh.payers.get(l.payerCf) as number,
    pupilId: l.pupilCf ? (fresh.pupils.get(l.pupilCf) as number) : null,
    description: l.description,
    installments: l.installments,
  }))
  const issued = await issueDocuments(tx, tenant, docs)
  // the notices in the IO app, for services connected to it (decision 0102)
  for (let i = 0; i < issued.installments.length; i += 10_000)
    await enqueueIoNotices(
      tx,
      tenant,
      issued.installments.slice(i, i + 10_000).map((x) => x.id),
    )
  for (let i = 0; i < issued.documentIds.length; i += 10_000)
    await tx`update documents set import_id = ${importId} where id = any(${issued.documentIds.slice(i, i + 10_000)})`
  // issueDocuments indexed every payer linked to these pupils, so each of them can find the documents
  return { documentIds: issued.documentIds }
}
