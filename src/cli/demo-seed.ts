// Demo data: every tenant file in tenants/ onboarded, and families, pupils and documents in several states,
// so every screen has something real to show. Runs only on a database without tenants.
import type { Logger } from 'pino'
import type { Config } from '../config.ts'
import { hashPassword } from '../features/account/passwords.ts'
import { seedCanteenDemo } from '../features/canteen/demo.ts'
import { type DocumentInput, issueDocuments } from '../features/debts/issue.ts'
import { addDays, todayRome } from '../platform/dates.ts'
import { type Db, tenantRoleName, withTenant } from '../platform/db.ts'
import { checkCharacter } from '../platform/it/codice-fiscale.ts'
import { listTenantFiles, onboardTenant, readTenantFile } from '../platform/tenancy.ts'

export interface DemoLogin {
  role: string
  tenant: string
  email: string
  password: string
}

export interface DemoInfo {
  tenants: string[]
  logins: DemoLogin[]
}

/** A valid codice fiscale from its first 15 characters. */
export function cf(first15: string): string {
  return first15 + checkCharacter(first15)
}

export const DEMO_FAMILIES = [
  { cf: cf('RSSMRA80A01I726'), given: 'Mario', family: 'Rossi', email: 'mario.rossi@example.it' },
  { cf: cf('BNCLRA82M41F376'), given: 'Laura', family: 'Bianchi', email: 'laura.bianchi@example.it' },
  { cf: cf('VRDGPP75C12F205'), given: 'Giuseppe', family: 'Verdi', email: 'giuseppe.verdi@example.it' },
]

/**
 * A payer the bodies know who has no account yet: registering with her codice fiscale shows how a claim is proved
 * (the code goes to the address on her payer record, readable at /dev/mail in the demo).
 */
export const DEMO_UNREGISTERED = {
  cf: cf('NRENNA85T50I726'),
  given: 'Anna',
  family: 'Neri',
  email: 'anna.neri@example.it',
}

export const DEMO_PUPILS = [
  { cf: cf('RSSGLI15P10I726'), given: 'Giulia', family: 'Rossi', birth: '2015-09-10', parents: [0] },
  { cf: cf('RSSLCU17H05I726'), given: 'Luca', family: 'Rossi', birth: '2017-06-05', parents: [0] },
  { cf: cf('VRDSFO14D50F376'), given: 'Sofia', family: 'Verdi', birth: '2014-04-10', parents: [2, 1] },
]

export const DEMO_PASSWORD = 'prova-sportello-2026'
export const DEMO_OPERATOR = 'operatore@sportello.example'
export const staffEmail = (slug: string) => `ufficio@${slug}.example`

export async function seedIfEmpty(db: Db, config: Config, log: Logger): Promise<DemoInfo> {
  const [row] = await db.admin<{ n: number }[]>`select count(*)::int as n from platform.tenants`
  const files = await Promise.all((await listTenantFiles(config.tenantsDir)).map(readTenantFile))
  if ((row?.n ?? 0) === 0) {
    const tenantIds: number[] = []
    for (const file of files) {
      const { id, schema } = await onboardTenant(db, file)
      tenantIds.push(id)
      await seedTenantDemo(db, {
        id,
        schema,
        role: tenantRoleName(db.roles, schema),
        segregationCode: file.segregationCode,
      })
      if (file.kind === 'comune')
        await seedCanteenDemo(db, {
          id,
          schema,
          role: tenantRoleName(db.roles, schema),
          segregationCode: file.segregationCode,
        })
      log.info(`demo tenant ${file.slug} onboarded`)
    }
    await seedDemoAccounts(
      db,
      files.map((f, i) => ({ slug: f.slug, id: tenantIds[i] as number })),
    )
  }
  const logins: DemoLogin[] = [
    ...DEMO_FAMILIES.map((f, i) => ({
      role: i === 1 ? 'cittadino (email da confermare)' : 'cittadino',
      tenant: 'tutti',
      email: f.email,
      password: DEMO_PASSWORD,
    })),
    ...files.map((f) => ({
      role: 'ufficio (admin)',
      tenant: f.slug,
      email: staffEmail(f.slug),
      password: DEMO_PASSWORD,
    })),
    { role: 'operatore piattaforma', tenant: '—', email: DEMO_OPERATOR, password: DEMO_PASSWORD },
  ]
  return { tenants: files.map((f) => f.slug), logins }
}

/** Citizens for the demo families, one office administrator per tenant and a platform operator. */
async function seedDemoAccounts(db: Db, tenants: { slug: string; id: number }[]) {
  const hash = await hashPassword(DEMO_PASSWORD)
  const people = [
    ...DEMO_FAMILIES.map((f, i) => ({
      email: f.email,
      given: f.given,
      family: f.family,
      cf: f.cf,
      confirmed: i !== 1,
      operator: false,
    })),
    ...tenants.map((t, i) => ({
      email: staffEmail(t.slug),
      given: 'Ufficio',
      family: t.slug,
      cf: cf(`UFFSTF9${i}A01H501`),
      confirmed: true,
      operator: false,
    })),
    {
      email: DEMO_OPERATOR,
      given: 'Operatore',
      family: 'Piattaforma',
      cf: cf('PRTPTT80A01H501'),
      confirmed: true,
      operator: true,
    },
  ]
  await db.sql.begin(async (tx) => {
    const rows = await tx<{ id: number; email: string }[]>`
      insert into platform.accounts ${tx(
        people.map((p) => ({
          email: p.email,
          password_hash: hash,
          given_name: p.given,
          family_name: p.family,
          codice_fiscale: p.cf,
          email_confirmed_at: p.confirmed ? new Date() : null,
          // the demo's people are who they say they are: their codice fiscale counts as proved
          cf_proved_at: new Date(),
          cf_proved_by: 'seed',
          operator: p.operator,
        })),
      )} returning id, email`
    const byEmail = new Map(rows.map((r) => [r.email, r.id]))
    const memberships = tenants.map((t) => ({
      account_id: byEmail.get(staffEmail(t.slug)) as number,
      tenant_id: t.id,
      role: 'admin',
    }))
    if (memberships.length) await tx`insert into platform.memberships ${tx(memberships)}`
  })
}

