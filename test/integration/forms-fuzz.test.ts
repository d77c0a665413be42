// Generated submissions against every form the application shows (found by crawling its pages as a visitor,
// a citizen, an office administrator and a platform operator): never a 5xx, whatever is typed, and never a
// partial write: a submission answered with a rejection (any 4xx) commits no change to any row of the tenant's
// schema or of the platform tables (test/helpers/snapshot.ts: row triggers log every committed change, and the log
// is read after every submission).
//
// Field values are the form's own (options, prefilled and hidden values), plausible ones guessed from the
// field's name (a valid codice fiscale, a date, an amount) or anything at all, so many submissions get past
// validation and write. Three rounds: each crawls again, finding the forms of what the accepted submissions of
// the previous one created (edit, cancel, delete, decide) and of the pages they answered with (check pages).
// FUZZ_SUBMISSIONS (default 10,000) is the total; FUZZ_SEED replays a run (the seed is printed);
// FUZZ_VERBOSE=1 prints the answers per form and the POST routes no form led to.
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { importFile } from '../../src/features/reconciliation/service.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import { type Tenant, TenantRegistry } from '../../src/platform/tenancy.ts'
import { createAccount, deleteAccounts, signedIn, type TestAccount } from '../helpers/accounts.ts'
import { addPupil, enroll, setupCanteen } from '../helpers/canteen.ts'
import { Client } from '../helpers/client.ts'
import { dropTestTenant, testTarget } from '../helpers/db.ts'
import { fdrXml } from '../helpers/flows.ts'
import {
  crawl,
  type Form,
  fieldValue,
  fileValue,
  formsIn,
  partitaIva,
  shape,
  type UploadFile,
  validCf,
} from '../helpers/fuzz.ts'
import { givePayer, issue } from '../helpers/payments.ts'
import { changeWatcher } from '../helpers/snapshot.ts'
import { type App, world } from '../helpers/world.ts'

