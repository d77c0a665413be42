// SPID / CIE through OpenID Connect, end to end over real HTTP: Sportello on a loopback port, a real OpenID
// provider (oidc-provider) on another, and a cookie-keeping fetch loop standing in for the browser.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startOidcProvider } from '../../src/features/oidc/test-provider.ts'
import type { Db } from '../../src/platform/db.ts'
import { taggedCf } from '../helpers/accounts.ts'
import { testApp } from '../helpers/app.ts'
import { Client } from '../helpers/client.ts'
import { expectValidHtml } from '../helpers/html.ts'
import { type World, world } from '../helpers/world.ts'

let db: Db
let op: Awaited<ReturnType<typeof startOidcProvider>>
let server: World['server']
const run = Math.random().toString(36).slice(2, 8)
const email = (who: string) => `${who}.${run}@oidc.example.it`

const freshCf = () => taggedCf('SPD')

/** A browser in miniature: one cookie jar (names do not collide between the two servers), manual redirects. */
class Browser {
  cookies = new Map<string, string>()
  html = ''
  url = ''

  private keep(res: Response) {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';')
      const eq = (pair as string).indexOf('=')
      const name = (pair as string).slice(0, eq).trim()
      const value = (pair as string).slice(eq + 1)
      const expired = attrs.some((a) => /max-age=0\b/i.test(a) || /expires=Thu, 01 Jan 1970/i.test(a))
      if (expired || value === '') this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
  }

  async request(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') }
    let body: string | undefined
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded'
      body = new URLSearchParams(init.form).toString()
    }
    const res = await fetch(url, { method: init.method ?? (body ? 'POST' : 'GET'), headers, body, redirect: 'manual' })
    this.keep(res)
    this.url = url
    if ((res.headers.get('content-type') ?? '').includes('text/html')) this.html = await res.clone().text()
    return res
  }

  /** Follows redirects until a page answers, or until `stop` says the next address should not be fetched. */
  async follow(
    url: string,
    init: { method?: string; form?: Record<string, string> } = {},
    stop: (next: string) => boolean = () => false,
  ): Promise<{ res: Response; next?: string }> {
    let res = await this.request(url, init)
    for (let i = 0; i < 20 && res.status >= 300 && res.status < 400; i++) {
      const next = new URL(res.headers.get('location') as string, this.url).href
      if (stop(next)) return { res, next }
      res = await this.request(next)
    }
    return { res }
  }

  formAction(): string {
    const action = /<form[^>]*action="([^"]+)"/.exec(this.html)?.[1]
    if (!action) throw new Error(`no form in ${this.url}: ${this.html.slice(0, 300)}`)
    return new URL(action.replace(/&amp;/g, '&'), this.url).href
  }

  csrf(): string {
    return /name="_csrf" value="([^"]+)"/.exec(this.html)?.[1] ?? ''
  }
}

const isCallback = (u: string) => u.startsWith(`${server.url}/accesso/spid/callback`)

/**
 * Starts at Sportello's SPID link, signs in at the provider as `who` and consents; stops just before the
 * provider's redirect back to Sportello and returns that callback address.
 */
async function throughProvider(b: Browser, who: string, torna?: string): Promise<string> {
  const start = `${server.url}/accesso/spid${torna ? `?torna=${encodeURIComponent(torna)}` : ''}`
  const first = await b.request(start)
  expect(first.status).toBe(302)
  const authUrl = new URL(first.headers.get('location') as string)
  expect(authUrl.origin).toBe(op.issuer)
  expect(authUrl.searchParams.get('code_challenge_method')).toBe('S256')
  expect(authUrl.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/)
  expect(authUrl.searchParams.get('state')).toBeTruthy()
  expect(authUrl.searchParams.get('nonce')).toBeTruthy()
  // the provider announces claims_parameter_supported, so the attributes are asked for by name too
  expect(JSON.parse(authUrl.searchParams.get('claims') ?? '{}').userinfo).toHaveProperty('fiscal_number')
  expect(authUrl.searchParams.get('redirect_uri')).toBe(`${server.url}/accesso/spid/callback`)
  const flowCookie = first.headers.getSetCookie().find((c) => c.startsWith('oidc_flow='))
  expect(flowCookie).toMatch(/HttpOnly/i)
  expect(flowCookie).toMatch(/SameSite=Lax/i)

  let step = await b.follow(authUrl.href, {}, isCallback)
  for (let i = 0; i < 4 && !step.next; i++) {
    expect(step.res.status, b.html.slice(0, 500)).toBe(200)
    const form: Record<string, string> = b.html.includes('name="prompt" value="login"')
      ? { prompt: 'login', login: who, password: 'x' }
      : { prompt: 'consent' }
    step = await b.follow(b.formAction(), { form }, isCallback)
  }
  if (!step.next) throw new Error(`the provider did not redirect back: ${b.html.slice(0, 500)}`)
  return step.next
}

