// Payers (intestatari) and pupils (alunni): search, create, edit, and the links between them. A pupil may have
// several payers (both parents, a guardian, delegates) and exactly one of them holds the notices.
import type { Context } from 'hono'
import { Hono } from 'hono'
import { z } from 'zod'
import { actorOf, audit } from '../../platform/audit.ts'
import type { Tx } from '../../platform/db.ts'
import { NotFound } from '../../platform/errors.ts'
import { fieldError, formValues, parseWith } from '../../platform/forms.ts'
import type { Env } from '../../platform/http.ts'
import { normalizeCodiceFiscale } from '../../platform/it/codice-fiscale.ts'
import type { FormErrors } from '../../platform/render.ts'
import { claimsOf } from '../account/proof.ts'
import {
  flatValues,
  idParam,
  inTenant,
  joinDate,
  officePath,
  page,
  readers,
  splitDate,
  tenantOf,
  writers,
} from './common.ts'
import { LINK_ORDER, linkSchema, PAYER_ORDER, PUPIL_ORDER, payerSchema, pupilSchema } from './schema.ts'

export const peopleRoutes = new Hono<Env>()

export interface PayerRow {
  id: number
  codice_fiscale: string
  given_name: string
  family_name: string
  email: string | null
  phone: string | null
  address: string | null
}

export interface PupilRow {
  id: number
  codice_fiscale: string | null
  given_name: string
  family_name: string
  birth_date: string | null
}

const PAYER_COLUMNS = ['id', 'codice_fiscale', 'given_name', 'family_name', 'email', 'phone', 'address']
const PUPIL_COLUMNS = ['id', 'codice_fiscale', 'given_name', 'family_name', 'birth_date']

/**
 * Adds to the platform index every codice fiscale of these payers that can see a document here (issued to
 * it, or to a pupil it is linked to), so their citizens' pages ask this tenant. Entries are never removed
 * here: a stale one only makes a citizen's page ask a tenant that answers with nothing.
 */
export async function indexPayers(tx: Tx, tenantId: number, payerIds: number[]) {
  if (!payerIds.length) return
  await tx`
    insert into platform.payer_index (codice_fiscale, tenant_id)
    select distinct p.codice_fiscale, ${tenantId}::bigint from payers p
    where p.id = any(${payerIds})
      and (exists (select 1 from documents d where d.payer_id = p.id)
           or exists (select 1 from pupil_payers pp join documents d on d.pupil_id = pp.pupil_id where pp.payer_id = p.id))
    on conflict do nothing`
}

// ---- search

const searchSchema = z.object({
  q: z
    .string()
    .max(80)
    .optional()
    .catch(undefined)
    .transform((s) => (s ?? '').replace(/\s+/g, ' ').trim()),
})

peopleRoutes.get('/t/:tenant/ufficio/anagrafiche', readers, async (c) => {
  const { q } = searchSchema.parse(c.req.query())
  const cf = normalizeCodiceFiscale(q)
  const byCf = /^[A-Z0-9]{16}$/.test(cf)
  const like = `%${q.toLowerCase().replace(/[\\%_]/g, (m) => `\\${m}`)}%`
  const { payers, pupils } = await inTenant(c, async (tx) => {
    const payerWhere = !q
      ? tx`true`
      : byCf
        ? tx`codice_fiscale = ${cf}`
        : tx`(lower(given_name || ' ' || family_name) like ${like} or lower(family_name || ' ' || given_name) like ${like}
              or codice_fiscale like ${`%${cf}%`})`
    const payers = await tx<PayerRow[]>`
      select ${tx(PAYER_COLUMNS)} from payers where ${payerWhere}
      order by ${q ? tx`lower(family_name), lower(given_name)` : tx`id desc`} limit 50`
    const pupils = await tx<(PupilRow & { holder: string | null })[]>`
      select pu.id, pu.codice_fiscale, pu.given_name, pu.family_name, pu.birth_date,
        (select p.given_name || ' ' || p.family_name from pupil_payers pp join payers p on p.id = pp.payer_id
         where pp.pupil_id = pu.id and pp.holder) as holder
      from pupils pu
      where ${
        !q
          ? tx`true`
          : byCf
            ? tx`pu.codice_fiscale = ${cf}`
            : tx`(lower(pu.given_name || ' ' || pu.family_name) like ${like} or lower(pu.family_name || ' ' || pu.given_name) like ${like}
                  or pu.codice_fiscale like ${`%${cf}%`})`
      }
      order by ${q ? tx`lower(pu.family_name), lower(pu.given_name)` : tx`pu.id desc`} limit 50`
    return { payers, pupils }
  })
  return page(c, 'people', { title: c.var.t('backoffice.people.title'), q, payers, pupils })
})

