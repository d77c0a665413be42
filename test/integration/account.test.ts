// Registration, confirmation, login, sessions, CSRF, throttling, reset and change of password, profile.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Config } from '../../src/config.ts'
import type { Db } from '../../src/platform/db.ts'
import { drainOutbox } from '../../src/platform/mail.ts'
import { taggedCf } from '../helpers/accounts.ts'
import { Client } from '../helpers/client.ts'
import { expectValidHtml } from '../helpers/html.ts'
import { linkIn } from '../helpers/smtp.ts'
import { type App, type World, world } from '../helpers/world.ts'

const w = world({ tenant: false, smtp: true })
let db: Db
let app: App
let config: Config
let smtp: World['smtp']
const run = Math.random().toString(36).slice(2, 8)
const PASSWORD = 'una frase lunga e sicura'

/** A fresh valid codice fiscale per call, so test files never collide. */
const freshCf = () => taggedCf('TST')
const email = (who: string) => `${who}.${run}@example.it`

async function mails() {
  await drainOutbox(db.sql, config, 500, `%.${run}@example.it`)
}

async function registerAndConfirm(who: string, codiceFiscale = freshCf()) {
  const c = new Client(app)
  const res = await c.submit('/registrazione', {
    givenName: 'Anna',
    familyName: 'Test',
    codiceFiscale,
    email: email(who),
    password: PASSWORD,
    passwordConfirm: PASSWORD,
    terms: 'si',
  })
  expect(res.status).toBe(200)
  await mails()
  const msg = smtp.to(email(who)).at(-1)
  expect(msg?.subject).toBe('Conferma il tuo indirizzo email')
  const confirm = await c.get(linkIn(msg?.text ?? '', '/conferma-email/'))
  expect(confirm.status).toBe(200)
  return { client: c, codiceFiscale }
}

async function login(who: string, password = PASSWORD) {
  const c = new Client(app)
  const res = await c.submit('/accesso', { email: email(who), password })
  return { client: c, res }
}

beforeAll(() => {
  ;({ db, app, smtp } = w)
  config = w.deps.config
})

afterAll(async () => {
  await db.sql`delete from platform.accounts where email like ${`%.${run}@example.it`}`
})

beforeEach(async () => {
  await db.sql`delete from platform.throttle`
})

