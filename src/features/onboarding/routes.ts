// A new body joins: the public sign-up form with its check-your-answers page, the set-up wizard under
// /t/:tenant/ufficio/configurazione, and the tenant's logo. The first administrator's invitation link is the
// staff's (src/features/staff/routes.ts, /invito/:token).
import { type Context, Hono } from 'hono'
import { actorOf } from '../../platform/audit.ts'
import { todayRome } from '../../platform/dates.ts'
import { withTenant } from '../../platform/db.ts'
import { NotFound } from '../../platform/errors.ts'
import { type FormValues, fieldError, formValues, parseWith } from '../../platform/forms.ts'
import type { Env, SessionUser } from '../../platform/http.ts'
import { type FormErrors, render } from '../../platform/render.ts'
import { requireStaff } from '../../platform/roles.ts'
import { clientIp } from '../../platform/session.ts'
import type { Tenant } from '../../platform/tenancy.ts'
import { checkThrottle, RULES, recordFailure } from '../../platform/throttle.ts'
import { listTariffs } from '../canteen/queries.ts'
import { checkLogo, LOGO_MAX_BYTES } from './logo.ts'
import {
  brandingSchema,
  goLiveSchema,
  IDENTITY_ORDER,
  identitySchema,
  newServiceSchema,
  RULES_ORDER,
  rulesSchema,
  SERVICE_ORDER,
  SIGN_UP_ORDER,
  serviceSchema,
  signUpSchema,
  tariffSchema,
} from './schema.ts'
import { checkSignUp, type Duplicate, submitRequest } from './service.ts'
import {
  addService,
  addTariff,
  confirmServices,
  contrastReport,
  doneSections,
  goLive,
  goLiveProblems,
  hasCanteen,
  loadService,
  loadSetup,
  SECTIONS,
  type SetupRow,
  saveBranding,
  saveIdentity,
  saveLogo,
  saveRules,
  updateService,
} from './setup.ts'

export const onboardingRoutes = new Hono<Env>()

// --- public sign-up -------------------------------------------------------------------------------------

function duplicateErrors(c: Context<Env>, duplicates: Duplicate[]): FormErrors {
  const errors: FormErrors = { summary: [], fields: {} }
  for (const d of duplicates) {
    const text = c.var.t(d.key, d.params)
    errors.fields[d.field] = text
    errors.summary.push({ text, href: `#${d.field}` })
  }
  return errors
}

function signUpForm(c: Context<Env>, values: FormValues, errors?: FormErrors, focus?: string) {
  return render(
    c,
    'onboarding/start',
    {
      title: c.var.t('onboarding.start.title'),
      values,
      errors,
      focus: focus && SIGN_UP_ORDER.includes(focus) ? focus : null,
    },
    errors ? 422 : 200,
  )
}

onboardingRoutes.get('/adesione', (c) => signUpForm(c, {}))

/** Step 1 → the check-your-answers page (nothing is saved yet). */
onboardingRoutes.post('/adesione', async (c) => {
  const values = await formValues(c)
  const parsed = parseWith(signUpSchema, values, c.var.t, SIGN_UP_ORDER)
  if (!parsed.ok) return signUpForm(c, parsed.values, parsed.errors)
  const check = await checkSignUp(c.var.deps.db.sql, parsed.data)
  if (check.duplicates.length) return signUpForm(c, values, duplicateErrors(c, check.duplicates))
  if (!check.slug) return signUpForm(c, values, fieldError(c.var.t, 'slug', 'onboarding.errors.slugNoSuggestion'))
  return render(c, 'onboarding/check', {
    title: c.var.t('onboarding.check.title'),
    data: { ...parsed.data, slug: check.slug },
    suggested: check.suggested,
  })
})

/** "Change" on the check page: back to the form with what was typed, the chosen field focused. */
onboardingRoutes.post('/adesione/modifica', async (c) => {
  const values = await formValues(c)
  const focus = typeof values.campo === 'string' ? values.campo : undefined
  delete values.campo
  return signUpForm(c, values, undefined, focus)
})