// ---- payers

function payerToForm(p: PayerRow): Record<string, string> {
  return {
    codiceFiscale: p.codice_fiscale,
    givenName: p.given_name,
    familyName: p.family_name,
    email: p.email ?? '',
    phone: p.phone ?? '',
    address: p.address ?? '',
  }
}

function payerSnapshot(p: z.output<typeof payerSchema>) {
  return {
    codiceFiscale: p.codiceFiscale,
    givenName: p.givenName,
    familyName: p.familyName,
    email: p.email,
    phone: p.phone,
    address: p.address,
  }
}

peopleRoutes.get('/t/:tenant/ufficio/anagrafiche/intestatari/nuovo', writers, (c) =>
  page(c, 'payer-form', { title: c.var.t('backoffice.payer.newTitle'), payer: null }),
)

peopleRoutes.post('/t/:tenant/ufficio/anagrafiche/intestatari/nuovo', writers, async (c) => {
  const t = c.var.t
  const values = await formValues(c)
  const parsed = parseWith(payerSchema, values, t, PAYER_ORDER)
  const again = (errors: FormErrors) =>
    page(c, 'payer-form', { title: t('backoffice.payer.newTitle'), payer: null, values: flatValues(values), errors })
  if (!parsed.ok) return again(parsed.errors)
  const p = parsed.data
  const id = await inTenant(c, async (tx) => {
    const [row] = await tx<{ id: number }[]>`
      insert into payers (codice_fiscale, given_name, family_name, email, phone, address)
      values (${p.codiceFiscale}, ${p.givenName}, ${p.familyName}, ${p.email}, ${p.phone}, ${p.address})
      on conflict (codice_fiscale) do nothing returning id`
    if (!row) return null
    await audit(tx, actorOf(c.var.user), {
      action: 'payer.create',
      entity: 'payer',
      entityId: row.id,
      after: payerSnapshot(p),
    })
    return row.id
  })
  if (id === null) return again(fieldError(t, 'codiceFiscale', 'backoffice.errors.payerExists'))
  return c.redirect(officePath(c, `/anagrafiche/intestatari/${id}?salvato=1`), 303)
})

export async function loadPayer(tx: Tx, id: number): Promise<PayerRow> {
  const [row] = await tx<PayerRow[]>`select ${tx(PAYER_COLUMNS)} from payers where id = ${id}`
  if (!row) throw new NotFound()
  return row
}

peopleRoutes.get('/t/:tenant/ufficio/anagrafiche/intestatari/:id', readers, async (c) => {
  const id = idParam(c)
  const data = await inTenant(c, async (tx) => {
    const payer = await loadPayer(tx, id)
    const pupils = await tx<(PupilRow & { relation: string; holder: boolean })[]>`
      select pu.id, pu.codice_fiscale, pu.given_name, pu.family_name, pu.birth_date, pp.relation, pp.holder
      from pupil_payers pp join pupils pu on pu.id = pp.pupil_id where pp.payer_id = ${id}
      order by pu.family_name, pu.given_name`
    const documents = await documentsOf(tx, tx`d.payer_id = ${id}`)
    // the accounts that claim or hold this codice fiscale, for the office to confirm one or print a letter
    const claims = await claimsOf(tx, payer.codice_fiscale)
    return { payer, pupils, documents, claims }
  })
  return page(c, 'payer', {
    title: `${data.payer.given_name} ${data.payer.family_name}`,
    ...data,
    saved: c.req.query('salvato') === '1',
  })
})

peopleRoutes.get('/t/:tenant/ufficio/anagrafiche/intestatari/:id/modifica', writers, async (c) => {
  const payer = await inTenant(c, (tx) => loadPayer(tx, idParam(c)))
  return page(c, 'payer-form', { title: c.var.t('backoffice.payer.editTitle'), payer, values: payerToForm(payer) })
})

