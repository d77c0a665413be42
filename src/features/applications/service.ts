// The lifecycle of an application: a draft the citizen checks, then sent (inviata), taken in charge by the
// office (in lavorazione), decided (accolta or respinta) with a message. Each office step is audited and the
// decision is emailed to the citizen, both in the decision's transaction.
import { type Actor, audit } from '../../platform/audit.ts'
import { todayRome } from '../../platform/dates.ts'
import type { Tx } from '../../platform/db.ts'
import { Conflict, NotFound } from '../../platform/errors.ts'
import type { SessionUser } from '../../platform/http.ts'
import type { Tenant } from '../../platform/tenancy.ts'
import { enrollInCanteen } from '../canteen/service.ts'
import { safeFileName, sha256, type Upload } from '../publications/files.ts'
import { createPupil, enrollInService, ensurePayer, linkPupil } from './enroll.ts'
import { decisionMail, queueMail } from './mail.ts'
import { type ApplicationRow, type ChildLink, knownChild, staffApplication } from './queries.ts'
import type { Kind, Parsed } from './schema.ts'

export interface DraftInput {
  kind: Kind
  formId: number | null
  /** the form's service for an application; the chosen one for a suspension or a rating */
  serviceId: number | null
  parsed: Parsed
  attachment: Upload | null
}

function columns(input: DraftInput) {
  const p = input.parsed
  return {
    service_id: input.serviceId,
    pupil_id: p.pupilId,
    child_given_name: p.child?.givenName ?? null,
    child_family_name: p.child?.familyName ?? null,
    child_cf: p.child?.codiceFiscale ?? null,
  }
}

async function saveAttachment(tx: Tx, applicationId: number, input: DraftInput) {
  if (input.attachment) {
    const f = input.attachment
    await tx`
      insert into application_attachments (application_id, file_name, content_type, size_bytes, sha256, content)
      values (${applicationId}, ${safeFileName(f.name, f.type, 'allegato')}, ${f.type}, ${f.size}, ${sha256(f.bytes)}, ${f.bytes})
      on conflict (application_id) do update set file_name = excluded.file_name, content_type = excluded.content_type,
        size_bytes = excluded.size_bytes, sha256 = excluded.sha256, content = excluded.content,
        uploaded_at = excluded.uploaded_at`
  } else if (input.parsed.dropAttachment) {
    await tx`delete from application_attachments where application_id = ${applicationId}`
  }
}

/** A new draft of the signed-in citizen. */
export async function createDraft(tx: Tx, user: SessionUser, input: DraftInput): Promise<number> {
  const c = columns(input)
  const [row] = await tx<{ id: number }[]>`
    insert into applications (kind, form_id, service_id, account_id, applicant_cf, applicant_given_name,
      applicant_family_name, pupil_id, child_given_name, child_family_name, child_cf, answers)
    values (${input.kind}, ${input.formId}, ${c.service_id}, ${user.accountId}, ${user.codiceFiscale}, ${user.givenName},
      ${user.familyName}, ${c.pupil_id}, ${c.child_given_name}, ${c.child_family_name}, ${c.child_cf},
      ${tx.json(input.parsed.answers as Parameters<typeof tx.json>[0])})
    returning id`
  const id = (row as { id: number }).id
  await saveAttachment(tx, id, input)
  return id
}

/** Changes a draft of the citizen's; a draft already sent is no longer theirs to change. */
export async function updateDraft(tx: Tx, cf: string, id: number, input: DraftInput): Promise<void> {
  const c = columns(input)
  const rows = await tx`
    update applications set service_id = ${c.service_id}, pupil_id = ${c.pupil_id},
      child_given_name = ${c.child_given_name}, child_family_name = ${c.child_family_name}, child_cf = ${c.child_cf},
      answers = ${tx.json(input.parsed.answers as Parameters<typeof tx.json>[0])}, updated_at = now()
    where id = ${id} and applicant_cf = ${cf} and status = 'bozza'
    returning id`
  if (!rows.length) throw new Conflict('applications.errors.notDraft')
  await saveAttachment(tx, id, input)
}

/** Sends a draft: from now on the office sees it. */
export async function submitDraft(tx: Tx, app: ApplicationRow): Promise<void> {
  if (app.status !== 'bozza') throw new Conflict('applications.errors.notDraft')
  if (app.kind === 'iscrizione' && !app.form_open) throw new Conflict('applications.errors.formClosed')
  const rows = await tx`
    update applications set status = 'inviata', submitted_at = now(), updated_at = now()
    where id = ${app.id} and status = 'bozza' returning id`
  if (!rows.length) throw new Conflict('applications.errors.notDraft')
}

