// One-time links carry their secret in the address (reset, email confirmation and change, invitations, the
// reminder's "paga ora", the sandbox's pay page): logs keep the route and never the token.

export const REDACTED = '[redacted]'

/** The path segment after these prefixes is a token (a word such as "invia" is a route of its own). */
const TOKEN_PREFIXES = [
  '/conferma-email/',
  '/reimposta-password/',
  '/profilo/email/',
  '/invito/',
  '/carrello/promemoria/',
  '/sandbox-psp/paga/',
]

/** Query parameters whose value is a secret or a one-time code (OpenID Connect's code and state among them). */
const SECRET_PARAMS = /^(token|code|state|nonce|key|chiave|secret|password|sig|signature|id_token|access_token)$/i

/**
 * Anything shaped like a generated token, wherever it appears: 32+ characters of base64url (with an upper-case
 * letter, which a slug never has) or of hex. Catches the links of routes added after this list.
 */
function looksLikeToken(segment: string): boolean {
  return (
    segment.length >= 32 &&
    ((/^[A-Za-z0-9_.~-]+$/.test(segment) && /[A-Z]/.test(segment)) || /^[0-9a-f]+$/i.test(segment))
  )
}

function isWord(segment: string): boolean {
  return /^[a-z-]{1,20}$/.test(segment)
}

/** The path with every token segment replaced by [redacted]. */
export function redactPath(path: string): string {
  const segments = path.split('/')
  let cut = -1
  for (const prefix of TOKEN_PREFIXES) {
    if (path.startsWith(prefix)) cut = prefix.split('/').length - 1
  }
  return segments
    .map((s, i) => {
      if (s === '') return s
      let decoded = s
      try {
        decoded = decodeURIComponent(s)
      } catch {}
      if (i === cut && !isWord(decoded)) return REDACTED
      return looksLikeToken(decoded) ? REDACTED : s
    })
    .join('/')
}

/** A path with its query string (or a whole URL): token segments and secret parameters redacted. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?')
  const hash = url.indexOf('#')
  const end = hash === -1 ? url.length : hash
  if (q === -1 || q > end) {
    const m = /^([a-z][a-z0-9+.-]*:\/\/[^/]*)?(.*)$/i.exec(url.slice(0, end)) as RegExpExecArray
    return `${m[1] ?? ''}${redactPath(m[2] ?? '')}`
  }
  const base = redactUrl(url.slice(0, q))
  const query = url
    .slice(q + 1, end)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=')
      if (eq === -1) return pair
      const name = pair.slice(0, eq)
      let value = pair.slice(eq + 1)
      try {
        value = decodeURIComponent(value.replace(/\+/g, ' '))
      } catch {}
      return SECRET_PARAMS.test(name) || looksLikeToken(value) ? `${name}=${REDACTED}` : pair
    })
    .join('&')
  return `${base}?${query}`
}
