// Due-date reminders: each offset once, never twice across reruns, concurrent runs and two schedulers; none
// for paid, cancelled, in-progress installments nor to people who turned them off; one email per payer naming
// pupil, tenant, amounts and dates; the "paga ora" link opens the cart with the installments after login; and
// a crash at any step followed by a rerun loses and doubles nothing.
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DocumentInput, issueDocuments } from '../../src/features/debts/issue.ts'
import { LINK_DAYS, linkSecret, signReminderLink } from '../../src/features/reminders/link.ts'
import { applicableOffset, runReminders } from '../../src/features/reminders/service.ts'
import { findJob } from '../../src/jobs/registry.ts'
import { Scheduler } from '../../src/jobs/scheduler.ts'
import { addDays, todayRome } from '../../src/platform/dates.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { createAccount, deleteAccounts, randomCf, TEST_PASSWORD, type TestAccount } from '../helpers/accounts.ts'
import { testApp } from '../helpers/app.ts'
import { Client } from '../helpers/client.ts'
import { createTestTenant, dropTestTenant, openTestDb } from '../helpers/db.ts'

let db: Db
let tenant: Tenant
let app: ReturnType<typeof testApp>['app']
let deps: ReturnType<typeof testApp>['deps']
const accounts: TestAccount[] = []
const DAY = '2031-03-10'

beforeAll(async () => {
  db = await openTestDb()
  tenant = await createTestTenant(db, {
    settings: { cutoff: '09:15', commission: { type: 'none' }, reminderDays: [-7, 0, 7], lowBalanceMeals: 3 },
  })
  ;({ app, deps } = testApp(db))
})

afterAll(async () => {
  await db.sql`delete from platform.outbox where dedupe_key like ${`reminder:${tenant.id}:%`}`
  await db.sql`delete from platform.job_runs where job like 'test-%'`
  await deleteAccounts(db, accounts)
  await dropTestTenant(db, tenant)
  await db.close()
})

const opts = (today: string) => ({
  today,
  baseUrl: 'http://localhost:3000',
  linkSecret: linkSecret(deps.config.sessionSecret),
})

interface Family {
  payerId: number
  cf: string
  pupilId: number
}

/** A payer (with or without an email of their own) and a pupil they hold. */
async function family(opts: { email?: string | null; pupil?: string; cf?: string } = {}): Promise<Family> {
  const cf = opts.cf ?? randomCf()
  return withTenant(db.sql, tenant, async (tx) => {
    const [p] = await tx<{ id: number }[]>`
      insert into payers (codice_fiscale, given_name, family_name, email)
      values (${cf}, 'Anna', 'Esposito', ${opts.email ?? null}) returning id`
    const [pu] = await tx<{ id: number }[]>`
      insert into pupils (given_name, family_name) values (${opts.pupil ?? 'Giulia'}, 'Esposito') returning id`
    await tx`insert into pupil_payers (pupil_id, payer_id, holder) values (${pu?.id as number}, ${p?.id as number}, true)`
    return { payerId: p?.id as number, cf, pupilId: pu?.id as number }
  })
}

/** One document per call, with installments due on the given dates; returns their ids in order. */
async function dues(f: Family, dates: string[], amount = 6400, description = 'Mensa scolastica'): Promise<number[]> {
  return withTenant(db.sql, tenant, async (tx) => {
    const [svc] = await tx<{ id: number }[]>`select id from services where code = 'mensa'`
    const doc: DocumentInput = {
      year: 2031,
      issueDate: '2031-01-10',
      serviceId: svc?.id as number,
      payerId: f.payerId,
      pupilId: f.pupilId,
      description,
      installments: dates.map((d) => ({ dueDate: d, amountCents: amount })),
    }
    const r = await issueDocuments(tx, tenant, [doc])
    return r.installments.map((i) => i.id)
  })
}