/** The whole journey: provider, then Sportello's callback and its redirects. */
async function signInWith(who: string, torna?: string) {
  const b = new Browser()
  const callback = await throughProvider(b, who, torna)
  const { res } = await b.follow(callback)
  return { b, res, html: b.html, url: b.url }
}

async function accountByCf(codiceFiscale: string) {
  const [a] = await db.sql<{ id: number; email: string; given_name: string; confirmed: boolean; password: boolean }[]>`
    select id, email, given_name, email_confirmed_at is not null as confirmed, password_hash is not null as password
    from platform.accounts where codice_fiscale = ${codiceFiscale}`
  return a
}

async function identities(accountId: number) {
  return db.sql<{ issuer: string; subject: string }[]>`
    select issuer, subject from platform.account_identities where account_id = ${accountId}`
}

async function confirmMails(to: string) {
  const [r] = await db.sql<{ n: number }[]>`
    select count(*)::int as n from platform.outbox where to_address = ${to} and subject = 'Conferma il tuo indirizzo email'`
  return r?.n ?? 0
}

beforeAll(async () => {
  op = await startOidcProvider()
})
const w = world({ tenant: false, serve: true, env: () => op.env })

beforeAll(() => {
  ;({ db, server } = w)
  op.register(server.url)
})

afterAll(async () => {
  await op?.close()
  await db.sql`delete from platform.accounts where email like ${`%.${run}@oidc.example.it`}`
})

describe('the login page', () => {
  it('shows "Entra con SPID" and "Entra con CIE" as links to the sign-in when a provider is configured', async () => {
    const b = new Browser()
    const res = await b.request(`${server.url}/accesso?torna=${encodeURIComponent('/profilo')}`)
    expect(res.status).toBe(200)
    expect(b.html).toContain('Oppure entra con l&#39;identità digitale')
    expect(b.html).toMatch(/<a class="button oidc-button" href="\/accesso\/spid\?torna=%2Fprofilo">.*Entra con SPID/)
    expect(b.html).toMatch(/<a class="button oidc-button" href="\/accesso\/spid\?torna=%2Fprofilo">.*Entra con CIE/)
    expect(b.html).not.toMatch(/<img|fonts\.googleapis/)
    await expectValidHtml(b.html)
    // in English, and after a failed password login too
    const en = new Browser()
    en.cookies.set('lang', 'en')
    await en.request(`${server.url}/accesso`)
    expect(en.html).toContain('Sign in with SPID')
    expect(en.html).toContain('Sign in with CIE')
    const failed = await en.request(`${server.url}/accesso`, { form: { _csrf: en.csrf(), email: 'x', password: '' } })
    expect(failed.status).toBe(422)
    expect(en.html).toContain('Sign in with SPID')
  })

  it('shows one button for OIDC_LABEL=spid, and none (and no route) without OIDC_ISSUER', async () => {
    const spidOnly = new Client(testApp(db, { ...op.env, OIDC_LABEL: 'spid' }).app)
    await spidOnly.get('/accesso')
    expect(spidOnly.lastHtml).toContain('Entra con SPID')
    expect(spidOnly.lastHtml).not.toContain('Entra con CIE')

    const plain = new Client(testApp(db).app)
    const page = await plain.get('/accesso')
    expect(page.status).toBe(200)
    expect(plain.lastHtml).not.toContain('Entra con')
    expect(plain.lastHtml).not.toContain('identità digitale')
    expect((await plain.get('/accesso/spid')).status).toBe(404)
    expect((await plain.get('/accesso/spid/callback?code=x&state=y')).status).toBe(404)
  })
})