describe('registration', () => {
  it('refuses bad input with an error summary linked to the fields, keeps the input, saves nothing', async () => {
    const c = new Client(app)
    await c.get('/registrazione')
    const res = await c.post('/registrazione', {
      givenName: 'Anna',
      familyName: '',
      codiceFiscale: 'RSSMRA80A01I726X',
      email: 'non-una-email',
      password: 'corta',
      passwordConfirm: 'diversa',
    })
    expect(res.status).toBe(422)
    const html = await res.text()
    expect(html).toContain('<title>Errore: Registrati – Sportello</title>')
    expect(html).toContain('C&#39;è un problema')
    for (const id of ['familyName', 'codiceFiscale', 'email', 'password', 'passwordConfirm', 'terms']) {
      expect(html).toContain(`href="#${id}"`)
      expect(html).toContain(`id="${id}"`)
    }
    expect(html).toContain('Il codice fiscale non è valido')
    expect(html).toContain('value="Anna"')
    expect(html).toContain('value="RSSMRA80A01I726X"')
    expect(html).not.toContain('value="corta"')
    expect(html).toContain('aria-describedby="codiceFiscale-hint codiceFiscale-error"')
    await expectValidHtml(html)
    const [row] = await db.sql<
      { n: number }[]
    >`select count(*)::int as n from platform.accounts where email = 'non-una-email'`
    expect(row?.n).toBe(0)
  })

  it('refuses a common password and a short one', async () => {
    const c = new Client(app)
    for (const [password, message] of [
      ['passwordpassword', 'troppo comune'],
      ['abcabcabcabc', 'troppo comune'],
      ['undicicarat', 'almeno 12'],
    ] as const) {
      await c.get('/registrazione')
      const res = await c.post('/registrazione', { password, passwordConfirm: password })
      expect(await res.text()).toContain(message)
    }
  })

  it('registers, mails a single-use link that confirms the address, and refuses it when replayed or expired', async () => {
    const cfA = freshCf()
    const c = new Client(app)
    const res = await c.submit('/registrazione', {
      givenName: 'Anna',
      familyName: "D'Amico",
      codiceFiscale: cfA.toLowerCase(),
      email: email('anna').toUpperCase(),
      password: PASSWORD,
      passwordConfirm: PASSWORD,
      terms: 'si',
    })
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('Controlla la tua email')
    const [acc] = await db.sql<{ codice_fiscale: string; email: string; confirmed: boolean; password_hash: string }[]>`
      select codice_fiscale, email, email_confirmed_at is not null as confirmed, password_hash from platform.accounts
      where email = ${email('anna')}`
    expect(acc?.codice_fiscale).toBe(cfA)
    expect(acc?.confirmed).toBe(false)
    expect(acc?.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/)
    await mails()
    const msg = smtp.to(email('anna')).at(-1)
    expect(msg?.text).toContain('/conferma-email/')
    expect(msg?.html).toContain('<a href=')
    const link = linkIn(msg?.text ?? '', '/conferma-email/')
    const ok = await c.get(link)
    expect(ok.status).toBe(200)
    expect(await ok.text()).toContain('Indirizzo email confermato')
    const again = await c.get(link)
    expect(await again.text()).toContain('già confermato')
    expect((await c.get('/conferma-email/abc')).status).toBe(404)

    // an expired link
    const { client: other } = { client: new Client(app) }
    await other.submit('/registrazione', {
      givenName: 'Bruno',
      familyName: 'Test',
      codiceFiscale: freshCf(),
      email: email('bruno'),
      password: PASSWORD,
      passwordConfirm: PASSWORD,
      terms: 'si',
    })
    await mails()
    const link2 = linkIn(smtp.to(email('bruno')).at(-1)?.text ?? '', '/conferma-email/')
    await db.sql`update platform.email_tokens set expires_at = now() - interval '1 minute'
                 where account_id = (select id from platform.accounts where email = ${email('bruno')})`
    const expired = await other.get(link2)
    expect(expired.status).toBe(410)
    expect(await expired.text()).toContain('Link scaduto')
  })

  it('answers a duplicate email or codice fiscale like a new registration and mails the owner', async () => {
    const { codiceFiscale } = await registerAndConfirm('owner')
    // a codice fiscale reserves something only once proved (identity-proof.test.ts: an unproved one reserves nothing)
    await db.sql`update platform.accounts set cf_proved_at = now(), cf_proved_by = 'seed' where email = ${email('owner')}`
    const before = await db.sql<{ n: number }[]>`select count(*)::int as n from platform.accounts`
    const dupEmail = await new Client(app).submit('/registrazione', {
      givenName: 'Altro',
      familyName: 'Nome',
      codiceFiscale: freshCf(),
      email: email('owner'),
      password: PASSWORD,
      passwordConfirm: PASSWORD,
      terms: 'si',
    })
    const dupCf = await new Client(app).submit('/registrazione', {
      givenName: 'Altro',
      familyName: 'Nome',
      codiceFiscale,
      email: email('intruder'),
      password: PASSWORD,
      passwordConfirm: PASSWORD,
      terms: 'si',
    })
    for (const r of [dupEmail, dupCf]) {
      expect(r.status).toBe(200)
      expect(await r.text()).toContain('Controlla la tua email')
    }
    const after = await db.sql<{ n: number }[]>`select count(*)::int as n from platform.accounts`
    expect(after[0]?.n).toBe(before[0]?.n)
    await mails()
    const subjects = smtp.to(email('owner')).map((m) => m.subject)
    expect(subjects).toContain('Tentativo di registrazione con il tuo indirizzo')
    expect(subjects).toContain('Tentativo di registrazione con il tuo codice fiscale')
    expect(smtp.to(email('intruder'))).toEqual([])
  })
})

