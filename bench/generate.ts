// Seeds the benchmark database (`sportello_bench`, dropped and recreated): by default 1,000 tenants, 100,000
// payers and 1,000,000 installments, accounts for a sample of payers, sessions and carts for the benchmark's
// users. `--scale 0.01` builds a hundredth of it; `--concurrency N` sets how many tenants load at once.
//
//   npx tsx bench/generate.ts [--scale 1] [--concurrency 4]
import { createHmac } from 'node:crypto'
import postgres from 'postgres'
import { hashPassword } from '../src/features/account/passwords.ts'
import { isCitus, recreateCitusDatabases } from '../src/platform/citus.ts'
import { todayRome } from '../src/platform/dates.ts'
import { type Db, roleNames } from '../src/platform/db.ts'
import { baseFromSequence, buildNotice } from '../src/platform/it/pagopa.ts'
import { migratePlatform } from '../src/platform/migrate.ts'
import { onboardTenant } from '../src/platform/tenancy.ts'
import { hashToken } from '../src/platform/tokens.ts'
import {
  arg,
  BENCH_DB,
  BENCH_PASSWORD,
  dbUrl,
  flag,
  openBenchDb,
  ownerPool,
  SESSION_SECRET,
  seconds,
  startBenchPostgres,
} from './common.ts'
import {
  between,
  dayNumber,
  fromDayNumber,
  insertRows,
  type Person,
  type PlannedTenant,
  person,
  pick,
  planTenants,
  Rows,
  rng,
  SERVICE_AMOUNTS,
} from './data.ts'

/** The session token of benchmark user i (kept in public.bench_users for the runner). */
function benchToken(i: number): string {
  return createHmac('sha256', 'sportello-bench-user').update(String(i)).digest('base64url')
}

interface BenchTenantInfo {
  documentId: number
  openInstallments: number[]
}

interface Plan {
  tenants: PlannedTenant[]
  persons: Person[]
  /** tenant indexes of each person, home tenant first */
  tenantsOf: number[][]
  /** person indexes billed by each tenant */
  members: number[][]
  accounts: Set<number>
  installmentsPerRow: number
}

function plan(scale: number): Plan {
  const tenants = planTenants(Math.max(3, Math.round(1000 * scale)))
  const personCount = Math.max(60, Math.round(100_000 * scale))
  const installments = Math.max(600, Math.round(1_000_000 * scale))
  const r = rng(42)
  const cumulative: number[] = []
  let total = 0
  for (const t of tenants) {
    total += t.weight
    cumulative.push(total)
  }
  const draw = () => {
    const x = r() * total
    let lo = 0
    let hi = cumulative.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((cumulative[mid] as number) < x) lo = mid + 1
      else hi = mid
    }
    return lo
  }
  const used = new Set<string>()
  const persons: Person[] = []
  const tenantsOf: number[][] = []
  const members: number[][] = tenants.map(() => [])
  const accounts = new Set<number>()
  // every tenant bills somebody; then people land by size, a quarter of them billed by two bodies, some by three
  for (let p = 0; p < personCount; p++) {
    persons.push(person(r, used, [1965, 1995]))
    const home = p < tenants.length ? p : draw()
    const mine = [home]
    const extra = r() < 0.25 ? (r() < 0.2 ? 2 : 1) : 0
    for (let k = 0; k < extra; k++) {
      const t = draw()
      if (!mine.includes(t)) mine.push(t)
    }
    tenantsOf.push(mine)
    for (const t of mine) members[t]?.push(p)
    if (r() < 0.1) accounts.add(p)
  }
  const rows = members.reduce((n, m) => n + m.length, 0)
  return { tenants, persons, tenantsOf, members, accounts, installmentsPerRow: installments / rows }
}

