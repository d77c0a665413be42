// A validator for the part of XML Schema that the pagoPA creditor interface uses, compiled from the published
// XSD files themselves (xsd/ beside this file): sequences and choices with minOccurs/maxOccurs, complex
// extension, simple types restricted by pattern, length, minLength, maxLength, enumeration, minInclusive and
// maxInclusive over string, decimal, int, boolean, date, dateTime and base64Binary. Reading the schema instead
// of transcribing it keeps every field, pattern and length exactly as pagoPA wrote them; a new schema version
// is a file swap. Anything outside that subset makes the compiler throw at start-up, never pass silently.
import { readFileSync } from 'node:fs'
import { projectPath } from '../../platform/paths.ts'
import { parseXml, resolveQName, type XNode } from './xml.ts'

const XS = 'http://www.w3.org/2001/XMLSchema'
const XSI = 'http://www.w3.org/2001/XMLSchema-instance'
const XMLNS = 'http://www.w3.org/2000/xmlns/'

type Builtin = 'string' | 'decimal' | 'int' | 'boolean' | 'date' | 'dateTime' | 'base64Binary'
const BUILTINS: Record<string, Builtin> = {
  string: 'string',
  decimal: 'decimal',
  int: 'int',
  boolean: 'boolean',
  date: 'date',
  dateTime: 'dateTime',
  base64Binary: 'base64Binary',
}

interface Facets {
  /** every derivation step's patterns must match (XSD: patterns of one step are OR-ed, steps AND-ed) */
  patterns: { source: string; re: RegExp }[][]
  enumeration?: string[]
  length?: number
  minLength?: number
  maxLength?: number
  minInclusive?: number
  maxInclusive?: number
}

interface SimpleType {
  kind: 'simple'
  name: string
  base: Builtin
  facets: Facets
}

interface ElementDecl {
  kind: 'element'
  name: string
  type: TypeRef
  min: number
  max: number
}

interface Group {
  kind: 'sequence' | 'choice'
  items: (ElementDecl | Group)[]
  min: number
  max: number
}

interface ComplexType {
  kind: 'complex'
  name: string
  particle: Group
}

type TypeRef = { ns: string | null; local: string } | SimpleType | ComplexType
type Type = SimpleType | ComplexType

export interface SchemaSet {
  /** top-level elements, by `{ns}local` */
  elements: Map<string, ElementDecl>
  types: Map<string, Type>
}

const key = (ns: string | null, local: string) => `{${ns ?? ''}}${local}`

function occurs(node: XNode, name: 'minOccurs' | 'maxOccurs'): number {
  const v = node.attrs.find((a) => a.ns === null && a.local === name)?.value
  if (v === undefined) return 1
  if (v === 'unbounded') return Number.POSITIVE_INFINITY
  return Number(v)
}

function attr(node: XNode, name: string): string | undefined {
  return node.attrs.find((a) => a.ns === null && a.local === name)?.value
}

function xsKids(node: XNode): XNode[] {
  return node.children.filter((c) => c.ns === XS && c.local !== 'annotation')
}

/** XSD regular expressions are anchored and close enough to JavaScript's for the patterns pagoPA uses. */
function compilePattern(source: string): RegExp {
  return new RegExp(`^(?:${source})$`, 'u')
}

/** Compiles schema documents (each with its targetNamespace) into one set. */
export function compileSchemas(documents: string[]): SchemaSet {
  const set: SchemaSet = { elements: new Map(), types: new Map() }
  const pendingSimple: { node: XNode; tns: string; name: string }[] = []
  for (const xml of documents) {
    const root = parseXml(xml)
    if (root.ns !== XS || root.local !== 'schema') throw new Error('not an XML Schema document')
    const tns = attr(root, 'targetNamespace') ?? ''
    if (attr(root, 'elementFormDefault') === 'qualified') throw new Error('qualified local elements not supported')
    for (const n of xsKids(root)) {
      const name = attr(n, 'name')
      if (n.local === 'import') continue
      if (!name) throw new Error(`unnamed top-level ${n.local}`)
      if (n.local === 'simpleType') pendingSimple.push({ node: n, tns, name })
      else if (n.local === 'complexType') set.types.set(key(tns, name), compileComplex(n, name, tns))
      else if (n.local === 'element') set.elements.set(key(tns, name), compileElement(n, tns))
      else throw new Error(`unsupported top-level ${n.local}`)
    }
  }
  // simple types may restrict each other in any order of declaration
  const byKey = new Map(pendingSimple.map((p) => [key(p.tns, p.name), p]))
  const resolving = new Set<string>()
  const resolveSimple = (k: string): SimpleType => {
    const done = set.types.get(k)
    if (done) {
      if (done.kind !== 'simple') throw new Error(`${k} is not a simple type`)
      return done
    }
    const p = byKey.get(k)
    if (!p) throw new Error(`unknown simple type ${k}`)
    if (resolving.has(k)) throw new Error(`circular simple type ${k}`)
    resolving.add(k)
    const st = compileSimple(p.node, p.name, (ns, local) =>
      ns === XS ? builtinType(local) : resolveSimple(key(ns, local)),
    )
    set.types.set(k, st)
    return st
  }
  for (const k of byKey.keys()) resolveSimple(k)
  return set
}

