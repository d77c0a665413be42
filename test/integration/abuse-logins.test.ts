// Nothing from outside can borrow the service: login failures counted before the password is checked, a
// stranger's lock that stops neither a reset link nor SPID, `torna` only ever a path of this site, and the client
// address the right-most hop that no trusted proxy added. Body limits: abuse.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { createApp } from '../../src/app.ts'
import { startOidcProvider } from '../../src/features/oidc/test-provider.ts'
import type { Db } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { addMembership, signedIn, TEST_PASSWORD, type TestAccount } from '../helpers/accounts.ts'
import { startServer, testApp } from '../helpers/app.ts'
import { Client } from '../helpers/client.ts'
import { type World, world } from '../helpers/world.ts'

const w = world({ serve: true })
let db: Db
let tenant: Tenant
let server: World['server']
const accounts: TestAccount[] = []
/** a unique network per run, so that this file's per-IP counts meet nobody else's */
const net = `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`

/** an account of this file, removed with the world; its login throttling removed here */
async function account(opts: Parameters<typeof w.account>[0] = {}) {
  const a = await w.account(opts)
  accounts.push(a)
  return a
}

beforeAll(() => {
  ;({ db, tenant, server } = w)
})

afterAll(async () => {
  await db.sql`delete from platform.throttle where key like ${`%${net}.%`} or key = any(${accounts.map((a) => `login:email:${a.email}`)})`
})

// --- login throttling ----------------------------------------------------------------------------------

/** An app behind one trusted proxy, so that each test can count its attempts under its own address. */
function proxied() {
  return testApp(db, { TRUST_PROXY: '1' }).app
}

async function loginForm(app: ReturnType<typeof createApp>, ip: string) {
  const client = new Client(app)
  await client.get('/accesso', { 'x-forwarded-for': ip })
  return {
    client,
    post: (email: string, password: string) =>
      app.request('/accesso', {
        method: 'POST',
        headers: {
          cookie: `aid=${client.cookies.get('aid')}`,
          'content-type': 'application/x-www-form-urlencoded',
          'x-forwarded-for': ip,
        },
        body: new URLSearchParams({ _csrf: client.csrf(), email, password }).toString(),
      }),
  }
}

const WRONG = 'Email o password non corretti'
const LOCKED_NOW = 'bloccato per 15 minuti'
const LOCKED_UNTIL = /bloccato fino alle \d{2}:\d{2}/

describe('login throttling', () => {
  it('checks no more than 10 of 50 wrong passwords sent at once for one account', async () => {
    const app = proxied()
    const victim = await account()
    const form = await loginForm(app, `${net}.1`)
    const answers = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const res = await form.post(victim.email, `tentativo sbagliato ${i}`)
        return { status: res.status, text: await res.text() }
      }),
    )
    // a password that was checked is answered "wrong" (or, for the one that reached the limit, "locked now");
    // the others were refused before any check: "locked until"
    const checked = answers.filter((a) => a.text.includes(WRONG) || a.text.includes(LOCKED_NOW))
    const refused = answers.filter((a) => LOCKED_UNTIL.test(a.text))
    expect(checked.length).toBe(10)
    expect(refused.length).toBe(40)
    expect(refused.every((a) => a.status === 429)).toBe(true)
    // the account is locked, even for the right password
    const right = await form.post(victim.email, TEST_PASSWORD)
    expect(right.status).toBe(429)
    expect(await right.text()).toMatch(LOCKED_UNTIL)
  }, 60_000)
})

