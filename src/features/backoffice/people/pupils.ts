// Pupils (alunni): create one, its page (payers linked, documents), edit it, and the links to its payers. A pupil may
// have several payers (both parents, a guardian, delegates) and exactly one of them holds the notices.
import type { Context } from 'hono'
import { Hono } from 'hono'
import { z } from 'zod'
import { actorOf, audit } from '../../../platform/audit.ts'
import type { Tx } from '../../../platform/db.ts'
import { NotFound } from '../../../platform/errors.ts'
import { fieldError, formValues, parseWith } from '../../../platform/forms.ts'
import type { Env } from '../../../platform/http.ts'
import type { FormErrors } from '../../../platform/render.ts'
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
} from '../common.ts'
import { documentsOf } from '../documents/list.ts'
import { LINK_ORDER, linkSchema, PUPIL_ORDER, pupilSchema } from '../schema.ts'
import { indexPayers, PUPIL_COLUMNS, type PupilRow } from './common.ts'

export const pupilRoutes = new Hono<Env>()

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

pupilRoutes.get('/t/:tenant/ufficio/anagrafiche/alunni/nuovo', writers, (c) =>
  page(c, 'pupil-form', { title: c.var.t('backoffice.pupil.newTitle'), pupil: null }),
)

pupilRoutes.post('/t/:tenant/ufficio/anagrafiche/alunni/nuovo', writers, async (c) => {
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

pupilRoutes.get('/t/:tenant/ufficio/anagrafiche/alunni/:id', readers, (c) => pupilPage(c, idParam(c)))

pupilRoutes.get('/t/:tenant/ufficio/anagrafiche/alunni/:id/modifica', writers, async (c) => {
  const pupil = await inTenant(c, (tx) => loadPupil(tx, idParam(c)))
  return page(c, 'pupil-form', { title: c.var.t('backoffice.pupil.editTitle'), pupil, values: pupilToForm(pupil) })
})

pupilRoutes.post('/t/:tenant/ufficio/anagrafiche/alunni/:id/modifica', writers, async (c) => {
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

pupilRoutes.post('/t/:tenant/ufficio/anagrafiche/alunni/:id/collega', writers, async (c) => {
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

pupilRoutes.post('/t/:tenant/ufficio/anagrafiche/alunni/:id/titolare', writers, async (c) => {
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

pupilRoutes.post('/t/:tenant/ufficio/anagrafiche/alunni/:id/scollega', writers, async (c) => {
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
