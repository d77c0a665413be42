// npm run pagopa:sim -- <notice code> <creditor fiscal code>   (or the QR text "PAGOPA|002|<notice>|<cf>|<cents>")
// Pays a notice "at the tobacconist": plays the pagoPA node against a running Sportello (verify → get payment →
// send receipt). Options: --url http://localhost:3000 · --key <PAGOPA_NODE_KEY> (default: the variable) ·
// --v2 (paGetPaymentV2 / paSendRTV2) · --dry-run (verify and get payment only) · --amount 12.34 (pay another
// amount: the office sees the receipt flagged) · --verbose (print the XML exchanged) · --platform http://localhost:3900
// (after paying, publish the PSP's reporting flow of this payment on the platform simulator, npm run pagopa:platform,
// for the reconciliation job to read). Every message exchanged is checked against paForNode.xsd with libxml2.
import { parseArgs } from 'node:util'
import { payNotice } from '../features/pagopa/simulator.ts'
import { parseQrPayload } from '../platform/it/pagopa.ts'

const usage = `usage: npm run pagopa:sim -- <notice code> <creditor fiscal code> [--url URL] [--key KEY] [--v2] [--dry-run] [--amount 12.34] [--platform URL] [--verbose]
       npm run pagopa:sim -- "PAGOPA|002|<notice code>|<creditor fiscal code>|<cents>"`

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string', default: process.env.BASE_URL ?? `http://localhost:${process.env.PORT ?? 3000}` },
    key: { type: 'string', default: process.env.PAGOPA_NODE_KEY?.split(',')[0] },
    v2: { type: 'boolean', default: false },
    'dry-run': { type: 'boolean', default: false },
    amount: { type: 'string' },
    verbose: { type: 'boolean', default: false },
    platform: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
})

if (values.help || positionals.length === 0) {
  console.log(usage)
  process.exit(values.help ? 0 : 64)
}

let notice = (positionals[0] ?? '').replace(/\s+/g, '')
let fiscalCode = (positionals[1] ?? '').trim()
const qr = parseQrPayload(positionals[0] ?? '')
if (qr) {
  notice = qr.noticeCode
  fiscalCode = qr.creditorFiscalCode
}
if (!/^[0-9]{18}$/.test(notice) || !/^[0-9]{11}$/.test(fiscalCode)) {
  console.error(
    `${usage}\n\nThe notice code has 18 digits, the creditor's fiscal code 11 (both are on the printed notice).`,
  )
  process.exit(64)
}
if (!values.key) {
  console.error('No key: start Sportello with PAGOPA_NODE_KEY=… and pass the same value (--key or the variable).')
  process.exit(64)
}
let amountCents: number | undefined
if (values.amount !== undefined) {
  const m = /^(\d+)(?:[.,](\d{1,2}))?$/.exec(values.amount)
  if (!m) {
    console.error('--amount is in euros, e.g. 12.34')
    process.exit(64)
  }
  amountCents = Number(m[1]) * 100 + Number((m[2] ?? '0').padEnd(2, '0'))
}

const result = await payNotice({
  url: `${values.url.replace(/\/+$/, '')}/pagopa/nodo`,
  key: values.key,
  noticeNumber: notice,
  fiscalCode,
  version: values.v2 ? 2 : 1,
  dryRun: values['dry-run'],
  amountCents,
  // the problems are printed below, step by step
  strict: false,
}).catch((err: unknown) => {
  console.error(`Sportello did not answer at ${values.url}: ${err instanceof Error ? err.message : String(err)}`)
  process.exit(69)
})

for (const [i, s] of result.steps.entries()) {
  const detail = s.faultCode ? `${s.faultCode}${s.description ? ` – ${s.description}` : ''}` : ''
  console.log(`${i + 1}. ${s.operation.padEnd(22)} HTTP ${s.httpStatus}  ${s.outcome}${detail ? `  ${detail}` : ''}`)
  for (const p of s.problems) console.log(`   NOT AS pagoPA's SCHEMA: ${p}`)
  if (values.verbose) console.log(`${s.request}\n${s.xml}`)
}
if (result.steps.some((s) => s.problems.length)) process.exitCode = 1
if (result.paid && values.platform) {
  // the PSP reports the body's own transfer (the others go to their bodies' flows)
  const data = result.steps[1]?.answer?.children.find((c) => c.local === 'data')
  const transfers = data?.children.find((c) => c.local === 'transferList')?.children ?? []
  const amountOf = (t: (typeof transfers)[number]) =>
    Math.round(Number(t.children.find((c) => c.local === 'transferAmount')?.text ?? 0) * 100)
  const others = transfers.slice(1).reduce((sum, t) => sum + amountOf(t), 0)
  const res = await fetch(`${values.platform.replace(/\/+$/, '')}/_sim/flows`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      organizationId: fiscalCode,
      payments: [{ iuv: notice.slice(1), iur: result.receiptId, amountCents: (result.amountCents ?? 0) - others }],
    }),
  }).catch((err: unknown) => err as Error)
  if (res instanceof Error || !res.ok)
    console.error(
      `The platform simulator at ${values.platform} did not take the flow: ${res instanceof Error ? res.message : res.status}`,
    )
  else console.log(`Reporting flow ${((await res.json()) as { fdr: string }).fdr} published on the platform simulator.`)
}
if (result.paid) {
  console.log(
    `\nPaid: notice ${notice}, € ${((result.amountCents ?? 0) / 100).toFixed(2)}, receipt ${result.receiptId}.` +
      '\nThe citizen now sees it paid in the archive (/archivio); the receipt email is at /dev/mail in the demo.',
  )
} else if (values['dry-run'] && result.steps.length === 2 && result.steps[1]?.outcome === 'OK') {
  console.log('\nDry run: the notice is payable; nothing was paid.')
} else {
  console.log('\nNot paid.')
  process.exitCode = 1
}
