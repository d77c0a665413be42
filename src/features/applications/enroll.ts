// What an accepted application does: the child becomes a pupil of the tenant linked to the applicant (who
// becomes a payer the tenant bills), then the pupil is enrolled — in the canteen through the canteen feature's
// enrollInCanteen, in any other service in service_enrollments. See decision 0042.
import type { Tx } from '../../platform/db.ts'

export interface Applicant {
  codiceFiscale: string
  givenName: string
  familyName: string
  email: string | null
}

/** The applicant's payer row, created when the tenant does not bill them yet; listed in the platform index. */
export async function ensurePayer(tx: Tx, tenantId: number, a: Applicant): Promise<number> {
  const [row] = await tx<{ id: number }[]>`
    insert into payers (codice_fiscale, given_name, family_name, email)
    values (${a.codiceFiscale}, ${a.givenName}, ${a.familyName}, ${a.email})
    on conflict (codice_fiscale) do update set codice_fiscale = excluded.codice_fiscale
    returning id`
  await tx`insert into platform.payer_index (codice_fiscale, tenant_id) values (${a.codiceFiscale}, ${tenantId})
           on conflict do nothing`
  return (row as { id: number }).id
}

/** The child as a pupil (found by codice fiscale, or created). */
export async function ensurePupil(
  tx: Tx,
  child: { givenName: string; familyName: string; codiceFiscale: string },
): Promise<number> {
  const [row] = await tx<{ id: number }[]>`
    insert into pupils (codice_fiscale, given_name, family_name)
    values (${child.codiceFiscale}, ${child.givenName}, ${child.familyName})
    on conflict (codice_fiscale) do update set codice_fiscale = excluded.codice_fiscale
    returning id`
  return (row as { id: number }).id
}

/** Links the pupil to the payer; the payer holds the notices when the pupil has no holder yet. */
export async function linkPupil(tx: Tx, pupilId: number, payerId: number): Promise<void> {
  await tx`
    insert into pupil_payers (pupil_id, payer_id, relation, holder)
    values (${pupilId}, ${payerId}, 'genitore',
            not exists (select 1 from pupil_payers where pupil_id = ${pupilId} and holder))
    on conflict (pupil_id, payer_id) do nothing`
}

export interface ServiceEnrollment {
  serviceId: number
  pupilId: number
  applicationId: number
  startDate: string
  school: string | null
  class: string | null
  tariff: string | null
  iseeCents: number | null
}

/** Enrollment in a service without a feature of its own; an active enrollment is kept as it is. */
export async function enrollInService(tx: Tx, e: ServiceEnrollment): Promise<boolean> {
  const rows = await tx`
    insert into service_enrollments (service_id, pupil_id, application_id, start_date, school, class, tariff, isee_cents)
    values (${e.serviceId}, ${e.pupilId}, ${e.applicationId}, ${e.startDate}, ${e.school}, ${e.class}, ${e.tariff},
            ${e.iseeCents})
    on conflict (service_id, pupil_id) where status = 'attiva' do nothing
    returning id`
  return rows.length > 0
}
