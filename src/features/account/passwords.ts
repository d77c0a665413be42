// Password hashing (argon2id, OWASP parameters) and the rules a new password must meet.
import { readFileSync } from 'node:fs'
import argon2 from 'argon2'
import { projectPath } from '../../platform/paths.ts'

/** OWASP Password Storage Cheat Sheet: argon2id, m = 19 MiB, t = 2, p = 1. */
export const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const

const COMMON = new Set(
  readFileSync(projectPath('src/features/account/common-passwords.txt'), 'utf8')
    .split('\n')
    .map((l) => l.trim().toLowerCase())
    .filter(Boolean),
)

export function isCommonPassword(password: string): boolean {
  const p = password.toLowerCase()
  if (COMMON.has(p)) return true
  // one character repeated, or a run of the same short pattern ("abcabcabcabc")
  return /^(.{1,4})\1+$/.test(p)
}

export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, ARGON2_OPTIONS)
}

export async function verifyPassword(hash: string | null, password: string): Promise<{ ok: boolean; rehash: boolean }> {
  if (!hash) {
    // spend the same time as a real check, so unknown accounts are not told apart by timing
    await argon2.hash(password, ARGON2_OPTIONS)
    return { ok: false, rehash: false }
  }
  const ok = await argon2.verify(hash, password)
  return { ok, rehash: ok && argon2.needsRehash(hash, ARGON2_OPTIONS) }
}
