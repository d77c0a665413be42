// Payers (intestatari): create one, its page (pupils linked, documents, the accounts that claim its codice
// fiscale), edit it.
import { Hono } from 'hono'
import type { z } from 'zod'
import { actorOf, audit } from '../../../platform/audit.ts'
import { fieldError, formValues, parseWith } from '../../../platform/forms.ts'
import type { Env } from '../../../platform/http.ts'
import type { FormErrors } from '../../../platform/render.ts'
import { claimsOf } from '../../account/proof.ts'
import { flatValues, idParam, inTenant, officePath, page, readers, tenantOf, writers } from '../common.ts'
import { documentsOf } from '../documents/list.ts'
import { PAYER_ORDER, payerSchema } from '../schema.ts'
import { indexPayers, loadPayer, type PayerRow, type PupilRow } from './common.ts'

export const payerRoutes = new Hono<Env>()

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

payerRoutes.get('/t/:tenant/ufficio/anagrafiche/intestatari/nuovo', writers, (c) =>
  page(c, 'payer-form', { title: c.var.t('backoffice.payer.newTitle'), payer: null }),
)

payerRoutes.post('/t/:tenant/ufficio/anagrafiche/intestatari/nuovo', writers, async (c) => {
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

payerRoutes.get('/t/:tenant/ufficio/anagrafiche/intestatari/:id', readers, async (c) => {
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

payerRoutes.get('/t/:tenant/ufficio/anagrafiche/intestatari/:id/modifica', writers, async (c) => {
  const payer = await inTenant(c, (tx) => loadPayer(tx, idParam(c)))
  return page(c, 'payer-form', { title: c.var.t('backoffice.payer.editTitle'), payer, values: payerToForm(payer) })
})

payerRoutes.post('/t/:tenant/ufficio/anagrafiche/intestatari/:id/modifica', writers, async (c) => {
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