describe('a lock set by strangers', () => {
  async function lockOut(victim: TestAccount, ip: string) {
    const app = proxied()
    const form = await loginForm(app, ip)
    await Promise.all(Array.from({ length: 12 }, (_, i) => form.post(victim.email, `indovino ${i}`)))
    const right = await form.post(victim.email, TEST_PASSWORD)
    expect(right.status).toBe(429)
    return { app, form }
  }

  it('is lifted by the owner through a reset link, after which the new password signs in', async () => {
    const owner = await account()
    const { app, form } = await lockOut(owner, `${net}.3`)
    const visitor = new Client(app)
    await visitor.get('/password-dimenticata', { 'x-forwarded-for': `${net}.4` })
    const asked = await app.request('/password-dimenticata', {
      method: 'POST',
      headers: {
        cookie: `aid=${visitor.cookies.get('aid')}`,
        'content-type': 'application/x-www-form-urlencoded',
        'x-forwarded-for': `${net}.4`,
      },
      body: new URLSearchParams({ _csrf: visitor.csrf(), email: owner.email }).toString(),
    })
    expect(asked.status).toBe(200)
    const [mail] = await db.sql<{ text_body: string }[]>`
      select text_body from platform.outbox where to_address = ${owner.email} order by id desc limit 1`
    const link = /\/reimposta-password\/[A-Za-z0-9_-]+/.exec(mail?.text_body ?? '')?.[0]
    expect(link).toBeTruthy()
    await visitor.get(link as string)
    const password = 'una nuova frase tutta mia'
    const done = await visitor.post(link as string, { password, passwordConfirm: password })
    expect(done.status).toBe(200)
    const res = await form.post(owner.email, password)
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/area-personale')
  })

  it('does not stop the owner signing in with SPID, and the login page offers it', async () => {
    const op = await startOidcProvider()
    const spid = await startServer(db, { ...op.env, TRUST_PROXY: '1' })
    op.register(spid.url)
    try {
      const owner = await account()
      await lockOut(owner, `${net}.5`)
      // the page that says "locked" still offers SPID and CIE
      const form = await loginForm(spid.app, `${net}.5`)
      const locked = await form.post(owner.email, TEST_PASSWORD)
      expect(locked.status).toBe(429)
      const html = await locked.text()
      expect(html).toMatch(LOCKED_UNTIL)
      expect(html).toContain('Entra con SPID')
      expect(html).toContain('/password-dimenticata')

      op.people.set('titolare', {
        fiscal_number: `TINIT-${owner.codiceFiscale}`,
        given_name: 'Prova',
        family_name: 'Utente',
        email: owner.email,
        email_verified: true,
      })
      const jar = new Map<string, string>()
      const go = async (url: string, form?: Record<string, string>) => {
        const res = await fetch(url, {
          method: form ? 'POST' : 'GET',
          redirect: 'manual',
          headers: {
            cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '),
            ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
          },
          body: form ? new URLSearchParams(form).toString() : undefined,
        })
        for (const line of res.headers.getSetCookie()) {
          const [pair] = line.split(';')
          const eq = (pair as string).indexOf('=')
          const value = (pair as string).slice(eq + 1)
          if (value === '' || /max-age=0\b/i.test(line)) jar.delete((pair as string).slice(0, eq).trim())
          else jar.set((pair as string).slice(0, eq).trim(), value)
        }
        return res
      }
      // through the provider: its login and consent pages, then back to Sportello's callback
      let res = await go(`${spid.url}/accesso/spid`)
      let url = new URL(res.headers.get('location') as string).href
      for (let i = 0; i < 20; i++) {
        if (url.startsWith(`${spid.url}/`)) break
        res = await go(url)
        if (res.status >= 300 && res.status < 400) {
          url = new URL(res.headers.get('location') as string, url).href
          continue
        }
        const html = await res.text()
        const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1] as string
        const next = new URL(action.replace(/&amp;/g, '&'), url).href
        res = await go(
          next,
          html.includes('name="prompt" value="login"')
            ? { prompt: 'login', login: 'titolare', password: 'x' }
            : { prompt: 'consent' },
        )
        url = new URL(res.headers.get('location') as string, next).href
      }
      const back = await go(url)
      expect(back.status).toBe(303)
      expect(back.headers.get('location')).toBe('/area-personale')
      const [session] = await db.sql<{ account_id: number }[]>`
        select account_id from platform.sessions where account_id = ${owner.id} and revoked_at is null`
      expect(session?.account_id).toBe(owner.id)
      // the password stays locked: the lock is on guessing, not on the person
      expect((await form.post(owner.email, TEST_PASSWORD)).status).toBe(429)
    } finally {
      await spid.close()
      await op.close()
    }
  }, 60_000)
})

