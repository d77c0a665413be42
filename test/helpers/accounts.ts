// Accounts for tests, created straight in the database, and signed-in clients for them.
import type { Hono } from 'hono'
import { expect } from 'vitest'
import { cf } from '../../src/cli/demo-seed.ts'
import { hashPassword } from '../../src/features/account/passwords.ts'
import type { Db } from '../../src/platform/db.ts'
import type { Env } from '../../src/platform/http.ts'
import { Client } from './client.ts'

export const TEST_PASSWORD = 'una frase lunga e sicura'
let hash: Promise<string> | null = null
let seq = 0

export interface TestAccount {
  id: number
  email: string
  codiceFiscale: string
}

/** A valid, unique-enough codice fiscale. */
export function randomCf(): string {
  const L = 'BCDFGHJKLMNPQRSTVZ'
  const pick = () => L[Math.floor(Math.random() * L.length)]
  const year = String(Math.floor(Math.random() * 100)).padStart(2, '0')
  const day = String(1 + Math.floor(Math.random() * 28)).padStart(2, '0')
  const month = 'ABCDEHLMPRST'[Math.floor(Math.random() * 12)]
  return cf(`${pick()}${pick()}${pick()}${pick()}${pick()}${pick()}${year}${month}${day}H501`)
}

let tagged = 0
/** A new codice fiscale on every call, three letters of the tag in the middle (so one file's never meet another's). */
export function taggedCf(tag: string): string {
  tagged++
  const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'
  const r = Math.floor(Math.random() * 26 ** 3)
  const pick = (i: number) => letters[Math.floor(r / 26 ** i) % 26]
  return cf(`${pick(0)}${pick(1)}${pick(2)}${tag}${String(tagged % 100).padStart(2, '0')}A01H501`)
}

export async function createAccount(
  db: Db,
  opts: {
    codiceFiscale?: string
    operator?: boolean
    confirmed?: boolean
    /** the codice fiscale counts as proved (as after SPID/CIE): the default; false for a bare claim */
    proved?: boolean
    givenName?: string
    familyName?: string
  } = {},
): Promise<TestAccount> {
  hash ??= hashPassword(TEST_PASSWORD)
  const email = `t${Date.now().toString(36)}${(seq++).toString(36)}${Math.random().toString(36).slice(2, 6)}@example.it`
  const codiceFiscale = opts.codiceFiscale ?? randomCf()
  const [row] = await db.sql<{ id: number }[]>`
    insert into platform.accounts (email, password_hash, given_name, family_name, codice_fiscale, email_confirmed_at, operator,
                                   cf_proved_at, cf_proved_by)
    values (${email}, ${await hash}, ${opts.givenName ?? 'Prova'}, ${opts.familyName ?? 'Utente'}, ${codiceFiscale},
            ${opts.confirmed === false ? null : new Date()}, ${opts.operator ?? false},
            ${opts.proved === false ? null : new Date()}, ${opts.proved === false ? null : 'seed'})
    returning id`
  return { id: (row as { id: number }).id, email, codiceFiscale }
}

export async function addMembership(
  db: Db,
  accountId: number,
  tenantId: number,
  role: 'admin' | 'operatore' | 'lettore',
) {
  await db.sql`insert into platform.memberships (account_id, tenant_id, role) values (${accountId}, ${tenantId}, ${role})`
}

export async function signedIn(app: Hono<Env>, account: TestAccount): Promise<Client> {
  const c = new Client(app)
  const res = await c.submit('/accesso', { email: account.email, password: TEST_PASSWORD })
  expect(res.status, `login of ${account.email}`).toBe(303)
  return c
}

export async function deleteAccounts(db: Db, accounts: TestAccount[]) {
  await db.sql`delete from platform.accounts where id = any(${accounts.map((a) => a.id)})`
}