async function sent(ids: number[]) {
  const rows = await withTenant(
    db.sql,
    tenant,
    (tx) => tx<{ installment_id: number; offset_days: number; outcome: string; outbox_key: string | null }[]>`
      select installment_id, offset_days, outcome, outbox_key from reminders_sent
      where installment_id = any(${ids}) order by installment_id, offset_days`,
  )
  return rows
}

async function mailsTo(address: string) {
  return db.sql<{ id: number; subject: string; text_body: string; dedupe_key: string }[]>`
    select id, subject, text_body, dedupe_key from platform.outbox
    where to_address = ${address} and dedupe_key like ${`reminder:${tenant.id}:%`} order by id`
}

describe('which reminder is due', () => {
  it('takes the latest offset whose day has come, within the catch-up week', () => {
    const o = [-7, 0, 7]
    expect(applicableOffset(o, '2031-03-20', '2031-03-12')).toBeNull()
    expect(applicableOffset(o, '2031-03-20', '2031-03-13')).toBe(-7)
    expect(applicableOffset(o, '2031-03-20', '2031-03-19')).toBe(-7)
    expect(applicableOffset(o, '2031-03-20', '2031-03-20')).toBe(0)
    expect(applicableOffset(o, '2031-03-20', '2031-03-27')).toBe(7)
    expect(applicableOffset(o, '2031-03-20', '2031-04-02')).toBe(7)
    expect(applicableOffset(o, '2031-03-20', '2031-04-03')).toBeNull()
  })
})