// --- client address --------------------------------------------------------------------------------------

describe('the client address behind proxies', () => {
  async function sessionIp(env: Record<string, string>, forwarded: string) {
    const app = testApp(db, env).app
    const owner = await account()
    const form = await loginForm(app, forwarded)
    expect((await form.post(owner.email, TEST_PASSWORD)).status).toBe(303)
    const [row] = await db.sql<{ ip: string }[]>`
      select ip from platform.sessions where account_id = ${owner.id} order by id desc limit 1`
    return row?.ip
  }

  it('is the right-most address no trusted proxy added, never what the client wrote', async () => {
    const chain = `1.2.3.4, ${net}.66, ${net}.77`
    expect(await sessionIp({ TRUST_PROXY: '1' }, chain)).toBe(`${net}.77`)
    expect(await sessionIp({ TRUST_PROXY: 'true' }, chain)).toBe(`${net}.77`)
    expect(await sessionIp({ TRUST_PROXY: '2' }, chain)).toBe(`${net}.66`)
    // fewer entries than proxies: the nearest one known
    expect(await sessionIp({ TRUST_PROXY: '2' }, `${net}.88`)).toBe(`${net}.88`)
    // not an address, or no proxy trusted: the connection's own peer
    expect(await sessionIp({ TRUST_PROXY: '1' }, `${net}.9, <script>`)).toBe('unknown')
    expect(await sessionIp({}, chain)).toBe('unknown')
  })

  it('counts the failures of one client under one address, whatever it puts in front', async () => {
    const app = proxied()
    const victim = await account()
    // a sign-in that succeeds counts for nothing
    const first = await loginForm(app, `203.0.113.99, ${net}.10`)
    expect((await first.post(victim.email, TEST_PASSWORD)).status).toBe(303)
    for (let i = 0; i < 3; i++) {
      const form = await loginForm(app, `203.0.113.${i}, ${net}.10`)
      expect((await form.post(victim.email, 'sbagliata')).status).toBe(422)
    }
    const rows = await db.sql<{ key: string; failures: number }[]>`
      select key, failures from platform.throttle where key like 'login:ip:%' and (key like '%203.0.113.%' or key like ${`%${net}.10`})`
    expect(rows).toEqual([{ key: `login:ip:${net}.10`, failures: 3 }])
  })
})

// --- return addresses and query strings ------------------------------------------------------------------

const BYPASSES = [
  '//evil.example',
  '///evil.example',
  '/\\evil.example',
  '\\\\evil.example',
  '/\t/evil.example/',
  '/%09/evil.example/',
  '\t//evil.example',
  '/%5Cevil.example',
  '/%2F/evil.example',
  '%2F%2Fevil.example',
  '/%2F%2Fevil.example',
  '/.//evil.example',
  '/..//evil.example',
  '/%2e%2e//evil.example',
  'https:evil.example',
  'https://evil.example',
  'http:/evil.example',
  'javascript:alert(1)',
  'data:text/html,x',
  '/\u000b/evil.example',
  '/%0B/evil.example',
  '/\u0000/evil.example',
  '/%00/evil.example',
  '/\r\n/evil.example',
  '/ok\r\nSet-Cookie: x=1',
  '/\u2215\u2215evil.example',
  '/\uff0f\uff0fevil.example',
  '/\u3002evil.example',
  '/%E0%A4%A',
]

/** Where a browser goes with this Location on our site: null when it leaves it. */
function lands(location: string | null): string | null {
  if (location === null || !/^[\x21-\x7e]+$/.test(location)) return null
  const u = new URL(location, server.url)
  return u.origin === server.url ? u.pathname : null
}

