// Every staff route against every kind of visitor: who gets the page, who is sent to log in, who is refused.
import { beforeAll, describe, expect, it } from 'vitest'
import type { Db } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { createAccount, deleteAccounts, signedIn, type TestAccount } from '../helpers/accounts.ts'
import { type Route, roleMatrix } from '../helpers/roles.ts'
import { linkIn } from '../helpers/smtp.ts'
import { ACTORS, type Actor, type App, PEOPLE, world } from '../helpers/world.ts'

const w = world({ roles: PEOPLE })
let db: Db
let app: App
let x: Tenant
let target: TestAccount

beforeAll(async () => {
  ;({ db, app, tenant: x } = w)
  target = await w.account({ role: 'lettore' })
})

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

describe('staff route matrix', () => {
  it('answers each actor as its role allows', async () => {
    const failures = await roleMatrix(w, {
      actors: ACTORS,
      routes: ROUTES,
    })
    expect(failures).toEqual([])
  })

  it('a member of another tenant sees nothing of this one', async () => {
    const c = await w.client('adminAltroEnte')
    const res = await c.get(`/t/${x.slug}/ufficio/membri`)
    expect(res.status).toBe(403)
    const html = await res.text()
    expect(html).not.toContain(w.accounts.admin.email)
  })

  it('an admin invites, re-roles and removes a member; the last admin cannot be removed', async () => {
    const admin = await w.client('admin')
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
    const last = await admin.post(`/t/${x.slug}/ufficio/membri/${w.accounts.admin.id}/rimuovi`, {})
    expect(last.status).toBe(422)
    expect(await last.text()).toContain('almeno un amministratore')
    await deleteAccounts(db, [someone])
  })

  it("office pages show the tenant's own figures", async () => {
    const c = await w.client('lettore')
    const res = await c.get(`/t/${x.slug}/ufficio`)
    const html = await res.text()
    expect(html).toContain('Sola lettura')
    expect(html).toContain('Rate scadute')
  })
})
