// The set-up wizard's overview (the sections done, what still stops going live) and going live: a
// check-your-answers page, then the tenant from 'setup' to 'active', and the page that says so.
import { type Context, Hono } from 'hono'
import { formValues, parseWith } from '../../../platform/forms.ts'
import type { Env } from '../../../platform/http.ts'
import { type FormErrors, render } from '../../../platform/render.ts'
import type { Tenant } from '../../../platform/tenancy.ts'
import { goLiveSchema } from '../schema.ts'
import { actor, adminOnly, BASE, base } from './common.ts'
import { contrastReport, doneSections, goLive, goLiveProblems, loadSetup, SECTIONS } from './service.ts'

export const overviewRoutes = new Hono<Env>()

overviewRoutes.get(BASE, adminOnly, async (c) => {
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

overviewRoutes.get(`${BASE}/online`, adminOnly, (c) => goLivePage(c))

overviewRoutes.post(`${BASE}/online`, adminOnly, async (c) => {
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

overviewRoutes.get(`${BASE}/online/fatto`, adminOnly, async (c) => {
  const { setup } = await loadSetup(c.var.deps.db.sql, c.var.tenant as Tenant)
  if (setup.status === 'setup') return c.redirect(`${base(c)}/online`, 303)
  return render(c, 'onboarding/setup/live', { title: c.var.t('onboarding.setup.live.title'), setup })
})