describe('torna', () => {
  it('always lands on a path of this site, whatever is written, and never answers 500', async () => {
    const app = proxied()
    const owner = await account()
    const signed = await signedIn(app, owner)
    const failures: string[] = []
    const check = (where: string, res: Response) => {
      const location = res.headers.get('location')
      // an address holding a NUL character is refused whole (400): no redirect at all
      const refused = res.status === 400 && /\\u0000|%00/.test(where)
      if (res.status >= 500 || (!refused && lands(location) === null))
        failures.push(`${where}: ${res.status} ${location}`)
      if ((res.headers.get('set-cookie') ?? '').includes('x=1')) failures.push(`${where}: header injected`)
    }
    for (const torna of BYPASSES) {
      const q = encodeURIComponent(torna)
      check(`lingua ${JSON.stringify(torna)}`, await app.request(`/lingua/it?torna=${q}`))
      check(`accesso (signed in) ${JSON.stringify(torna)}`, await signed.get(`/accesso?torna=${q}`))
      // the same written raw into the query string, as a link would carry it
      const raw = torna.replace(/[\s#&]/g, encodeURIComponent)
      check(`lingua raw ${JSON.stringify(raw)}`, await app.request(`/lingua/it?torna=${raw}`))
    }
    // after a password sign-in
    for (const torna of BYPASSES.slice(0, 8)) {
      const form = await loginForm(app, `${net}.20`)
      const res = await app.request('/accesso', {
        method: 'POST',
        headers: {
          cookie: `aid=${form.client.cookies.get('aid')}`,
          'content-type': 'application/x-www-form-urlencoded',
          'x-forwarded-for': `${net}.20`,
        },
        body: new URLSearchParams({ _csrf: form.client.csrf(), email: owner.email, password: TEST_PASSWORD, torna }),
      })
      expect(res.status).toBe(303)
      check(`login ${JSON.stringify(torna)}`, res)
    }
    expect(failures).toEqual([])
  }, 60_000)
})

describe('query strings', () => {
  const NAMES = (
    'torna salvato esito fatto risolta anno stato state riprovato rimosso prima lavoro invito invio inviato ' +
    'inviata giorno error error_description eliminata colore cf benvenuto aggiunto pagina periodo servizio ' +
    'tipo q cerca chi chiusi classe scuola tariffa alunno kind lang mode n'
  ).split(' ')
  const VALUES = ['%00', '%0B', '%', '%E0%A4%A', '%ff%fe', '%uD800', '%ED%A0%80', 'a%00b', '9'.repeat(400), '-1']

  it('never answers 5xx on any GET route, for a visitor or a signed-in office member', async () => {
    const app = proxied()
    const admin = await account({ operator: true })
    await addMembership(db, admin.id, tenant.id, 'admin')
    const clients = { anonimo: new Client(app), ufficio: await signedIn(app, admin) }
    const paths = new Set<string>()
    for (const r of app.routes) {
      if (r.method !== 'GET' || r.path.endsWith('*')) continue
      paths.add(
        r.path.replace(/:([a-zA-Z]+)(\{[^}]*\})?/g, (_, name: string, re?: string) => {
          if (name === 'tenant') return tenant.slug
          if (name === 'token') return 'A'.repeat(43)
          if (name === 'lang') return 'it'
          if (name === 'provider') return 'sandbox'
          if (re?.includes('pdf')) return '1.pdf'
          return '1'
        }),
      )
    }
    const queries = [
      ...VALUES.map((v) => NAMES.map((n) => `${n}=${v}`).join('&')),
      NAMES.map((n) => `${n}=1&${n}=2&${n}[]=3`).join('&'),
      '%=%&=&&==%00',
    ]
    const failures: string[] = []
    for (const [who, client] of Object.entries(clients)) {
      for (const path of paths) {
        for (const q of queries) {
          const res = await client.get(`${path}?${q}`)
          if (res.status >= 500) failures.push(`${who} ${path}?${q.slice(0, 40)}…: ${res.status}`)
        }
      }
    }
    expect(failures).toEqual([])
  }, 300_000)
})
