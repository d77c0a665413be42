// The benchmark's users (signed-in sessions made by the generator) and the tenants they belong to.
import type { Db } from '../src/platform/db.ts'
import { tenantRoleName } from '../src/platform/db.ts'

export interface BenchUser {
  idx: number
  token: string
  accountId: number
  codiceFiscale: string
  slug: string
  documentId: number
  cartItems: number
  cartTenants: number
  tenant: { id: number; schema: string; role: string }
}

export async function loadUsers(db: Db, limit = 100_000): Promise<BenchUser[]> {
  const rows = await db.admin<
    {
      idx: number
      token: string
      account_id: number
      codice_fiscale: string
      tenant_slug: string
      document_id: number
      cart_items: number
      cart_tenants: number
      tenant_id: number
      schema_name: string
    }[]
  >`
    select u.idx, u.token, u.account_id, u.codice_fiscale, u.tenant_slug, u.document_id, u.cart_items, u.cart_tenants,
      t.id as tenant_id, t.schema_name
    from public.bench_users u join platform.tenants t on t.slug = u.tenant_slug
    order by u.idx limit ${limit}`
  return rows.map((r) => ({
    idx: r.idx,
    token: r.token,
    accountId: r.account_id,
    codiceFiscale: r.codice_fiscale,
    slug: r.tenant_slug,
    documentId: r.document_id,
    cartItems: r.cart_items,
    cartTenants: r.cart_tenants,
    tenant: { id: r.tenant_id, schema: r.schema_name, role: tenantRoleName(db.roles, r.schema_name) },
  }))
}

/** A fixed shuffle, so that consecutive requests hit different tenants as real traffic does. */
export function shuffled<T>(xs: T[]): T[] {
  const out = [...xs]
  let seed = 12345
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    const j = seed % (i + 1)
    ;[out[i], out[j]] = [out[j] as T, out[i] as T]
  }
  return out
}
