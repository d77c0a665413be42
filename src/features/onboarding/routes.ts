// A new body joins: the public sign-up form with its check-your-answers page (sign-up.ts), the set-up wizard under
// /t/:tenant/ufficio/configurazione (setup/: overview and go-live, identity, branding, services, rules), and the
// tenant's logo, served here. The first administrator's invitation link is the staff's
// (src/features/staff/routes.ts, /invito/:token).
import { Hono } from 'hono'
import { NotFound } from '../../platform/errors.ts'
import type { Env } from '../../platform/http.ts'
import { brandingRoutes } from './setup/branding.ts'
import { identityRoutes } from './setup/identity.ts'
import { overviewRoutes } from './setup/overview.ts'
import { rulesRoutes } from './setup/rules.ts'
import { serviceRoutes } from './setup/services.ts'
import { signUpRoutes } from './sign-up.ts'

export const onboardingRoutes = new Hono<Env>()

// --- public sign-up -------------------------------------------------------------------------------------

onboardingRoutes.route('/', signUpRoutes)

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

// --- the set-up wizard (setup/): each file a page or a journey ------------------------------------------

onboardingRoutes.route('/', overviewRoutes)
onboardingRoutes.route('/', identityRoutes)
onboardingRoutes.route('/', brandingRoutes)
onboardingRoutes.route('/', serviceRoutes)
onboardingRoutes.route('/', rulesRoutes)
