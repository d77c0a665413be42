// The canteen's tariffs and their prices (admin changes them; every role reads).
import { type Context, Hono } from 'hono'
import { actorOf, audit } from '../../../platform/audit.ts'
import { addDays, todayRome } from '../../../platform/dates.ts'
import { NotFound } from '../../../platform/errors.ts'
import { fieldError, formValues, parseWith } from '../../../platform/forms.ts'
import type { Env } from '../../../platform/http.ts'
import { formatDecimalIt } from '../../../platform/money.ts'
import type { FormErrors } from '../../../platform/render.ts'
import { listTariffs } from '../queries.ts'
import {
  dateHrefs,
  dateValues,
  newTariffForm,
  PRICE_ORDER,
  priceForm,
  TARIFF_ORDER,
  tariffForm,
  withDates,
} from '../schema.ts'
import { admins, ID, idParam, inTenant, OFFICE, office, page, readers, strings, unlessTaken } from './common.ts'

export const tariffRoutes = new Hono<Env>()

// ---- tariffs

tariffRoutes.get(`${OFFICE}/tariffe`, readers, async (c) => {
  const today = todayRome()
  const tariffs = await inTenant(c, (tx) => listTariffs(tx, today))
  return page(c, 'tariffs', {
    title: c.var.t('canteen.office.tariffs.title'),
    tariffs,
    values: { attiva: 'si', ...dateValues('dal', today) },
    saved: c.req.query('salvato') ?? null,
  })
})

tariffRoutes.post(`${OFFICE}/tariffe`, admins, async (c) => {
  const today = todayRome()
  const tariffs = await inTenant(c, (tx) => listTariffs(tx, today))
  const values = withDates(await formValues(c), ['dal'])
  const parsed = parseWith(newTariffForm(tariffs.map((t) => t.id)), values, c.var.t, TARIFF_ORDER, dateHrefs(['dal']))
  const again = (errors: FormErrors) =>
    page(c, 'tariffs', { title: c.var.t('canteen.office.tariffs.title'), tariffs, values, errors })
  if (!parsed.ok) return again(parsed.errors)
  const v = parsed.data
  const ok = await inTenant(c, (tx) =>
    unlessTaken(tx, async (sp) => {
      if (v.predefinita) await sp`update canteen_tariffs set is_default = false where is_default`
      const [row] = await sp<{ id: number }[]>`
        insert into canteen_tariffs (name, description, base_tariff_id, isee_min_cents, isee_max_cents,
          light_meal_charged, is_default, active)
        values (${v.nome}, ${v.descrizione}, ${v.base}, ${v.iseeMin}, ${v.iseeMax}, ${v.bianco === 'si'},
          ${v.predefinita}, true)
        returning id`
      const id = (row as { id: number }).id
      await sp`insert into canteen_tariff_prices (tariff_id, valid_from, price_cents) values (${id}, ${v.dal}, ${v.prezzo})`
      await audit(sp, actorOf(c.var.user), {
        action: 'canteen.tariff.create',
        entity: 'canteen_tariff',
        entityId: id,
        after: { ...v },
      })
    }),
  )
  if (!ok) return again(fieldError(c.var.t, 'nome', 'canteen.errors.tariffTaken'))
  return c.redirect(`${office(c)}/tariffe?salvato=tariffa`, 303)
})

async function tariffData(c: Context<Env>, id: number) {
  const today = todayRome()
  return inTenant(c, async (tx) => {
    const tariffs = await listTariffs(tx, today)
    const tariff = tariffs.find((t) => t.id === id)
    if (!tariff) throw new NotFound()
    return { tariff, others: tariffs.filter((t) => t.id !== id && t.baseTariffId !== id), today }
  })
}

