// The tenant's published documents. Lists never read the file content; only a download does.
import type { Tx } from '../../platform/db.ts'
import type { Tenant } from '../../platform/tenancy.ts'

export const CATEGORIES = ['regolamento', 'tariffe', 'privacy', 'dieta', 'menu', 'modulistica', 'altro'] as const
export type Category = (typeof CATEGORIES)[number]

export interface TenantDocument {
  id: number
  title: string
  category: Category
  file_name: string
  size_bytes: number
  sha256: string
  updated_at: Date
  updated_by_name: string
}

const COLUMNS = ['id', 'title', 'category', 'file_name', 'size_bytes', 'sha256', 'updated_at', 'updated_by_name']

/** Every document, by category (in the order of CATEGORIES) and title. */
export function listDocuments(tx: Tx) {
  return tx<TenantDocument[]>`
    select ${tx(COLUMNS)} from tenant_documents
    order by array_position(${CATEGORIES as unknown as string[]}::text[], category), lower(title), id`
}

export async function findDocument(tx: Tx, id: number): Promise<TenantDocument | null> {
  const [row] = await tx<TenantDocument[]>`select ${tx(COLUMNS)} from tenant_documents where id = ${id}`
  return row ?? null
}

export async function documentContent(
  tx: Tx,
  id: number,
): Promise<{ file_name: string; sha256: string; content: Uint8Array } | null> {
  const [row] = await tx<{ file_name: string; sha256: string; content: Uint8Array }[]>`
    select file_name, sha256, content from tenant_documents where id = ${id}`
  return row ?? null
}

/** What the audit log keeps of a document (never its content). */
export function snapshot(d: Pick<TenantDocument, 'title' | 'category' | 'file_name' | 'size_bytes' | 'sha256'>) {
  return { title: d.title, category: d.category, fileName: d.file_name, sizeBytes: d.size_bytes, sha256: d.sha256 }
}

/** "1,2 MB", "350 kB": decimal units, as file managers show them. */
export function formatSize(bytes: number, lang: 'it' | 'en'): string {
  const fmt = (n: number) =>
    new Intl.NumberFormat(lang === 'en' ? 'en-GB' : 'it-IT', { maximumFractionDigits: 1 }).format(n)
  if (bytes >= 1_000_000) return `${fmt(bytes / 1_000_000)} MB`
  return `${fmt(Math.max(1, Math.round(bytes / 1000)))} kB`
}

export function downloadPath(tenantSlug: string, d: { id: number; file_name: string }): string {
  return `/t/${tenantSlug}/documenti-ente/${d.id}/${d.file_name}`
}

/** The list for a page, with what a link needs (path and a readable size). */
export async function publicDocuments(tx: Tx, tenant: Pick<Tenant, 'slug'>, lang: 'it' | 'en') {
  return (await listDocuments(tx)).map((d) => ({
    ...d,
    href: downloadPath(tenant.slug, d),
    size: formatSize(d.size_bytes, lang),
  }))
}