const TOTAL = Number(process.env.FUZZ_SUBMISSIONS ?? 10_000)
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31))
// forms whose every submission costs a password hash: fewer runs, same coverage of shapes
const SLOW = ['/accesso', '/registrazione', '/profilo/password', '/profilo/elimina', '/reimposta-password/']
const PER_SLOW = 20
// signing out ends the batch's purpose; the mail retry of the jobs page acts on other test files' messages
const SKIPPED_ACTIONS = [/^\/esci/, /^\/piattaforma\/lavori\/posta\//]
// the tag of this run's emails, slugs and onboarding data: recognizable, and removed at the end
const TAG = `r${SEED.toString(36)}`

// served on a port, so the sandbox provider the payment forms call is reachable; submissions go in-process
const w = world({ serve: true, roles: ['cittadino', 'admin', 'operatorePiattaforma'] })
let db: Db
let app: App
let tenant: Tenant
let requestId: number
const accounts: TestAccount[] = []
const known = { cfs: [] as string[], emails: [] as string[] }

beforeAll(async () => {
  ;({ db, app, tenant } = w)
  const { cittadino: citizen, admin, operatorePiattaforma: operator } = w.accounts
  accounts.push(citizen, admin, operator)
  // something of everything, so the pages hold the forms that act on it
  const payer = await givePayer(db, tenant, citizen.codiceFiscale)
  await issue(db, tenant, payer, [1000, 2000])
  await issue(db, tenant, payer, [4500], { service: 'trasporto', description: 'Trasporto scolastico' })
  const canteen = await setupCanteen(db, tenant)
  const pupil = await addPupil(db, tenant, { payerCf: citizen.codiceFiscale })
  await enroll(db, tenant, pupil.pupilId, { classId: canteen.classId, tariffId: canteen.residente })
  await importFile(db.sql, tenant, {
    bytes: new TextEncoder().encode(
      fdrXml({
        flowId: `2031-03-15FUZZ-${TAG}`,
        at: '2031-03-15T08:00:00',
        receiver: tenant.fiscalCode,
        lines: [{ iuv: '09999999999999999', iur: 'IUR-FUZZ-1', amount: 1234 }],
      }),
    ),
    fileName: 'flusso.xml',
    source: 'upload',
    actor: { accountId: null, name: 'sistema' },
  })
  const [req] = await db.admin<{ id: number }[]>`
    insert into platform.onboarding_requests (public_ref, kind, name, fiscal_code, address, pec, email,
      admin_given_name, admin_family_name, admin_codice_fiscale, admin_email, slug)
    values (${`FZ${SEED.toString(36).slice(-2).toUpperCase().padStart(2, '0')}-${TAG.slice(-4).toUpperCase().padStart(4, '0')}`},
      'comune', 'Comune di Fuzz', ${fc.sample(partitaIva, { numRuns: 1, seed: SEED })[0] as string}, 'Piazza 1',
      ${`pec-${TAG}@example.it`}, ${`ente-${TAG}@example.it`}, 'Ada', 'Fuzz',
      ${fc.sample(validCf, { numRuns: 1, seed: SEED })[0] as string}, ${`admin-${TAG}@example.it`}, ${`fz-${TAG}`})
    returning id`
  requestId = (req as { id: number }).id
  known.cfs.push(citizen.codiceFiscale, pupil.payerCf)
  known.emails.push(citizen.email, admin.email)
}, 120_000)

afterAll(async () => {
  // what the run created outside its tenant: the tenant of an approved request, accounts and requests it tagged
  const created = await db.admin<{ slug: string }[]>`
    select t.slug from platform.tenants t join platform.onboarding_requests r on r.tenant_id = t.id where r.id = ${requestId}`
  for (const { slug } of created) {
    const t = await new TenantRegistry(db, 0).get(slug)
    if (t) await dropTestTenant(db, t)
  }
  const like = `%-${TAG}@example.it`
  await db.admin`delete from platform.onboarding_requests where id = ${requestId} or email like ${like} or admin_email like ${like}`
  const ids = accounts.map((a) => a.id)
  await db.admin`delete from platform.sandbox_psp_sessions where payment_id in
    (select id from platform.payments where account_id = any(${ids}))`
  await db.admin`delete from platform.payments where account_id = any(${ids})`
  await db.admin`delete from platform.accounts where email like ${like}`
  await db.admin`delete from platform.outbox where to_address like ${like} or to_address = any(${accounts.map((a) => a.email)})`
})

/** May the crawl visit this path, or a submission go there? Only this run's tenant and request. */
function allowed(path: string): boolean {
  if (/^\/(static|sandbox-psp|pagopa|dev)\b|\.(csv|pdf|png|xml|json|txt|ics)(\?|$)/.test(path)) return false
  if (/^\/(esci|accesso\/spid|accesso\/oidc)/.test(path)) return false
  const t = /^\/t\/([^/?]+)/.exec(path)
  if (t && t[1] !== tenant.slug) return false
  const ente = /^\/piattaforma\/enti\/([^/?]+)/.exec(path)
  if (ente && ente[1] !== tenant.slug) return false
  const req = /^\/piattaforma\/richieste\/(\d+)/.exec(path)
  if (req && Number(req[1]) !== requestId) return false
  return !SKIPPED_ACTIONS.some((re) => re.test(path))
}

interface Clients {
  anonimo: Client
  cittadino: Client
  admin: Client
  operatore: Client
}

async function signIn(): Promise<Clients> {
  const [citizen, admin, operator] = accounts as [TestAccount, TestAccount, TestAccount]
  return {
    anonimo: new Client(app),
    cittadino: await signedIn(app, citizen),
    admin: await signedIn(app, admin),
    operatore: await signedIn(app, operator),
  }
}

/** Every form of every page each client can reach, one per (who, action shape). */
async function discover(clients: Clients): Promise<Form[]> {
  const start = new Set<string>(['/'])
  for (const r of app.routes) {
    if (r.method !== 'GET' || r.path.includes('*')) continue
    const p = r.path.replace(':tenant', tenant.slug)
    if (!p.includes(':')) start.add(p)
  }
  start.add(`/piattaforma/enti/${tenant.slug}`)
  start.add(`/piattaforma/richieste/${requestId}`)
  const forms: Form[] = []
  for (const [who, client] of Object.entries(clients) as [string, Client][]) {
    for (const page of await crawl(client, [...start], allowed, { limit: 300, perShape: 2 }))
      forms.push(...formsIn(page.html, page.path, who).filter((f) => allowed(f.action)))
  }
  return [...new Map(forms.map((f) => [`${f.who} ${shape(f.action)}`, f])).values()]
}

/** Puts back what a previous batch may have changed that would make the next one pointless. */
async function restore(clients: Clients) {
  const admin = accounts[1] as TestAccount
  await db.admin`insert into platform.memberships (account_id, tenant_id, role) values (${admin.id}, ${tenant.id}, 'admin')
    on conflict (account_id, tenant_id) do update set role = 'admin'`
  await db.admin`update platform.tenants set status = 'active' where id = ${tenant.id} and status <> 'active'`
  clients.anonimo = new Client(app)
  const [citizen, , operator] = accounts as [TestAccount, TestAccount, TestAccount]
  if (!clients.cittadino.cookies.get('sid')) clients.cittadino = await signedIn(app, citizen)
  if (!clients.admin.cookies.get('sid')) clients.admin = await signedIn(app, admin)
  if (!clients.operatore.cookies.get('sid')) clients.operatore = await signedIn(app, operator)
}

interface Submission {
  body: Record<string, string | string[]>
  files: Record<string, UploadFile>
  multipart: boolean
}

function submissions(form: Form, runs: number, seed: number): Submission[] {
  const fields = form.fields.filter((f) => f.kind !== 'file')
  const fileFields = form.fields.filter((f) => f.kind === 'file')
  const arb = fc.record({
    values: fc.tuple(...fields.map((f) => fieldValue(f, TAG, known))),
    keepAll: fc.boolean(),
    keep: fc.array(fc.boolean(), { minLength: fields.length, maxLength: fields.length }),
    files: fc.array(fileValue, { minLength: fileFields.length, maxLength: fileFields.length }),
    multipart: fc.integer({ min: 0, max: 9 }),
  })
  return fc.sample(arb, { numRuns: runs, seed }).map((s) => {
    const body: Record<string, string | string[]> = {}
    fields.forEach((f, i) => {
      if (s.keepAll || s.keep[i]) body[f.name] = s.values[i] as string | string[]
    })
    const files: Record<string, UploadFile> = {}
    fileFields.forEach((f, i) => {
      const file = s.files[i]
      if (file) files[f.name] = file
    })
    return { body, files, multipart: form.multipart && s.multipart < 7 }
  })
}

// Not on Citus (npm run test:citus): the change log's row triggers are refused on distributed tables (docs/scaling.md).
describe.skipIf(testTarget().citus)('form fuzzing', () => {
  it('has a watcher that sees a write to the tenant or the platform, and not what it leaves out or rolls back', async () => {
    const [citizen] = accounts as [TestAccount]
    await signedIn(app, citizen)
    const watch = await changeWatcher(db.admin, tenant.schema)
    onTestFinished(() => watch.close())
    {
      // a tenant table, a platform table, another account's row, a row written and put back: seen
      await withTenant(
        db.sql,
        tenant,
        (tx) => tx`update payers set phone = '0577 000000' where codice_fiscale = ${citizen.codiceFiscale}`,
      )
      await db.admin`update platform.accounts set phone = '0577 000000' where id = ${citizen.id}`
      const other = await createAccount(db)
      expect(await watch.changes()).toEqual([
        'platform.accounts INSERT',
        'platform.accounts UPDATE',
        `${tenant.schema}.payers UPDATE`,
      ])
      await db.admin`update platform.accounts set phone = '0577 111111' where id = ${other.id}`
      await db.admin`update platform.accounts set phone = null where id = ${other.id}`
      expect(await watch.changes()).toEqual(['platform.accounts UPDATE'])
      // what is left out: throttling, a session's last use, a value written again as it was, a rolled-back write
      await db.admin`insert into platform.throttle (key, failures) values (${`probe:${TAG}`}, 1)`
      const touched = await db.admin`update platform.sessions set last_seen_at = now() - interval '5 seconds'
        where account_id = ${citizen.id}`
      expect(touched.count).toBeGreaterThan(0)
      await db.admin`update platform.accounts set phone = '0577 000000' where id = ${citizen.id}`
      await db.admin
        .begin(async (tx) => {
          await tx`update platform.accounts set phone = null where id = ${citizen.id}`
          throw new Error('rolled back')
        })
        .catch(() => {})
      expect(await watch.changes()).toEqual([])
      await db.admin`update platform.accounts set phone = null where id = ${citizen.id}`
      await withTenant(
        db.sql,
        tenant,
        (tx) => tx`update payers set phone = null where codice_fiscale = ${citizen.codiceFiscale}`,
      )
      await db.admin`delete from platform.throttle where key = ${`probe:${TAG}`}`
      await deleteAccounts(db, [other])
    }
  })

  it(`answers ${TOTAL} generated submissions without a server error and rejections without a write`, async () => {
    console.log(`form fuzzing: seed ${SEED} (FUZZ_SEED=${SEED} replays this run)`)
    const watch = await changeWatcher(db.admin, tenant.schema)
    onTestFinished(() => watch.close())
    const clients = await signIn()
    const failures: string[] = []
    const partial: string[] = []
    const statuses = new Map<string, Record<number, number>>()
    const stats = { sent: 0, checked: 0, accepted: 0, batches: 0, checkMs: 0, crawlMs: 0 }
    const seenForms = new Map<string, Form>()
    const actions: string[] = []
    const keyOf = (f: Form) => `${f.who} ${shape(f.action)}`
    // forms found on the answer to an accepted submission (a check page, the page redirected to)
    const harvested: Form[] = []
    const harvest = async (client: Client, who: string, res: Response) => {
      let page = ''
      if (res.status === 200) page = res.url || 'risposta'
      const location = res.headers.get('location')
      if (res.status >= 300 && location?.startsWith('/') && allowed(location)) {
        const next = await client.get(location)
        if (next.status !== 200) return
        page = location
      }
      if (!page || !(client.lastHtml && res.status < 400)) return
      for (const f of formsIn(client.lastHtml, page, who))
        if (allowed(f.action) && !seenForms.has(keyOf(f)) && !harvested.some((h) => keyOf(h) === keyOf(f)))
          harvested.push(f)
    }
    /** the tables changed since the last call */
    const changes = async () => {
      const t0 = performance.now()
      const c = await watch.changes()
      stats.checkMs += performance.now() - t0
      return c
    }

    async function fuzz(forms: Form[], budget: number, round: number) {
      const slow = forms.filter((f) => SLOW.some((s) => f.action.startsWith(s)))
      const fast = forms.filter((f) => !slow.includes(f))
      const perFast = Math.max(10, Math.ceil((budget - PER_SLOW * slow.length) / Math.max(1, fast.length)))
      for (const [n, form] of forms.entries()) {
        const key = keyOf(form)
        actions.push(form.action)
        await restore(clients)
        const client = clients[form.who as keyof Clients]
        // a harvested form's page is the answer it was found on: the CSRF token of any page will do
        await client.get(form.page.startsWith('/') ? form.page : '/')
        const csrf = client.csrf()
        const batch = submissions(form, slow.includes(form) ? PER_SLOW : perFast, SEED + round * 1000 + n)
        stats.batches++
        await changes() // what restoring and the page's GET did is not the batch's
        const seen = statuses.get(key) ?? {}
        statuses.set(key, seen)
        for (const s of batch) {
          const res = s.multipart
            ? await client.postMultipart(form.action, s.body, s.files, csrf)
            : await client.post(form.action, s.body, csrf)
          stats.sent++
          seen[res.status] = (seen[res.status] ?? 0) + 1
          const what = `${form.who} ${form.action} ${JSON.stringify(s.body).slice(0, 300)}`
          if (res.status >= 500) failures.push(`${what}: ${res.status}`)
          const changed = await changes()
          if (res.status >= 400) {
            // a rejection, or a failure: either way nothing of it may stay
            stats.checked++
            if (changed.length) partial.push(`${what}: ${res.status} but ${changed.join(', ')}`)
          } else {
            stats.accepted++
            await harvest(client, form.who, res)
            await changes() // the GET of the answer's page
          }
          // a signed-out client would only test the login redirect from here on
          if (form.who !== 'anonimo' && !client.cookies.get('sid')) break
        }
      }
    }

    // three rounds: each finds the forms of what the previous one created, and the forms of its answers
    const ROUNDS = 3
    const found: number[] = []
    for (let round = 1; round <= ROUNDS; round++) {
      await restore(clients)
      const t0 = performance.now()
      const forms = [...(await discover(clients)), ...harvested.splice(0)]
      stats.crawlMs += performance.now() - t0
      const unique = [...new Map(forms.map((f) => [keyOf(f), f])).values()].filter(
        // a password hash per submission: the slow forms get one batch, in the round that finds them
        (f) => !(seenForms.has(keyOf(f)) && SLOW.some((s) => f.action.startsWith(s))),
      )
      for (const f of unique) seenForms.set(keyOf(f), f)
      found.push(unique.length)
      if (round === 1) expect(unique.length).toBeGreaterThan(30)
      await fuzz(unique, Math.ceil((TOTAL - stats.sent) / (ROUNDS - round + 1)), round)
    }
    // a batch cut short (a submission signed its own client out) leaves the total a little short: top it up
    // with batches of ten on the forms already seen (not the slow ones)
    for (let extra = 1; stats.sent < TOTAL && extra <= 3; extra++) {
      await restore(clients)
      const known = [...seenForms.values()].filter((f) => !SLOW.some((s) => f.action.startsWith(s)))
      await fuzz(known.slice(0, Math.ceil((TOTAL - stats.sent) / 10)), TOTAL - stats.sent, ROUNDS + extra)
    }

    const missed = app.routes
      .filter((r) => r.method === 'POST')
      .map((r) => r.path.replace(':tenant', tenant.slug))
      .filter((p) => !actions.some((a) => matches(p, a)))
    console.log(
      `form fuzzing: ${seenForms.size} forms (per round ${found.join(', ')}); ${stats.sent} submissions, ` +
        `${stats.accepted} accepted, ${stats.checked} rejections checked for a write; ` +
        `${Math.round(stats.checkMs / 1000)} s reading the change log, ${Math.round(stats.crawlMs / 1000)} s crawling`,
    )
    if (process.env.FUZZ_VERBOSE) {
      for (const [k, v] of statuses) console.log(k, JSON.stringify(v))
      console.log(`POST routes with no form found:\n  ${[...new Set(missed)].join('\n  ')}`)
    }
    expect(failures.slice(0, 20)).toEqual([])
    expect(partial.slice(0, 20)).toEqual([])
    expect(stats.sent).toBeGreaterThanOrEqual(TOTAL)
    expect(stats.checked).toBeGreaterThanOrEqual(Math.min(1000, stats.sent / 4))
  }, 900_000)
})

/** Does a route pattern (":id{[0-9]+}") match an action? */
function matches(route: string, action: string): boolean {
  const re = route
    .split('/')
    .map((seg) => (seg.startsWith(':') ? '[^/]+' : seg.replace(/[.*+?^$()|[\]{}\\]/g, '\\$&')))
    .join('/')
  return new RegExp(`^${re}$`).test(action.split('?')[0] as string)
}