export async function deleteDraft(tx: Tx, cf: string, id: number): Promise<void> {
  const rows =
    await tx`delete from applications where id = ${id} and applicant_cf = ${cf} and status = 'bozza' returning id`
  if (!rows.length) throw new Conflict('applications.errors.notDraft')
}

// ---- the office -----------------------------------------------------------------------------------------------

/** Takes an application in charge: inviata → in lavorazione, with who handles it. */
export async function takeInCharge(tx: Tx, actor: Actor, id: number): Promise<void> {
  const app = await staffApplication(tx, id, true)
  if (!app) throw new NotFound()
  if (app.status !== 'inviata') throw new Conflict('applications.errors.alreadyTaken')
  await tx`
    update applications set status = 'in_lavorazione', assigned_account_id = ${actor.accountId},
      assigned_name = ${actor.name}, taken_at = now(), updated_at = now()
    where id = ${id}`
  await audit(tx, actor, {
    action: 'applications.take',
    entity: 'application',
    entityId: id,
    before: { status: app.status },
    after: { status: 'in_lavorazione', assignedTo: actor.name },
  })
}

export interface Decision {
  outcome: 'accolta' | 'respinta'
  message: string
  /** for an application to a service, what the enrollment uses */
  enrollment: { startDate: string; classId: number | null; tariffId: number | null } | null
  /**
   * For an enrollment naming a child the body knows and does not link to the applicant, the office's explicit
   * choice: link the applicant (with the reason it writes) or accept without linking them. Null otherwise.
   */
  link: { linkApplicant: true; reason: string } | { linkApplicant: false } | null
}

export interface DecisionResult {
  effect: string | null
  mailQueued: boolean
}

/**
 * Decides an application still open. Acceptance applies its effect in the same transaction (enrollment,
 * new address); the email to the citizen is queued with it, once per application ever.
 */
export async function decide(
  tx: Tx,
  tenant: Tenant,
  actor: Actor,
  id: number,
  d: Decision,
  opts: { baseUrl: string },
): Promise<DecisionResult> {
  const app = await staffApplication(tx, id, true)
  if (!app) throw new NotFound()
  if (app.status !== 'inviata' && app.status !== 'in_lavorazione')
    throw new Conflict('applications.errors.alreadyDecided')
  const accepted = d.outcome === 'accolta' ? await applyAcceptance(tx, tenant, actor, app, d) : null
  const effect = accepted?.effect ?? null
  await tx`
    update applications set status = ${d.outcome}, office_message = ${d.message || null}, decided_at = now(),
      decided_by_name = ${actor.name}, effect = ${effect},
      assigned_account_id = coalesce(assigned_account_id, ${actor.accountId}),
      -- the time as a value, not now(): Citus takes no volatile function inside COALESCE on a distributed table
      assigned_name = coalesce(assigned_name, ${actor.name}), taken_at = coalesce(taken_at, ${new Date()}::timestamptz), updated_at = now()
    where id = ${id}`
  await audit(tx, actor, {
    action: 'applications.decide',
    entity: 'application',
    entityId: id,
    before: { status: app.status },
    after: {
      status: d.outcome,
      message: d.message || null,
      effect,
      ...(accepted?.childLink ? { childLink: accepted.childLink } : {}),
    },
    reason: accepted?.linkReason ?? null,
  })
  const mailQueued = await queueDecisionMail(tx, tenant, app, d, opts.baseUrl)
  return { effect, mailQueued }
}

interface Accepted {
  effect: string | null
  childLink?: ChildLink
  linkReason?: string | null
}

async function applyAcceptance(
  tx: Tx,
  tenant: Tenant,
  actor: Actor,
  app: ApplicationRow,
  d: Decision,
): Promise<Accepted | null> {
  if (app.kind === 'iscrizione') return enroll(tx, tenant, actor, app, d)
  if (app.kind === 'indirizzo') {
    const a = app.answers
    const address = `${a.street ?? ''}, ${a.postalCode ?? ''} ${a.city ?? ''}`.trim()
    const [before] = await tx<{ id: number; address: string | null }[]>`
      select id, address from payers where codice_fiscale = ${app.applicant_cf} for update`
    if (!before) return { effect: null }
    await tx`update payers set address = ${address} where id = ${before.id}`
    await audit(tx, actor, {
      action: 'applications.address',
      entity: 'payer',
      entityId: before.id,
      before: { address: before.address },
      after: { address },
      reason: `istanza ${app.id}`,
    })
    return { effect: 'indirizzo' }
  }
  // suspensions, diets and ratings are taken note of: the office acts on them in the service concerned
  return { effect: null }
}

/**
 * The child of an enrollment and its link to the applicant (decision 0044): a child new to the body is created
 * and linked to the applicant; a child the body knows is linked to the applicant only when the office chose it,
 * with its reason; otherwise the applicant stays a stranger to it (no payer record, no link: they see nothing).
 */
