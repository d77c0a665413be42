import { describe, expect, it } from 'vitest'
import { safeReturnPath } from './http.ts'

/** Known ways of writing another site (or breaking a header) where a path is expected. */
const REDIRECT_BYPASSES = [
  '//evil.example',
  '///evil.example',
  '////evil.example/x',
  '/\\evil.example',
  '\\\\evil.example',
  '/\\/evil.example',
  '\\/evil.example',
  '/\t/evil.example/',
  '/%09/evil.example/',
  '/\n/evil.example',
  '/%0a/evil.example',
  '/\r\n/evil.example',
  '/%0d%0a/evil.example',
  '/\u000b/evil.example',
  '/%0B/evil.example',
  '/\u0000/evil.example',
  '/%00/evil.example',
  '/%5Cevil.example',
  '/%5C%5Cevil.example',
  '/%2F/evil.example',
  '/%2F%2Fevil.example',
  '%2F%2Fevil.example',
  '/%252F/evil.example',
  '/%25252F%25252Fevil.example',
  '/.//evil.example',
  '/..//evil.example',
  '/./\\evil.example',
  '/%2e//evil.example',
  '/%2e%2e//evil.example',
  'https:evil.example',
  'https://evil.example',
  'http:/evil.example',
  '\t//evil.example',
  ' //evil.example',
  '\u0000//evil.example',
  'javascript:alert(1)',
  'JaVaScRiPt:alert(1)',
  '/javascript:alert(1)//x\u2028',
  'data:text/html,<script>alert(1)</script>',
  '/\u2215\u2215evil.example',
  '/\uff0f\uff0fevil.example',
  '/\u3002evil.example\u0085',
  '/\u00a0/evil.example\u009b',
  '/ok\r\nSet-Cookie: x=1',
  '/%E0%A4%A',
  '/%',
  '',
]

const BASE = 'https://pagamenti.example.it'

/** Where a browser goes with this Location header on our site: null when it is not the same origin. */
function landing(location: string): string | null {
  const u = new URL(location, BASE)
  return u.origin === BASE ? u.pathname : null
}

describe('safeReturnPath', () => {
  it('keeps the paths of this site, with their query and fragment', () => {
    expect(safeReturnPath('/area-personale')).toBe('/area-personale')
    expect(safeReturnPath('/t/siena/posizione-debitoria?anno=2025#rate')).toBe(
      '/t/siena/posizione-debitoria?anno=2025#rate',
    )
    expect(safeReturnPath('/t/siena/ufficio/documenti?q=rossi%20mario&pagina=2')).toBe(
      '/t/siena/ufficio/documenti?q=rossi%20mario&pagina=2',
    )
    expect(safeReturnPath('/a/../b')).toBe('/b')
    // what the server hands to a header is ASCII
    expect(safeReturnPath('/t/città/è')).toBe('/t/citt%C3%A0/%C3%A8')
  })

  it('never lets a known bypass leave the site, nor anything a header cannot carry', () => {
    expect(REDIRECT_BYPASSES.length).toBeGreaterThanOrEqual(40)
    for (const v of REDIRECT_BYPASSES) {
      const out = safeReturnPath(v, '/area-personale')
      expect(out, JSON.stringify(v)).toMatch(/^\/(?![/\\])[\x21-\x7e]*$/)
      expect(landing(out), JSON.stringify(v)).not.toBeNull()
      // a value given back is given back unchanged a second time
      expect(safeReturnPath(out, '/x'), JSON.stringify(v)).toBe(out)
    }
  })

  it('answers the fallback for what is no path of ours', () => {
    for (const v of ['//evil.example', '/%09/evil.example/', 'https:evil.example', '/.//evil.example', null, undefined])
      expect(safeReturnPath(v, '/f')).toBe('/f')
  })
})