peopleRoutes.post('/t/:tenant/ufficio/anagrafiche/intestatari/:id/modifica', writers, async (c) => {
  const t = c.var.t
  const id = idParam(c)
  const values = await formValues(c)
  const parsed = parseWith(payerSchema, values, t, PAYER_ORDER)
  const current = await inTenant(c, (tx) => loadPayer(tx, id))
  const again = (errors: FormErrors) =>
    page(c, 'payer-form', {
      title: t('backoffice.payer.editTitle'),
      payer: current,
      values: flatValues(values),
      errors,
    })
  if (!parsed.ok) return again(parsed.errors)
  const p = parsed.data
  const ok = await inTenant(c, async (tx) => {
    const [clash] = await tx<{ id: number }[]>`
      select id from payers where codice_fiscale = ${p.codiceFiscale} and id <> ${id}`
    if (clash) return false
    const before = await loadPayer(tx, id)
    await tx`update payers set codice_fiscale = ${p.codiceFiscale}, given_name = ${p.givenName},
      family_name = ${p.familyName}, email = ${p.email}, phone = ${p.phone}, address = ${p.address} where id = ${id}`
    await audit(tx, actorOf(c.var.user), {
      action: 'payer.update',
      entity: 'payer',
      entityId: id,
      before: payerSnapshot({
        codiceFiscale: before.codice_fiscale,
        givenName: before.given_name,
        familyName: before.family_name,
        email: before.email,
        phone: before.phone,
        address: before.address,
      }),
      after: payerSnapshot(p),
    })
    if (before.codice_fiscale !== p.codiceFiscale) await indexPayers(tx, tenantOf(c).id, [id])
    return true
  })
  if (!ok) return again(fieldError(t, 'codiceFiscale', 'backoffice.errors.payerExists'))
  return c.redirect(officePath(c, `/anagrafiche/intestatari/${id}?salvato=1`), 303)
})

// ---- pupils

function pupilToForm(p: PupilRow): Record<string, string> {
  const d = splitDate(p.birth_date)
  return {
    codiceFiscale: p.codice_fiscale ?? '',
    givenName: p.given_name,
    familyName: p.family_name,
    'birthDate-day': d.day,
    'birthDate-month': d.month,
    'birthDate-year': d.year,
  }
}

function pupilInput(values: Record<string, string | string[]>) {
  return { ...values, birthDate: joinDate(values, 'birthDate') }
}

peopleRoutes.get('/t/:tenant/ufficio/anagrafiche/alunni/nuovo', writers, (c) =>
  page(c, 'pupil-form', { title: c.var.t('backoffice.pupil.newTitle'), pupil: null }),
)

peopleRoutes.post('/t/:tenant/ufficio/anagrafiche/alunni/nuovo', writers, async (c) => {
  const t = c.var.t
  const values = await formValues(c)
  const parsed = parseWith(pupilSchema, pupilInput(values), t, PUPIL_ORDER, { birthDate: 'birthDate-day' })
  const again = (errors: FormErrors) =>
    page(c, 'pupil-form', { title: t('backoffice.pupil.newTitle'), pupil: null, values: flatValues(values), errors })
  if (!parsed.ok) return again(parsed.errors)
  const p = parsed.data
  const id = await inTenant(c, async (tx) => {
    const [row] = await tx<{ id: number }[]>`
      insert into pupils (codice_fiscale, given_name, family_name, birth_date)
      values (${p.codiceFiscale}, ${p.givenName}, ${p.familyName}, ${p.birthDate})
      on conflict (codice_fiscale) do nothing returning id`
    if (!row) return null
    await audit(tx, actorOf(c.var.user), { action: 'pupil.create', entity: 'pupil', entityId: row.id, after: p })
    return row.id
  })
  if (id === null) return again(fieldError(t, 'codiceFiscale', 'backoffice.errors.pupilExists'))
  return c.redirect(officePath(c, `/anagrafiche/alunni/${id}?salvato=1`), 303)
})

async function loadPupil(tx: Tx, id: number): Promise<PupilRow> {
  const [row] = await tx<PupilRow[]>`select ${tx(PUPIL_COLUMNS)} from pupils where id = ${id}`
  if (!row) throw new NotFound()
  return row
}

interface LinkedPayer {
  id: number
  codice_fiscale: string
  given_name: string
  family_name: string
  relation: string
  holder: boolean
}

async function pupilPage(
  c: Context<Env>,
  id: number,
  extra: { errors?: FormErrors; values?: Record<string, string> } = {},
) {
  const data = await inTenant(c, async (tx) => {
    const pupil = await loadPupil(tx, id)
    const payers = await tx<LinkedPayer[]>`
      select p.id, p.codice_fiscale, p.given_name, p.family_name, pp.relation, pp.holder
      from pupil_payers pp join payers p on p.id = pp.payer_id where pp.pupil_id = ${id}
      order by pp.holder desc, p.family_name, p.given_name`
    const documents = await documentsOf(tx, tx`d.pupil_id = ${id}`)
    return { pupil, payers, documents }
  })
  return page(c, 'pupil', {
    title: `${data.pupil.given_name} ${data.pupil.family_name}`,
    ...data,
    saved: c.req.query('salvato') ?? null,
    values: { relation: '', ...(extra.values ?? {}) },
    errors: extra.errors,
  })
}