describe('signing in through the provider', () => {
  it('creates an account from the claims, with the address verified by the provider, and signs in', async () => {
    const code = freshCf()
    op.people.set('nuova', {
      fiscal_number: `TINIT-${code}`,
      given_name: 'Giovanna',
      family_name: "D'Angelo",
      email: email('Nuova').toUpperCase(),
      email_verified: true,
    })
    const { res, url, html } = await signInWith('nuova', '/profilo')
    expect(res.status).toBe(200)
    expect(url).toBe(`${server.url}/profilo`)
    expect(html).toContain(code)
    expect(html).toContain('Giovanna')
    const account = await accountByCf(code)
    expect(account?.email).toBe(email('nuova'))
    expect(account?.given_name).toBe('Giovanna')
    expect(account?.confirmed).toBe(true)
    expect(account?.password).toBe(false)
    expect(await identities(account?.id as number)).toEqual([{ issuer: op.issuer, subject: 'nuova' }])
    expect(await confirmMails(email('nuova'))).toBe(0)

    // a second sign-in finds the same account
    const again = await signInWith('nuova')
    expect(again.url).toBe(`${server.url}/area-personale`)
    const [count] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from platform.accounts where codice_fiscale = ${code}`
    expect(count?.n).toBe(1)
  })

  it('mails the usual confirmation link when the provider has not verified the address', async () => {
    const code = freshCf()
    op.people.set('nonverificata', {
      fiscal_number: `TINIT-${code}`,
      given_name: 'Paolo',
      family_name: 'Neri',
      email: email('nonverificata'),
      email_verified: false,
    })
    const { url } = await signInWith('nonverificata')
    expect(url).toBe(`${server.url}/area-personale`)
    const account = await accountByCf(code)
    expect(account?.confirmed).toBe(false)
    expect(await confirmMails(email('nonverificata'))).toBe(1)
  })

  it('links an existing password account whose codice fiscale was proved and signs in to it', async () => {
    const code = freshCf()
    const [existing] = await db.sql<{ id: number }[]>`
      insert into platform.accounts (email, password_hash, given_name, family_name, codice_fiscale, cf_proved_at, cf_proved_by)
      values (${email('esistente')}, '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA',
              'Maria', 'Esposito', ${code}, now(), 'email_code')
      returning id`
    op.people.set('esistente', {
      // the provider's own spelling and address differ: the account keeps its own
      fiscal_number: `tinit-${code.toLowerCase()}`,
      given_name: 'MARIA',
      family_name: 'ESPOSITO',
      email: email('altro-indirizzo'),
      email_verified: true,
    })
    const { url, html } = await signInWith('esistente')
    expect(url).toBe(`${server.url}/area-personale`)
    expect(html).toContain('Maria')
    const account = await accountByCf(code)
    expect(account?.id).toBe(existing?.id)
    expect(account?.email).toBe(email('esistente'))
    expect(account?.password).toBe(true)
    expect(await identities(existing?.id as number)).toEqual([{ issuer: op.issuer, subject: 'esistente' }])
    const [none] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from platform.accounts where email = ${email('altro-indirizzo')}`
    expect(none?.n).toBe(0)
  })

  it("gives the verified person the account a stranger registered with her codice fiscale, and ends the stranger's access", async () => {
    const code = freshCf()
    // the stranger registers with her codice fiscale and his own address, and signs in with his password
    const stranger = new Browser()
    await stranger.request(`${server.url}/registrazione`)
    const reg = await stranger.request(`${server.url}/registrazione`, {
      form: {
        givenName: 'Finto',
        familyName: 'Titolare',
        codiceFiscale: code,
        email: email('estraneo'),
        password: 'una frase lunga e sicura',
        passwordConfirm: 'una frase lunga e sicura',
        terms: 'si',
        _csrf: stranger.csrf(),
      },
    })
    expect(reg.status).toBe(200)
    await stranger.request(`${server.url}/accesso`)
    const login = await stranger.request(`${server.url}/accesso`, {
      form: { email: email('estraneo'), password: 'una frase lunga e sicura', _csrf: stranger.csrf() },
    })
    expect(login.status).toBe(303)
    const [claim] = await db.sql<{ id: number }[]>`select id from platform.accounts where email = ${email('estraneo')}`
    // the real person signs in with SPID
    op.people.set('vera', {
      fiscal_number: `TINIT-${code}`,
      given_name: 'Vera',
      family_name: 'Titolare',
      email: email('vera'),
      email_verified: true,
    })
    const { url, html } = await signInWith('vera')
    expect(url).toBe(`${server.url}/area-personale`)
    expect(html).toContain('Vera')
    const [a] = await db.sql<{ id: number; email: string; password: boolean; proved: boolean; by: string }[]>`
      select id, email, password_hash is not null as password, cf_proved_at is not null as proved, cf_proved_by as by
      from platform.accounts where id = ${claim?.id as number}`
    expect(a).toEqual({ id: claim?.id, email: email('vera'), password: false, proved: true, by: 'oidc' })
    // the stranger's session and password are gone, and the mail goes to her now
    const after = await stranger.request(`${server.url}/area-personale`)
    expect(after.status).toBe(303)
    expect(after.headers.get('location')).toContain('/accesso')
    await stranger.request(`${server.url}/accesso`)
    const again = await stranger.request(`${server.url}/accesso`, {
      form: { email: email('estraneo'), password: 'una frase lunga e sicura', _csrf: stranger.csrf() },
    })
    expect(again.status).toBe(422)
  })

  it('asks the verified person for an address when a stranger holds her codice fiscale and the provider sends none', async () => {
    const code = freshCf()
    await db.sql`
      insert into platform.accounts (email, password_hash, given_name, family_name, codice_fiscale)
      values (${email('usurpatore')}, 'x', 'Finto', 'Titolare', ${code})`
    op.people.set('senzamail', { fiscal_number: `TINIT-${code}`, given_name: 'Lia', family_name: 'Titolare' })
    const { html } = await signInWith('senzamail')
    expect(html).toContain('name="email"')
    // nothing changed until she gives an address of her own
    const [a] = await db.sql<{ email: string; password: boolean; proved: boolean }[]>`
      select email, password_hash is not null as password, cf_proved_at is not null as proved
      from platform.accounts where codice_fiscale = ${code}`
    expect(a).toEqual({ email: email('usurpatore'), password: true, proved: false })
  })

  it('refuses an account whose deletion was requested', async () => {
    const code = freshCf()
    await db.sql`
      insert into platform.accounts (email, given_name, family_name, codice_fiscale, deletion_requested_at, cf_proved_at)
      values (${email('cancellata')}, 'Ugo', 'Bassi', ${code}, now(), now())`
    op.people.set('cancellata', { fiscal_number: `TINIT-${code}`, given_name: 'Ugo', family_name: 'Bassi' })
    const { res, html, b } = await signInWith('cancellata')
    expect(res.status).toBe(403)
    expect(html).toContain('Account in cancellazione')
    expect(html).toContain('href="/accesso"')
    expect(b.cookies.has('sid')).toBe(false)
  })

  it('refuses a missing or invalid fiscal number claim and creates nothing', async () => {
    for (const [who, fiscal] of [
      ['senzacf', undefined],
      ['cfsbagliato', 'TINIT-RSSMRA80A01H501X'],
      ['cfcorto', 'TINIT-RSSMRA80A01'],
    ] as const) {
      op.people.set(who, {
        ...(fiscal ? { fiscal_number: fiscal } : {}),
        given_name: 'Senza',
        family_name: 'Codice',
        email: email(who),
        email_verified: true,
      })
      const { res, html, b } = await signInWith(who)
      expect(res.status, who).toBe(403)
      expect(html).toContain('Codice fiscale non ricevuto')
      expect(html).toContain('href="/accesso"')
      await expectValidHtml(html)
      expect(b.cookies.has('sid')).toBe(false)
      const [r] = await db.sql<
        { n: number }[]
      >`select count(*)::int as n from platform.accounts where email = ${email(who)}`
      expect(r?.n).toBe(0)
    }
  })

  it('refuses a callback whose state does not match, and one without the flow cookie', async () => {
    const code = freshCf()
    op.people.set('stato', {
      fiscal_number: `TINIT-${code}`,
      given_name: 'Sara',
      family_name: 'Stato',
      email: email('stato'),
      email_verified: true,
    })
    const b = new Browser()
    const callback = new URL(await throughProvider(b, 'stato'))
    const forged = new URL(callback)
    forged.searchParams.set('state', 'not-the-state-we-sent')
    const wrong = await b.follow(forged.href)
    expect(wrong.res.status).toBe(400)
    expect(b.html).toContain('Richiesta di accesso scaduta o non valida')

    // the flow cookie is single-use: the genuine callback now fails as well
    const replay = await b.follow(callback.href)
    expect(replay.res.status).toBe(400)

    // a callback opened in another browser (no flow cookie)
    const c2 = new Browser()
    const other = await throughProvider(c2, 'stato')
    const stranger = new Browser()
    expect((await stranger.follow(other)).res.status).toBe(400)
    // a tampered flow cookie counts as none
    const tampered = new Browser()
    const flow = c2.cookies.get('oidc_flow') as string
    tampered.cookies.set('oidc_flow', `${flow.slice(0, -2)}00`)
    expect((await tampered.follow(other)).res.status).toBe(400)
    expect(await accountByCf(code)).toBeUndefined()
  })

  it('shows a calm page when the provider returns an error, never a 500', async () => {
    op.people.set('annulla', { fiscal_number: `TINIT-${freshCf()}`, given_name: 'Anna', family_name: 'Annulla' })
    const b = new Browser()
    // at the provider's login page, the person chooses to cancel
    const first = await b.request(`${server.url}/accesso/spid`)
    await b.follow(first.headers.get('location') as string)
    const abort = /href="([^"]*\/abort)"/.exec(b.html)?.[1]
    expect(abort).toBeTruthy()
    const { res } = await b.follow(new URL(abort as string, b.url).href)
    expect(b.url).toMatch(/\/accesso\/spid\/callback\?error=access_denied/)
    expect(res.status).toBe(200)
    expect(b.html).toContain('Accesso annullato')
    expect(b.html).toContain('href="/accesso"')
    expect(b.cookies.has('sid')).toBe(false)

    const other = new Browser()
    const r2 = await other.request(`${server.url}/accesso/spid/callback?error=server_error&state=abc`)
    expect(r2.status).toBe(502)
    expect(other.html).toContain('ha segnalato un errore')
    expect(other.html).toContain('href="/accesso"')
  })

  it('answers calmly when the provider cannot be reached', async () => {
    const down = new Client(
      testApp(db, { OIDC_ISSUER: 'http://127.0.0.1:9/', OIDC_CLIENT_ID: 'x', OIDC_CLIENT_SECRET: 'y' }).app,
    )
    const res = await down.get('/accesso/spid')
    expect(res.status).toBe(502)
    expect(down.lastHtml).toContain('Servizio di accesso non raggiungibile')
  })

  it('keeps the return path local', async () => {
    op.people.set('torna', {
      fiscal_number: `TINIT-${freshCf()}`,
      given_name: 'Tino',
      family_name: 'Torna',
      email: email('torna'),
      email_verified: true,
    })
    const { url } = await signInWith('torna', '//evil.example/')
    expect(url).toBe(`${server.url}/area-personale`)
  })
})