describe('login, sessions and CSRF', () => {
  it('gives the same generic answer for a wrong password and an unknown account', async () => {
    await registerAndConfirm('login')
    for (const who of ['login', 'nobody']) {
      const { res } = await login(who, 'password sbagliata')
      expect(res.status).toBe(422)
      const html = await res.text()
      expect(html).toContain('Email o password non corretti')
      expect(html).toContain(`value="${email(who)}"`)
    }
  })

  it('logs in with a new session token, keeps it only as a hash, and logs out', async () => {
    const { client, res } = await login('login')
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/area-personale')
    const setCookie = res.headers.getSetCookie().find((l) => l.startsWith('sid='))
    expect(setCookie).toMatch(/HttpOnly/i)
    expect(setCookie).toMatch(/SameSite=Lax/i)
    const token = client.cookies.get('sid') as string
    const stored =
      await db.sql`select 1 from platform.sessions where token_hash::text like ${`%${Buffer.from(token).toString('hex')}%`}`
    expect(stored).toHaveLength(0)
    const home = await client.get('/area-personale')
    expect(home.status).toBe(200)
    expect(await home.text()).toContain('Benvenuto, Anna')
    // a second login rotates the token
    const second = await client.submit('/accesso', { email: email('login'), password: PASSWORD })
    expect(second.status).toBe(303)
    expect(client.cookies.get('sid')).not.toBe(token)
    const oldClient = new Client(app)
    oldClient.cookies.set('sid', token)
    expect((await oldClient.get('/area-personale')).status).toBe(303)
    // logout
    await client.get('/area-personale')
    const out = await client.post('/esci', {})
    expect(out.status).toBe(303)
    expect((await client.get('/area-personale')).headers.get('location')).toBe('/accesso?torna=%2Farea-personale')
  })

  it("refuses a form without its CSRF token, or with another session's, with a clear page", async () => {
    const { client } = await login('login')
    await client.get('/profilo/password')
    const none = await client.post('/profilo/password', { currentPassword: PASSWORD }, null)
    expect(none.status).toBe(403)
    expect(await none.text()).toContain('Il modulo è scaduto')
    const { client: other } = await login('login')
    await other.get('/profilo')
    const foreign = await client.post('/profilo/password', { currentPassword: PASSWORD }, other.csrf())
    expect(foreign.status).toBe(403)
    // the anonymous login form is protected too
    const anon = new Client(app)
    await anon.get('/accesso')
    expect((await anon.post('/accesso', { email: email('login'), password: PASSWORD }, 'x'.repeat(64))).status).toBe(
      403,
    )
    // the header works for htmx requests
    await client.get('/profilo/password')
    const res = await app.request('/esci', {
      method: 'POST',
      headers: { cookie: `sid=${client.cookies.get('sid')}`, 'x-csrf-token': client.csrf() },
    })
    expect(res.status).toBe(303)
  })

  it('expires idle and old sessions', async () => {
    const { client } = await login('login')
    expect((await client.get('/profilo')).status).toBe(200)
    await db.sql`update platform.sessions set last_seen_at = now() - interval '31 minutes'
                 where account_id = (select id from platform.accounts where email = ${email('login')})`
    expect((await client.get('/profilo')).status).toBe(303)
    const { client: c2 } = await login('login')
    await db.sql`update platform.sessions set expires_at = now() - interval '1 second'
                 where account_id = (select id from platform.accounts where email = ${email('login')}) and revoked_at is null`
    expect((await c2.get('/profilo')).status).toBe(303)
  })

  it('slows down, then locks an account after repeated failures, even for the right password', async () => {
    await registerAndConfirm('locked')
    // three wrong passwords answer at once; from the fourth each waits a second more (up to four): sent
    // together, those waits overlap, and the tenth failure locks the account
    const timed = async (i: number) => {
      const t0 = performance.now()
      const { res } = await login('locked', `sbagliata numero ${i}`)
      return { status: res.status, text: await res.text(), ms: performance.now() - t0 }
    }
    const first: Awaited<ReturnType<typeof timed>>[] = []
    for (let i = 0; i < 3; i++) first.push(await timed(i))
    expect(first.every((r) => r.status === 422 && r.ms < 1000)).toBe(true)
    const rest = await Promise.all(Array.from({ length: 7 }, (_, i) => timed(3 + i)))
    // slowed down: none of the seven answered before its second
    expect(rest.every((r) => r.ms >= 1000)).toBe(true)
    expect(rest.filter((r) => r.status === 429).map((r) => r.text.includes('bloccato per 15 minuti'))).toContain(true)
    const right = await login('locked')
    expect(right.res.status).toBe(429)
    expect(await right.res.text()).toMatch(/bloccato fino alle \d{2}:\d{2}/)
    const [row] = await db.sql<
      { locked: boolean }[]
    >`select locked_until > now() as locked from platform.throttle where key = ${`login:email:${email('locked')}`}`
    expect(row?.locked).toBe(true)
  }, 120_000)
})