function builtinType(local: string): SimpleType {
  const base = BUILTINS[local]
  if (!base) throw new Error(`unsupported built-in type xs:${local}`)
  return { kind: 'simple', name: `xs:${local}`, base, facets: { patterns: [] } }
}

function compileSimple(
  node: XNode,
  name: string,
  lookup: (ns: string | null, local: string) => SimpleType,
): SimpleType {
  const restriction = xsKids(node)[0]
  if (restriction?.local !== 'restriction') throw new Error(`simple type ${name}: only restriction`)
  const baseName = attr(restriction, 'base')
  if (!baseName) throw new Error(`simple type ${name}: no base`)
  const q = resolveQName(baseName, restriction.scope)
  const base = lookup(q.ns, q.local)
  const facets: Facets = { ...base.facets, patterns: [...base.facets.patterns] }
  const step: Facets['patterns'][number] = []
  const enums: string[] = []
  for (const f of xsKids(restriction)) {
    const value = attr(f, 'value') ?? ''
    switch (f.local) {
      case 'pattern':
        step.push({ source: value, re: compilePattern(value) })
        break
      case 'enumeration':
        enums.push(value)
        break
      case 'length':
      case 'minLength':
      case 'maxLength':
      case 'minInclusive':
      case 'maxInclusive':
        facets[f.local] = Number(value)
        break
      default:
        throw new Error(`simple type ${name}: unsupported facet ${f.local}`)
    }
  }
  if (step.length) facets.patterns.push(step)
  if (enums.length) facets.enumeration = enums
  return { kind: 'simple', name, base: base.base, facets }
}

function compileElement(node: XNode, tns: string): ElementDecl {
  const name = attr(node, 'name')
  if (!name) throw new Error('element without a name (ref= is not supported)')
  const typeName = attr(node, 'type')
  let type: TypeRef
  if (typeName) {
    const q = resolveQName(typeName, node.scope)
    type = q.ns === XS ? builtinType(q.local) : q
  } else {
    const inline = xsKids(node)[0]
    if (inline?.local === 'complexType') type = compileComplex(inline, name, tns)
    else if (inline?.local === 'simpleType') throw new Error(`element ${name}: inline simple types not supported`)
    else type = builtinType('string')
  }
  return { kind: 'element', name, type, min: occurs(node, 'minOccurs'), max: occurs(node, 'maxOccurs') }
}

function compileGroup(node: XNode, tns: string): Group {
  if (node.local !== 'sequence' && node.local !== 'choice') throw new Error(`unsupported particle ${node.local}`)
  const items = xsKids(node).map((c) => (c.local === 'element' ? compileElement(c, tns) : compileGroup(c, tns)))
  return { kind: node.local, items, min: occurs(node, 'minOccurs'), max: occurs(node, 'maxOccurs') }
}

function compileComplex(node: XNode, name: string, tns: string): ComplexType {
  const first = xsKids(node)[0]
  if (!first) return { kind: 'complex', name, particle: { kind: 'sequence', items: [], min: 1, max: 1 } }
  if (first.local === 'sequence' || first.local === 'choice')
    return { kind: 'complex', name, particle: compileGroup(first, tns) }
  if (first.local === 'complexContent') {
    const ext = xsKids(first)[0]
    if (ext?.local !== 'extension') throw new Error(`complex type ${name}: only extension`)
    const base = resolveQName(attr(ext, 'base') ?? '', ext.scope)
    const own = xsKids(ext)[0]
    // the base's content comes first, then the extension's: a sequence of the two
    const items: Group['items'] = [
      { kind: 'element', name: '#base', type: base, min: 1, max: 1 } as ElementDecl,
      ...(own ? [compileGroup(own, tns)] : []),
    ]
    return { kind: 'complex', name, particle: { kind: 'sequence', items, min: 1, max: 1 } }
  }
  throw new Error(`complex type ${name}: unsupported content ${first.local}`)
}