peopleRoutes.get('/t/:tenant/ufficio/anagrafiche/alunni/:id', readers, (c) => pupilPage(c, idParam(c)))

peopleRoutes.get('/t/:tenant/ufficio/anagrafiche/alunni/:id/modifica', writers, async (c) => {
  const pupil = await inTenant(c, (tx) => loadPupil(tx, idParam(c)))
  return page(c, 'pupil-form', { title: c.var.t('backoffice.pupil.editTitle'), pupil, values: pupilToForm(pupil) })
})

peopleRoutes.post('/t/:tenant/ufficio/anagrafiche/alunni/:id/modifica', writers, async (c) => {
  const t = c.var.t
  const id = idParam(c)
  const values = await formValues(c)
  const current = await inTenant(c, (tx) => loadPupil(tx, id))
  const parsed = parseWith(pupilSchema, pupilInput(values), t, PUPIL_ORDER, { birthDate: 'birthDate-day' })
  const again = (errors: FormErrors) =>
    page(c, 'pupil-form', {
      title: t('backoffice.pupil.editTitle'),
      pupil: current,
      values: flatValues(values),
      errors,
    })
  if (!parsed.ok) return again(parsed.errors)
  const p = parsed.data
  const ok = await inTenant(c, async (tx) => {
    const [clash] = await tx<
      { id: number }[]
    >`select id from pupils where codice_fiscale = ${p.codiceFiscale} and id <> ${id}`
    if (clash) return false
    const before = await loadPupil(tx, id)
    await tx`update pupils set codice_fiscale = ${p.codiceFiscale}, given_name = ${p.givenName},
      family_name = ${p.familyName}, birth_date = ${p.birthDate} where id = ${id}`
    await audit(tx, actorOf(c.var.user), {
      action: 'pupil.update',
      entity: 'pupil',
      entityId: id,
      before: {
        codiceFiscale: before.codice_fiscale,
        givenName: before.given_name,
        familyName: before.family_name,
        birthDate: before.birth_date,
      },
      after: p,
    })
    return true
  })
  if (!ok) return again(fieldError(t, 'codiceFiscale', 'backoffice.errors.pupilExists'))
  return c.redirect(officePath(c, `/anagrafiche/alunni/${id}?salvato=1`), 303)
})

peopleRoutes.post('/t/:tenant/ufficio/anagrafiche/alunni/:id/collega', writers, async (c) => {
  const t = c.var.t
  const id = idParam(c)
  const values = await formValues(c)
  const parsed = parseWith(linkSchema, values, t, LINK_ORDER)
  if (!parsed.ok) return pupilPage(c, id, { errors: parsed.errors, values: flatValues(values) })
  const l = parsed.data
  const tenant = tenantOf(c)
  const outcome = await inTenant(c, async (tx) => {
    await loadPupil(tx, id)
    const [payer] = await tx<{ id: number }[]>`select id from payers where codice_fiscale = ${l.payerCf}`
    if (!payer) return 'noPayer' as const
    // the pupil's links are serialised on the pupil row: two links at once cannot both become the holder
    await tx`select id from pupils where id = ${id} for update`
    const links = await tx<{ payer_id: number; holder: boolean }[]>`
      select payer_id, holder from pupil_payers where pupil_id = ${id}`
    if (links.some((x) => x.payer_id === payer.id)) return 'already' as const
    // the first payer linked holds the notices; otherwise only when asked
    const holder = l.holder || !links.some((x) => x.holder)
    if (holder) await tx`update pupil_payers set holder = false where pupil_id = ${id} and holder`
    await tx`insert into pupil_payers (pupil_id, payer_id, relation, holder) values (${id}, ${payer.id}, ${l.relation}, ${holder})`
    await audit(tx, actorOf(c.var.user), {
      action: 'pupil.link',
      entity: 'pupil',
      entityId: id,
      after: { payerId: payer.id, payerCf: l.payerCf, relation: l.relation, holder },
    })
    await indexPayers(tx, tenant.id, [payer.id])
    return 'ok' as const
  })
  if (outcome === 'noPayer')
    return pupilPage(c, id, {
      errors: fieldError(t, 'payerCf', 'backoffice.errors.noSuchPayer'),
      values: flatValues(values),
    })
  if (outcome === 'already')
    return pupilPage(c, id, {
      errors: fieldError(t, 'payerCf', 'backoffice.errors.alreadyLinked'),
      values: flatValues(values),
    })
  return c.redirect(officePath(c, `/anagrafiche/alunni/${id}?salvato=collegato`), 303)
})