describe('reminders', () => {
  it('sends each offset once, on its day or late, and nothing twice on reruns', async () => {
    const account = await createAccount(db)
    accounts.push(account)
    const f = await family({ cf: account.codiceFiscale })
    const [id] = (await dues(f, [DAY])) as [number]
    const timeline: [string, number | null][] = [
      [addDays(DAY, -8), null],
      [addDays(DAY, -7), -7],
      [addDays(DAY, -7), null],
      [addDays(DAY, -3), null],
      [DAY, 0],
      [addDays(DAY, 1), null],
      // the job was down on the day: it sends the +7 reminder two days late, once
      [addDays(DAY, 9), 7],
      [addDays(DAY, 10), null],
    ]
    for (const [today, offset] of timeline) {
      const r = await runReminders(db.sql, tenant, opts(today))
      expect(r.reminders, `run of ${today}`).toBe(offset === null ? 0 : 1)
    }
    expect((await sent([id])).map((s) => [s.offset_days, s.outcome])).toEqual([
      [-7, 'queued'],
      [0, 'queued'],
      [7, 'queued'],
    ])
    const mails = await mailsTo(account.email)
    expect(mails).toHaveLength(3)
    expect(mails[0]?.text_body).toContain('tra 7 giorni')
    expect(mails[1]?.text_body).toContain('scade oggi')
    expect(mails[2]?.text_body).toContain('da 9 giorni')
  })

  it('groups a payer’s installments in one email naming pupil, tenant, amounts, dates and a pay-now link', async () => {
    const account = await createAccount(db, { givenName: 'Carla', familyName: 'Neri' })
    accounts.push(account)
    const f = await family({ cf: account.codiceFiscale, pupil: 'Tommaso' })
    const day = '2031-05-12'
    await dues(f, [addDays(day, 7), addDays(day, 37)], 6400, 'Mensa aprile–giugno')
    await dues(f, [day], 15460, 'Trasporto scolastico')
    await dues(f, [addDays(day, -7)], 3500, 'Nido, marzo')
    const r = await runReminders(db.sql, tenant, opts(day))
    expect(r).toMatchObject({ emails: 1, reminders: 3 })
    const [mail] = await mailsTo(account.email)
    expect(mail?.subject).toBe(`Promemoria di pagamento – ${tenant.name}`)
    const text = mail?.text_body as string
    expect(text).toContain(
      'Tommaso Esposito – Mensa aprile–giugno, rata 1: 64,00\u00a0€, scade il 19/05/2031 (tra 7 giorni)',
    )
    expect(text).toContain('Trasporto scolastico: 154,60\u00a0€, scade oggi, 12/05/2031')
    expect(text).toContain('Nido, marzo: 35,00\u00a0€, scaduta il 05/05/2031 (da 7 giorni)')
    expect(text).toContain('Totale: 253,60\u00a0€')
    expect(text).toContain(tenant.name)
    expect(text).toMatch(/http:\/\/localhost:3000\/carrello\/promemoria\/[A-Za-z0-9_.-]+/)
    expect(text).not.toContain('rata 2')
  })

  it('skips paid, cancelled and in-progress installments, and people who turned reminders off', async () => {
    const off = await createAccount(db)
    accounts.push(off)
    await db.sql`update platform.accounts set reminders = false where id = ${off.id}`
    const on = await createAccount(db)
    accounts.push(on)
    const day = '2031-06-10'
    const fOff = await family({ cf: off.codiceFiscale, email: 'ufficio-ha-questo@example.it' })
    const [optedOut] = (await dues(fOff, [day])) as [number]
    const fOn = await family({ cf: on.codiceFiscale })
    const [paid, cancelled, inProgress, open] = (await Promise.all([
      dues(fOn, [day]),
      dues(fOn, [day]),
      dues(fOn, [day]),
      dues(fOn, [day]),
    ]).then((x) => x.flat())) as [number, number, number, number]
    await withTenant(db.sql, tenant, async (tx) => {
      await tx`update installments set status = 'pagato' where id = ${paid}`
      await tx`update documents set cancelled_at = now() where id = (select document_id from installments where id = ${cancelled})`
      await tx`update installments set status = 'annullato' where id = ${cancelled}`
      await tx`update installments set status = 'in_corso' where id = ${inProgress}`
    })
    const r = await runReminders(db.sql, tenant, opts(day))
    expect(r).toMatchObject({ emails: 1, reminders: 2, optedOut: 1 })
    expect((await sent([paid, cancelled, inProgress])).length).toBe(0)
    expect((await sent([open]))[0]?.outcome).toBe('queued')
    expect((await sent([optedOut]))[0]?.outcome).toBe('opted_out')
    expect(await mailsTo(off.email)).toHaveLength(0)
    expect(await mailsTo('ufficio-ha-questo@example.it')).toHaveLength(0)
    const [mail] = await mailsTo(on.email)
    expect(mail?.text_body.match(/Codice avviso/g)).toHaveLength(1)
  })

  it('writes to the holder only: at the account’s confirmed address, else the payer’s; in the account’s language', async () => {
    const day = '2031-07-14'
    // no account: the address the office recorded
    const noAccount = await family({ email: `senza.account.${tenant.id}@example.it` })
    await dues(noAccount, [day])
    // no address anywhere: recorded, not sent
    const nowhere = await family({ email: null })
    const [lost] = (await dues(nowhere, [day])) as [number]
    // an English-speaking account
    const english = await createAccount(db)
    accounts.push(english)
    await db.sql`update platform.accounts set lang = 'en' where id = ${english.id}`
    const fEn = await family({ cf: english.codiceFiscale, email: 'vecchio@example.it' })
    await dues(fEn, [day])
    // a second parent linked to the same pupil, not the holder: no email of their own
    const second = await createAccount(db)
    accounts.push(second)
    await withTenant(db.sql, tenant, async (tx) => {
      const [p] = await tx<{ id: number }[]>`
        insert into payers (codice_fiscale, given_name, family_name) values (${second.codiceFiscale}, 'Paolo', 'Esposito') returning id`
      await tx`insert into pupil_payers (pupil_id, payer_id, holder) values (${fEn.pupilId}, ${p?.id as number}, false)`
    })
    const r = await runReminders(db.sql, tenant, opts(day))
    expect(r).toMatchObject({ emails: 2, reminders: 3, noAddress: 1 })
    expect(await mailsTo(`senza.account.${tenant.id}@example.it`)).toHaveLength(1)
    expect((await sent([lost]))[0]?.outcome).toBe('no_address')
    const [en] = await mailsTo(english.email)
    expect(en?.subject).toBe(`Payment reminder – ${tenant.name}`)
    expect(en?.text_body).toContain('due today')
    expect(await mailsTo('vecchio@example.it')).toHaveLength(0)
    expect(await mailsTo(second.email)).toHaveLength(0)
  })

  it('concurrent runs decide each reminder once', async () => {
    const day = '2031-08-11'
    const fams = await Promise.all(
      Array.from({ length: 6 }, (_, i) => family({ email: `conc${i}.${tenant.id}@example.it` })),
    )
    const ids = (await Promise.all(fams.map((f) => dues(f, [day, addDays(day, 7)])))).flat()
    const results = await Promise.all([1, 2, 3].map(() => runReminders(db.sql, tenant, { ...opts(day), batchSize: 2 })))
    expect(results.reduce((s, r) => s + r.reminders, 0)).toBe(12)
    expect(results.reduce((s, r) => s + r.emails, 0)).toBe(6)
    const rows = await sent(ids)
    expect(rows).toHaveLength(12)
    for (let i = 0; i < 6; i++) expect(await mailsTo(`conc${i}.${tenant.id}@example.it`)).toHaveLength(1)
  })
})