export interface ValidationIssue {
  path: string
  message: string
}

class Invalid extends Error {
  constructor(readonly issue: ValidationIssue) {
    super(`${issue.path}: ${issue.message}`)
  }
}

function resolveType(set: SchemaSet, ref: TypeRef): Type {
  if ('kind' in ref) return ref
  const t = set.types.get(key(ref.ns, ref.local))
  if (!t) throw new Error(`unknown type ${key(ref.ns, ref.local)}`)
  return t
}

/** Validates an element against a top-level declaration; returns the first problem, or null. */
export function validateElement(set: SchemaSet, node: XNode): ValidationIssue | null {
  const decl = set.elements.get(key(node.ns, node.local))
  if (!decl) return { path: node.local, message: 'unknown element' }
  try {
    checkElement(set, decl, node, node.local)
    return null
  } catch (err) {
    if (err instanceof Invalid) return err.issue
    throw err
  }
}

function checkElement(set: SchemaSet, decl: ElementDecl, node: XNode, path: string) {
  for (const a of node.attrs) {
    if (a.ns === XMLNS || a.ns === XSI) continue
    throw new Invalid({ path, message: `attribute ${a.local} not allowed` })
  }
  const type = resolveType(set, decl.type)
  if (type.kind === 'simple') {
    if (node.children.length) throw new Invalid({ path, message: 'elements not allowed in a simple value' })
    checkValue(type, node.text, path)
    return
  }
  if (node.text.trim() !== '') throw new Invalid({ path, message: 'text not allowed here' })
  const pos = matchGroup(set, type.particle, node.children, 0, path)
  if (pos < node.children.length) {
    const extra = node.children[pos] as XNode
    throw new Invalid({ path: `${path}/${extra.local}`, message: 'element not expected here' })
  }
}

function firstNames(set: SchemaSet, item: ElementDecl | Group): string[] {
  if (item.kind === 'element') {
    if (item.name !== '#base') return [item.name]
    const base = resolveType(set, item.type)
    return base.kind === 'complex' ? firstNames(set, base.particle) : []
  }
  if (item.kind === 'choice') return item.items.flatMap((i) => firstNames(set, i))
  const out: string[] = []
  for (const i of item.items) {
    out.push(...firstNames(set, i))
    if (i.min > 0) break
  }
  return out
}

function matchGroup(set: SchemaSet, group: Group, children: XNode[], start: number, path: string): number {
  let pos = start
  let count = 0
  while (count < group.max) {
    const before = pos
    if (group.kind === 'sequence') {
      for (const item of group.items) pos = matchItem(set, item, children, pos, path)
    } else {
      const next = children[pos]
      const alt = next && group.items.find((i) => firstNames(set, i).includes(next.local))
      if (!alt) {
        if (count < group.min)
          throw new Invalid({
            path,
            message: `expected one of ${group.items.flatMap((i) => firstNames(set, i)).join(', ')}`,
          })
        break
      }
      pos = matchItem(set, alt, children, pos, path)
    }
    count++
    if (pos === before) break
  }
  return pos
}

function matchItem(set: SchemaSet, item: ElementDecl | Group, children: XNode[], start: number, path: string): number {
  if (item.kind !== 'element') {
    if (item.min === 0 && !firstNames(set, item).includes(children[start]?.local ?? '')) return start
    return matchGroup(set, item, children, start, path)
  }
  if (item.name === '#base') {
    const base = resolveType(set, item.type)
    if (base.kind !== 'complex') throw new Error('extension of a simple type')
    return matchGroup(set, base.particle, children, start, path)
  }
  let pos = start
  let n = 0
  while (n < item.max) {
    const child = children[pos]
    if (!child || child.local !== item.name) break
    if (child.ns !== null)
      throw new Invalid({ path: `${path}/${child.local}`, message: 'must not be namespace-qualified' })
    checkElement(set, item, child, `${path}/${child.local}`)
    pos++
    n++
  }
  if (n < item.min) {
    const found = children[pos]
    throw new Invalid({
      path: `${path}/${item.name}`,
      message: found ? `missing (found ${found.local} instead)` : 'missing',
    })
  }
  return pos
}

