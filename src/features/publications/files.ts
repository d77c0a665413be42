// Uploaded files: the type is read from the first bytes (magic numbers), never from the name or the browser's
// word; names are made safe for a Content-Disposition header; sizes are checked before anything is kept.
import { createHash } from 'node:crypto'
import type { Context } from 'hono'
import type { Env } from '../../platform/http.ts'

export type FileType = 'application/pdf' | 'image/jpeg' | 'image/png'

export const MB = 1024 * 1024

const EXTENSION: Record<FileType, string> = { 'application/pdf': 'pdf', 'image/jpeg': 'jpg', 'image/png': 'png' }

function startsWith(bytes: Uint8Array, magic: number[]): boolean {
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b)
}

/**
 * The type of a file from its content, or null. A PDF starts with "%PDF-" and has an end-of-file marker
 * ("%%EOF") in its last kilobytes, so a renamed text or a truncated upload is refused too.
 */
export function detectType(bytes: Uint8Array): FileType | null {
  if (startsWith(bytes, [0x25, 0x50, 0x44, 0x46, 0x2d])) {
    const tail = Buffer.from(bytes.subarray(Math.max(0, bytes.length - 2048))).toString('latin1')
    return tail.includes('%%EOF') ? 'application/pdf' : null
  }
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'image/jpeg'
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png'
  return null
}

/**
 * A file name safe in a header and on any disk: ASCII letters, digits, dot, dash and underscore, with the
 * extension of the detected type; accents lose their marks ("menù" → "menu").
 */
export function safeFileName(original: string, type: FileType, fallback = 'documento'): string {
  const base = original
    .replace(/\.[A-Za-z0-9]{1,5}$/, '')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .replace(/-{2,}/g, '-')
    .slice(0, 80)
  return `${base || fallback}.${EXTENSION[type]}`
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/** `attachment; filename="…"`: the name is already safe ASCII, quoted anyway. */
export function contentDisposition(fileName: string, inline = false): string {
  return `${inline ? 'inline' : 'attachment'}; filename="${fileName.replace(/["\\\r\n]/g, '')}"`
}

export interface Upload {
  name: string
  type: FileType
  bytes: Uint8Array
  size: number
}

export type UploadProblem = 'missing' | 'tooBig' | 'wrongType' | 'empty'

/**
 * The file of a multipart form field, checked: present, not empty, at most `limit` bytes, of an allowed type
 * by its content. The body was already parsed (the CSRF check reads it), so this reads it from memory.
 */
export async function readUpload(
  c: Context<Env>,
  field: string,
  limit: number,
  allowed: FileType[],
): Promise<{ ok: true; file: Upload } | { ok: false; problem: UploadProblem }> {
  const type = c.req.header('content-type') ?? ''
  if (!type.startsWith('multipart/form-data')) return { ok: false, problem: 'missing' }
  const body = await c.req.parseBody({ all: true })
  const v = body[field]
  const file = Array.isArray(v) ? v.find((x) => x instanceof File) : v
  if (!(file instanceof File) || (file.size === 0 && file.name === '')) return { ok: false, problem: 'missing' }
  if (file.size === 0) return { ok: false, problem: 'empty' }
  if (file.size > limit) return { ok: false, problem: 'tooBig' }
  const bytes = new Uint8Array(await file.arrayBuffer())
  const detected = detectType(bytes)
  if (!detected || !allowed.includes(detected)) return { ok: false, problem: 'wrongType' }
  return { ok: true, file: { name: file.name, type: detected, bytes, size: bytes.length } }
}

/**
 * A request whose declared length is far beyond the limit is refused before its body is read by the route
 * (the multipart overhead of a form is a few kilobytes).
 */
export function declaredTooBig(c: Context<Env>, limit: number): boolean {
  const n = Number(c.req.header('content-length') ?? '0')
  return Number.isFinite(n) && n > limit + 256 * 1024
}
