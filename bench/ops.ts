// The operations measured beside the pages: onboarding one tenant, the migrate check over every tenant, the
// reminders job over all installments, the reconciliation of a 100,000-line reporting flow. Each leaves the
// benchmark database as it found it (its tenants are dropped, its emails and reminder records removed).
import { createSandboxProvider } from '../src/features/psp/sandbox.ts'
import { importFile } from '../src/features/reconciliation/service.ts'
import { JOBS, type JobContext } from '../src/jobs/registry.ts'
import type { Db } from '../src/platform/db.ts'
import { baseFromSequence, buildNotice } from '../src/platform/it/pagopa.ts'
import { createLogger } from '../src/platform/log.ts'
import { dropTenantSchema, migratePlatform, migrateTenants } from '../src/platform/migrate.ts'
import { onboardTenant, type Tenant, TenantRegistry, tenantFileSchema } from '../src/platform/tenancy.ts'
import { benchConfig, seconds } from './common.ts'
import { insertRows, partitaIva, Rows } from './data.ts'

export interface OperationResult {
  key: string
  label: string
  /** null: not measured (see note) */
  ms: number | null
  note?: string
  target?: string
  counts?: Record<string, number>
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const t0 = performance.now()
  const result = await fn()
  return { ms: performance.now() - t0, result }
}

const verdict = (ms: number, limit: number) => `< ${limit / 1000} s: ${ms < limit ? 'met' : 'missed'}`

function benchTenantFile(slug: string, fiscalCode: string) {
  return tenantFileSchema.parse({
    slug,
    kind: 'comune',
    name: `Comune di Prova ${slug}`,
    shortName: 'Prova',
    fiscalCode,
    segregationCode: '47',
    branding: { logoText: 'PR', accent: '#0b4f9c' },
    contacts: { email: 'ufficio@prova.example', address: 'Piazza Prova 1, 00100 Roma' },
    services: [{ code: 'mensa', kind: 'mensa', name: 'Mensa scolastica', causale: 'Mensa scolastica' }],
  })
}

async function dropTenant(db: Db, slug: string) {
  const [row] = await db.admin<{ id: number; schema_name: string }[]>`
    select id, schema_name from platform.tenants where slug = ${slug}`
  if (!row) return
  await db.admin`delete from platform.tenants where id = ${row.id}`
  await dropTenantSchema(db.admin, db.roles, row.schema_name)
}

export async function measureOperations(db: Db): Promise<OperationResult[]> {
  const out: OperationResult[] = []
  const log = (r: OperationResult) => {
    out.push(r)
    console.error(`${r.label}: ${r.ms === null ? r.note : seconds(r.ms)}`)
  }
  await migratePlatform(db.admin, db.roles)

  // tenant migrations added since the database was generated run here, once (and are reported)
  const catchUp = await timed(() => migrateTenants(db.admin, db.roles))
  if (catchUp.result.migrated.length || catchUp.result.failed.length) {
    log({
      key: 'migrateBehind',
      label: `migrate ${catchUp.result.migrated.length} tenants behind to version ${catchUp.result.latest}`,
      ms: catchUp.ms,
      note: catchUp.result.failed.length ? `${catchUp.result.failed.length} failed` : undefined,
    })
  }
  const check = await timed(() => migrateTenants(db.admin, db.roles))
  log({
    key: 'migrateCheck',
    label: `migrate check over ${check.result.checked} up-to-date tenants`,
    ms: check.ms,
    target: verdict(check.ms, 2000),
  })

  // onboarding one more tenant into the full database (schema, role, every migration, services)
  await dropTenant(db, 'bench-onboarding')
  const onboard = await timed(() => onboardTenant(db, benchTenantFile('bench-onboarding', partitaIva(900_001))))
  await dropTenant(db, 'bench-onboarding')
  log({ key: 'onboarding', label: 'onboarding one tenant', ms: onboard.ms })

  const config = benchConfig()
  const tenants = new TenantRegistry(db)
  const ctx: JobContext = {
    db,
    config,
    log: createLogger('silent'),
    provider: createSandboxProvider(config),
    tenants,
    now: new Date(),
    kickMail: () => {},
  }

  const reminders = JOBS.find((j) => j.name === 'reminders')
  if (!reminders) {
    log({ key: 'reminders', label: 'reminders job over all installments', ms: null, note: 'not built yet' })
  } else {
    // every run starts from nothing decided, so it does the whole day's work; its emails are removed after
    await forgetReminders(db)
    const [mark] = await db.admin<{ id: number }[]>`select coalesce(max(id), 0)::bigint as id from platform.outbox`
    const run = await timed(() => reminders.run({ ...ctx, now: new Date() }))
    await db.admin`delete from platform.outbox where id > ${mark?.id ?? 0}`
    await forgetReminders(db)
    const c = run.result
    log({
      key: 'reminders',
      label: `reminders job over all installments (${c.tenants ?? '?'} tenants)`,
      ms: run.ms,
      note: `${c.emails ?? 0} emails for ${c.reminders ?? 0} installments`,
      target: verdict(run.ms, 60_000),
      counts: c,
    })
  }

  log(await reconciliation(db, tenants))
  return out
}

