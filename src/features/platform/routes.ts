// The platform operator's console: every tenant with its status and schema version.
import { Hono } from 'hono'
import type { Env } from '../../platform/http.ts'
import { render } from '../../platform/render.ts'
import { requireOperator } from '../../platform/roles.ts'

export const platformRoutes = new Hono<Env>()

platformRoutes.get('/piattaforma', requireOperator, async (c) => {
  const tenants = await c.var.deps.db.sql<
    {
      slug: string
      name: string
      kind: string
      status: string
      schema_version: number
      migration_error: string | null
    }[]
  >`select slug, name, kind, status, schema_version, migration_error from platform.tenants where status <> 'deleted' order by name`
  return render(c, 'platform/console', { title: c.var.t('platform.title'), tenants })
})
