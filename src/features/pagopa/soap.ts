// The SOAP envelope of the creditor interface ("paForNode"): which operation a request is, its body validated
// against the schema, and answers — OK with their data, or KO with the interface's fault bean — built with
// fast-xml-parser. Faults are application answers (HTTP 200), as the node expects them.
import { buildXml, parseXml, XmlError, type XNode } from './xml.ts'
import { PA_FOR_NODE_NS, paForNodeSchema, validateElement } from './xsd.ts'

export const SOAP_NS = 'http://schemas.xmlsoap.org/soap/envelope/'

export const OPERATIONS = {
  paVerifyPaymentNoticeReq: { name: 'paVerifyPaymentNotice', response: 'paVerifyPaymentNoticeRes' },
  paGetPaymentReq: { name: 'paGetPayment', response: 'paGetPaymentRes' },
  paGetPaymentV2Request: { name: 'paGetPaymentV2', response: 'paGetPaymentV2Response' },
  paSendRTReq: { name: 'paSendRT', response: 'paSendRTRes' },
  paSendRTV2Request: { name: 'paSendRTV2', response: 'paSendRTV2Response' },
  paDemandPaymentNoticeRequest: { name: 'paDemandPaymentNotice', response: 'paDemandPaymentNoticeResponse' },
} as const

export type RequestElement = keyof typeof OPERATIONS
export type OperationName = (typeof OPERATIONS)[RequestElement]['name']

/** The fault codes this creditor emits, with the faultString pagoPA pairs with each (one to one). */
export const FAULTS = {
  PAA_SINTASSI_XSD: 'Errore di sintassi XSD',
  PAA_SINTASSI_EXTRAXSD: 'Errore di sintassi extra XSD',
  PAA_SEMANTICA: 'Errore semantico',
  PAA_SYSTEM_ERROR: 'Errore generico',
  PAA_ID_DOMINIO_ERRATO: 'La PAA non corrisponde al Dominio indicato',
  PAA_ID_INTERMEDIARIO_ERRATO: 'Identificativo intermediario non corrispondente',
  PAA_STAZIONE_INT_ERRATA: 'Stazione intermediario non corrispondente',
  PAA_PAGAMENTO_SCONOSCIUTO: 'Pagamento in attesa risulta sconosciuto all’Ente Creditore',
  PAA_PAGAMENTO_DUPLICATO: 'Pagamento in attesa risulta concluso all’Ente Creditore',
  PAA_PAGAMENTO_SCADUTO: 'Pagamento in attesa risulta scaduto all’Ente Creditore',
  PAA_PAGAMENTO_ANNULLATO: 'Pagamento in attesa risulta annullato all’Ente Creditore',
  PAA_PAGAMENTO_IN_CORSO: 'Pagamento in attesa risulta in corso all’Ente Creditore',
  PAA_RECEIPT_DUPLICATA: 'La ricevuta risulta già acquisita dall’Ente Creditore',
} as const

export type FaultCode = keyof typeof FAULTS

export class Fault extends Error {
  constructor(
    readonly code: FaultCode,
    readonly description: string,
  ) {
    super(`${code}: ${description}`)
  }
}

export interface ParsedRequest {
  element: RequestElement
  body: XNode
}

const BY_NAME = new Map(Object.entries(OPERATIONS).map(([el, op]) => [op.name as string, el as RequestElement]))

