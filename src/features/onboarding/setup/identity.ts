// The set-up wizard's identity and contacts: name, short name, address, email, PEC, phone, website, the
// accessibility statement's address and the segregation code.
import { Hono } from 'hono'
import { type FormValues, formValues, parseWith } from '../../../platform/forms.ts'
import type { Env } from '../../../platform/http.ts'
import { render } from '../../../platform/render.ts'
import type { Tenant } from '../../../platform/tenancy.ts'
import { IDENTITY_ORDER, identitySchema } from '../schema.ts'
import { actor, adminOnly, BASE, base } from './common.ts'
import { loadSetup, type SetupRow, saveIdentity } from './service.ts'

export const identityRoutes = new Hono<Env>()

// identity and contacts

function identityValues(s: SetupRow): FormValues {
  return {
    name: s.name,
    shortName: s.short_name,
    address: s.contacts.address ?? '',
    email: s.contacts.email ?? '',
    pec: s.contacts.pec ?? '',
    phone: s.contacts.phone ?? '',
    website: s.contacts.website ?? '',
    accessibilityUrl: typeof s.settings.accessibilityUrl === 'string' ? s.settings.accessibilityUrl : '',
    segregationCode: s.segregation_code,
  }
}

identityRoutes.get(`${BASE}/ente`, adminOnly, async (c) => {
  const { setup } = await loadSetup(c.var.deps.db.sql, c.var.tenant as Tenant)
  return render(c, 'onboarding/setup/identity', {
    title: c.var.t('onboarding.setup.identity.title'),
    setup,
    values: identityValues(setup),
  })
})

identityRoutes.post(`${BASE}/ente`, adminOnly, async (c) => {
  const tenant = c.var.tenant as Tenant
  const parsed = parseWith(identitySchema, await formValues(c), c.var.t, IDENTITY_ORDER)
  if (!parsed.ok) {
    const { setup } = await loadSetup(c.var.deps.db.sql, tenant)
    return render(
      c,
      'onboarding/setup/identity',
      { title: c.var.t('onboarding.setup.identity.title'), setup, values: parsed.values, errors: parsed.errors },
      422,
    )
  }
  await saveIdentity(c.var.deps.db.sql, tenant, actor(c), parsed.data)
  c.var.deps.tenants.invalidate(tenant.slug)
  return c.redirect(`${base(c)}?salvato=ente`, 303)
})
