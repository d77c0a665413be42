// Debt positions for tests: a payer with a codice fiscale in a tenant, documents with installments.
import type { DocumentInput } from '../../src/features/debts/issue.ts'
import { issueDocuments } from '../../src/features/debts/issue.ts'
import { deliverPending } from '../../src/features/psp/delivery.ts'
import { addDays, todayRome } from '../../src/platform/dates.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import type { Deps } from '../../src/platform/http.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import type { Client } from './client.ts'

export async function givePayer(db: Db, tenant: Tenant, cf: string, name = ['Mario', 'Rossi']): Promise<number> {
  const [row] = await withTenant(
    db.sql,
    tenant,
    (tx) => tx<{ id: number }[]>`
    insert into payers (codice_fiscale, given_name, family_name) values (${cf}, ${name[0] as string}, ${name[1] as string})
    on conflict (codice_fiscale) do update set given_name = excluded.given_name returning id`,
  )
  return (row as { id: number }).id
}

/** Issues one document with the given installment amounts to the payer; returns its ids. */
export async function issue(
  db: Db,
  tenant: Tenant,
  payerId: number,
  amounts: number[],
  opts: { service?: string; description?: string; firstDue?: number } = {},
) {
  return withTenant(db.sql, tenant, async (tx) => {
    const [svc] = await tx<{ id: number }[]>`select id from services where code = ${opts.service ?? 'mensa'}`
    const today = todayRome()
    const doc: DocumentInput = {
      year: Number(today.slice(0, 4)),
      issueDate: today,
      serviceId: (svc as { id: number }).id,
      payerId,
      pupilId: null,
      description: opts.description ?? 'Mensa scolastica, primo trimestre',
      installments: amounts.map((a, i) => ({
        amountCents: a,
        dueDate: addDays(today, (opts.firstDue ?? 10) + 30 * i),
      })),
    }
    const r = await issueDocuments(tx, tenant, [doc])
    return { documentId: r.documentIds[0] as number, installments: r.installments }
  })
}

/** Pays at the sandbox provider's hosted page as a person would: form, card, submit. */
export async function payAtSandbox(client: Client, redirectUrl: string, card = '4242 4242 4242 4242') {
  const path = new URL(redirectUrl, 'http://x').pathname
  const page = await client.get(path)
  const html = await page.text()
  const token = /name="token" value="([^"]+)"/.exec(html)?.[1] ?? ''
  const year = String(new Date().getFullYear() + 2)
  return client.post(
    path,
    { token, cardholderName: 'Mario Rossi', cardNumber: card, expiryMonth: '12', expiryYear: year, cvv: '123' },
    null,
  )
}

export async function cancelAtSandbox(client: Client, redirectUrl: string) {
  const path = new URL(redirectUrl, 'http://x').pathname
  const html = await (await client.get(path)).text()
  const token = /name="token" value="([^"]+)"/.exec(html)?.[1] ?? ''
  return client.post(`${path}/annulla`, { token }, null)
}

/** Delivers the sandbox provider's notifications to the server and waits until none is left in flight. */
export async function deliverNotifications(db: Db, server: { url: string; deps: Deps }) {
  for (let i = 0; i < 100; i++) {
    await deliverPending(db, server.deps.config)
    const [left] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from platform.sandbox_psp_sessions
      where completed_at is not null and event_id is not null and notify_delivered_at is null
        and notify_url like ${`${server.url}/%`}`
    if (left?.n === 0) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error('notifications still in flight')
}
