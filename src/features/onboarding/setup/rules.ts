// The set-up wizard's rules: the canteen's cut-off, the commission rule, reminder days and the low-balance
// threshold.
import { Hono } from 'hono'
import { type FormValues, formValues, parseWith } from '../../../platform/forms.ts'
import type { Env } from '../../../platform/http.ts'
import { render } from '../../../platform/render.ts'
import type { Tenant } from '../../../platform/tenancy.ts'
import { RULES_ORDER, rulesSchema } from '../schema.ts'
import { actor, adminOnly, BASE, base } from './common.ts'
import { loadSetup, type SetupRow, saveRules } from './service.ts'

export const rulesRoutes = new Hono<Env>()

// rules: cut-off, commission, reminders

function rulesValues(s: SetupRow): FormValues {
  const c = s.settings.commission ?? { type: 'none' }
  return {
    cutoff: s.settings.cutoff ?? '09:15',
    commission: c.type,
    commissionFixed: c.type === 'fixed' ? (c.cents / 100).toFixed(2).replace('.', ',') : '',
    commissionRate: c.type === 'percent' || c.type === 'grossup' ? String(c.basisPoints / 100).replace('.', ',') : '',
    reminderDays: (s.settings.reminderDays ?? [-7, 0, 7]).join(', '),
    lowBalanceMeals: String(s.settings.lowBalanceMeals ?? 3),
  }
}

rulesRoutes.get(`${BASE}/regole`, adminOnly, async (c) => {
  const { setup } = await loadSetup(c.var.deps.db.sql, c.var.tenant as Tenant)
  return render(c, 'onboarding/setup/rules', {
    title: c.var.t('onboarding.setup.rules.title'),
    setup,
    values: rulesValues(setup),
  })
})

rulesRoutes.post(`${BASE}/regole`, adminOnly, async (c) => {
  const tenant = c.var.tenant as Tenant
  const values = await formValues(c)
  const parsed = parseWith(rulesSchema, values, c.var.t, RULES_ORDER)
  if (!parsed.ok) {
    const { setup } = await loadSetup(c.var.deps.db.sql, tenant)
    return render(
      c,
      'onboarding/setup/rules',
      { title: c.var.t('onboarding.setup.rules.title'), setup, values, errors: parsed.errors },
      422,
    )
  }
  await saveRules(c.var.deps.db.sql, tenant, actor(c), parsed.data)
  c.var.deps.tenants.invalidate(tenant.slug)
  return c.redirect(`${base(c)}?salvato=regole`, 303)
})
