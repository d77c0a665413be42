// Pre-loading meals (ricarica): choose the pupil and the meals, a check page with the price, then the normal
// checkout of the document issued for it.
import { type Context, Hono } from 'hono'
import { z } from 'zod'
import { todayRome } from '../../../platform/dates.ts'
import { formValues, parseWith } from '../../../platform/forms.ts'
import type { Env } from '../../../platform/http.ts'
import { type FormErrors, render } from '../../../platform/render.ts'
import { newToken } from '../../../platform/tokens.ts'
import { payIssuedNow } from '../../payments/pay-now.ts'
import { priceCheckout } from '../../payments/service.ts'
import { MAX_TOPUP_MEALS, TOPUP_ORDER, topupForm } from '../schema.ts'
import { canteenService, issueTopup, TopupKeyTaken, type TopupOption, topupOptions } from '../service.ts'
import { BASE, base, inTenant, tenantOf, userOf } from './common.ts'

export const topupRoutes = new Hono<Env>()

// ---- pre-load meals (ricarica)

async function topupData(c: Context<Env>) {
  const user = userOf(c)
  const today = todayRome()
  return inTenant(c, async (tx) => ({
    options: await topupOptions(tx, user.codiceFiscale, today),
    service: await canteenService(tx),
  }))
}

function payable(options: TopupOption[]): (TopupOption & { priceCents: number })[] {
  return options.filter((o): o is TopupOption & { priceCents: number } => o.priceCents !== null)
}

function topupPage(
  c: Context<Env>,
  data: Awaited<ReturnType<typeof topupData>>,
  values: Record<string, string>,
  errors?: FormErrors,
) {
  const tenant = tenantOf(c)
  if (!data.service || tenant.status === 'suspended' || payable(data.options).length === 0) {
    return render(
      c,
      'canteen/topup-unavailable',
      {
        title: c.var.t('canteen.topup.title'),
        reason: tenant.status === 'suspended' ? 'suspended' : !data.service ? 'noService' : 'noPupils',
        options: data.options,
        base: base(c),
      },
      tenant.status === 'suspended' ? 403 : 200,
    )
  }
  return render(
    c,
    'canteen/topup',
    {
      title: c.var.t('canteen.topup.title'),
      options: data.options,
      values,
      errors,
      maxMeals: MAX_TOPUP_MEALS,
      base: base(c),
    },
    errors ? 422 : 200,
  )
}

function pickTopup(v: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const k of ['alunno', 'pasti']) {
    const x = v[k]
    if (typeof x === 'string') out[k] = x.slice(0, 40)
  }
  return out
}

topupRoutes.get(`${BASE}/ricarica`, async (c) => {
  const data = await topupData(c)
  const values = pickTopup(c.req.query())
  // a single pupil is chosen already (GOV.UK: no radio pre-selected when there is a real choice)
  const ok = payable(data.options)
  if (!values.alunno && ok.length === 1) values.alunno = String((ok[0] as TopupOption).pupilId)
  return topupPage(c, data, values)
})

topupRoutes.post(`${BASE}/ricarica`, async (c) => {
  const data = await topupData(c)
  const values = pickTopup(await formValues(c))
  const parsed = parseWith(topupForm(payable(data.options).map((o) => o.pupilId)), values, c.var.t, TOPUP_ORDER)
  if (!parsed.ok) return topupPage(c, data, values, parsed.errors)
  return c.redirect(`${base(c)}/ricarica/controlla?alunno=${parsed.data.alunno}&pasti=${parsed.data.pasti}`, 303)
})

topupRoutes.get(`${BASE}/ricarica/controlla`, async (c) => {
  const tenant = tenantOf(c)
  const user = userOf(c)
  const data = await topupData(c)
  const values = pickTopup(c.req.query())
  const options = payable(data.options)
  const parsed = parseWith(topupForm(options.map((o) => o.pupilId)), values, c.var.t, TOPUP_ORDER)
  if (!parsed.ok || !data.service || tenant.status === 'suspended') {
    return topupPage(c, data, values, parsed.ok ? undefined : parsed.errors)
  }
  const option = options.find((o) => o.pupilId === parsed.data.alunno) as TopupOption & { priceCents: number }
  const amountCents = parsed.data.pasti * option.priceCents
  const price = priceCheckout([
    {
      tenant,
      installmentId: 0,
      amountCents,
      description: data.service.causale,
      iuv: '',
      commission: data.service.commission ?? tenant.settings.commission,
    },
  ])
  return render(c, 'canteen/topup-check', {
    title: c.var.t('canteen.check.title'),
    option,
    meals: parsed.data.pasti,
    price,
    service: data.service,
    key: newToken(),
    confirmed: user.emailConfirmed,
    changeHref: `${base(c)}/ricarica?alunno=${option.pupilId}&pasti=${parsed.data.pasti}`,
    base: base(c),
  })
})

const keySchema = z.object({ chiave: z.string().regex(/^[A-Za-z0-9_-]{43}$/) })

topupRoutes.post(`${BASE}/ricarica/paga`, async (c) => {
  const tenant = tenantOf(c)
  const user = userOf(c)
  const form = await formValues(c)
  const values = pickTopup(form)
  const key = keySchema.safeParse(form)
  if (!key.success || !user.emailConfirmed || tenant.status === 'suspended') {
    return c.redirect(`${base(c)}/ricarica`, 303)
  }
  const now = new Date()
  // one tenant transaction: the pupil's tariff and price as they are now, the answers checked again, the document
  const outcome = await inTenant(c, async (tx) => {
    const options = payable(await topupOptions(tx, user.codiceFiscale, todayRome(now)))
    const service = await canteenService(tx)
    const parsed = parseWith(topupForm(options.map((o) => o.pupilId)), values, c.var.t, TOPUP_ORDER)
    if (!parsed.ok || !service) return null
    const option = options.find((o) => o.pupilId === parsed.data.alunno) as TopupOption & { priceCents: number }
    try {
      return await issueTopup(tx, tenant, user, option, service, parsed.data.pasti, key.data.chiave, now)
    } catch (err) {
      if (err instanceof TopupKeyTaken) return null
      throw err
    }
  })
  if (!outcome) return c.redirect(`${base(c)}/ricarica?${new URLSearchParams(values)}`, 303)
  return payIssuedNow(c, tenant, user, key.data.chiave, outcome)
})