export async function seedTenantDemo(
  db: Db,
  tenant: { id: number; schema: string; role: string; segregationCode: string },
  today = todayRome(),
) {
  await withTenant(db.sql, tenant, async (tx) => {
    const services = await tx<{ id: number; kind: string; name: string }[]>`
      select id, kind, name from services order by id`
    if (services.length === 0) return
    const payers = await tx<{ id: number }[]>`
      insert into payers ${tx(DEMO_FAMILIES.map((f) => ({ codice_fiscale: f.cf, given_name: f.given, family_name: f.family, email: f.email })))}
      returning id`
    const pupils = await tx<{ id: number }[]>`
      insert into pupils ${tx(DEMO_PUPILS.map((p) => ({ codice_fiscale: p.cf, given_name: p.given, family_name: p.family, birth_date: p.birth })))}
      returning id`
    const links = DEMO_PUPILS.flatMap((p, i) =>
      p.parents.map((parent, j) => ({
        pupil_id: (pupils[i] as { id: number }).id,
        payer_id: (payers[parent] as { id: number }).id,
        relation: 'genitore',
        holder: j === 0,
      })),
    )
    await tx`insert into pupil_payers ${tx(links)}`
    const year = Number(today.slice(0, 4))
    const svc = (i: number) => services[i % services.length] as { id: number; name: string }
    const docs: DocumentInput[] = []
    DEMO_PUPILS.forEach((p, i) => {
      const payerId = (payers[p.parents[0] as number] as { id: number }).id
      const pupilId = (pupils[i] as { id: number }).id
      // three installments: one past due, one due in a few days (for reminders), one later
      docs.push({
        year,
        issueDate: addDays(today, -40),
        serviceId: svc(0).id,
        payerId,
        pupilId,
        description: `${svc(0).name} – ${p.given} ${p.family}, a.s. ${year}/${year + 1}`,
        installments: [
          { dueDate: addDays(today, -10), amountCents: 6400 },
          { dueDate: addDays(today, 6), amountCents: 6400 },
          { dueDate: addDays(today, 36), amountCents: 6400 },
        ],
      })
      docs.push({
        year,
        issueDate: addDays(today, -90),
        serviceId: svc(1).id,
        payerId,
        pupilId,
        description: `${svc(1).name} – ${p.given} ${p.family}`,
        installments: [{ dueDate: addDays(today, -60), amountCents: 15460 }],
      })
      docs.push({
        year,
        issueDate: addDays(today, -5),
        serviceId: svc(2).id,
        payerId,
        pupilId,
        description: `${svc(2).name} – ${p.given} ${p.family}`,
        installments: [{ dueDate: addDays(today, 25), amountCents: 3500 + i * 250 }],
      })
    })
    const issued = await issueDocuments(tx, tenant, docs)
    // the second document of each pupil was paid at the bank; the third of the last pupil was cancelled
    const paidDocs = issued.documentIds.filter((_, i) => i % 3 === 1)
    const paid = await tx<{ id: number; amount_cents: number; iuv: string }[]>`
      update installments set status = 'pagato', paid_at = now() - interval '55 days', paid_cents = amount_cents
      where document_id = any(${paidDocs}) returning id, amount_cents, iuv`
    // paid at the bank and reconciled: the archive lists them with their receipt
    if (paid.length) {
      await tx`insert into installment_payments ${tx(
        paid.map((p) => ({
          installment_id: p.id,
          source: 'riconciliazione',
          receipt_number: `RIC-${p.iuv}`,
          amount_cents: p.amount_cents,
          paid_at: new Date(Date.now() - 55 * 86_400_000),
          channel: 'banca',
        })),
      )}`
    }
    const [anna] = await tx<{ id: number }[]>`
      insert into payers (codice_fiscale, given_name, family_name, email)
      values (${DEMO_UNREGISTERED.cf}, ${DEMO_UNREGISTERED.given}, ${DEMO_UNREGISTERED.family}, ${DEMO_UNREGISTERED.email})
      returning id`
    await issueDocuments(tx, tenant, [
      {
        year,
        issueDate: addDays(today, -20),
        serviceId: svc(0).id,
        payerId: (anna as { id: number }).id,
        pupilId: null,
        description: `${svc(0).name} – ${DEMO_UNREGISTERED.given} ${DEMO_UNREGISTERED.family}`,
        installments: [{ dueDate: addDays(today, 15), amountCents: 4200 }],
      },
    ])
    const cancelled = issued.documentIds[issued.documentIds.length - 1] as number
    await tx`update documents set cancelled_at = now(), cancel_reason = 'Emesso per errore' where id = ${cancelled}`
    await tx`update installments set status = 'annullato' where document_id = ${cancelled}`
  })
}