const COLUMNS = {
  payers: [
    ['id', 'bigint'],
    ['codice_fiscale', 'text'],
    ['given_name', 'text'],
    ['family_name', 'text'],
    ['email', 'text'],
  ],
  pupils: [
    ['id', 'bigint'],
    ['codice_fiscale', 'text'],
    ['given_name', 'text'],
    ['family_name', 'text'],
    ['birth_date', 'date'],
  ],
  pupil_payers: [
    ['pupil_id', 'bigint'],
    ['payer_id', 'bigint'],
    ['relation', 'text'],
    ['holder', 'boolean'],
  ],
  documents: [
    ['id', 'bigint'],
    ['year', 'int'],
    ['number', 'text'],
    ['issue_date', 'date'],
    ['service_id', 'bigint'],
    ['payer_id', 'bigint'],
    ['pupil_id', 'bigint'],
    ['description', 'text'],
    ['total_cents', 'bigint'],
    ['cancelled_at', 'timestamptz'],
    ['cancel_reason', 'text'],
  ],
  installments: [
    ['id', 'bigint'],
    ['document_id', 'bigint'],
    ['seq', 'int'],
    ['due_date', 'date'],
    ['amount_cents', 'bigint'],
    ['iuv', 'text'],
    ['notice_code', 'text'],
    ['status', 'text'],
    ['paid_at', 'timestamptz'],
    ['paid_cents', 'bigint'],
  ],
  installment_payments: [
    ['id', 'bigint'],
    ['installment_id', 'bigint'],
    ['source', 'text'],
    ['receipt_number', 'text'],
    ['amount_cents', 'bigint'],
    ['paid_at', 'timestamptz'],
    ['psp', 'text'],
    ['channel', 'text'],
  ],
} satisfies Record<string, [string, string][]>
type TenantTable = keyof typeof COLUMNS

interface TenantRows {
  rows: Record<TenantTable, Rows>
  max: Record<'payers' | 'pupils' | 'documents' | 'installments' | 'installment_payments', number>
  /** codici fiscali for platform.payer_index */
  index: string[]
  bench: Map<number, BenchTenantInfo>
  counts: { installments: number; documents: number; paid: number; pupils: number }
}

const CHANNELS = ['home banking', 'sportello bancario', 'ufficio postale', 'tabaccheria', 'app di pagamento']
const PSPS = ['Banca di Prova', 'Poste Italiane', 'Istituto di Pagamento Demo', 'Banca Popolare Esempio']

function generateTenant(
  t: PlannedTenant,
  serviceIds: Map<string, number>,
  p: Plan,
  today: string,
  persons: number[],
): TenantRows {
  const r = rng(1000 + t.index)
  const todayN = dayNumber(today)
  const out: TenantRows = {
    rows: Object.fromEntries(
      Object.entries(COLUMNS).map(([k, cols]) => [k, new Rows(cols as [string, string][])]),
    ) as Record<TenantTable, Rows>,
    max: { payers: 0, pupils: 0, documents: 0, installments: 0, installment_payments: 0 },
    index: [],
    bench: new Map(),
    counts: { installments: 0, documents: 0, paid: 0, pupils: 0 },
  }
  const used = new Set<string>()
  const school = t.file.kind === 'scuola'
  const services = t.file.services
  let pupilId = 0
  let docId = 0
  let instId = 0
  let payId = 0
  let prevPupils: number[] = []
  persons.forEach((pi, j) => {
    const payerId = j + 1
    const who = p.persons[pi] as Person
    out.rows.payers.push([
      payerId,
      who.cf,
      who.given,
      who.family,
      r() < 0.85 ? `${who.given}.${who.family}.${pi}@posta.example`.toLowerCase().replace(/[^a-z0-9.@]/g, '') : null,
    ])
    out.index.push(who.cf)
    // children: schools bill families of pupils, comuni some families without children (taxes only)
    const nKids = school ? between(r, 1, 2) : pick(r, [0, 1, 1, 2, 2, 3])
    const kids: { id: number; given: string }[] = []
    for (let k = 0; k < nKids; k++) {
      const kid = person(r, used, [2008, 2022], who.family)
      pupilId++
      kids.push({ id: pupilId, given: kid.given })
      out.rows.pupils.push([pupilId, kid.cf, kid.given, kid.family, `20${kid.cf.slice(6, 8)}-01-15`])
      out.rows.pupil_payers.push([pupilId, payerId, 'genitore', true])
    }
    // a quarter of the families have a second parent billed too: the previous payer's children are theirs as well
    if (j > 0 && r() < 0.25) {
      for (const kid of prevPupils) out.rows.pupil_payers.push([kid, payerId, 'genitore', false])
    }
    prevPupils = kids.map((k) => k.id)
    // a document overshoots the quota by one installment on average: aim that much lower
    const quota = Math.max(1, Math.round(p.installmentsPerRow * (0.4 + 1.2 * r()) - 0.65))
    let made = 0
    let firstDoc = 0
    let openDoc = 0
    const open: number[] = []
    while (made < quota) {
      const kid = kids.length && (school || r() < 0.8) ? pick(r, kids) : null
      const candidates = services.filter((s) => (kid ? s.kind !== 'tributi' : s.kind === 'tributi' || school))
      const svc = pick(r, candidates.length ? candidates : services)
      const spec = SERVICE_AMOUNTS[svc.kind] ?? { cents: [2000, 9000] as [number, number], installments: [1, 2] }
      const n = pick(r, spec.installments)
      const issueN = todayN - between(r, 0, 540)
      const issue = fromDayNumber(issueN)
      const year = Number(issue.slice(0, 4))
      const cancelled = r() < 0.02
      docId++
      const amounts = Array.from({ length: n }, () => Math.round(between(r, spec.cents[0], spec.cents[1]) / 10) * 10)
      const total = amounts.reduce((s, a) => s + a, 0)
      const description = kid
        ? `${svc.name} – ${kid.given} ${who.family}, a.s. ${year}/${year + 1}`
        : `${svc.name} ${year}`
      out.rows.documents.push([
        docId,
        year,
        String(docId).padStart(6, '0'),
        issue,
        serviceIds.get(svc.code) as number,
        payerId,
        kid ? kid.id : null,
        description,
        total,
        cancelled ? `${fromDayNumber(issueN + 5)} 11:00:00+01` : null,
        cancelled ? 'Emesso per errore' : null,
      ])
      let docOpen = false
      amounts.forEach((amount, k) => {
        instId++
        const due = issueN + 20 + 30 * k
        const { iuv, noticeCode } = buildNotice(t.file.segregationCode, baseFromSequence(instId))
        let status = 'da_pagare'
        let paidAt: string | null = null
        if (cancelled) status = 'annullato'
        else if (r() < (due < todayN ? 0.82 : 0.12)) {
          status = 'pagato'
          const paidN = Math.min(todayN - 1, Math.max(issueN, due - between(r, 0, 15)))
          paidAt = `${fromDayNumber(paidN)} ${String(between(r, 8, 21)).padStart(2, '0')}:${String(between(r, 0, 59)).padStart(2, '0')}:00+01`
          payId++
          const viaNode = r() < 0.7
          out.rows.installment_payments.push([
            payId,
            instId,
            viaNode ? 'pagopa' : 'riconciliazione',
            viaNode ? `RT-${iuv}` : `RIC-${iuv}`,
            amount,
            paidAt,
            pick(r, PSPS),
            pick(r, CHANNELS),
          ])
          out.counts.paid++
        } else {
          open.push(instId)
          docOpen = true
        }
        out.rows.installments.push([
          instId,
          docId,
          k + 1,
          fromDayNumber(due),
          amount,
          iuv,
          noticeCode,
          status,
          paidAt,
          paidAt ? amount : null,
        ])
      })
      // the benchmark opens a document with something still to pay when there is one
      firstDoc ||= docId
      if (docOpen) openDoc ||= docId
      made += n
      out.counts.documents++
      out.counts.installments += n
    }
    if (p.accounts.has(pi)) out.bench.set(pi, { documentId: openDoc || firstDoc, openInstallments: open })
  })
  out.counts.pupils = pupilId
  out.max = {
    payers: persons.length,
    pupils: pupilId,
    documents: docId,
    installments: instId,
    installment_payments: payId,
  }
  return out
}

