// The set-up wizard's branding: logo text and accent colour with its contrast and a preview (the colour served as
// a stylesheet), and the logo's upload and removal.
import { type Context, Hono } from 'hono'
import { NotFound } from '../../../platform/errors.ts'
import { type FormValues, fieldError, formValues, parseWith } from '../../../platform/forms.ts'
import type { Env } from '../../../platform/http.ts'
import { type FormErrors, render } from '../../../platform/render.ts'
import type { Tenant } from '../../../platform/tenancy.ts'
import { checkLogo, LOGO_MAX_BYTES } from '../logo.ts'
import { brandingSchema } from '../schema.ts'
import { actor, adminOnly, BASE, base } from './common.ts'
import { contrastReport, loadSetup, saveBranding, saveLogo } from './service.ts'

export const brandingRoutes = new Hono<Env>()

// branding: logo text, accent colour with its contrast and a preview, logo upload

async function brandingPage(
  c: Context<Env>,
  values: FormValues,
  opts: { errors?: FormErrors; logoErrors?: FormErrors; preview?: boolean } = {},
) {
  const { setup } = await loadSetup(c.var.deps.db.sql, c.var.tenant as Tenant)
  const accent = typeof values.accent === 'string' ? values.accent.trim().toLowerCase() : ''
  const normalized = /^#?[0-9a-f]{6}$/.test(accent) ? `#${accent.replace('#', '')}` : null
  return render(
    c,
    'onboarding/setup/branding',
    {
      title: c.var.t('onboarding.setup.branding.title'),
      setup,
      values,
      errors: opts.errors ?? opts.logoErrors,
      logoError: opts.logoErrors?.fields.logo,
      report: normalized ? contrastReport(normalized) : null,
      preview: opts.preview ?? false,
      maxKb: Math.round(LOGO_MAX_BYTES / 1024),
    },
    opts.errors || opts.logoErrors ? 422 : 200,
  )
}

brandingRoutes.get(`${BASE}/aspetto`, adminOnly, async (c) => {
  const tenant = c.var.tenant as Tenant
  return brandingPage(c, { logoText: tenant.branding.logoText, accent: tenant.branding.accent })
})

brandingRoutes.post(`${BASE}/aspetto`, adminOnly, async (c) => {
  const tenant = c.var.tenant as Tenant
  const values = await formValues(c)
  const parsed = parseWith(brandingSchema, values, c.var.t, ['logoText', 'accent'])
  if (!parsed.ok) return brandingPage(c, values, { errors: parsed.errors })
  const report = contrastReport(parsed.data.accent)
  if (!report.ok) {
    const errors = fieldError(c.var.t, 'accent', 'onboarding.errors.accentContrast', {
      ratio: report.white.toLocaleString(c.var.lang === 'en' ? 'en-GB' : 'it-IT', { maximumFractionDigits: 2 }),
    })
    return brandingPage(c, values, { errors, preview: true })
  }
  if (values.azione === 'anteprima')
    return brandingPage(c, { ...values, accent: parsed.data.accent }, { preview: true })
  await saveBranding(c.var.deps.db.sql, tenant, actor(c), parsed.data)
  c.var.deps.tenants.invalidate(tenant.slug)
  return c.redirect(`${base(c)}?salvato=aspetto`, 303)
})

/** The preview's colour as a stylesheet: the CSP allows no inline style. */
brandingRoutes.get(`${BASE}/anteprima.css`, adminOnly, (c) => {
  const colour = (c.req.query('colore') ?? '').toLowerCase()
  if (!/^[0-9a-f]{6}$/.test(colour)) throw new NotFound()
  c.header('Content-Type', 'text/css; charset=utf-8')
  c.header('Cache-Control', 'private, max-age=86400')
  return c.body(`.setup-preview{--accent:#${colour}}\n`)
})

brandingRoutes.post(`${BASE}/aspetto/logo`, adminOnly, async (c) => {
  const tenant = c.var.tenant as Tenant
  const current = { logoText: tenant.branding.logoText, accent: tenant.branding.accent }
  const declared = Number(c.req.header('content-length') ?? '0')
  const logoError = (key: string) =>
    brandingPage(c, current, {
      logoErrors: fieldError(c.var.t, 'logo', key, { kb: String(Math.round(LOGO_MAX_BYTES / 1024)) }),
    })
  if (declared > LOGO_MAX_BYTES + 64 * 1024) return logoError('onboarding.errors.logoTooLarge')
  const body = await c.req.parseBody()
  const file = body.logo
  if (!(file instanceof File) || file.size === 0) return logoError('onboarding.errors.logoRequired')
  const checked = checkLogo(Buffer.from(await file.arrayBuffer()))
  if ('problem' in checked) {
    const key = {
      empty: 'onboarding.errors.logoRequired',
      tooLarge: 'onboarding.errors.logoTooLarge',
      notPng: 'onboarding.errors.logoNotPng',
      dimensions: 'onboarding.errors.logoDimensions',
    }[checked.problem]
    return logoError(key)
  }
  await saveLogo(c.var.deps.db.sql, tenant, actor(c), checked)
  c.var.deps.tenants.invalidate(tenant.slug)
  return c.redirect(`${base(c)}/aspetto?logo=1`, 303)
})

brandingRoutes.post(`${BASE}/aspetto/logo/rimuovi`, adminOnly, async (c) => {
  const tenant = c.var.tenant as Tenant
  await saveLogo(c.var.deps.db.sql, tenant, actor(c), null)
  c.var.deps.tenants.invalidate(tenant.slug)
  return c.redirect(`${base(c)}/aspetto?logo=0`, 303)
})