describe('the email page', () => {
  it('asks for an address when the provider sends none: 422 with an error summary, then creates the account', async () => {
    const code = freshCf()
    op.people.set('senzaemail', { fiscal_number: `TINIT-${code}`, given_name: 'Carla', family_name: 'Senza' })
    const b = new Browser()
    const callback = await throughProvider(b, 'senzaemail')
    const { res } = await b.follow(callback)
    expect(res.status).toBe(200)
    expect(b.url).toBe(`${server.url}/accesso/spid/email`)
    expect(b.html).toContain('Indica il tuo indirizzo email')
    expect(b.html).toContain('non ci ha comunicato un indirizzo email')
    expect(b.html).toContain(code)
    await expectValidHtml(b.html)
    expect(await accountByCf(code)).toBeUndefined()

    // without the CSRF token
    const noCsrf = await b.request(`${server.url}/accesso/spid/email`, { form: { email: email('senzaemail') } })
    expect(noCsrf.status).toBe(403)
    await b.request(`${server.url}/accesso/spid/email`)

    const bad = await b.request(`${server.url}/accesso/spid/email`, {
      form: { _csrf: b.csrf(), email: 'non-una-email' },
    })
    expect(bad.status).toBe(422)
    expect(b.html).toContain('<title>Errore: Indica il tuo indirizzo email – Sportello</title>')
    expect(b.html).toContain('href="#email"')
    expect(b.html).toContain('Inserisci un indirizzo email nel formato corretto')
    expect(b.html).toContain('value="non-una-email"')
    await expectValidHtml(b.html)
    expect(await accountByCf(code)).toBeUndefined()

    const ok = await b.follow(`${server.url}/accesso/spid/email`, {
      form: { _csrf: b.csrf(), email: email('SenzaEmail') },
    })
    expect(ok.res.status).toBe(200)
    expect(b.url).toBe(`${server.url}/area-personale`)
    const account = await accountByCf(code)
    expect(account?.email).toBe(email('senzaemail'))
    expect(account?.confirmed).toBe(false)
    expect(await confirmMails(email('senzaemail'))).toBe(1)
    expect(b.cookies.has('oidc_pending')).toBe(false)
    // the page cannot be submitted twice
    expect((await b.request(`${server.url}/accesso/spid/email`)).status).toBe(400)
  })

  it('asks for another address when the provider sends one used by another account', async () => {
    await db.sql`
      insert into platform.accounts (email, given_name, family_name, codice_fiscale)
      values (${email('occupata')}, 'Altra', 'Persona', ${freshCf()})`
    const code = freshCf()
    op.people.set('occupata', {
      fiscal_number: `TINIT-${code}`,
      given_name: 'Elena',
      family_name: 'Occupata',
      email: email('occupata'),
      email_verified: true,
    })
    const { b, url } = await signInWith('occupata')
    expect(url).toBe(`${server.url}/accesso/spid/email`)
    expect(b.html).toContain('è già usato da un altro account')
    expect(b.html).not.toContain(`value="${email('occupata')}"`)

    const taken = await b.request(`${server.url}/accesso/spid/email`, {
      form: { _csrf: b.csrf(), email: email('occupata') },
    })
    expect(taken.status).toBe(422)
    expect(b.html).toContain('Questo indirizzo email è già usato da un altro account')
    expect(await accountByCf(code)).toBeUndefined()

    await b.follow(`${server.url}/accesso/spid/email`, { form: { _csrf: b.csrf(), email: email('elena') } })
    expect(b.url).toBe(`${server.url}/area-personale`)
    const account = await accountByCf(code)
    expect(account?.email).toBe(email('elena'))
    // an address typed here is not the provider's verified one
    expect(account?.confirmed).toBe(false)
    expect(await confirmMails(email('elena'))).toBe(1)
  })

  it('refuses the page without a pending sign-in or with a forged one', async () => {
    const b = new Browser()
    expect((await b.request(`${server.url}/accesso/spid/email`)).status).toBe(400)
    expect(b.html).toContain('Tempo scaduto')
    b.cookies.set('oidc_pending', 'eyJ4IjoxfQ.deadbeef')
    expect((await b.request(`${server.url}/accesso/spid/email`)).status).toBe(400)
  })
})