async function forgetReminders(db: Db) {
  await db.admin.unsafe(`
    do $$ declare s text; begin
      for s in select schema_name from platform.tenants loop
        if to_regclass(s || '.reminders_sent') is not null then execute format('truncate %I.reminders_sent', s); end if;
      end loop;
    end $$`)
}

/**
 * A large comune's daily reporting flow: 100,000 lines for a tenant made for the purpose (100,000 open
 * installments): 96% match, the rest are the discrepancies an office meets (amount differs, already paid with
 * another receipt, unknown IUV). Only the import is timed; the tenant is dropped afterwards.
 */
async function reconciliation(db: Db, tenants: TenantRegistry): Promise<OperationResult> {
  const LINES = 100_000
  const slug = 'bench-rendicontazione'
  await dropTenant(db, slug)
  const file = benchTenantFile(slug, partitaIva(900_002))
  const { schema } = await onboardTenant(db, file)
  try {
    const installments: { iuv: string; cents: number }[] = []
    await db.admin.begin(async (tx) => {
      await tx`select set_config('search_path', ${schema}, true)`
      const [svc] = await tx<{ id: number }[]>`select id from services limit 1`
      const payers = new Rows([
        ['id', 'bigint'],
        ['codice_fiscale', 'text'],
        ['given_name', 'text'],
        ['family_name', 'text'],
      ])
      const docs = new Rows([
        ['id', 'bigint'],
        ['year', 'int'],
        ['number', 'text'],
        ['issue_date', 'date'],
        ['service_id', 'bigint'],
        ['payer_id', 'bigint'],
        ['description', 'text'],
        ['total_cents', 'bigint'],
      ])
      const insts = new Rows([
        ['id', 'bigint'],
        ['document_id', 'bigint'],
        ['seq', 'int'],
        ['due_date', 'date'],
        ['amount_cents', 'bigint'],
        ['iuv', 'text'],
        ['notice_code', 'text'],
        ['status', 'text'],
      ])
      for (let p = 1; p <= 5000; p++) payers.push([p, `BENCH${String(p).padStart(11, '0')}`, 'Mario', 'Rossi'])
      for (let d = 1; d <= LINES / 2; d++) {
        docs.push([
          d,
          2026,
          String(d).padStart(6, '0'),
          '2026-01-10',
          svc?.id as number,
          1 + (d % 5000),
          'Mensa scolastica',
          9000,
        ])
        for (let k = 1; k <= 2; k++) {
          const n = (d - 1) * 2 + k
          const { iuv, noticeCode } = buildNotice(file.segregationCode, baseFromSequence(n))
          insts.push([n, d, k, k === 1 ? '2026-02-10' : '2026-03-10', 4500, iuv, noticeCode, 'da_pagare'])
          installments.push({ iuv, cents: 4500 })
        }
      }
      await insertRows(tx, 'payers', payers)
      await insertRows(tx, 'documents', docs)
      await insertRows(tx, 'installments', insts)
      // 1% were paid meanwhile at another channel: the flow's line is "already paid"
      await tx`
        with paid as (update installments set status = 'pagato', paid_at = now(), paid_cents = amount_cents
                      where id % 100 = 7 returning id, amount_cents)
        insert into installment_payments (installment_id, source, receipt_number, amount_cents, paid_at)
        select id, 'pagopa', 'RT-' || id, amount_cents, now() from paid`
    })
    await db.admin.unsafe(`analyze ${schema}.installments, ${schema}.installment_payments, ${schema}.documents`)
    const lines: string[] = []
    let total = 0
    for (let i = 0; i < LINES; i++) {
      const inst = installments[i] as { iuv: string; cents: number }
      // 2% paid a different amount, 1% name a notice this body never issued
      const cents = i % 50 === 3 ? inst.cents + 100 : inst.cents
      const iuv = i % 100 === 11 ? `99${inst.iuv.slice(2)}` : inst.iuv
      total += cents
      lines.push(
        `<datiSingoliPagamenti><identificativoUnivocoVersamento>${iuv}</identificativoUnivocoVersamento>` +
          `<identificativoUnivocoRiscossione>IUR${String(i + 1).padStart(12, '0')}</identificativoUnivocoRiscossione>` +
          `<indiceDatiSingoloPagamento>1</indiceDatiSingoloPagamento><singoloImportoPagato>${(cents / 100).toFixed(2)}</singoloImportoPagato>` +
          `<codiceEsitoSingoloPagamento>0</codiceEsitoSingoloPagamento><dataEsitoSingoloPagamento>2026-03-02</dataEsitoSingoloPagamento></datiSingoliPagamenti>`,
      )
    }
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<FlussoRiversamento xmlns="http://www.digitpa.gov.it/schemas/2011/Pagamenti/">
<versioneOggetto>1.0</versioneOggetto><identificativoFlusso>2026-03-03ABI03069-BENCH0001</identificativoFlusso>
<dataOraFlusso>2026-03-03T06:00:00</dataOraFlusso><identificativoUnivocoRegolamento>SEPA-BENCH-0001</identificativoUnivocoRegolamento>
<dataRegolamento>2026-03-03</dataRegolamento>
<istitutoMittente><identificativoUnivocoMittente><tipoIdentificativoUnivoco>B</tipoIdentificativoUnivoco><codiceIdentificativoUnivoco>ABI03069</codiceIdentificativoUnivoco></identificativoUnivocoMittente><denominazioneMittente>BANCA DI PROVA SPA</denominazioneMittente></istitutoMittente>
<istitutoRicevente><identificativoUnivocoRicevente><tipoIdentificativoUnivoco>G</tipoIdentificativoUnivoco><codiceIdentificativoUnivoco>${file.fiscalCode}</codiceIdentificativoUnivoco></identificativoUnivocoRicevente><denominazioneRicevente>${file.name}</denominazioneRicevente></istitutoRicevente>
<numeroTotalePagamenti>${LINES}</numeroTotalePagamenti><importoTotalePagamenti>${(total / 100).toFixed(2)}</importoTotalePagamenti>
${lines.join('\n')}
</FlussoRiversamento>
`
    const bytes = new TextEncoder().encode(xml)
    const tenant = (await tenants.get(slug)) as Tenant
    // how much heap an import this size needs (what a server's heap limit must leave room for)
    const heapBefore = process.memoryUsage().heapUsed
    let heapPeak = heapBefore
    const sampler = setInterval(() => {
      heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed)
    }, 50)
    // where the time goes: the import's own steps (parsed, classified, settled, lines recorded, committed)
    const phases: Record<string, number> = {}
    let last = performance.now()
    const run = await timed(() =>
      importFile(db.sql, tenant, {
        bytes,
        fileName: 'flusso-bench.xml',
        source: 'upload',
        actor: { accountId: null, name: 'benchmark' },
        step: (name) => {
          const now = performance.now()
          phases[name] = Math.round(now - last)
          last = now
        },
      }),
    )
    clearInterval(sampler)
    const heapMb = Math.round((heapPeak - heapBefore) / 1024 ** 2)
    const [o] = run.result
    return {
      key: 'reconciliation',
      label: `reconciliation of a ${LINES.toLocaleString('en-US')}-line reporting flow (${(bytes.length / 1024 ** 2).toFixed(1)} MB)`,
      ms: run.ms,
      note: o
        ? `${o.matched} matched, ${o.discrepancies} discrepancies; heap +${heapMb} MB at its peak; ${Object.entries(
            phases,
          )
            .map(([k, ms]) => `${k} ${seconds(ms)}`)
            .join(', ')}`
        : undefined,
      target: verdict(run.ms, 10_000),
      counts: o
        ? { lines: o.lines, matched: o.matched, discrepancies: o.discrepancies, heapPeakMb: heapMb, ...phases }
        : undefined,
    }
  } finally {
    await dropTenant(db, slug)
  }
}