onboardingRoutes.post('/adesione/invia', async (c) => {
  const t = c.var.t
  const sql = c.var.deps.db.sql
  const values = await formValues(c)
  const parsed = parseWith(signUpSchema, values, t, SIGN_UP_ORDER)
  if (!parsed.ok) return signUpForm(c, parsed.values, parsed.errors)
  const key = `onboarding:ip:${clientIp(c)}`
  if ((await checkThrottle(sql, key, RULES.requestsIp)).locked)
    return render(c, 'account/too-many', { title: t('errors.tooMany') }, 429)
  await recordFailure(sql, key, RULES.requestsIp)
  const check = await checkSignUp(sql, parsed.data)
  if (check.duplicates.length) return signUpForm(c, values, duplicateErrors(c, check.duplicates))
  if (!check.slug) return signUpForm(c, values, fieldError(t, 'slug', 'onboarding.errors.slugNoSuggestion'))
  const result = await submitRequest(sql, c.var.deps.config, { ...parsed.data, slug: check.slug }, c.var.lang)
  if (!result.ok) return signUpForm(c, values, duplicateErrors(c, result.duplicates))
  c.var.deps.kickMail()
  return c.redirect(`/adesione/inviata/${result.ref}`, 303)
})

onboardingRoutes.get('/adesione/inviata/:ref', async (c) => {
  const ref = c.req.param('ref')
  if (!/^[A-Z0-9]{4}-[A-Z0-9]{4}$/.test(ref)) throw new NotFound()
  const [r] = await c.var.deps.db.sql<{ name: string; email: string; admin_email: string }[]>`
    select name, email, admin_email from platform.onboarding_requests where public_ref = ${ref}`
  if (!r) throw new NotFound()
  return render(c, 'onboarding/sent', { title: c.var.t('onboarding.sent.title'), ref, request: r })
})

// --- the tenant's logo ----------------------------------------------------------------------------------

onboardingRoutes.get('/loghi/:slug/:file', async (c) => {
  const slug = c.req.param('slug')
  const m = /^([0-9a-f]{16})\.png$/.exec(c.req.param('file'))
  if (!m || !/^[a-z0-9-]{1,40}$/.test(slug)) throw new NotFound()
  const [asset] = await c.var.deps.db.sql<{ body: Buffer; content_type: string }[]>`
    select a.body, a.content_type from platform.tenant_assets a join platform.tenants t on t.id = a.tenant_id
    where t.slug = ${slug} and t.status <> 'deleted' and a.name = 'logo' and left(a.sha256, 16) = ${m[1] as string}`
  if (!asset) throw new NotFound()
  // the name carries the content's hash: a new logo is a new address, so this one never changes
  c.header('Cache-Control', 'public, max-age=31536000, immutable')
  c.header('Content-Type', asset.content_type)
  c.header('Content-Security-Policy', "default-src 'none'")
  return c.body(new Uint8Array(asset.body))
})

// --- the set-up wizard ----------------------------------------------------------------------------------

const adminOnly = requireStaff('admin')
const BASE = '/t/:tenant/ufficio/configurazione'

function base(c: Context<Env>): string {
  return `/t/${(c.var.tenant as Tenant).slug}/ufficio/configurazione`
}

function actor(c: Context<Env>) {
  return actorOf(c.var.user as SessionUser)
}

onboardingRoutes.get(BASE, adminOnly, async (c) => {
  const tenant = c.var.tenant as Tenant
  const { setup, services } = await loadSetup(c.var.deps.db.sql, tenant)
  return render(c, 'onboarding/setup/overview', {
    title: c.var.t('onboarding.setup.title'),
    setup,
    done: doneSections(setup),
    sections: SECTIONS,
    activeServices: services.filter((s) => s.active).length,
    problems: goLiveProblems(setup, services),
    saved: c.req.query('salvato') ?? null,
    welcome: c.req.query('benvenuto') === '1',
  })
})

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

onboardingRoutes.get(`${BASE}/ente`, adminOnly, async (c) => {
  const { setup } = await loadSetup(c.var.deps.db.sql, c.var.tenant as Tenant)
  return render(c, 'onboarding/setup/identity', {
    title: c.var.t('onboarding.setup.identity.title'),
    setup,
    values: identityValues(setup),
  })
})

