// What a new tenant starts with: an address (slug) suggested from its name, a short name, a logo text, and the
// default services of its kind. Pure functions, so the sign-up form, the approval and the tests agree.
import type { TenantFile } from '../../platform/tenancy.ts'

export const SLUG_RE = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/
export const SLUG_MAX = 40
export const DEFAULT_ACCENT = '#0b4f9c'
/**
 * The pagoPA segregation code proposed at approval (decision record 0061): the body's code for Sportello among
 * its own IUV-generating systems; the operator confirms it, the administrator may change it until go-live.
 */
export const DEFAULT_SEGREGATION_CODE = '01'

/** Words left out of a suggested address or logo text. */
const STOP = new Set([
  'di',
  'del',
  'della',
  'dello',
  'dei',
  'degli',
  'delle',
  'e',
  'ed',
  'la',
  'il',
  'lo',
  'le',
  'a',
  'in',
])

/** Usual abbreviations of school names, as the schools themselves write them. */
const ABBREVIATIONS: [RegExp, string][] = [
  [/\bistituto comprensivo\b/g, 'ic'],
  [/\bistituto di istruzione superiore\b/g, 'iis'],
  [/\bistituto d istruzione superiore\b/g, 'iis'],
  [/\bistituto tecnico industriale\b/g, 'iti'],
  [/\bistituto tecnico commerciale\b/g, 'itc'],
  [/\bistituto tecnico\b/g, 'it'],
  [/\bistituto professionale\b/g, 'ip'],
  [/\bcircolo didattico\b/g, 'cd'],
  [/\bdirezione didattica\b/g, 'dd'],
  [/\bscuola secondaria di primo grado\b/g, 'ss1'],
  [/\bscuola primaria\b/g, 'primaria'],
  [/\bliceo scientifico\b/g, 'ls'],
  [/\bliceo classico\b/g, 'lc'],
]

function plainWords(name: string, abbreviate = true): string[] {
  const ascii = name
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/['’`]/g, ' ')
    .replace(/[^a-z0-9]+/g, ' ')
  let s = ascii.trim()
  if (abbreviate) for (const [re, abbr] of ABBREVIATIONS) s = s.replace(re, abbr)
  return s.split(' ').filter((w) => w && !STOP.has(w))
}

/** "Comune di Siena" → "siena"; "Istituto Comprensivo Sandro Pertini – Milano" → "ic-sandro-pertini-milano". */
export function suggestSlug(name: string): string {
  let words = plainWords(name)
  // "Comune di X" is known by X: the kind is already shown beside the name
  if (words.length > 1 && words[0] === 'comune') words = words.slice(1)
  let slug = ''
  for (const w of words) {
    const next = slug ? `${slug}-${w}` : w
    if (next.length > SLUG_MAX) break
    slug = next
  }
  if (!slug && words[0]) slug = words[0].slice(0, SLUG_MAX)
  slug = slug.replace(/^-+|-+$/g, '')
  return SLUG_RE.test(slug) ? slug : ''
}

/** The same address with a number, for when it is taken: "siena" → "siena-2". */
export function numberedSlug(slug: string, n: number): string {
  const suffix = `-${n}`
  return `${slug.slice(0, SLUG_MAX - suffix.length).replace(/-+$/, '')}${suffix}`
}

/** Up to four capitals for the logo box: "Istituto Comprensivo Sandro Pertini" → "ICSP", "Comune di Siena" → "CS". */
export function logoTextFor(name: string): string {
  const words = plainWords(name.replace(/[–—-].*$/, ''), false)
  const letters = words.map((w) => (/^[0-9]/.test(w) ? w : w[0])).join('')
  return (letters || 'S').slice(0, 4).toUpperCase()
}

/** Usual short forms of names, for titles and the cart: "Istituto Comprensivo Sandro Pertini – Milano" → "IC Sandro Pertini". */
const SHORT_FORMS: [RegExp, string][] = [
  [/\bistituto comprensivo( statale)?\b/i, 'IC'],
  [/\bistituto (di|d['’]) ?istruzione superiore\b/i, 'IIS'],
  [/\bistituto tecnico industriale\b/i, 'ITI'],
  [/\bistituto tecnico commerciale\b/i, 'ITC'],
  [/\bcircolo didattico\b/i, 'CD'],
  [/\bdirezione didattica\b/i, 'DD'],
]

/** A short name for page titles: the usual abbreviations, the place after a dash left out, at most 30 characters. */
export function shortNameFor(name: string): string {
  let clean = name.replace(/\s+/g, ' ').trim()
  for (const [re, short] of SHORT_FORMS) clean = clean.replace(re, short)
  const head = clean.split(/\s[–—-]\s/)[0]?.trim() || clean
  if (head.length <= 30) return head
  const cut = head.slice(0, 30)
  const space = cut.lastIndexOf(' ')
  return (space > 10 ? cut.slice(0, space) : cut).replace(/[\s,;.]+$/, '')
}

type ServiceFile = TenantFile['services'][number]

/** The services a body of each kind usually collects; the administrator adjusts them in the set-up wizard. */
export function defaultServices(kind: 'comune' | 'scuola'): ServiceFile[] {
  const s = (code: ServiceFile['kind'], name: string, causale: string, extra: Partial<ServiceFile> = {}) =>
    ({
      code,
      kind: code,
      name,
      causale,
      spontaneous: false,
      amountMode: 'importo',
      ...extra,
    }) as ServiceFile
  if (kind === 'scuola') {
    return [
      s('assicurazione', 'Assicurazione integrativa alunni', 'Assicurazione integrativa alunni'),
      s('contributo', 'Contributo volontario', "Erogazione liberale per l'ampliamento dell'offerta formativa", {
        spontaneous: true,
      }),
      s('gite', 'Viaggi e uscite didattiche', 'Quota viaggio di istruzione'),
      s('extrascolastico', 'Attività extrascolastiche', 'Quota attività extrascolastica'),
    ]
  }
  return [
    s('mensa', 'Mensa scolastica', 'Servizio di refezione scolastica'),
    s('trasporto', 'Trasporto scolastico', 'Servizio di trasporto scolastico'),
    s('nido', "Nido d'infanzia", "Retta del nido d'infanzia"),
  ]
}