const DATE = /^(-?\d{4,})-(\d{2})-(\d{2})(Z|[+-](?:0\d|1[0-4]):[0-5]\d)?$/
const DATE_TIME =
  /^(-?\d{4,})-(\d{2})-(\d{2})T([01]\d|2[0-3]):([0-5]\d):([0-5]\d)(\.\d+)?(Z|[+-](?:0\d|1[0-4]):[0-5]\d)?$/
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

function validDay(y: string, m: string, d: string): boolean {
  const month = Number(m)
  const day = Number(d)
  if (month < 1 || month > 12 || day < 1) return false
  const date = new Date(Date.UTC(2000, month - 1, day))
  const leap = (Number(y) % 4 === 0 && Number(y) % 100 !== 0) || Number(y) % 400 === 0
  if (month === 2) return day <= (leap ? 29 : 28)
  return date.getUTCMonth() === month - 1
}

function checkValue(type: SimpleType, raw: string, path: string) {
  const fail = (message: string): never => {
    throw new Invalid({ path, message })
  }
  // xs:string keeps whitespace as written; every other built-in collapses it
  const value = type.base === 'string' ? raw : raw.replace(/\s+/g, ' ').trim()
  const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value
  switch (type.base) {
    case 'decimal':
      if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(value)) fail(`"${shown}" is not a decimal number`)
      break
    case 'int': {
      if (!/^[+-]?\d+$/.test(value)) fail(`"${shown}" is not an integer`)
      const n = Number(value)
      if (n < -2147483648 || n > 2147483647) fail(`"${shown}" is out of the int range`)
      break
    }
    case 'boolean':
      if (!/^(true|false|1|0)$/.test(value)) fail(`"${shown}" is not a boolean`)
      break
    case 'date': {
      const m = DATE.exec(value)
      if (!m || !validDay(m[1] as string, m[2] as string, m[3] as string)) fail(`"${shown}" is not a date (YYYY-MM-DD)`)
      break
    }
    case 'dateTime': {
      const m = DATE_TIME.exec(value)
      if (!m || !validDay(m[1] as string, m[2] as string, m[3] as string))
        fail(`"${shown}" is not a date and time (YYYY-MM-DDThh:mm:ss)`)
      break
    }
    case 'base64Binary':
      if (!BASE64.test(value.replace(/\s+/g, ''))) fail('not base64 data')
      break
  }
  const f = type.facets
  const length = [...value].length
  if (f.length !== undefined && type.base === 'string' && length !== f.length)
    fail(`length ${length}, expected exactly ${f.length}`)
  if (f.minLength !== undefined && length < f.minLength) fail(`shorter than ${f.minLength} characters`)
  if (f.maxLength !== undefined && length > f.maxLength) fail(`longer than ${f.maxLength} characters`)
  for (const step of f.patterns) {
    if (!step.some((p) => p.re.test(value)))
      fail(`"${shown}" does not match the pattern ${step.map((p) => p.source).join(' | ')}`)
  }
  if (f.enumeration) {
    const ok =
      type.base === 'int' || type.base === 'decimal'
        ? f.enumeration.some((e) => Number(e) === Number(value))
        : f.enumeration.includes(value)
    if (!ok) fail(`"${shown}" is not one of ${f.enumeration.join(', ')}`)
  }
  if (f.minInclusive !== undefined && Number(value) < f.minInclusive) fail(`less than ${f.minInclusive}`)
  if (f.maxInclusive !== undefined && Number(value) > f.maxInclusive) fail(`greater than ${f.maxInclusive}`)
}

let paForNode: SchemaSet | null = null

/** The creditor interface's schema (paForNode.xsd with the common types it imports), compiled once. */
export function paForNodeSchema(): SchemaSet {
  paForNode ??= compileSchemas(
    ['sac-common-types-1.0.xsd', 'paForNode.xsd'].map((f) =>
      readFileSync(projectPath('src/features/pagopa/xsd', f), 'utf8'),
    ),
  )
  return paForNode
}

export const PA_FOR_NODE_NS = 'http://pagopa-api.pagopa.gov.it/pa/paForNode.xsd'
