// What an accepted application does: a child new to the body becomes a pupil linked to the applicant (who
// becomes a payer the tenant bills); a child the body knows is linked to the applicant only when the office
// chooses it; then the pupil is enrolled — in the canteen through the canteen feature's enrollInCanteen, in any
// other service in service_enrollments. See decisions 0042 and 0044.
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

/**
 * A child new to the body as a pupil; null when a pupil with that codice fiscale exists (it appeared since the
 * office looked: never taken over here, see knownChild and decision 0044).
 */
export async function createPupil(
  tx: Tx,
  child: { givenName: string; familyName: string; codiceFiscale: string },
): Promise<number | null> {
  const [row] = await tx<{ id: number }[]>`
    insert into pupils (codice_fiscale, given_name, family_name)
    values (${child.codiceFiscale}, ${child.givenName}, ${child.familyName})
    on conflict (codice_fiscale) do nothing
    returning id`
  return row?.id ?? null
}

/**
 * Links the pupil to the payer as a parent or guardian; the payer holds the notices when the pupil has no
 * holder yet. Returns whether the payer holds them.
 */
export async function linkPupil(tx: Tx, pupilId: number, payerId: number): Promise<boolean> {
  // two statements, not a subquery inside the insert (Citus plans no subquery in an INSERT … VALUES)
  const [held] = await tx<{ yes: boolean }[]>`
    select exists (select 1 from pupil_payers where pupil_id = ${pupilId} and holder) as yes`
  const [row] = await tx<{ holder: boolean }[]>`
    insert into pupil_payers (pupil_id, payer_id, relation, holder)
    values (${pupilId}, ${payerId}, 'genitore', ${!held?.yes})
    on conflict (pupil_id, payer_id) do nothing
    returning holder`
  return row?.holder ?? false
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
