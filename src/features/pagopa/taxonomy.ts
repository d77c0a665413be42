// pagoPA's taxonomy of collection services (Tassonomia dei servizi di incasso): every transfer's
// transferCategory is a code of it with its prefix, `9/0107101TS/` (SANP, mandatory for creditors since
// 28/02/2026). The codes for school and municipal services ship as data (taxonomy.json, from pagoPA's published
// list, sources in docs/pagopa-taxonomy-research.md); each service carries its code and prefix, or takes the
// default of its kind for the body's type (decision 0099).
import { readFileSync } from 'node:fs'
import { projectPath } from '../../platform/paths.ts'
import type { ServiceKind } from '../../platform/tenancy.ts'

export interface TaxonomyEntry {
  code: string
  bodyType: string
  bodyTypeName: string
  macroArea: string
  macroAreaName: string
  serviceType: string
  serviceName: string
  legalReason: string
  validFrom: string
  validTo: string | null
}

export interface TaxonomyPrefix {
  prefix: string
  /** whether pagoPA may route the position through SEPA Request-To-Pay */
  rtp: boolean
  it: string
  en: string
}

interface TaxonomyFile {
  source: string
  prefixes: TaxonomyPrefix[]
  entries: TaxonomyEntry[]
}

const FILE = JSON.parse(readFileSync(projectPath('src', 'features', 'pagopa', 'taxonomy.json'), 'utf8')) as TaxonomyFile

export const TAXONOMY_SOURCE = FILE.source
export const TAXONOMY_PREFIXES: readonly TaxonomyPrefix[] = FILE.prefixes
export const PREFIX_VALUES = FILE.prefixes.map((p) => p.prefix)
export const ORDINARY_PREFIX = '9/'

/** The body type of the taxonomy for a tenant: 01 comune (and unions), 06 state school. */
export const BODY_TYPE: Record<'comune' | 'scuola', string> = { comune: '01', scuola: '06' }

/** The code each kind of service takes when the office has not chosen one (docs/pagopa-taxonomy-research.md). */
const DEFAULTS: Record<'comune' | 'scuola', Record<ServiceKind, string>> = {
  comune: {
    mensa: '0107101TS',
    trasporto: '0107102SP',
    nido: '0107106SP',
    assicurazione: '0108106AP',
    contributo: '0115102AP',
    gite: '0115105AP',
    extrascolastico: '0107105SP',
    // a tribute has no sensible default: the form asks for one; services from before this choice keep "Varie"
    tributi: '0115105AP',
    altro: '0115105AP',
  },
  scuola: {
    mensa: '0601104TS',
    trasporto: '0601105SP',
    nido: '0601132AP',
    assicurazione: '0601124SP',
    contributo: '0601110AP',
    gite: '0601125AP',
    extrascolastico: '0601108SP',
    tributi: '0601113AP',
    altro: '0601113AP',
  },
}

/** Kinds for which the office must choose the code itself (the default would say little). */
export const KINDS_WITHOUT_DEFAULT: readonly ServiceKind[] = ['tributi']

export const CODE_RE = /^[0-9]{2}[0-9]{2}[0-9]{3}(IM|TS|SP|SA|AP)$/

export function defaultTaxonomyCode(tenantKind: 'comune' | 'scuola', kind: ServiceKind): string {
  return DEFAULTS[tenantKind][kind]
}

/** The codes an office of this body type may choose, valid on `today`, in the list's order. */
export function taxonomyChoices(tenantKind: 'comune' | 'scuola', today: string): TaxonomyEntry[] {
  const bodyType = BODY_TYPE[tenantKind]
  return FILE.entries.filter(
    (e) => e.bodyType === bodyType && e.validFrom <= today && (e.validTo === null || e.validTo >= today),
  )
}

export function taxonomyEntry(code: string): TaxonomyEntry | undefined {
  return FILE.entries.find((e) => e.code === code)
}

/** The value of transferCategory: prefix, code and the closing slash (`9/0107101TS/`). */
export function transferCategory(prefix: string, code: string): string {
  return `${prefix}${code}/`
}

/** A service's transferCategory: its own code and prefix, or the default of its kind for the body's type. */
export function serviceCategory(
  tenantKind: 'comune' | 'scuola',
  service: { kind: ServiceKind; taxonomy_code: string | null; taxonomy_prefix: string | null },
): string {
  return transferCategory(
    service.taxonomy_prefix ?? ORDINARY_PREFIX,
    service.taxonomy_code ?? defaultTaxonomyCode(tenantKind, service.kind),
  )
}
