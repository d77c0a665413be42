// Reading applications: the citizen's own (by codice fiscale, so another family's are never found), the
// office's queue, the forms and the lists a page offers.
import type { Tx } from '../../platform/db.ts'
import type { Answers, Choice, FormField, Kind, Status } from './schema.ts'

export type ChildLink = 'nuovo' | 'gia_collegato' | 'collegato' | 'non_collegato'

export interface ApplicationRow {
  id: number
  kind: Kind
  form_id: number | null
  form_title: string | null
  form_fields: FormField[] | null
  form_open: boolean | null
  service_id: number | null
  service_name: string | null
  service_kind: string | null
  status: Status
  account_id: number
  applicant_cf: string
  applicant_given_name: string
  applicant_family_name: string
  pupil_id: number | null
  pupil_name: string | null
  child_given_name: string | null
  child_family_name: string | null
  child_cf: string | null
  answers: Answers
  office_message: string | null
  assigned_name: string | null
  decided_by_name: string | null
  effect: string | null
  /** for an accepted enrollment: what acceptance did between the applicant and the child (decision 0044) */
  child_link: ChildLink | null
  child_link_reason: string | null
  created_at: Date
  submitted_at: Date | null
  taken_at: Date | null
  decided_at: Date | null
  attachment_name: string | null
  attachment_type: string | null
  attachment_size: number | null
}

/**
 * The application with its form, service and pupil. The citizen reads the pupil's name only while the body
 * links them to that pupil: an enrollment accepted without linking them shows the child as they typed it.
 */
function select(tx: Tx, forCitizen = false) {
  const pupilName = tx`pu.given_name || ' ' || pu.family_name`
  return tx`
    select a.id, a.kind, a.form_id, f.title as form_title, f.fields as form_fields, f.open as form_open,
      a.service_id, s.name as service_name, s.kind as service_kind, a.status, a.account_id, a.applicant_cf,
      a.applicant_given_name, a.applicant_family_name, a.pupil_id,
      ${
        forCitizen
          ? tx`case when exists (select 1 from pupil_payers pp join payers p on p.id = pp.payer_id
                                 where pp.pupil_id = a.pupil_id and p.codice_fiscale = a.applicant_cf)
                then ${pupilName} end`
          : pupilName
      } as pupil_name,
      a.child_given_name, a.child_family_name, a.child_cf, a.answers, a.office_message, a.assigned_name,
      a.decided_by_name, a.effect, a.child_link, a.child_link_reason, a.created_at, a.submitted_at, a.taken_at,
      a.decided_at,
      att.file_name as attachment_name, att.content_type as attachment_type, att.size_bytes as attachment_size
    from applications a
      left join application_forms f on f.id = a.form_id
      left join services s on s.id = a.service_id
      left join pupils pu on pu.id = a.pupil_id
      left join application_attachments att on att.application_id = a.id`
}

/** The citizen's applications and communications in this tenant, newest first. */
export function citizenApplications(tx: Tx, cf: string) {
  return tx<ApplicationRow[]>`${select(tx, true)} where a.applicant_cf = ${cf} order by a.created_at desc, a.id desc`
}

/** One of the citizen's own, or null (another family's is not found). */
export async function citizenApplication(tx: Tx, cf: string, id: number): Promise<ApplicationRow | null> {
  const [row] = await tx<ApplicationRow[]>`${select(tx, true)} where a.id = ${id} and a.applicant_cf = ${cf}`
  return row ?? null
}

/** One application as the office sees it: drafts are the citizen's alone. */
export async function staffApplication(tx: Tx, id: number, lock = false): Promise<ApplicationRow | null> {
  const [row] = await tx<ApplicationRow[]>`
    ${select(tx)} where a.id = ${id} and a.status <> 'bozza' ${lock ? tx`for update of a` : tx``}`
  return row ?? null
}

export interface QueueFilter {
  status: 'aperte' | 'tutte' | Exclude<Status, 'bozza'>
  kind: Kind | null
  serviceId: number | null
  page: number
}

export const QUEUE_PAGE = 50

export interface QueueRow {
  id: number
  kind: Kind
  status: Status
  form_title: string | null
  service_name: string | null
  applicant: string
  pupil: string | null
  assigned_name: string | null
  submitted_at: Date
  rows_total: number
}

/** The office's queue: oldest first while open (first come, first served), newest first otherwise. */
export function queue(tx: Tx, f: QueueFilter) {
  const open = f.status === 'aperte'
  return tx<QueueRow[]>`
    select a.id, a.kind, a.status, fm.title as form_title, s.name as service_name,
      a.applicant_family_name || ' ' || a.applicant_given_name as applicant,
      coalesce(pu.given_name || ' ' || pu.family_name, a.child_given_name || ' ' || a.child_family_name) as pupil,
      a.assigned_name, a.submitted_at, count(*) over ()::int as rows_total
    from applications a
      left join application_forms fm on fm.id = a.form_id
      left join services s on s.id = a.service_id
      left join pupils pu on pu.id = a.pupil_id
    where a.status <> 'bozza'
      and ${
        open
          ? tx`a.status in ('inviata', 'in_lavorazione')`
          : f.status === 'tutte'
            ? tx`true`
            : tx`a.status = ${f.status}`
      }
      and ${f.kind ? tx`a.kind = ${f.kind}` : tx`true`}
      and ${f.serviceId ? tx`a.service_id = ${f.serviceId}` : tx`true`}
    order by ${open ? tx`a.submitted_at, a.id` : tx`a.submitted_at desc, a.id desc`}
    limit ${QUEUE_PAGE} offset ${(f.page - 1) * QUEUE_PAGE}`
}

