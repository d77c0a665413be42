// Nothing personal in a shared or browser cache: every response that did not choose its own caching (the
// hashed static files, the tenant's theme and logo, the public documents do) is `Cache-Control: no-store`.
import type { MiddlewareHandler } from 'hono'

export const noStoreByDefault: MiddlewareHandler = async (c, next) => {
  await next()
  // on the response's own headers: c.header() on a finished response makes @hono/node-server build a full
  // Response and stream its body out (about a tenth of a page's server CPU), where the headers alone do not
  if (!c.res.headers.has('Cache-Control')) c.res.headers.set('Cache-Control', 'no-store')
}
