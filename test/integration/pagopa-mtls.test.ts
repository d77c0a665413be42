// Mutual TLS on Sportello's calls to pagoPA (decision 0100): the archive simulator behind an HTTPS server that asks
// for a client certificate signed by its authority; the call with the body's certificate goes through, one with a
// certificate of another authority is refused at the handshake and counts as unreachable (retried, never a 500).
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serve } from '@hono/node-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { restCall, Unreachable } from '../../src/features/pagopa/connection.ts'
import { BASE_PATHS, platformSimulator } from '../../src/features/pagopa/platform-sim/server.ts'

const dir = mkdtempSync(join(tmpdir(), 'sportello-mtls-'))
const f = (name: string) => join(dir, name)
const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' })
const read = (name: string) => readFileSync(f(name), 'utf8')

/** An authority, a certificate it signs (server or client), and an outsider's self-signed client certificate. */
function pki() {
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=Test CA',
  )
  const signed = (name: string, ext: string) => {
    writeFileSync(f(`${name}.ext`), ext)
    openssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      f(`${name}.key`),
      '-out',
      f(`${name}.csr`),
      '-subj',
      `/CN=${name}`,
    )
    openssl(
      'x509',
      '-req',
      '-in',
      f(`${name}.csr`),
      '-CA',
      f('ca.pem'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-out',
      f(`${name}.pem`),
      '-days',
      '2',
      '-extfile',
      f(`${name}.ext`),
    )
  }
  signed('server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n')
  signed('client', 'extendedKeyUsage=clientAuth\n')
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    f('outsider.key'),
    '-out',
    f('outsider.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=outsider',
  )
}

let url = ''
let close = () => Promise.resolve()
const sim = platformSimulator()

beforeAll(async () => {
  pki()
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