async function childOf(
  tx: Tx,
  tenant: Tenant,
  actor: Actor,
  app: ApplicationRow,
  d: Decision,
): Promise<{ pupilId: number; childLink: ChildLink; linkReason: string | null }> {
  const payer = async () => {
    const [account] = await tx<{ email: string }[]>`select email from platform.accounts where id = ${app.account_id}`
    return ensurePayer(tx, tenant.id, {
      codiceFiscale: app.applicant_cf,
      givenName: app.applicant_given_name,
      familyName: app.applicant_family_name,
      email: account?.email ?? null,
    })
  }
  const known = await knownChild(tx, app, true)
  if (!known) {
    if (!app.child_cf || !app.child_given_name || !app.child_family_name) throw new Conflict()
    const pupilId = await createPupil(tx, {
      givenName: app.child_given_name,
      familyName: app.child_family_name,
      codiceFiscale: app.child_cf,
    })
    // a pupil with that codice fiscale appeared since the office read the page: it must look again
    if (pupilId === null) throw new Conflict('applications.errors.childChanged')
    await linkPupil(tx, pupilId, await payer())
    return { pupilId, childLink: 'nuovo', linkReason: null }
  }
  if (known.applicantLinked) return { pupilId: known.id, childLink: 'gia_collegato', linkReason: null }
  // the office chose on a page that showed the child as known and not linked; anything else must be looked at again
  if (!d.link) throw new Conflict('applications.errors.childChanged')
  if (!d.link.linkApplicant) return { pupilId: known.id, childLink: 'non_collegato', linkReason: null }
  const payerId = await payer()
  const holder = await linkPupil(tx, known.id, payerId)
  await audit(tx, actor, {
    action: 'applications.link',
    entity: 'pupil',
    entityId: known.id,
    before: { links: known.links.map((l) => ({ payerId: l.payer_id, relation: l.relation, holder: l.holder })) },
    after: { payerId, payerCf: app.applicant_cf, relation: 'genitore', holder, application: app.id },
    reason: d.link.reason,
  })
  return { pupilId: known.id, childLink: 'collegato', linkReason: d.link.reason }
}

async function enroll(tx: Tx, tenant: Tenant, actor: Actor, app: ApplicationRow, d: Decision): Promise<Accepted> {
  const { pupilId, childLink, linkReason } = await childOf(tx, tenant, actor, app, d)
  await tx`
    update applications set pupil_id = ${pupilId}, child_link = ${childLink}, child_link_reason = ${linkReason}
    where id = ${app.id}`
  const done = (effect: string): Accepted => ({ effect, childLink, linkReason })
  const a = app.answers
  const startDate = d.enrollment?.startDate ?? a.startDate ?? todayRome()
  if (app.service_kind === 'mensa') {
    const input = {
      pupilId,
      classId: d.enrollment?.classId ?? a.class?.id ?? null,
      tariffId: d.enrollment?.tariffId ?? a.tariff?.id ?? null,
      startDate,
    }
    const enrollmentId = await enrollInCanteen(tx, input)
    await audit(tx, actor, {
      action: 'applications.enroll',
      entity: 'pupil',
      entityId: pupilId,
      after: { service: 'mensa', enrollmentId, ...input },
      reason: `istanza ${app.id}`,
    })
    return done('mensa')
  }
  const enrollment = {
    serviceId: app.service_id as number,
    pupilId,
    applicationId: app.id,
    startDate,
    school: a.school?.name ?? null,
    class: a.class?.name ?? null,
    tariff: a.tariff?.name ?? null,
    iseeCents: a.iseeCents ?? null,
  }
  const created = await enrollInService(tx, enrollment)
  await audit(tx, actor, {
    action: 'applications.enroll',
    entity: 'pupil',
    entityId: pupilId,
    after: { ...enrollment, alreadyEnrolled: !created },
    reason: `istanza ${app.id}`,
  })
  return done('servizio')
}

async function queueDecisionMail(tx: Tx, tenant: Tenant, app: ApplicationRow, d: Decision, baseUrl: string) {
  const [account] = await tx<{ email: string; lang: 'it' | 'en'; given_name: string }[]>`
    select email, lang, given_name from platform.accounts where id = ${app.account_id}`
  if (!account) return false
  const msg = decisionMail(account.lang, {
    to: account.email,
    name: account.given_name,
    tenant: tenant.name,
    app,
    outcome: d.outcome,
    message: d.message,
    link: `${baseUrl}/t/${tenant.slug}/istanze/${app.id}`,
  })
  await queueMail(tx, { ...msg, dedupeKey: `application-decision:${tenant.id}:${app.id}` })
  return true
}
