// Certificates made by openssl in a temporary folder, for the tests of client certificates and mutual TLS.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export function certificates() {
  const dir = mkdtempSync(join(tmpdir(), 'sportello-certs-'))
  const f = (name: string) => join(dir, name)
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' })
  return {
    /** a PEM file's text: `<name>.pem` (certificate) or `<name>.key` (its private key) */
    read: (file: string) => readFileSync(f(file), 'utf8'),
    /** a self-signed certificate (an authority, or an outsider) and its key */
    selfSigned(name: string) {
      openssl(
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        f(`${name}.key`),
        '-out',
        f(`${name}.pem`),
        '-days',
        '2',
        '-subj',
        `/CN=${name}.sportello.test`,
      )
      return this
    },
    /** a certificate signed by the authority `ca` (made by selfSigned), with its x509v3 extensions */
    signedBy(ca: string, name: string, extensions: string) {
      writeFileSync(f(`${name}.ext`), extensions)
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
        f(`${ca}.pem`),
        '-CAkey',
        f(`${ca}.key`),
        '-CAcreateserial',
        '-out',
        f(`${name}.pem`),
        '-days',
        '2',
        '-extfile',
        f(`${name}.ext`),
      )
      return this
    },
  }
}
