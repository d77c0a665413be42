// The set-up test files share, in one call: a test database, a tenant (and another body), accounts by role with
// their memberships, the app (or the app served on a loopback port), an SMTP server, signed-in clients; and, after
// the file's tests, everything it made removed (docs/testing.md, "A new test in a few lines").
import { afterAll, beforeAll } from 'vitest'
import type { createApp } from '../../src/app.ts'
import type { Db } from '../../src/platform/db.ts'
import type { Deps } from '../../src/platform/http.ts'
import type { Tenant, TenantFile } from '../../src/platform/tenancy.ts'
import { addMembership, createAccount, deleteAccounts, signedIn, type TestAccount } from './accounts.ts'
import { startServer, testApp } from './app.ts'
import { canteenTenant } from './canteen.ts'
import { Client } from './client.ts'
import { createTestTenant, dropTestTenant, openTestDb } from './db.ts'
import { startSmtp } from './smtp.ts'

export type Role = 'admin' | 'operatore' | 'lettore'
/**
 * Who knocks, in the role-matrix tests: nobody signed in, a citizen, a member of the tenant by role, the admin of
 * another body, the platform's operator.
 */
export type Actor = 'anonimo' | 'cittadino' | Role | 'adminAltroEnte' | 'operatorePiattaforma'
/** An actor with an account. */
export type Person = Exclude<Actor, 'anonimo'>
export type AccountOptions = NonNullable<Parameters<typeof createAccount>[1]>
export type App = ReturnType<typeof createApp>
type Smtp = Awaited<ReturnType<typeof startSmtp>>
type Server = Awaited<ReturnType<typeof startServer>>

/** every person of the role matrix: a citizen, the tenant's three roles, another body's admin, the operator */
export const PEOPLE: readonly Person[] = [
  'cittadino',
  'lettore',
  'operatore',
  'admin',
  'adminAltroEnte',
  'operatorePiattaforma',
]
export const ACTORS: readonly Actor[] = ['anonimo', ...PEOPLE]

export interface WorldOptions<P extends Person> {
  /** the people with an account, by role (admin, operatore, lettore are members of the tenant): a list, or each
   *  with the options of its account (names, a codice fiscale not proved…) */
  roles?: readonly P[] | { readonly [K in P]: AccountOptions }
  /** overrides of the tenant's file (createTestTenant), or false for no tenant */
  tenant?: Partial<TenantFile> | false
  /** the tenant (and the other body) as the canteen tests want it (canteenTenant), with these settings */
  canteen?: true | Parameters<typeof canteenTenant>[1]
  /** another body, made like the tenant (implied by the role adminAltroEnte, its admin) */
  other?: boolean
  /** a real SMTP server (test/helpers/smtp.ts), the app sending to it */
  smtp?: boolean
  /** the app served over HTTP on a loopback port (startServer): url, deps and app are the server's */
  serve?: boolean
  /** the app's environment (testApp), read when the world is made */
  env?: Record<string, string> | (() => Record<string, string>)
}

export interface World<P extends Person = never> {
  readonly db: Db
  /** the app: built on first use (testApp), or the served one */
  readonly app: App
  readonly deps: Deps
  readonly tenant: Tenant
  /** the other body (option other, or the role adminAltroEnte) */
  readonly other: Tenant
  /** the account of each role asked for */
  readonly accounts: Readonly<Record<P, TestAccount>>
  /** option serve: the server's address */
  readonly url: string
  readonly server: Server
  readonly smtp: Smtp
  /** a client signed in as that role or account (a new session each time); 'anonimo': signed in as nobody */
  client(who: P | 'anonimo' | TestAccount): Promise<Client>
  /** one more account, removed at the end; with role, a member of the tenant (or of the tenant given as of) */
  account(opts?: AccountOptions & { role?: Role; of?: Tenant }): Promise<TestAccount>
  /** one more tenant (createTestTenant), dropped at the end */
  newTenant(overrides?: Partial<TenantFile>): Promise<Tenant>
  /** removes the accounts (their payments and mail first) and tenants the world made, stops its servers */
  close(): Promise<void>
}

/** the membership each role brings: in the tenant, or (adminAltroEnte) in the other body */
const MEMBER: Partial<Record<Person, Role>> = {
  admin: 'admin',
  operatore: 'operatore',
  lettore: 'lettore',
  adminAltroEnte: 'admin',
}

export class TestWorld<P extends Person> implements World<P> {
  #db?: Db
  #app?: { app: App; deps: Deps }
  #tenant?: Tenant
  #other?: Tenant
  #server?: Server
  #smtp?: Smtp
  #accounts: Partial<Record<P, TestAccount>> = {}
  #made: TestAccount[] = []
  #tenants: Tenant[] = []

