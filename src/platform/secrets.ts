// Secrets a body stores in its own schema (pagoPA subscription keys, a client certificate's private key, IO API
// keys) are sealed with AES-256-GCM under SECRETS_KEY (config.secretsKey) and bound to what they belong to
// (tenant and purpose, as additional authenticated data), so a sealed value copied to another tenant or field
// does not open. Only the last four characters are ever shown back; the plaintext is never logged.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'

const VERSION = 'v1'

const keyOf = (secret: string) => createHash('sha256').update(`sportello-secrets:${secret}`).digest()

export interface Sealer {
  seal(plaintext: string, context: string): string
  /** null when the value does not open (another key, another context, tampered) */
  open(sealed: string, context: string): string | null
}

export function sealer(secret: string): Sealer {
  const key = keyOf(secret)
  return {
    seal(plaintext, context) {
      const iv = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', key, iv)
      cipher.setAAD(Buffer.from(context))
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
      const tag = cipher.getAuthTag()
      return [VERSION, iv.toString('base64url'), tag.toString('base64url'), body.toString('base64url')].join('.')
    },
    open(sealed, context) {
      const [version, iv, tag, body] = sealed.split('.')
      if (version !== VERSION || !iv || !tag || body === undefined) return null
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'))
        decipher.setAAD(Buffer.from(context))
        decipher.setAuthTag(Buffer.from(tag, 'base64url'))
        return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8')
      } catch {
        return null
      }
    },
  }
}

/** What the office sees of a stored secret: its last four characters. */
export function lastFour(plaintext: string): string {
  return plaintext.length <= 4 ? '••••' : `••••${plaintext.slice(-4)}`
}
