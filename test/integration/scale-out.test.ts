// Two application instances on one database: a session started on one is valid on the other, a cart
// filled on one is the same on the other, and what one instance changes the other sees — no instance
// keeps state another needs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Db } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { TEST_PASSWORD, type TestAccount } from '../helpers/accounts.ts'
import { testApp } from '../helpers/app.ts'
import { Client } from '../helpers/client.ts'
import { openTestDb } from '../helpers/db.ts'
import { givePayer, issue } from '../helpers/payments.ts'
import { world } from '../helpers/world.ts'

const w = world()
let db1: Db
let db2: Db
let tenant: Tenant
let account: TestAccount

beforeAll(async () => {
  ;({ db: db1, tenant } = w)
  db2 = await openTestDb()
  account = await w.account()
})
afterAll(async () => {
  await db2.close()
})

describe('two instances', () => {
  it('share sessions, carts and logouts through the database', async () => {
    const one = testApp(db1).app
    const two = testApp(db2).app
    const c1 = new Client(one)
    const res = await c1.submit('/accesso', { email: account.email, password: TEST_PASSWORD })
    expect(res.status).toBe(303)
    // the same cookies on the other instance
    const c2 = new Client(two)
    c2.cookies = new Map(c1.cookies)
    expect((await c2.get('/area-personale')).status).toBe(200)

    const payer = await givePayer(db1, tenant, account.codiceFiscale)
    const doc = await issue(db1, tenant, payer, [1500])
    await c1.get(`/t/${tenant.slug}/documenti/${doc.documentId}`)
    await c1.post('/carrello/aggiungi', { ente: tenant.slug, rate: [String(doc.installments[0]?.id)] })
    expect(await (await c2.get('/carrello')).text()).toContain('15,00')

    // a form rendered by one instance is accepted by the other (the CSRF token is not per instance)
    await c1.get('/profilo/modifica')
    const saved = await c2.post(
      '/profilo/modifica',
      { email: account.email, phone: '', address: 'Via Due Istanze 2', lang: 'it' },
      c1.csrf(),
    )
    expect(saved.status).toBe(303)

    // logging out on one ends the session on both
    await c2.get('/profilo')
    await c2.post('/esci', {})
    expect((await c1.get('/area-personale')).status).toBe(303)
  })
})
