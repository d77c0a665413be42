// A tenant's logo: PNG only (decision record 0062), checked by its bytes, not by the name or type the browser
// claims. SVG is refused: it can carry scripts, and served from our origin it would run with our rights.
import { createHash } from 'node:crypto'

export const LOGO_MAX_BYTES = 200 * 1024
export const LOGO_MIN_PX = 16
export const LOGO_MAX_PX = 2000

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
const IEND = Buffer.from([0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82])

export type LogoProblem = 'empty' | 'tooLarge' | 'notPng' | 'dimensions'

export interface CheckedLogo {
  body: Buffer
  sha256: string
  width: number
  height: number
}

/** Checks a PNG: signature, IHDR first with sane dimensions, IEND last, size limit. */
export function checkLogo(body: Buffer): CheckedLogo | { problem: LogoProblem } {
  if (body.length === 0) return { problem: 'empty' }
  if (body.length > LOGO_MAX_BYTES) return { problem: 'tooLarge' }
  if (body.length < 8 + 25 + 12 || !body.subarray(0, 8).equals(SIGNATURE)) return { problem: 'notPng' }
  if (body.readUInt32BE(8) !== 13 || body.toString('latin1', 12, 16) !== 'IHDR') return { problem: 'notPng' }
  if (!body.subarray(body.length - 12).equals(IEND)) return { problem: 'notPng' }
  const width = body.readUInt32BE(16)
  const height = body.readUInt32BE(20)
  const ok = (n: number) => n >= LOGO_MIN_PX && n <= LOGO_MAX_PX
  // a logo sits in a bar about 2.5rem high: very long strips or towers would be unreadable there
  if (!ok(width) || !ok(height) || width / height > 6 || height / width > 2) return { problem: 'dimensions' }
  return { body, sha256: createHash('sha256').update(body).digest('hex'), width, height }
}

/** The name part of the logo's address: the first 16 hex digits of its SHA-256, so a new logo is a new URL. */
export function logoKey(sha256: string): string {
  return sha256.slice(0, 16)
}
