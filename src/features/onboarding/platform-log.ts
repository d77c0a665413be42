// The platform's own log (what operators, onboarding and invitations did) and the one transaction that changes
// platform rows and then writes the tenant's audit entry, so a change and its entries commit together.
import type { Actor } from '../../platform/audit.ts'
import { assertSchemaName, type Sql, type TenantScope, type Tx } from '../../platform/db.ts'

export async function platformLog(
  tx: Tx | Sql,
  actor: Actor,
  entry: {
    action: string
    requestId?: number | null
    tenantId?: number | null
    tenantSlug?: string | null
    detail?: Record<string, unknown>
  },
): Promise<void> {
  await tx`
    insert into platform.platform_log (actor_account_id, actor_name, action, request_id, tenant_id, tenant_slug, detail)
    values (${actor.accountId}, ${actor.name}, ${entry.action}, ${entry.requestId ?? null}, ${entry.tenantId ?? null},
            ${entry.tenantSlug ?? null},
            ${entry.detail ? tx.json(entry.detail as Parameters<typeof tx.json>[0]) : null})`
}

/**
 * One transaction that first changes platform rows as the application role (the tenant role may only read
 * platform.tenants), then scopes itself to the tenant exactly as withTenant does, for the tenant's own audit
 * entry. So a change and its audit entry commit together (decision record 0063).
 */
export async function platformThenTenant<T>(
  sql: Sql,
  tenant: TenantScope,
  platform: (tx: Tx) => Promise<T>,
  scoped: (tx: Tx, result: T) => Promise<void>,
): Promise<T> {
  assertSchemaName(tenant.schema)
  if (!/^[a-z0-9_]{1,63}$/.test(tenant.role)) throw new Error('invalid tenant role')
  return sql.begin(async (tx) => {
    const result = await platform(tx)
    await tx`select set_config('search_path', ${tenant.schema}, true), set_config('role', ${tenant.role}, true)`
    await scoped(tx, result)
    return result
  }) as Promise<T>
}
