// XML in and out with fast-xml-parser: a namespace-aware element tree for reading (SOAP requests and the XSD
// files themselves), and the builder for answers. DTDs are refused outright: SOAP forbids them, and refusing
// them closes the door to entity-expansion attacks.
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser'

export interface XNode {
  /** namespace URI, null when the element is unqualified */
  ns: string | null
  local: string
  attrs: { ns: string | null; local: string; value: string }[]
  children: XNode[]
  /** concatenated character data directly inside the element */
  text: string
  /** the namespace declarations in scope (prefix → URI; '' the default namespace) */
  scope: Map<string, string>
}

export class XmlError extends Error {}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  processEntities: true,
  htmlEntities: false,
})

const XMLNS = 'http://www.w3.org/2000/xmlns/'

type Ordered = Record<string, unknown> & { ':@'?: Record<string, string> }

/** Parses a well-formed document into its root element, with every name resolved to its namespace. */
export function parseXml(xml: string): XNode {
  if (/<!DOCTYPE/i.test(xml)) throw new XmlError('a DOCTYPE is not allowed')
  const valid = XMLValidator.validate(xml)
  if (valid !== true) throw new XmlError(`not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`)
  const doc = parser.parse(xml) as Ordered[]
  const roots = doc.filter((n) => !('#text' in n))
  if (roots.length !== 1) throw new XmlError('the document must have one root element')
  return toNode(roots[0] as Ordered, new Map([['xml', 'http://www.w3.org/XML/1998/namespace']]))
}

function split(qname: string): [string | null, string] {
  const i = qname.indexOf(':')
  return i < 0 ? [null, qname] : [qname.slice(0, i), qname.slice(i + 1)]
}

function toNode(entry: Ordered, outer: Map<string, string>): XNode {
  const tag = Object.keys(entry).find((k) => k !== ':@') as string
  const rawAttrs = entry[':@'] ?? {}
  const scope = new Map(outer)
  for (const [name, value] of Object.entries(rawAttrs)) {
    if (name === 'xmlns') scope.set('', value)
    else if (name.startsWith('xmlns:')) scope.set(name.slice(6), value)
  }
  const [prefix, local] = split(tag)
  const ns = prefix === null ? scope.get('') || null : scope.get(prefix)
  if (ns === undefined) throw new XmlError(`undeclared namespace prefix ${prefix}`)
  const attrs: XNode['attrs'] = []
  for (const [name, value] of Object.entries(rawAttrs)) {
    if (name === 'xmlns' || name.startsWith('xmlns:')) {
      attrs.push({ ns: XMLNS, local: name === 'xmlns' ? '' : name.slice(6), value })
      continue
    }
    const [ap, al] = split(name)
    const ans = ap === null ? null : scope.get(ap)
    if (ans === undefined) throw new XmlError(`undeclared namespace prefix ${ap}`)
    attrs.push({ ns: ans, local: al, value })
  }
  const children: XNode[] = []
  let text = ''
  for (const child of (entry[tag] as Ordered[]) ?? []) {
    if ('#text' in child) text += String(child['#text'])
    else children.push(toNode(child, scope))
  }
  return { ns, local, attrs, children, text, scope }
}

/** Resolves a QName written in an attribute value (XSD type="p:name") against the element's declarations. */
export function resolveQName(value: string, scope: Map<string, string>): { ns: string | null; local: string } {
  const [prefix, local] = split(value.trim())
  const ns = prefix === null ? scope.get('') || null : scope.get(prefix)
  if (ns === undefined) throw new XmlError(`undeclared namespace prefix in ${value}`)
  return { ns, local }
}

/** The child elements named `local` (unqualified children, as the pagoPA schemas declare them). */
export function kids(node: XNode | undefined, local: string): XNode[] {
  return node ? node.children.filter((c) => c.local === local) : []
}

export function kid(node: XNode | undefined, ...path: string[]): XNode | undefined {
  let cur = node
  for (const p of path) cur = kids(cur, p)[0]
  return cur
}

/** Text of a descendant by path, or undefined when absent. */
export function textAt(node: XNode | undefined, ...path: string[]): string | undefined {
  return kid(node, ...path)?.text
}

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  format: true,
  indentBy: '  ',
  suppressEmptyNode: false,
  processEntities: true,
})

/** A JS object (insertion order = element order; arrays repeat an element; '@_x' attributes) as XML. */
export function buildXml(doc: Record<string, unknown>): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build(doc)}`
}