describe('passwords', () => {
  it('resets a forgotten password through an expiring single-use link, revoking every session', async () => {
    await registerAndConfirm('reset')
    const { client: loggedIn } = await login('reset')
    const anon = new Client(app)
    const res = await anon.submit('/password-dimenticata', { email: email('reset') })
    expect(await res.text()).toContain('Controlla la tua email')
    // an unknown address gets the same answer and no mail
    const unknown = await anon.submit('/password-dimenticata', { email: email('ghost') })
    expect(await unknown.text()).toContain('Controlla la tua email')
    await mails()
    expect(smtp.to(email('ghost'))).toEqual([])
    const link = linkIn(smtp.to(email('reset')).at(-1)?.text ?? '', '/reimposta-password/')
    await anon.get(link)
    const weak = await anon.post(link, { password: 'password1234', passwordConfirm: 'password1234' })
    expect(weak.status).toBe(422)
    const ok = await anon.post(link, {
      password: 'nuova frase ancora più lunga',
      passwordConfirm: 'nuova frase ancora più lunga',
    })
    expect(ok.status).toBe(200)
    expect(await ok.text()).toContain('Password cambiata')
    expect((await loggedIn.get('/profilo')).status).toBe(303)
    await anon.get(link)
    const replay = await anon.post(link, {
      password: "ancora un'altra frase",
      passwordConfirm: "ancora un'altra frase",
    })
    expect(replay.status).toBe(410)
    expect((await login('reset', 'nuova frase ancora più lunga')).res.status).toBe(303)
    await mails()
    expect(smtp.to(email('reset')).map((m) => m.subject)).toContain('La tua password è cambiata')
  })

  it('changes the password after checking the current one, ending the other sessions', async () => {
    await registerAndConfirm('change')
    const { client: other } = await login('change')
    const { client } = await login('change')
    await client.get('/profilo/password')
    const wrong = await client.post('/profilo/password', {
      currentPassword: 'non è questa',
      password: 'nuova frase lunga ok',
      passwordConfirm: 'nuova frase lunga ok',
    })
    expect(wrong.status).toBe(422)
    expect(await wrong.text()).toContain('href="#currentPassword"')
    const before = client.cookies.get('sid')
    const ok = await client.post('/profilo/password', {
      currentPassword: PASSWORD,
      password: 'nuova frase lunga ok',
      passwordConfirm: 'nuova frase lunga ok',
    })
    expect(ok.status).toBe(303)
    expect(client.cookies.get('sid')).not.toBe(before)
    expect((await client.get('/profilo')).status).toBe(200)
    expect((await other.get('/profilo')).status).toBe(303)
  })
})

describe('profile', () => {
  it('edits contacts; a new email takes effect only once confirmed', async () => {
    await registerAndConfirm('profile')
    const { client } = await login('profile')
    await client.get('/profilo/modifica')
    const bad = await client.post('/profilo/modifica', {
      email: email('profile'),
      phone: 'abc',
      address: '',
      lang: 'it',
    })
    expect(bad.status).toBe(422)
    expect(await bad.text()).toContain('href="#phone"')
    const ok = await client.post('/profilo/modifica', {
      email: email('profile2'),
      phone: '0577 123456',
      address: 'Via Roma 1',
      lang: 'en',
      currentPassword: PASSWORD,
    })
    expect(ok.status).toBe(303)
    const [acc] = await db.sql<{ email: string; phone: string; lang: string; reminders: boolean }[]>`
      select email, phone, lang, reminders from platform.accounts where email = ${email('profile')}`
    expect(acc).toEqual({ email: email('profile'), phone: '0577 123456', lang: 'en', reminders: false })
    await mails()
    const link = linkIn(smtp.to(email('profile2')).at(-1)?.text ?? '', '/profilo/email/')
    expect(smtp.to(email('profile')).at(-1)?.subject).toBe('Request to change your email address')
    expect((await client.get(link)).status).toBe(303)
    const page = await client.get('/profilo')
    expect(await page.text()).toContain(email('profile2'))
  })

  it('a deletion request closes the account', async () => {
    await registerAndConfirm('delete')
    const { client } = await login('delete')
    await client.get('/profilo/elimina')
    const missing = await client.post('/profilo/elimina', { password: PASSWORD })
    expect(missing.status).toBe(422)
    const ok = await client.post('/profilo/elimina', { password: PASSWORD, confirm: 'si' })
    expect(ok.status).toBe(200)
    expect((await login('delete')).res.status).toBe(422)
  })

  it('an unconfirmed account can log in and is told to confirm', async () => {
    const c = new Client(app)
    await c.submit('/registrazione', {
      givenName: 'Carla',
      familyName: 'Test',
      codiceFiscale: freshCf(),
      email: email('unconfirmed'),
      password: PASSWORD,
      passwordConfirm: PASSWORD,
      terms: 'si',
    })
    const { client } = await login('unconfirmed')
    const home = await client.get('/area-personale')
    expect(await home.text()).toContain('Conferma il tuo indirizzo email')
    await client.post('/conferma-email/invia', {})
    await mails()
    expect(smtp.to(email('unconfirmed')).length).toBe(2)
  })
})

describe('password hashing', () => {
  it('rehashes a password stored with older parameters at the next login', async () => {
    const argon2 = (await import('argon2')).default
    await registerAndConfirm('rehash')
    const weak = await argon2.hash(PASSWORD, { type: argon2.argon2id, memoryCost: 4096, timeCost: 1, parallelism: 1 })
    await db.sql`update platform.accounts set password_hash = ${weak} where email = ${email('rehash')}`
    expect((await login('rehash')).res.status).toBe(303)
    const [row] = await db.sql<
      { password_hash: string }[]
    >`select password_hash from platform.accounts where email = ${email('rehash')}`
    expect(row?.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/)
    expect((await login('rehash')).res.status).toBe(303)
  })
})