function tariffPage(
  c: Context<Env>,
  d: Awaited<ReturnType<typeof tariffData>>,
  form: { name?: string; values?: Record<string, string>; errors?: FormErrors } = {},
) {
  const t = d.tariff
  const current = {
    nome: t.name,
    descrizione: t.description ?? '',
    base: t.baseTariffId ? String(t.baseTariffId) : 'nessuna',
    iseeMin: t.iseeMinCents === null ? '' : formatDecimalIt(t.iseeMinCents),
    iseeMax: t.iseeMaxCents === null ? '' : formatDecimalIt(t.iseeMaxCents),
    bianco: t.lightMealCharged ? 'si' : 'no',
    predefinita: t.isDefault ? 'si' : '',
    attiva: t.active ? 'si' : '',
  }
  return page(c, 'tariff', {
    title: c.var.t('canteen.office.tariff.title', { name: t.name }),
    ...d,
    errors: form.errors,
    editValues: form.name === 'tariffa' && form.values ? form.values : current,
    editErrors: form.name === 'tariffa' ? form.errors : undefined,
    priceValues: form.name === 'prezzo' && form.values ? form.values : dateValues('dal', d.today),
    priceErrors: form.name === 'prezzo' ? form.errors : undefined,
    saved: c.req.query('salvato') ?? null,
    addDays,
  })
}

tariffRoutes.get(`${OFFICE}/tariffe/${ID}`, readers, async (c) => tariffPage(c, await tariffData(c, idParam(c, 'id'))))

tariffRoutes.post(`${OFFICE}/tariffe/${ID}`, admins, async (c) => {
  const id = idParam(c, 'id')
  const d = await tariffData(c, id)
  const values = strings(await formValues(c))
  const parsed = parseWith(tariffForm(d.others.map((t) => t.id)), values, c.var.t, TARIFF_ORDER)
  if (!parsed.ok) return tariffPage(c, d, { name: 'tariffa', values, errors: parsed.errors })
  const v = parsed.data
  const ok = await inTenant(c, (tx) =>
    unlessTaken(tx, async (sp) => {
      if (v.predefinita) await sp`update canteen_tariffs set is_default = false where is_default and id <> ${id}`
      await sp`update canteen_tariffs set name = ${v.nome}, description = ${v.descrizione}, base_tariff_id = ${v.base},
                 isee_min_cents = ${v.iseeMin}, isee_max_cents = ${v.iseeMax}, light_meal_charged = ${v.bianco === 'si'},
                 is_default = ${v.predefinita}, active = ${v.attiva}
               where id = ${id}`
      await audit(sp, actorOf(c.var.user), {
        action: 'canteen.tariff.update',
        entity: 'canteen_tariff',
        entityId: id,
        before: { ...d.tariff, prices: undefined },
        after: { ...v },
      })
    }),
  )
  if (!ok)
    return tariffPage(c, d, {
      name: 'tariffa',
      values,
      errors: fieldError(c.var.t, 'nome', 'canteen.errors.tariffTaken'),
    })
  return c.redirect(`${office(c)}/tariffe/${id}?salvato=tariffa`, 303)
})

tariffRoutes.post(`${OFFICE}/tariffe/${ID}/prezzi`, admins, async (c) => {
  const id = idParam(c, 'id')
  const d = await tariffData(c, id)
  const values = withDates(await formValues(c), ['dal'])
  const parsed = parseWith(priceForm, values, c.var.t, PRICE_ORDER, dateHrefs(['dal']))
  if (!parsed.ok) return tariffPage(c, d, { name: 'prezzo', values, errors: parsed.errors })
  const v = parsed.data
  await inTenant(c, async (tx) => {
    const [before] = await tx<{ price_cents: number }[]>`
      select price_cents from canteen_tariff_prices where tariff_id = ${id} and valid_from = ${v.dal}`
    await tx`insert into canteen_tariff_prices (tariff_id, valid_from, price_cents) values (${id}, ${v.dal}, ${v.prezzo})
             on conflict (tariff_id, valid_from) do update set price_cents = excluded.price_cents`
    await audit(tx, actorOf(c.var.user), {
      action: 'canteen.tariff.price',
      entity: 'canteen_tariff',
      entityId: id,
      before: before ? { validFrom: v.dal, priceCents: before.price_cents } : null,
      after: { validFrom: v.dal, priceCents: v.prezzo },
    })
  })
  return c.redirect(`${office(c)}/tariffe/${id}?salvato=prezzo`, 303)
})