describe('two app instances', () => {
  it('two schedulers on one database run the reminders job once per slot and send each reminder once', async () => {
    const today = todayRome()
    const f = await family({ email: `due.istanze.${tenant.id}@example.it` })
    const ids = await dues(f, [today, addDays(today, 7)])
    const job = { ...(findJob('reminders') as NonNullable<ReturnType<typeof findJob>>), name: 'test-reminders' }
    const make = (instance: string) =>
      new Scheduler(deps, {
        jobs: [job],
        schedules: { 'test-reminders': '* * * * * *' },
        instance,
        onlyTenants: [tenant.slug],
      })
    const a = make('istanza-a')
    const b = make('istanza-b')
    a.start()
    b.start()
    await new Promise((r) => setTimeout(r, 3200))
    await Promise.all([a.stop(), b.stop()])
    const runs = await db.sql<{ slot: Date; instance: string; outcome: string }[]>`
      select slot, instance, outcome from platform.job_runs where job = 'test-reminders' order by slot`
    expect(runs.length).toBeGreaterThanOrEqual(2)
    expect(new Set(runs.map((r) => r.slot.getTime())).size).toBe(runs.length)
    expect(runs.map((r) => r.outcome)).toEqual(runs.map(() => 'succeeded'))
    expect(await sent(ids)).toHaveLength(2)
    expect(await mailsTo(`due.istanze.${tenant.id}@example.it`)).toHaveLength(1)
  })
})