/** Roles are cluster-wide: the bench database's own roles go with it. */
async function dropBenchRoles(root: postgres.Sql) {
  const { prefix, app, tenantGroup } = roleNames(BENCH_DB)
  const like = `${prefix.replace(/_/g, '\\_')}\\_t\\_%`
  const roles = await root<{ rolname: string }[]>`
    select rolname from pg_roles where rolname = ${app} or rolname = ${tenantGroup} or rolname like ${like}`
  const names = roles.map((x) => x.rolname).filter((n) => /^[a-z0-9_]{1,63}$/.test(n))
  for (let i = 0; i < names.length; i += 200)
    await root.unsafe(`drop role if exists ${names.slice(i, i + 200).join(', ')}`)
}

async function resetDatabase() {
  const root = postgres(dbUrl('postgres'), { max: 1, onnotice: () => {} })
  try {
    // BENCH_PG at a Citus coordinator: the database on every node, distributed (docs/scaling.md)
    if (await isCitus(root)) {
      await root.end()
      await recreateCitusDatabases(dbUrl('postgres'), [BENCH_DB], (sql) => dropBenchRoles(sql))
      return
    }
    await root.unsafe(`drop database if exists ${BENCH_DB} with (force)`)
    await dropBenchRoles(root)
    await root.unsafe(`create database ${BENCH_DB}`)
  } finally {
    await root.end().catch(() => {})
  }
}

