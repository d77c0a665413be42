// Every staff route against every kind of visitor: who gets the page, who is sent to log in, who is refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { createApp } from '../../src/app.ts'
import type { Db } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { addMembership, createAccount, deleteAccounts, signedIn, type TestAccount } from '../helpers/accounts.ts'
import { testApp } from '../helpers/app.ts'
import { Client } from '../helpers/client.ts'
import { createTestTenant, dropTestTenant, openTestDb } from '../helpers/db.ts'
import { linkIn } from '../helpers/smtp.ts'

let db: Db
let app: ReturnType<typeof createApp>
let x: Tenant
let y: Tenant
const accounts: Record<string, TestAccount> = {}
let target: TestAccount

type Actor = 'anonimo' | 'cittadino' | 'lettore' | 'operatore' | 'admin' | 'adminAltroEnte' | 'operatorePiattaforma'
const ACTORS: Actor[] = [
  'anonimo',
  'cittadino',
  'lettore',
  'operatore',
  'admin',
  'adminAltroEnte',
  'operatorePiattaforma',
]

beforeAll(async () => {
  db = await openTestDb()
  ;[x, y] = await Promise.all([createTestTenant(db), createTestTenant(db)])
  app = testApp(db).app
  for (const a of ACTORS.slice(1)) accounts[a] = await createAccount(db, { operator: a === 'operatorePiattaforma' })
  target = await createAccount(db)
  await addMembership(db, (accounts.lettore as TestAccount).id, x.id, 'lettore')
  await addMembership(db, (accounts.operatore as TestAccount).id, x.id, 'operatore')
  await addMembership(db, (accounts.admin as TestAccount).id, x.id, 'admin')
  await addMembership(db, (accounts.adminAltroEnte as TestAccount).id, y.id, 'admin')
  await addMembership(db, target.id, x.id, 'lettore')
})

afterAll(async () => {
  await deleteAccounts(db, [...Object.values(accounts), target])
  await dropTestTenant(db, x)
  await dropTestTenant(db, y)
  await db.close()
})

interface Route {
  method: 'GET' | 'POST'
  path: () => string
  form?: () => Record<string, string>
  allowed: Actor[]
}

const staffAll: Actor[] = ['lettore', 'operatore', 'admin']
const ROUTES: Route[] = [
  { method: 'GET', path: () => `/t/${x.slug}/ufficio`, allowed: staffAll },
  { method: 'GET', path: () => `/t/${x.slug}/ufficio/membri`, allowed: staffAll },
  {
    method: 'POST',
    path: () => `/t/${x.slug}/ufficio/membri`,
    form: () => ({ email: 'nessuno@example.it', role: 'lettore' }),
    allowed: ['admin'],
  },
  {
    method: 'POST',
    path: () => `/t/${x.slug}/ufficio/membri/${target.id}/ruolo`,
    form: () => ({ role: 'lettore' }),
    allowed: ['admin'],
  },
  { method: 'POST', path: () => `/t/${x.slug}/ufficio/membri/999999999/rimuovi`, form: () => ({}), allowed: ['admin'] },
  {
    method: 'POST',
    path: () => `/t/${x.slug}/ufficio/membri/inviti/999999999/invia`,
    form: () => ({}),
    allowed: ['admin'],
  },
  {
    method: 'POST',
    path: () => `/t/${x.slug}/ufficio/membri/inviti/999999999/ritira`,
    form: () => ({}),
    allowed: ['admin'],
  },
  { method: 'GET', path: () => '/piattaforma', allowed: ['operatorePiattaforma'] },
]

async function clientFor(actor: Actor): Promise<Client> {
  if (actor === 'anonimo') return new Client(app)
  return signedIn(app, accounts[actor] as TestAccount)
}

