import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createLogger } from './log.ts'
import { REDACTED, redactPath, redactUrl } from './redact.ts'
import { newToken } from './tokens.ts'

const token = newToken()

describe('redactPath', () => {
  it('hides the token of every one-time link route', () => {
    for (const route of [
      '/conferma-email/',
      '/reimposta-password/',
      '/profilo/email/',
      '/invito/',
      '/carrello/promemoria/',
      '/sandbox-psp/paga/',
    ]) {
      expect(redactPath(`${route}${token}`)).toBe(`${route}${REDACTED}`)
    }
    // short or odd tokens too: the place, not the shape, makes it a token
    expect(redactPath('/invito/abc123')).toBe(`/invito/${REDACTED}`)
    expect(redactPath('/sandbox-psp/paga/Zx9_abcdefghijklmnopqrst/annulla')).toBe(
      `/sandbox-psp/paga/${REDACTED}/annulla`,
    )
    // a reminder link: base64url payload, a dot, the signature
    expect(redactPath('/carrello/promemoria/eyJ0IjoxLCJpIjpbMSwyXX0.c2lnbmF0dXJl')).toBe(
      `/carrello/promemoria/${REDACTED}`,
    )
  })

  it('keeps the routes that are words, and ordinary paths', () => {
    expect(redactPath('/conferma-email/invia')).toBe('/conferma-email/invia')
    expect(redactPath('/t/istituto-comprensivo-sandro-pertini/documenti/12')).toBe(
      '/t/istituto-comprensivo-sandro-pertini/documenti/12',
    )
    expect(redactPath('/pagamenti/42/ricevuta.pdf')).toBe('/pagamenti/42/ricevuta.pdf')
    expect(redactPath('/')).toBe('/')
  })

  it('hides anything shaped like a generated token on any route', () => {
    expect(redactPath(`/t/siena/nuovo-invito/${token}`)).toBe(`/t/siena/nuovo-invito/${REDACTED}`)
    expect(redactPath(`/x/${'ab12'.repeat(16)}`)).toBe(`/x/${REDACTED}`)
  })
})

describe('redactUrl', () => {
  it('hides secret parameters and token-shaped values, keeps the rest', () => {
    expect(redactUrl(`/accesso/spid/ritorno?code=abc&state=xyz&lang=it`)).toBe(
      `/accesso/spid/ritorno?code=${REDACTED}&state=${REDACTED}&lang=it`,
    )
    expect(redactUrl(`/qualcosa?link=${token}&pagina=2`)).toBe(`/qualcosa?link=${REDACTED}&pagina=2`)
    expect(redactUrl(`https://pagamenti.example.it/reimposta-password/${token}?torna=%2F`)).toBe(
      `https://pagamenti.example.it/reimposta-password/${REDACTED}?torna=%2F`,
    )
  })
})

describe('createLogger', () => {
  it('writes to the destination it is given', () => {
    let out = ''
    const sink = new Writable({
      write(chunk, _enc, done) {
        out += chunk.toString()
        done()
      },
    })
    createLogger('info', sink).info({ path: redactPath(`/invito/${token}`) }, 'request')
    expect(out).toContain('/invito/[redacted]')
    expect(out).not.toContain(token)
  })
})