  constructor(protected opts: WorldOptions<P>) {}

  #ready<T>(value: T | undefined, what: string): T {
    if (value === undefined) throw new Error(`world: no ${what} (not asked for, or used before the file's beforeAll)`)
    return value
  }

  get db() {
    return this.#ready(this.#db, 'database')
  }
  get app() {
    return this.#built().app
  }
  get deps() {
    return this.#built().deps
  }
  get tenant() {
    return this.#ready(this.#tenant, 'tenant')
  }
  get other() {
    return this.#ready(this.#other, 'other tenant (option other)')
  }
  get accounts() {
    return this.#accounts as Record<P, TestAccount>
  }
  get url() {
    return this.server.url
  }
  get server() {
    return this.#ready(this.#server, 'server (option serve)')
  }
  get smtp() {
    return this.#ready(this.#smtp, 'SMTP server (option smtp)')
  }

  #env(): Record<string, string> {
    const env = typeof this.opts.env === 'function' ? this.opts.env() : (this.opts.env ?? {})
    return this.#smtp ? { SMTP_URL: this.#smtp.url, ...env } : env
  }

  #built() {
    this.#app ??= testApp(this.db, this.#env())
    return this.#app
  }

  async open() {
    const o = this.opts
    const people = (Array.isArray(o.roles) ? o.roles : Object.keys(o.roles ?? {})) as P[]
    this.#db = await openTestDb()
    if (o.smtp) this.#smtp = await startSmtp()
    if (o.tenant !== false) this.#tenant = await this.#body()
    if (o.other || people.includes('adminAltroEnte' as P)) this.#other = await this.#body()
    if (o.serve) {
      this.#server = await startServer(this.db, this.#env())
      this.#app = this.#server
    }
    for (const p of people) {
      const opts = Array.isArray(o.roles) ? {} : (o.roles as Record<P, AccountOptions>)[p]
      const of = p === 'adminAltroEnte' ? this.other : undefined
      this.#accounts[p] = await this.account({ operator: p === 'operatorePiattaforma', ...opts, role: MEMBER[p], of })
    }
  }

  /** the tenant, or the other body, as the options make them */
  async #body(): Promise<Tenant> {
    const { canteen, tenant } = this.opts
    if (!canteen) return this.newTenant(tenant || {})
    const made = await canteenTenant(this.db, canteen === true ? {} : canteen)
    this.#tenants.push(made)
    return made
  }

  async client(who: P | 'anonimo' | TestAccount): Promise<Client> {
    if (who === 'anonimo') return new Client(this.app)
    return signedIn(
      this.app,
      typeof who === 'string' ? this.#ready<TestAccount>(this.#accounts[who], `account ${who}`) : who,
    )
  }

  async account(opts: AccountOptions & { role?: Role; of?: Tenant } = {}): Promise<TestAccount> {
    const { role, of, ...rest } = opts
    const account = await createAccount(this.db, rest)
    this.#made.push(account)
    if (role) await addMembership(this.db, account.id, (of ?? this.tenant).id, role)
    return account
  }

  async newTenant(overrides: Partial<TenantFile> = {}): Promise<Tenant> {
    const tenant = await createTestTenant(this.db, overrides)
    this.#tenants.push(tenant)
    return tenant
  }

  async close() {
    await this.#server?.close()
    await this.#smtp?.close()
    const db = this.#db
    if (!db) return
    if (this.#made.length) {
      const ids = this.#made.map((a) => a.id)
      await db.sql`delete from platform.payments where account_id = any(${ids})`
      await db.sql`delete from platform.outbox where to_address = any(${this.#made.map((a) => a.email)})`
      await deleteAccounts(db, this.#made)
    }
    for (const t of this.#tenants) await dropTestTenant(db, t)
    await db.close()
  }
}

/**
 * Makes the world before the tests of this file (or describe block) and removes it after them: what it returns
 * is ready inside tests and inside any beforeAll written after this call (its afterAll runs after theirs).
 *
 *   const w = world({ roles: ['admin', 'cittadino'] })
 *   it('…', async () => { const office = await w.client('admin'); … w.db … w.tenant.slug … })
 */
export function world<P extends Person = never>(opts: WorldOptions<P> = {}): World<P> {
  return made(new TestWorld<P>(opts))
}

/** Opens a world (or a kind of world, test/helpers/browser.ts) in beforeAll and closes it in afterAll. */
export function made<W extends { open(): Promise<void>; close(): Promise<void> }>(w: W): W {
  beforeAll(() => w.open())
  afterAll(() => w.close())
  return w
}
