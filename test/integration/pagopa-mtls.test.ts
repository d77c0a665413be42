// Mutual TLS on Sportello's calls to pagoPA (decision 0100): the archive simulator behind an HTTPS server that asks
// for a client certificate signed by its authority; the call with the body's certificate goes through, one with a
// certificate of another authority is refused at the handshake and counts as unreachable (retried, never a 500).
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { restCall, Unreachable } from '../../src/features/pagopa/connection.ts'
import { BASE_PATHS, platformSimulator } from '../../src/features/pagopa/platform-sim/server.ts'
import { certificates } from '../helpers/certificates.ts'

// an authority, a server and a client certificate it signs, and an outsider's self-signed one
const pki = certificates()
const read = pki.read

let url = ''
let close = () => Promise.resolve()
const sim = platformSimulator()

beforeAll(async () => {
  pki
    .selfSigned('ca')
    .signedBy('ca', 'server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n')
    .signedBy('ca', 'client', 'extendedKeyUsage=clientAuth\n')
    .selfSigned('outsider')
  const server = serve({
    fetch: sim.app.fetch,
    hostname: '127.0.0.1',
    port: 0,
    createServer,
    serverOptions: {
      key: read('server.key'),
      cert: read('server.pem'),
      ca: read('ca.pem'),
      requestCert: true,
      rejectUnauthorized: true,
    },
  })
  await new Promise<void>((r) => server.once('listening', () => r()))
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
  close = () => new Promise<void>((r) => server.close(() => r()))
})
afterAll(() => close())

const call = (cert: string, key: string) =>
  restCall(
    { urls: { aca: `${url}${BASE_PATHS.aca}`, fdr: '', io: '' }, tls: { cert, key, ca: read('ca.pem') } },
    'aca',
    {
      method: 'GET',
      path: '/organizations/00050800523/debtpositions',
      key: 'chiave-di-prova-mtls-01',
      query: { limit: '1' },
    },
  )

describe('mutual TLS towards pagoPA', () => {
  it("goes through with the body's client certificate", async () => {
    const a = await call(read('client.pem'), read('client.key'))
    expect(a.status).toBe(200)
    expect(sim.problems()).toEqual([])
  })

  it('is refused at the handshake with a certificate of another authority: unreachable, to be retried', async () => {
    const err = await call(read('outsider.pem'), read('outsider.key')).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(Unreachable)
  })
})