const payerIdSchema = z.object({
  payer: z
    .string()
    .regex(/^[1-9][0-9]{0,15}$/)
    .transform(Number),
})

peopleRoutes.post('/t/:tenant/ufficio/anagrafiche/alunni/:id/titolare', writers, async (c) => {
  const id = idParam(c)
  const parsed = payerIdSchema.safeParse(await formValues(c))
  if (!parsed.success) throw new NotFound()
  const payerId = parsed.data.payer
  await inTenant(c, async (tx) => {
    await tx`select id from pupils where id = ${id} for update`
    const links = await tx<{ payer_id: number; holder: boolean }[]>`
      select payer_id, holder from pupil_payers where pupil_id = ${id}`
    if (!links.some((l) => l.payer_id === payerId)) throw new NotFound()
    const previous = links.find((l) => l.holder)?.payer_id ?? null
    if (previous === payerId) return
    // one transaction: the old holder steps down before the new one takes over (the unique index allows one)
    await tx`update pupil_payers set holder = false where pupil_id = ${id} and holder`
    await tx`update pupil_payers set holder = true where pupil_id = ${id} and payer_id = ${payerId}`
    await audit(tx, actorOf(c.var.user), {
      action: 'pupil.holder',
      entity: 'pupil',
      entityId: id,
      before: { holderPayerId: previous },
      after: { holderPayerId: payerId },
    })
  })
  return c.redirect(officePath(c, `/anagrafiche/alunni/${id}?salvato=titolare`), 303)
})

peopleRoutes.post('/t/:tenant/ufficio/anagrafiche/alunni/:id/scollega', writers, async (c) => {
  const id = idParam(c)
  const parsed = payerIdSchema.safeParse(await formValues(c))
  if (!parsed.success) throw new NotFound()
  const payerId = parsed.data.payer
  const outcome = await inTenant(c, async (tx) => {
    await tx`select id from pupils where id = ${id} for update`
    const links = await tx<{ payer_id: number; holder: boolean; relation: string }[]>`
      select payer_id, holder, relation from pupil_payers where pupil_id = ${id}`
    const link = links.find((l) => l.payer_id === payerId)
    if (!link) throw new NotFound()
    // the holder leaves last: another payer takes over the notices first
    if (link.holder && links.length > 1) return 'holder' as const
    await tx`delete from pupil_payers where pupil_id = ${id} and payer_id = ${payerId}`
    await audit(tx, actorOf(c.var.user), {
      action: 'pupil.unlink',
      entity: 'pupil',
      entityId: id,
      before: { payerId, relation: link.relation, holder: link.holder },
    })
    return 'ok' as const
  })
  if (outcome === 'holder')
    return pupilPage(c, id, { errors: fieldError(c.var.t, 'payerCf', 'backoffice.errors.holderLeavesLast') })
  return c.redirect(officePath(c, `/anagrafiche/alunni/${id}?salvato=scollegato`), 303)
})

// ---- documents of a payer or pupil, as the office sees them

export interface OfficeDocumentRow {
  id: number
  year: number
  number: string
  issue_date: string
  description: string
  total_cents: number
  open_cents: number
  service: string
  payer: string
  pupil: string | null
  status: 'pagabile' | 'in_corso' | 'pagato' | 'scaduto' | 'annullato'
}

/** Documents matching a condition on `d`, newest first, with the status a citizen would see. */
export async function documentsOf(tx: Tx, where: ReturnType<Tx>, limit = 100): Promise<OfficeDocumentRow[]> {
  return tx<OfficeDocumentRow[]>`
    select d.id, d.year, d.number, d.issue_date, d.description, d.total_cents,
      coalesce(sum(i.amount_cents) filter (where i.status in ('da_pagare', 'in_corso') and d.cancelled_at is null), 0)::bigint as open_cents,
      s.name as service, p.given_name || ' ' || p.family_name as payer,
      pu.given_name || ' ' || pu.family_name as pupil,
      case when d.cancelled_at is not null then 'annullato'
        when bool_and(i.status in ('pagato', 'annullato')) then 'pagato'
        when bool_or(i.status = 'in_corso') then 'in_corso'
        when bool_or(i.status = 'da_pagare' and i.due_date < (now() at time zone 'Europe/Rome')::date) then 'scaduto'
        else 'pagabile' end as status
    from documents d join services s on s.id = d.service_id join payers p on p.id = d.payer_id
      left join pupils pu on pu.id = d.pupil_id join installments i on i.document_id = d.id
    where ${where}
    group by d.id, s.name, p.given_name, p.family_name, pu.given_name, pu.family_name
    order by d.issue_date desc, d.id desc limit ${limit}`
}