describe('staff route matrix', () => {
  it('answers each actor as its role allows', async () => {
    const failures: string[] = []
    for (const actor of ACTORS) {
      const client = await clientFor(actor)
      for (const route of ROUTES) {
        await client.get(actor === 'anonimo' ? '/accesso' : '/')
        const res =
          route.method === 'GET'
            ? await client.get(route.path())
            : await client.post(route.path(), route.form?.() ?? {})
        const allowed = route.allowed.includes(actor)
        const expected =
          actor === 'anonimo' ? [303] : allowed ? (route.method === 'GET' ? [200] : [303, 404, 422]) : [403]
        if (!expected.includes(res.status))
          failures.push(`${actor} ${route.method} ${route.path()}: ${res.status}, expected ${expected}`)
        if (actor === 'anonimo' && !(res.headers.get('location') ?? '').startsWith('/accesso'))
          failures.push(`anonimo ${route.method} ${route.path()}: ${res.status} not sent to log in`)
      }
    }
    expect(failures).toEqual([])
  })

  it('a member of another tenant sees nothing of this one', async () => {
    const c = await clientFor('adminAltroEnte')
    const res = await c.get(`/t/${x.slug}/ufficio/membri`)
    expect(res.status).toBe(403)
    const html = await res.text()
    expect(html).not.toContain((accounts.admin as TestAccount).email)
  })

  it('an admin invites, re-roles and removes a member; the last admin cannot be removed', async () => {
    const admin = await clientFor('admin')
    const someone = await createAccount(db)
    await admin.get(`/t/${x.slug}/ufficio/membri`)
    expect((await admin.post(`/t/${x.slug}/ufficio/membri`, { email: someone.email, role: 'operatore' })).status).toBe(
      303,
    )
    // an invitation, not a membership: the person accepts it, signed in (test/integration/invitations.test.ts)
    const isMember = async () =>
      (await db.sql`select 1 from platform.memberships where tenant_id = ${x.id} and account_id = ${someone.id}`).length
    expect(await isMember()).toBe(0)
    const [mail] = await db.sql<{ text_body: string }[]>`
      select text_body from platform.outbox where to_address = ${someone.email} order by id desc limit 1`
    const link = linkIn(mail?.text_body ?? '', '/invito/')
    const invited = await signedIn(app, someone)
    await invited.get(link)
    expect((await invited.post(link, {})).status).toBe(303)
    expect(await isMember()).toBe(1)
    await admin.get(`/t/${x.slug}/ufficio/membri`)
    const dup = await admin.post(`/t/${x.slug}/ufficio/membri`, { email: someone.email, role: 'operatore' })
    expect(dup.status).toBe(422)
    expect(await dup.text()).toContain('ha già accesso')
    const missingRole = await admin.post(`/t/${x.slug}/ufficio/membri`, { email: 'x@example.it' })
    expect(missingRole.status).toBe(422)
    expect(await missingRole.text()).toContain('href="#role"')
    // a role change signs the member out everywhere
    const member = await signedIn(app, someone)
    await admin.get(`/t/${x.slug}/ufficio/membri`)
    expect((await admin.post(`/t/${x.slug}/ufficio/membri/${someone.id}/ruolo`, { role: 'lettore' })).status).toBe(303)
    expect((await member.get(`/t/${x.slug}/ufficio`)).status).toBe(303)
    await admin.get(`/t/${x.slug}/ufficio/membri`)
    expect((await admin.post(`/t/${x.slug}/ufficio/membri/${someone.id}/rimuovi`, {})).status).toBe(303)
    await admin.get(`/t/${x.slug}/ufficio/membri`)
    const last = await admin.post(`/t/${x.slug}/ufficio/membri/${(accounts.admin as TestAccount).id}/rimuovi`, {})
    expect(last.status).toBe(422)
    expect(await last.text()).toContain('almeno un amministratore')
    await deleteAccounts(db, [someone])
  })

  it("office pages show the tenant's own figures", async () => {
    const c = await clientFor('lettore')
    const res = await c.get(`/t/${x.slug}/ufficio`)
    const html = await res.text()
    expect(html).toContain('Sola lettura')
    expect(html).toContain('Rate scadute')
  })
})
