// The tax certificate (attestazione per il 730): the pupils a citizen is linked to across tenants, and what
// the citizen paid for one of them in a period, from every channel, as rows for the certificate PDF.
import { type Db, withTenant } from '../../platform/db.ts'
import { taxCategoryOf } from '../../platform/it/tax-categories.ts'
import type { Tenant } from '../../platform/tenancy.ts'
import type { TaxCertificateRow } from '../payments/tax-certificate-pdf.ts'

export interface PupilChoice {
  /** stable, opaque to the citizen: `<tenant id>-<pupil id>` of the pupil's first record */
  key: string
  name: string
  codiceFiscale: string | null
  /** the same child's records in each tenant that knows them */
  records: { tenant: Tenant; pupilId: number }[]
}

/**
 * Every pupil linked to this codice fiscale (as parent, guardian or delegate) in the given tenants. The same
 * child known to several tenants is one choice when the codice fiscale matches; without one, each record
 * stands alone.
 */
export async function familyPupils(db: Db, tenants: Tenant[], cf: string): Promise<PupilChoice[]> {
  const choices: PupilChoice[] = []
  const byCf = new Map<string, PupilChoice>()
  for (const tenant of [...tenants].sort((a, b) => a.id - b.id)) {
    const rows = await withTenant(
      db.sql,
      tenant,
      (tx) => tx<{ id: number; name: string; codice_fiscale: string | null }[]>`
        select pu.id, pu.given_name || ' ' || pu.family_name as name, pu.codice_fiscale
        from pupils pu
        where pu.id in (select pp.pupil_id from pupil_payers pp join payers p on p.id = pp.payer_id
                        where p.codice_fiscale = ${cf})
        order by pu.id`,
    )
    for (const r of rows) {
      const known = r.codice_fiscale ? byCf.get(r.codice_fiscale) : undefined
      if (known) {
        known.records.push({ tenant, pupilId: r.id })
        continue
      }
      const choice: PupilChoice = {
        key: `${tenant.id}-${r.id}`,
        name: r.name,
        codiceFiscale: r.codice_fiscale,
        records: [{ tenant, pupilId: r.id }],
      }
      choices.push(choice)
      if (r.codice_fiscale) byCf.set(r.codice_fiscale, choice)
    }
  }
  return choices.sort((a, b) => a.name.localeCompare(b.name, 'it') || a.key.localeCompare(b.key))
}

interface PaidRow {
  date: string
  paid_at: Date
  installment_id: number
  service_name: string
  service_kind: string
  tax_category: string | null
  description: string
  seq: number
  installments: number
  amount_cents: number
  iuv: string
  receipt_number: string
  payment_id: number | null
  holder_cf: string
  /** an executed refund of the payment (amount_cents negative) */
  refund: boolean
}

/** "Refezione scolastica – Pasti di ottobre", without repeating the service's name, "– rata 2" when split. */
export function serviceLabel(
  r: Pick<PaidRow, 'service_name' | 'description' | 'seq' | 'installments'>,
  installment: (seq: number) => string = (seq) => `rata ${seq}`,
): string {
  const desc = r.description.trim()
  const base = desc.toLowerCase().startsWith(r.service_name.toLowerCase()) ? desc : `${r.service_name} – ${desc}`
  return r.installments > 1 ? `${base} – ${installment(r.seq)}` : base
}

/**
 * What this citizen paid for the pupil in the period (dates in Rome), amounts without commissions, less what the
 * body refunded of those payments in the period (negative rows, on the day the refund's transfer left). A payment
 * counts when the citizen made it on Sportello (their account's payment) or, for payments made at other
 * channels (pagoPA node, bank, office), when the citizen is the holder of the document: so two parents
 * linked to the same child each get what they paid, and nothing twice.
 */