/** How many applications wait in each state (for the queue's tabs and the office dashboard). */
export async function queueCounts(
  tx: Tx,
): Promise<Record<'inviata' | 'in_lavorazione' | 'accolta' | 'respinta', number>> {
  const [r] = await tx<{ inviata: number; in_lavorazione: number; accolta: number; respinta: number }[]>`
    select count(*) filter (where status = 'inviata')::int as inviata,
      count(*) filter (where status = 'in_lavorazione')::int as in_lavorazione,
      count(*) filter (where status = 'accolta')::int as accolta,
      count(*) filter (where status = 'respinta')::int as respinta
    from applications where status <> 'bozza'`
  return r as { inviata: number; in_lavorazione: number; accolta: number; respinta: number }
}

/** Applications and communications waiting for the office (sent or being handled): for the dashboard. */
export async function countWaitingApplications(tx: Tx): Promise<number> {
  const [r] = await tx<{ n: number }[]>`
    select count(*)::int as n from applications where status in ('inviata', 'in_lavorazione')`
  return r?.n ?? 0
}

export interface FormRow {
  id: number
  service_id: number
  service_name: string
  service_kind: string
  service_active: boolean
  title: string
  intro: string
  fields: FormField[]
  open: boolean
  updated_at: Date
}

function selectForms(tx: Tx) {
  return tx`
    select f.id, f.service_id, s.name as service_name, s.kind as service_kind, s.active as service_active, f.title,
      f.intro, f.fields, f.open, f.updated_at
    from application_forms f join services s on s.id = f.service_id`
}

export function allForms(tx: Tx) {
  return tx<FormRow[]>`${selectForms(tx)} order by s.name, f.id`
}

/** The forms a citizen may fill in now. */
export function openForms(tx: Tx) {
  return tx<FormRow[]>`${selectForms(tx)} where f.open and s.active order by s.name, f.id`
}

export async function findForm(tx: Tx, id: number): Promise<FormRow | null> {
  const [row] = await tx<FormRow[]>`${selectForms(tx)} where f.id = ${id}`
  return row ?? null
}

/** The pupils linked to the citizen in this tenant. */
export function citizenPupils(tx: Tx, cf: string) {
  return tx<Choice[]>`
    select distinct pu.id, pu.given_name || ' ' || pu.family_name as name
    from pupils pu join pupil_payers pp on pp.pupil_id = pu.id join payers p on p.id = pp.payer_id
    where p.codice_fiscale = ${cf}
    order by name, pu.id`
}

export interface ChildLinkRow {
  payer_id: number
  name: string
  codice_fiscale: string
  relation: 'genitore' | 'tutore' | 'delegato'
  holder: boolean
}

export interface KnownChild {
  id: number
  name: string
  codice_fiscale: string | null
  /** the payers (parents, guardians, delegates) the body links to the child, the holder of the notices first */
  links: ChildLinkRow[]
  /** the applicant is one of them */
  applicantLinked: boolean
}

/**
 * The pupil an enrollment application is about when the body already knows it: the pupil the applicant chose,
 * or the one with the codice fiscale they typed; null for a child new to the body. With `lock`, the pupil row
 * is locked, as every change of its links does first (backoffice/people/pupils.ts).
 */
export async function knownChild(
  tx: Tx,
  app: Pick<ApplicationRow, 'pupil_id' | 'child_cf' | 'applicant_cf'>,
  lock = false,
): Promise<KnownChild | null> {
  if (!app.pupil_id && !app.child_cf) return null
  const [pupil] = await tx<{ id: number; name: string; codice_fiscale: string | null }[]>`
    select id, given_name || ' ' || family_name as name, codice_fiscale from pupils
    where ${app.pupil_id ? tx`id = ${app.pupil_id}` : tx`codice_fiscale = ${app.child_cf}`}
    ${lock ? tx`for update` : tx``}`
  if (!pupil) return null
  const links = await tx<ChildLinkRow[]>`
    select pp.payer_id, p.given_name || ' ' || p.family_name as name, p.codice_fiscale, pp.relation, pp.holder
    from pupil_payers pp join payers p on p.id = pp.payer_id
    where pp.pupil_id = ${pupil.id}
    order by pp.holder desc, p.family_name, p.given_name, p.id`
  return { ...pupil, links, applicantLinked: links.some((l) => l.codice_fiscale === app.applicant_cf) }
}

/** Services a communication may be about: canteen and transport for a suspension, any for a rating. */
export function servicesFor(tx: Tx, kind: Kind) {
  return kind === 'sospensione'
    ? tx<Choice[]>`select id, name from services where active and kind in ('mensa', 'trasporto') order by name, id`
    : tx<Choice[]>`select id, name from services where active order by name, id`
}

export function allServices(tx: Tx) {
  return tx<(Choice & { kind: string; has_form: boolean })[]>`
    select s.id, s.name, s.kind, exists (select 1 from application_forms f where f.service_id = s.id) as has_form
    from services s order by s.name, s.id`
}

export async function attachmentOf(
  tx: Tx,
  applicationId: number,
): Promise<{ file_name: string; content_type: string; content: Uint8Array } | null> {
  const [row] = await tx<{ file_name: string; content_type: string; content: Uint8Array }[]>`
    select file_name, content_type, content from application_attachments where application_id = ${applicationId}`
  return row ?? null
}