describe('the pay-now link', () => {
  it('signed out: login, then the cart holds the installments; tampered, expired and foreign links are refused calmly', async () => {
    const account = await createAccount(db)
    accounts.push(account)
    const f = await family({ cf: account.codiceFiscale })
    const day = '2031-09-15'
    const ids = await dues(f, [day, addDays(day, 30)], 6400, 'Mensa settembre')
    await dues(f, [day], 2200, 'Trasporto settembre')
    await runReminders(db.sql, tenant, opts(day))
    const [mail] = await mailsTo(account.email)
    const link = new URL(
      /http:\/\/localhost:3000\/carrello\/promemoria\/\S+/.exec(mail?.text_body ?? '')?.[0] as string,
    ).pathname
    const c = new Client(app)
    const first = await c.get(link)
    expect(first.status).toBe(303)
    const login = first.headers.get('location') as string
    expect(login).toBe(`/accesso?torna=${encodeURIComponent(link)}`)
    await c.get(login)
    const signIn = await c.post('/accesso', { email: account.email, password: TEST_PASSWORD, torna: link })
    expect(signIn.headers.get('location')).toBe(link)
    const add = await c.get(link)
    expect(add.status).toBe(303)
    expect(add.headers.get('location')).toBe('/carrello')
    const cart = await (await c.get('/carrello')).text()
    expect(cart).toContain('Mensa settembre')
    expect(cart).toContain('Trasporto settembre')
    expect(cart).toContain('86,00') // 64,00 + 22,00
    const [n] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from platform.cart_items where account_id = ${account.id}`
    expect(n?.n).toBe(2)
    expect(ids).toHaveLength(2)
    // again: nothing added twice
    await c.get(link)
    const [n2] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from platform.cart_items where account_id = ${account.id}`
    expect(n2?.n).toBe(2)

    const secret = linkSecret(deps.config.sessionSecret)
    const token = link.split('/').pop() as string
    const tampered = `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`
    expect((await c.get(`/carrello/promemoria/${tampered}`)).status).toBe(404)
    const expired = signReminderLink(secret, { tenantId: tenant.id, installmentIds: ids }, new Date(Date.now() - 1000))
    const gone = await c.get(`/carrello/promemoria/${expired}`)
    expect(gone.status).toBe(410)
    expect(await gone.text()).toContain('è scaduto')
    // someone else's link adds nothing to this cart
    const other = await family()
    const [theirs] = (await dues(other, [day])) as [number]
    const foreign = signReminderLink(
      secret,
      { tenantId: tenant.id, installmentIds: [theirs] },
      new Date(Date.now() + LINK_DAYS * 86_400_000),
    )
    const refused = await c.get(`/carrello/promemoria/${foreign}`)
    expect(refused.status).toBe(200)
    expect(await refused.text()).toContain('Nessuna delle rate')
    const [n3] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from platform.cart_items where account_id = ${account.id}`
    expect(n3?.n).toBe(2)
  })
})

describe('crash and rerun', () => {
  it('a crash at any step, then a rerun: every reminder decided once, each in exactly one email', async () => {
    const steps = ['listed', 'recorded', 'queued', 'committed']
    let round = 0
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.integer({ min: -12, max: 12 }), { minLength: 1, maxLength: 3 }), {
          minLength: 1,
          maxLength: 5,
        }),
        fc.constantFrom(...steps),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        async (payerDues, crashAt, crashOnCall, batchSize) => {
          round++
          const day = addDays('2032-01-10', round * 40)
          const expected = new Map<number, number>()
          const fams: Family[] = []
          let payersWithReminders = 0
          const allIds: number[] = []
          for (const offsets of payerDues) {
            const f = await family({ email: `crash${round}.${fams.length}.${tenant.id}@example.it` })
            fams.push(f)
            const ids = await dues(
              f,
              offsets.map((o) => addDays(day, o)),
            )
            allIds.push(...ids)
            let any = false
            ids.forEach((id, i) => {
              const o = applicableOffset([-7, 0, 7], addDays(day, offsets[i] as number), day)
              if (o !== null) {
                expected.set(id, o)
                any = true
              }
            })
            if (any) payersWithReminders++
          }
          let calls = 0
          const crashing = {
            ...opts(day),
            batchSize,
            step: (name: string) => {
              if (name === crashAt && ++calls === crashOnCall) throw new Error(`crash at ${name}`)
            },
          }
          await runReminders(db.sql, tenant, crashing).catch((err: Error) => {
            if (!err.message.startsWith('crash at')) throw err
          })
          await runReminders(db.sql, tenant, { ...opts(day), batchSize })
          await runReminders(db.sql, tenant, { ...opts(day), batchSize })
          const rows = await sent(allIds)
          expect(new Map(rows.map((r) => [r.installment_id, r.offset_days]))).toEqual(expected)
          // each reminder's email exists exactly once, and each payer got at most one email for the day
          const keys = [...new Set(rows.map((r) => r.outbox_key))]
          const mails = keys.length
            ? await db.sql<{ dedupe_key: string; to_address: string }[]>`
                select dedupe_key, to_address from platform.outbox where dedupe_key = any(${keys as string[]})`
            : []
          expect(mails.length).toBe(keys.length)
          expect(new Set(mails.map((m) => m.to_address)).size).toBe(mails.length)
          expect(mails.length).toBe(payersWithReminders)
        },
      ),
      { numRuns: 25 },
    )
  })
})