onboardingRoutes.post(`${BASE}/ente`, adminOnly, async (c) => {
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

onboardingRoutes.get(`${BASE}/aspetto`, adminOnly, async (c) => {
  const tenant = c.var.tenant as Tenant
  return brandingPage(c, { logoText: tenant.branding.logoText, accent: tenant.branding.accent })
})

onboardingRoutes.post(`${BASE}/aspetto`, adminOnly, async (c) => {
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
onboardingRoutes.get(`${BASE}/anteprima.css`, adminOnly, (c) => {
  const colour = (c.req.query('colore') ?? '').toLowerCase()
  if (!/^[0-9a-f]{6}$/.test(colour)) throw new NotFound()
  c.header('Content-Type', 'text/css; charset=utf-8')
  c.header('Cache-Control', 'private, max-age=86400')
  return c.body(`.setup-preview{--accent:#${colour}}\n`)
})

onboardingRoutes.post(`${BASE}/aspetto/logo`, adminOnly, async (c) => {
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

onboardingRoutes.post(`${BASE}/aspetto/logo/rimuovi`, adminOnly, async (c) => {
  const tenant = c.var.tenant as Tenant
  await saveLogo(c.var.deps.db.sql, tenant, actor(c), null)
  c.var.deps.tenants.invalidate(tenant.slug)
  return c.redirect(`${base(c)}/aspetto?logo=0`, 303)
})

// services

onboardingRoutes.get(`${BASE}/servizi`, adminOnly, async (c) => {
  const { setup, services } = await loadSetup(c.var.deps.db.sql, c.var.tenant as Tenant)
  return render(c, 'onboarding/setup/services', {
    title: c.var.t('onboarding.setup.services.title'),
    setup,
    services,
    canteen: await hasCanteen(c.var.deps.db.sql, c.var.tenant as Tenant),
    saved: c.req.query('salvato') ?? null,
  })
})

onboardingRoutes.post(`${BASE}/servizi`, adminOnly, async (c) => {
  const tenant = c.var.tenant as Tenant
  const ok = await confirmServices(c.var.deps.db.sql, tenant, actor(c))
  if (!ok) {
    const { setup, services } = await loadSetup(c.var.deps.db.sql, tenant)
    return render(
      c,
      'onboarding/setup/services',
      {
        title: c.var.t('onboarding.setup.services.title'),
        setup,
        services,
        errors: {
          summary: [{ text: c.var.t('onboarding.errors.noActiveService'), href: '#services' }],
          fields: {},
        },
      },
      422,
    )
  }
  return c.redirect(`${base(c)}?salvato=servizi`, 303)
})

function serviceForm(c: Context<Env>, opts: { id?: number; values: FormValues; errors?: FormErrors }) {
  return render(
    c,
    'onboarding/setup/service',
    {
      title: c.var.t(opts.id ? 'onboarding.setup.service.editTitle' : 'onboarding.setup.service.newTitle'),
      id: opts.id ?? null,
      values: opts.values,
      errors: opts.errors,
    },
    opts.errors ? 422 : 200,
  )
}

onboardingRoutes.get(`${BASE}/servizi/nuovo`, adminOnly, (c) =>
  serviceForm(c, { values: { amountMode: 'importo', active: 'si' } }),
)

onboardingRoutes.post(`${BASE}/servizi/nuovo`, adminOnly, async (c) => {
  const tenant = c.var.tenant as Tenant
  const values = await formValues(c)
  const parsed = parseWith(newServiceSchema, values, c.var.t, SERVICE_ORDER)
  if (!parsed.ok) return serviceForm(c, { values, errors: parsed.errors })
  await addService(c.var.deps.db.sql, tenant, actor(c), parsed.data)
  return c.redirect(`${base(c)}/servizi?salvato=nuovo`, 303)
})

function serviceId(c: Context<Env>): number {
  const id = Number(c.req.param('id'))
  if (!Number.isSafeInteger(id) || id < 1) throw new NotFound()
  return id
}

onboardingRoutes.get(`${BASE}/servizi/:id{[0-9]+}`, adminOnly, async (c) => {
  const id = serviceId(c)
  const s = await loadService(c.var.deps.db.sql, c.var.tenant as Tenant, id)
  if (!s) throw new NotFound()
  return serviceForm(c, {
    id,
    values: {
      kindLabel: s.kind,
      name: s.name,
      causale: s.causale,
      spontaneous: s.spontaneous ? 'si' : '',
      amountMode: s.amount_mode,
      unitPrice: s.unit_price_cents === null ? '' : (s.unit_price_cents / 100).toFixed(2).replace('.', ','),
      active: s.active ? 'si' : '',
    },
  })
})

onboardingRoutes.post(`${BASE}/servizi/:id{[0-9]+}`, adminOnly, async (c) => {
  const id = serviceId(c)
  const tenant = c.var.tenant as Tenant
  const values = await formValues(c)
  const parsed = parseWith(serviceSchema, values, c.var.t, SERVICE_ORDER)
  if (!parsed.ok) {
    const s = await loadService(c.var.deps.db.sql, tenant, id)
    if (!s) throw new NotFound()
    return serviceForm(c, { id, values: { ...values, kindLabel: s.kind }, errors: parsed.errors })
  }
  if (!(await updateService(c.var.deps.db.sql, tenant, actor(c), id, parsed.data))) throw new NotFound()
  return c.redirect(`${base(c)}/servizi?salvato=${id}`, 303)
})

// canteen tariffs, when the tenant has a canteen service

async function tariffsPage(c: Context<Env>, values: FormValues, errors?: FormErrors) {
  const tenant = c.var.tenant as Tenant
  if (!(await hasCanteen(c.var.deps.db.sql, tenant))) throw new NotFound()
  const tariffs = await withTenant(c.var.deps.db.sql, tenant, (tx) => listTariffs(tx, todayRome()))
  return render(
    c,
    'onboarding/setup/tariffs',
    {
      title: c.var.t('onboarding.setup.tariffs.title'),
      tariffs,
      values,
      errors,
      saved: c.req.query('salvato') === '1',
    },
    errors ? 422 : 200,
  )
}

onboardingRoutes.get(`${BASE}/tariffe`, adminOnly, (c) => tariffsPage(c, {}))

onboardingRoutes.post(`${BASE}/tariffe`, adminOnly, async (c) => {
  const tenant = c.var.tenant as Tenant
  const values = await formValues(c)
  const parsed = parseWith(tariffSchema, values, c.var.t, ['tariffName', 'price', 'isDefault'])
  if (!parsed.ok) return tariffsPage(c, values, parsed.errors)
  if (!(await hasCanteen(c.var.deps.db.sql, tenant))) throw new NotFound()
  const r = await addTariff(c.var.deps.db.sql, tenant, actor(c), {
    name: parsed.data.tariffName,
    priceCents: parsed.data.price as number,
    isDefault: parsed.data.isDefault,
    validFrom: todayRome(),
  })
  if (r === 'taken')
    return tariffsPage(c, values, fieldError(c.var.t, 'tariffName', 'onboarding.errors.tariffNameTaken'))
  return c.redirect(`${base(c)}/tariffe?salvato=1`, 303)
})

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

onboardingRoutes.get(`${BASE}/regole`, adminOnly, async (c) => {
  const { setup } = await loadSetup(c.var.deps.db.sql, c.var.tenant as Tenant)
  return render(c, 'onboarding/setup/rules', {
    title: c.var.t('onboarding.setup.rules.title'),
    setup,
    values: rulesValues(setup),
  })
})

onboardingRoutes.post(`${BASE}/regole`, adminOnly, async (c) => {
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

// go live: a check-your-answers page, then setup → active

async function goLivePage(c: Context<Env>, errors?: FormErrors) {
  const { setup, services } = await loadSetup(c.var.deps.db.sql, c.var.tenant as Tenant)
  const problems = goLiveProblems(setup, services)
  const summary =
    errors ??
    (problems.length && c.req.method === 'POST'
      ? {
          summary: problems.map((p) => ({
            text: c.var.t(`onboarding.setup.golive.problem.${p.section}`),
            href: `#section-${p.section === 'servizi-attivi' ? 'servizi' : p.section}`,
          })),
          fields: {},
        }
      : undefined)
  return render(
    c,
    'onboarding/setup/golive',
    {
      // the heading says it in full; the title stays short
      title: c.var.t('onboarding.setup.golive.check'),
      setup,
      services,
      problems,
      report: contrastReport(setup.branding.accent),
      values: {},
      errors: summary,
    },
    summary ? 422 : 200,
  )
}

onboardingRoutes.get(`${BASE}/online`, adminOnly, (c) => goLivePage(c))

onboardingRoutes.post(`${BASE}/online`, adminOnly, async (c) => {
  const tenant = c.var.tenant as Tenant
  const parsed = parseWith(goLiveSchema, await formValues(c), c.var.t, ['confirm'])
  if (!parsed.ok) return goLivePage(c, parsed.errors)
  const { setup, services } = await loadSetup(c.var.deps.db.sql, tenant)
  if (setup.status !== 'setup') return c.redirect(`${base(c)}/online/fatto`, 303)
  if (goLiveProblems(setup, services).length) return goLivePage(c)
  await goLive(c.var.deps.db.sql, tenant, actor(c))
  c.var.deps.tenants.invalidate(tenant.slug)
  return c.redirect(`${base(c)}/online/fatto`, 303)
})

onboardingRoutes.get(`${BASE}/online/fatto`, adminOnly, async (c) => {
  const { setup } = await loadSetup(c.var.deps.db.sql, c.var.tenant as Tenant)
  if (setup.status === 'setup') return c.redirect(`${base(c)}/online`, 303)
  return render(c, 'onboarding/setup/live', { title: c.var.t('onboarding.setup.live.title'), setup })
})