async function main() {
  startBenchPostgres()
  const scale = Number(arg('scale', '1'))
  const concurrency = Math.max(1, Number(arg('concurrency', '4')))
  const usersWanted = Number(arg('users', '2000'))
  if (!(scale > 0 && scale <= 2)) throw new Error('--scale must be in (0, 2]')
  const started = performance.now()
  const lap = (() => {
    let last = started
    return (what: string) => {
      const now = performance.now()
      console.log(`  ${what.padEnd(44)} ${seconds(now - last).padStart(8)}`)
      last = now
    }
  })()
  console.log(`Generating ${BENCH_DB} at scale ${scale} (${concurrency} tenants at a time)`)
  await resetDatabase()
  const db = await openBenchDb(2)
  await migratePlatform(db.admin, db.roles)
  lap('database, roles, platform schema')

  const p = plan(scale)
  const today = todayRome()
  lap(`plan: ${p.tenants.length} tenants, ${p.persons.length} people`)

  const owner = ownerPool(concurrency + 1)
  const odb: Db = { ...db, admin: owner }
  const bench = new Map<number, Map<number, BenchTenantInfo>>()
  const tenantIds: number[] = []
  const totals = { installments: 0, documents: 0, paid: 0, pupils: 0, payers: 0 }
  let onboardMs = 0
  let next = 0
  let done = 0
  const worker = async () => {
    while (next < p.tenants.length) {
      const t = p.tenants[next++] as PlannedTenant
      const t0 = performance.now()
      const { id, schema } = await onboardTenant(odb, t.file)
      onboardMs += performance.now() - t0
      tenantIds[t.index] = id
      await owner.begin(async (tx) => {
        await tx`select set_config('search_path', ${schema}, true)`
        const services = await tx<{ id: number; code: string }[]>`select id, code from services`
        const rows = generateTenant(t, new Map(services.map((s) => [s.code, s.id])), p, today, p.members[t.index] ?? [])
        for (const table of Object.keys(COLUMNS) as TenantTable[]) await insertRows(tx, table, rows.rows[table])
        for (const [table, max] of Object.entries(rows.max)) {
          if (max > 0) await tx`select setval(pg_get_serial_sequence(${table}, 'id'), ${max})`
        }
        if (rows.max.documents) await tx`select setval('document_number_seq', ${rows.max.documents})`
        if (rows.max.installments) await tx`select setval('iuv_seq', ${rows.max.installments})`
        const index = new Rows([
          ['codice_fiscale', 'text'],
          ['tenant_id', 'bigint'],
        ])
        for (const cf of rows.index) index.push([cf, id])
        await insertRows(tx, 'platform.payer_index', index)
        for (const [pi, info] of rows.bench) {
          const m = bench.get(pi) ?? new Map()
          m.set(t.index, info)
          bench.set(pi, m)
        }
        totals.installments += rows.counts.installments
        totals.documents += rows.counts.documents
        totals.paid += rows.counts.paid
        totals.pupils += rows.counts.pupils
        totals.payers += rows.max.payers
      })
      done++
      if (done % 100 === 0) console.log(`    ${done} tenants loaded`)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  lap(`${p.tenants.length} tenants onboarded and loaded`)
  console.log(
    `    onboardTenant: ${seconds(onboardMs)} in all, ${(onboardMs / p.tenants.length).toFixed(0)} ms per tenant (in ${concurrency} workers)`,
  )

  // accounts for a tenth of the people, one (old, revoked) session each; sessions and carts for the bench users
  const hash = await hashPassword(BENCH_PASSWORD)
  const accountIds = new Map<number, number>()
  const accounts = new Rows([
    ['id', 'bigint'],
    ['email', 'text'],
    ['email_confirmed_at', 'timestamptz'],
    ['password_hash', 'text'],
    ['given_name', 'text'],
    ['family_name', 'text'],
    ['codice_fiscale', 'text'],
    ['lang', 'text'],
    // proved (as by SPID/CIE): an unproved codice fiscale would open no data and the pages would be empty
    ['cf_proved_at', 'timestamptz'],
    ['cf_proved_by', 'text'],
  ])
  for (const pi of [...p.accounts].sort((a, b) => a - b)) {
    const who = p.persons[pi] as Person
    const id = accountIds.size + 1
    accountIds.set(pi, id)
    accounts.push([
      id,
      `utente${pi}@posta.example`,
      '2026-01-10 10:00:00+01',
      hash,
      who.given,
      who.family,
      who.cf,
      'it',
      '2026-01-10 10:00:00+01',
      'oidc',
    ])
  }
  await owner.begin(async (tx) => {
    await insertRows(tx, 'platform.accounts', accounts)
    if (accountIds.size) await tx`select setval(pg_get_serial_sequence('platform.accounts', 'id'), ${accountIds.size})`
  })
  const r = rng(99)
  const users = new Rows([
    ['idx', 'int'],
    ['token', 'text'],
    ['account_id', 'bigint'],
    ['codice_fiscale', 'text'],
    ['tenant_slug', 'text'],
    ['document_id', 'bigint'],
    ['cart_items', 'int'],
    ['cart_tenants', 'int'],
  ])
  const sessions = new Rows([
    ['token_hash', 'bytea'],
    ['account_id', 'bigint'],
    ['created_at', 'timestamptz'],
    ['last_seen_at', 'timestamptz'],
    ['expires_at', 'timestamptz'],
    ['revoked_at', 'timestamptz'],
    ['ip', 'text'],
    ['user_agent', 'text'],
  ])
  const carts = new Rows([
    ['account_id', 'bigint'],
    ['tenant_id', 'bigint'],
    ['installment_id', 'bigint'],
  ])
  const usersMax = Math.max(50, Math.min(usersWanted, accountIds.size))
  const now = new Date()
  for (const [pi, accountId] of accountIds) {
    const mine = bench.get(pi)
    const home = (p.tenantsOf[pi] as number[])[0] as number
    const info = mine?.get(home)
    if (users.length < usersMax && info?.documentId) {
      const idx = users.length
      const token = benchToken(idx)
      const expires = new Date(now.getTime() + 12 * 3600_000)
      sessions.push([
        `\\x${hashToken(SESSION_SECRET, token).toString('hex')}`,
        accountId,
        now.toISOString(),
        now.toISOString(),
        expires.toISOString(),
        null,
        '127.0.0.1',
        'autocannon',
      ])
      // a cart of one to three notices of the home tenant, sometimes one of a second tenant
      let cart = 0
      let cartTenants = 0
      const homeItems = info.openInstallments.slice(0, between(r, 1, 3))
      for (const inst of homeItems) carts.push([accountId, tenantIds[home] as number, inst])
      cart += homeItems.length
      if (homeItems.length) cartTenants++
      const second = (p.tenantsOf[pi] as number[])[1]
      const other = second !== undefined ? mine?.get(second) : undefined
      if (other?.openInstallments.length && r() < 0.3) {
        carts.push([accountId, tenantIds[second as number] as number, other.openInstallments[0] as number])
        cart++
        cartTenants++
      }
      const slug = (p.tenants[home] as PlannedTenant).file.slug
      users.push([idx, token, accountId, (p.persons[pi] as Person).cf, slug, info.documentId, cart, cartTenants])
    } else {
      // everybody else signed in once, weeks ago, and signed out
      const old = new Date(now.getTime() - between(r, 2, 200) * 86_400_000)
      sessions.push([
        `\\x${hashToken(SESSION_SECRET, `old-${pi}`).toString('hex')}`,
        accountId,
        old.toISOString(),
        old.toISOString(),
        new Date(old.getTime() + 12 * 3600_000).toISOString(),
        new Date(old.getTime() + 3600_000).toISOString(),
        '192.0.2.1',
        'Mozilla/5.0',
      ])
    }
  }
  await owner.begin(async (tx) => {
    await insertRows(tx, 'platform.sessions', sessions)
    await insertRows(tx, 'platform.cart_items', carts)
    await tx.unsafe(`create table public.bench_users (
      idx int primary key, token text not null, account_id bigint not null, codice_fiscale text not null,
      tenant_slug text not null, document_id bigint not null, cart_items int not null, cart_tenants int not null)`)
    await insertRows(tx, 'public.bench_users', users)
    await tx.unsafe(`create table public.bench_info (key text primary key, value jsonb not null)`)
    await tx`insert into public.bench_info (key, value) values ('generated', ${tx.json({
      scale,
      at: new Date().toISOString(),
      tenants: p.tenants.length,
      people: p.persons.length,
      payerRows: totals.payers,
      pupils: totals.pupils,
      documents: totals.documents,
      installments: totals.installments,
      paid: totals.paid,
      accounts: accountIds.size,
      users: users.length,
      cartItems: carts.length,
    })})`
  })
  lap(`${accountIds.size} accounts, ${users.length} bench sessions, ${carts.length} cart items`)

  if (!flag('no-vacuum')) {
    await owner.unsafe('vacuum (analyze)')
    lap('vacuum (analyze)')
  }
  await owner.end()
  await db.close()
  const total = performance.now() - started
  console.log(
    `Done in ${seconds(total)}: ${p.tenants.length} tenants, ${p.persons.length} people (${totals.payers} payer rows), ` +
      `${totals.pupils} pupils, ${totals.documents} documents, ${totals.installments} installments (${totals.paid} paid), ` +
      `${accountIds.size} accounts`,
  )
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
