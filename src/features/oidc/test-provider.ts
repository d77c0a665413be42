// Test support only, never imported by the application: a real OpenID provider (oidc-provider, a dev
// dependency) on a loopback port, standing in for a SPID / CIE aggregator. Its development interactions
// give plain HTML forms: a login form (any password; the "login" field names one of `people`) and a consent
// form. The provider needs the app's redirect URI and the app needs the issuer, so the port is taken first
// (`startOidcProvider`), the app started with `env`, and then `register(appUrl)` lets the provider answer.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import Provider from 'oidc-provider'

/** Claims a test person releases (the fiscal number as SPID sends it: "TINIT-<codice fiscale>"). */
export interface Person {
  fiscal_number?: string
  given_name?: string
  family_name?: string
  email?: string
  email_verified?: boolean
}

export async function startOidcProvider() {
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | null = null
  const server = createServer((req, res) => {
    if (handler) return handler(req, res)
    res.statusCode = 503
    res.end('not ready')
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const clientId = 'sportello-test'
  const clientSecret = 'a-test-client-secret-that-is-long-enough-0123456789'
  const people = new Map<string, Person>()
  return {
    issuer,
    people,
    env: { OIDC_ISSUER: issuer, OIDC_CLIENT_ID: clientId, OIDC_CLIENT_SECRET: clientSecret },
    register(appUrl: string) {
      const provider = new Provider(issuer, {
        clients: [
          {
            client_id: clientId,
            client_secret: clientSecret,
            redirect_uris: [`${appUrl}/accesso/spid/callback`],
            grant_types: ['authorization_code'],
            response_types: ['code'],
            token_endpoint_auth_method: 'client_secret_basic',
          },
        ],
        pkce: { required: () => true },
        claims: {
          openid: ['sub'],
          profile: ['given_name', 'family_name', 'fiscal_number'],
          email: ['email', 'email_verified'],
        },
        features: { devInteractions: { enabled: true }, claimsParameter: { enabled: true } },
        cookies: { keys: ['oidc-test-cookie-key-0123456789'] },
        ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600 },
        async findAccount(_ctx, id) {
          const person = people.get(id)
          if (!person) return undefined
          return { accountId: id, claims: async () => ({ sub: id, ...person }) }
        },
      })
      handler = provider.callback()
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}
