// Nothing personal in a shared or browser cache: every response that did not choose its own caching (the
// hashed static files, the tenant's theme and logo, the public documents do) is `Cache-Control: no-store`.
import type { MiddlewareHandler } from 'hono'

export const noStoreByDefault: MiddlewareHandler = async (c, next) => {
  await next()
  if (!c.res.headers.has('Cache-Control')) c.header('Cache-Control', 'no-store')
}