/** The operation a request is for, even when it is malformed: from its body element, or from SOAPAction. */
export function guessOperation(xml: string, soapAction: string | undefined): RequestElement | null {
  const action = soapAction?.replace(/^"|"$/g, '').split(/[/#]/).pop()
  const m = /<(?:[A-Za-z_][\w.-]*:)?(pa\w+(?:Req|Request))[\s/>]/.exec(xml)
  const fromBody = m?.[1]
  if (fromBody && fromBody in OPERATIONS) return fromBody as RequestElement
  if (action && BY_NAME.has(action)) return BY_NAME.get(action) as RequestElement
  return null
}

/**
 * Reads a request: a SOAP 1.1 envelope whose body holds one paForNode request, valid against the schema.
 * Throws a Fault (PAA_SINTASSI_XSD) naming the first problem otherwise.
 */
export function parseRequest(xml: string): ParsedRequest {
  let env: XNode
  try {
    env = parseXml(xml)
  } catch (err) {
    throw new Fault('PAA_SINTASSI_XSD', err instanceof XmlError ? err.message : 'unreadable XML')
  }
  if (env.ns !== SOAP_NS || env.local !== 'Envelope') throw new Fault('PAA_SINTASSI_XSD', 'not a SOAP 1.1 envelope')
  const parts = env.children
  const body = parts.find((p) => p.ns === SOAP_NS && p.local === 'Body')
  if (!body || parts.some((p) => !(p.ns === SOAP_NS && (p.local === 'Header' || p.local === 'Body'))))
    throw new Fault('PAA_SINTASSI_XSD', 'the envelope must hold an optional Header and one Body')
  if (body.children.length !== 1) throw new Fault('PAA_SINTASSI_XSD', 'the Body must hold one request element')
  const request = body.children[0] as XNode
  if (!(request.local in OPERATIONS)) throw new Fault('PAA_SINTASSI_XSD', `unknown operation ${request.local}`)
  if (request.ns !== PA_FOR_NODE_NS)
    throw new Fault('PAA_SINTASSI_XSD', `${request.local} must be in the namespace ${PA_FOR_NODE_NS}`)
  const issue = validateElement(paForNodeSchema(), request)
  if (issue) throw new Fault('PAA_SINTASSI_XSD', `${issue.path}: ${issue.message}`)
  return { element: request.local as RequestElement, body: request }
}

type Content = Record<string, unknown>

function envelope(responseElement: string, content: Content): string {
  return buildXml({
    'soapenv:Envelope': {
      '@_xmlns:soapenv': SOAP_NS,
      '@_xmlns:paf': PA_FOR_NODE_NS,
      'soapenv:Header': '',
      'soapenv:Body': { [`paf:${responseElement}`]: content },
    },
  })
}

/** A positive answer: outcome OK followed by the operation's data, in schema order. */
export function okResponse(element: RequestElement, data: Content = {}): string {
  return envelope(OPERATIONS[element].response, { outcome: 'OK', ...data })
}

/** A KO answer with its fault bean; id is the creditor that emits it (its fiscal code). */
export function faultResponse(element: RequestElement, fault: Fault, id: string): string {
  return envelope(OPERATIONS[element].response, {
    outcome: 'KO',
    fault: {
      faultCode: fault.code,
      faultString: FAULTS[fault.code],
      id,
      description: fault.description.slice(0, 1000),
    },
  })
}

/** For a request whose operation cannot even be told: a SOAP 1.1 Fault carrying the same fault bean. */
export function soapFault(fault: Fault, id: string): string {
  return buildXml({
    'soapenv:Envelope': {
      '@_xmlns:soapenv': SOAP_NS,
      'soapenv:Body': {
        'soapenv:Fault': {
          faultcode: 'soapenv:Client',
          faultstring: fault.code,
          detail: {
            faultBean: {
              faultCode: fault.code,
              faultString: FAULTS[fault.code],
              id,
              description: fault.description.slice(0, 1000),
            },
          },
        },
      },
    },
  })
}

/** "30.00" (schema-checked: digits, a dot, two decimals) → 3000 cents. */
export function amountToCents(amount: string): number {
  const m = /^(\d+)\.(\d{2})$/.exec(amount.trim())
  if (!m) throw new Fault('PAA_SINTASSI_XSD', `bad amount ${amount}`)
  return Number(m[1]) * 100 + Number(m[2])
}

/** 3000 → "30.00" */
export function centsToAmount(cents: number): string {
  if (!Number.isSafeInteger(cents) || cents < 0) throw new Error(`bad cents ${cents}`)
  return `${Math.trunc(cents / 100)}.${String(cents % 100).padStart(2, '0')}`
}

/** Cuts text to a schema's maxLength in characters (not UTF-16 units), never leaving it empty. */
export function clip(text: string, max: number, fallback = '-'): string {
  const chars = [...text.replace(/\s+/g, ' ').trim()]
  return chars.length ? chars.slice(0, max).join('') : fallback
}