export async function certificateRows(
  db: Db,
  pupil: PupilChoice,
  me: { accountId: number; codiceFiscale: string },
  range: { from: string; to: string },
  installment?: (seq: number) => string,
): Promise<TaxCertificateRow[]> {
  const found: { tenant: Tenant; row: PaidRow }[] = []
  for (const rec of pupil.records) {
    const rows = await withTenant(
      db.sql,
      rec.tenant,
      (tx) => tx<PaidRow[]>`
        select to_char(ip.paid_at at time zone 'Europe/Rome', 'YYYY-MM-DD') as date, ip.paid_at,
          i.id as installment_id, s.name as service_name, s.kind as service_kind, s.tax_category, d.description, i.seq,
          (select count(*)::int from installments x where x.document_id = d.id) as installments,
          ip.amount_cents, i.iuv, ip.receipt_number, ip.payment_id, p.codice_fiscale as holder_cf, false as refund
        from installment_payments ip
          join installments i on i.id = ip.installment_id
          join documents d on d.id = i.document_id
          join services s on s.id = d.service_id
          join payers p on p.id = d.payer_id
        where d.pupil_id = ${rec.pupilId}
          and ip.paid_at >= (${range.from}::date::timestamp at time zone 'Europe/Rome')
          and ip.paid_at < ((${range.to}::date + 1)::timestamp at time zone 'Europe/Rome')
        union all
        -- refunds of those payments, on the day the bank transfer left, to whoever the payment counts for
        select to_char(r.executed_on, 'YYYY-MM-DD'), r.executed_on::timestamp at time zone 'Europe/Rome' + interval '12 hours',
          i.id, s.name, s.kind, s.tax_category, d.description, i.seq,
          (select count(*)::int from installments x where x.document_id = d.id),
          -r.amount_cents, i.iuv, r.bank_reference, ip.payment_id, p.codice_fiscale, true
        from refunds r
          join installments i on i.id = r.installment_id
          join installment_payments ip on ip.installment_id = i.id
          join documents d on d.id = i.document_id
          join services s on s.id = d.service_id
          join payers p on p.id = d.payer_id
        where d.pupil_id = ${rec.pupilId} and r.basis = 'pagamento' and r.status = 'eseguito'
          and r.executed_on between ${range.from}::date and ${range.to}::date
        order by 2, 3`,
    )
    for (const row of rows) found.push({ tenant: rec.tenant, row })
  }
  const paymentIds = [...new Set(found.map((f) => f.row.payment_id).filter((x): x is number => x !== null))]
  const mine = new Set(
    paymentIds.length
      ? (
          await db.sql<{ id: number }[]>`
            select id from platform.payments where id = any(${paymentIds}) and account_id = ${me.accountId}`
        ).map((r) => r.id)
      : [],
  )
  return (
    found
      .filter(({ row }) => (row.payment_id === null ? row.holder_cf === me.codiceFiscale : mine.has(row.payment_id)))
      .sort(
        (a, b) =>
          a.row.date.localeCompare(b.row.date) ||
          // a refund after the payments of its day
          Number(a.row.refund) - Number(b.row.refund) ||
          a.row.paid_at.getTime() - b.row.paid_at.getTime() ||
          a.tenant.name.localeCompare(b.tenant.name, 'it') ||
          a.row.installment_id - b.row.installment_id,
      )
      .map(({ tenant, row }) => ({
        date: row.date,
        tenantName: tenant.name,
        tenantFiscalCode: tenant.fiscalCode,
        service: serviceLabel(row, installment),
        amountCents: row.amount_cents,
        iuv: row.iuv,
        receiptNumber: row.receipt_number,
        category: taxCategoryOf(row.service_kind, row.tax_category),
        pupilName: pupil.name,
        ...(row.refund ? { refund: true } : {}),
      }))
      // a town-hall due is not a school expense: not on a certificate for the tax return
      .filter((r): r is typeof r & { category: Exclude<typeof r.category, 'nessuna'> } => r.category !== 'nessuna')
  )
}

/** The rows of several pupils (the household: every child of the account), in payment order. */
export async function householdRows(
  db: Db,
  pupils: PupilChoice[],
  me: { accountId: number; codiceFiscale: string },
  range: { from: string; to: string },
  installment?: (seq: number) => string,
): Promise<TaxCertificateRow[]> {
  const all: TaxCertificateRow[] = []
  for (const p of pupils) all.push(...(await certificateRows(db, p, me, range, installment)))
  return all.sort((a, b) => a.date.localeCompare(b.date) || (a.pupilName ?? '').localeCompare(b.pupilName ?? '', 'it'))
}
