// The SPID / CIE buttons of the login page: server-rendered links, present only when a provider is configured.
import type { Context } from 'hono'
import { type Env, safeReturnPath } from '../../platform/http.ts'
import { eta } from '../../platform/render.ts'

/** HTML for the login page's `oidc` slot: '' without OIDC_ISSUER. `torna` is carried through the sign-in. */
export function oidcButtons(c: Context<Env>, torna?: string): string {
  const cfg = c.var.deps.config.oidc
  if (!cfg) return ''
  const back = safeReturnPath(torna, '')
  const href = back ? `/accesso/spid?torna=${encodeURIComponent(back)}` : '/accesso/spid'
  const kinds = cfg.label === 'spid-cie' ? ['spid', 'cie'] : [cfg.label]
  return eta.render('oidc/_buttons', { t: c.var.t, href, kinds })
}
