// A local stand-in for the pagoPA node, for the demo and the tests: it pays a notice "at the tobacconist" by
// calling Sportello's creditor interface as the node does — paVerifyPaymentNotice, then paGetPayment (or V2),
// then paSendRT (or V2) — with the official example messages of test/fixtures/pagopa/examples rewritten for
// the notice: our creditor's fiscal code and notice number, the amounts and transfers Sportello answered, a
// fresh receipt id and today's date. (The published verify example declares the nodeForPsp namespace; the
// simulator sends it in paForNode's, as the schema requires.)
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { XMLParser } from 'fast-xml-parser'
import { romeDateTime, todayRome } from '../../platform/dates.ts'
import { projectPath } from '../../platform/paths.ts'
import { SOAP_NS } from './soap.ts'
import { buildXml, parseXml, type XNode } from './xml.ts'
import { PA_FOR_NODE_NS } from './xsd.ts'
import { soapProblems } from './xsd-check.ts'

type FetchLike = (input: string, init?: RequestInit) => Promise<Response>

export interface SimulatorOptions {
  /** the creditor endpoint, e.g. http://localhost:3000/pagopa/nodo */
  url: string
  /** the subscription key Sportello expects (PAGOPA_NODE_KEY) */
  key: string
  noticeNumber: string
  /** the creditor's fiscal code (idPA) */
  fiscalCode: string
  version?: 1 | 2
  /** stop after verify and get payment */
  dryRun?: boolean
  /** pay another amount than Sportello asked (to try the staff flag) */
  amountCents?: number
  /** change the transfers the receipt reports (a PSP that shares the money otherwise: the other staff flag) */
  editTransfers?: (transfers: Record<string, unknown>[]) => Record<string, unknown>[]
  receiptId?: string
  fetch?: FetchLike
  /** check every message exchanged against paForNode.xsd with libxml2 and throw if one is invalid (default true) */
  strict?: boolean
  /** broker and station the requests carry (default: the creditor itself, station _01) */
  brokerId?: string
  stationId?: string
}

export interface StepResult {
  operation: string
  httpStatus: number
  outcome: string
  faultCode: string | null
  description: string | null
  /** the answer's element, for callers that want its data */
  answer: XNode | null
  xml: string
  /** the request sent */
  request: string
  /** what libxml2 found wrong with the request and the answer, against paForNode.xsd (strict mode throws instead) */
  problems: string[]
}

export interface SimulationResult {
  paid: boolean
  receiptId: string | null
  amountCents: number | null
  steps: StepResult[]
}

// found from the project's folder, so that the built CLI (dist/) finds them too
const EXAMPLES = projectPath('test', 'fixtures', 'pagopa', 'examples')

const templateParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  trimValues: true,
})

type Obj = Record<string, unknown>

function template(file: string): Obj {
  return templateParser.parse(readFileSync(join(EXAMPLES, file), 'utf8')) as Obj
}

/** The example's request element and the envelope around it, with the paForNode namespace bound to `prefix`. */
function envelopeOf(doc: Obj): { env: Obj; body: Obj; key: string; prefix: string } {
  const env = doc['soapenv:Envelope'] as Obj
  const body = env['soapenv:Body'] as Obj
  const key = Object.keys(body)[0] as string
  const prefix = key.split(':')[0] as string
  env[`@_xmlns:${prefix}`] = PA_FOR_NODE_NS
  return { env, body, key, prefix }
}

function rename(body: Obj, from: string, to: string) {
  const value = body[from]
  delete body[from]
  body[to] = value
}

/** An XNode (namespace-resolved answer) back into the builder's plain-object form. */
function toObject(node: XNode): unknown {
  if (node.children.length === 0) return node.text.trim()
  const out: Obj = {}
  for (const c of node.children) {
    const v = toObject(c)
    if (c.local in out) {
      const prev = out[c.local]
      out[c.local] = Array.isArray(prev) ? [...prev, v] : [prev, v]
    } else out[c.local] = v
  }
  return out
}

const childText = (n: XNode | undefined, ...path: string[]): string | undefined => {
  let cur = n
  for (const p of path) cur = cur?.children.find((c) => c.local === p)
  return cur?.text.trim()
}

const toAmount = (cents: number) => `${Math.trunc(cents / 100)}.${String(cents % 100).padStart(2, '0')}`
const toCents = (amount: string) => Math.round(Number(amount) * 100)

async function call(o: SimulatorOptions, operation: string, doc: Obj): Promise<StepResult> {
  const xml = buildXml(doc)
  const res = await (o.fetch ?? fetch)(o.url, {
    method: 'POST',
    headers: {
      'Content-Type': 'text/xml; charset=utf-8',
      SOAPAction: `"${operation}"`,
      'Ocp-Apim-Subscription-Key': o.key,
    },
    body: xml,
  })
  const text = await res.text()
  let answer: XNode | null = null
  try {
    const env = parseXml(text)
    const body = env.children.find((c) => c.ns === SOAP_NS && c.local === 'Body')
    answer = body?.children[0] ?? null
  } catch {
    answer = null
  }
  const fault = answer?.children.find((c) => c.local === 'fault' || c.local === 'detail')
  return {
    operation,
    request: xml,
    problems: [],
    httpStatus: res.status,
    outcome: childText(answer ?? undefined, 'outcome') ?? (res.ok ? 'unreadable' : `HTTP ${res.status}`),
    faultCode: childText(fault, 'faultCode') ?? childText(answer ?? undefined, 'faultstring') ?? null,
    description: childText(fault, 'description') ?? null,
    answer,
    xml: text,
  }
}

/** verify → get payment → send receipt, as the node does when a notice is paid at a PSP. */
export async function payNotice(o: SimulatorOptions): Promise<SimulationResult> {
  const v2 = o.version === 2
  const broker = o.brokerId ?? o.fiscalCode
  const station = o.stationId ?? `${broker}_01`
  const ids = { idPA: o.fiscalCode, idBrokerPA: broker, idStation: station }
  const qrCode = { fiscalCode: o.fiscalCode, noticeNumber: o.noticeNumber }
  const steps: StepResult[] = []
  const done = async (paid: boolean, receiptId: string | null = null, amountCents: number | null = null) => {
    await checkSteps(o, steps)
    return { paid, receiptId, amountCents, steps }
  }

  // 1. verify
  const verifyDoc = template('ReqPaVerifyPayment.xml')
  const ve = envelopeOf(verifyDoc)
  ve.body[ve.key] = { ...ids, qrCode }
  const verify = await call(o, 'paVerifyPaymentNotice', verifyDoc)
  steps.push(verify)
  if (verify.outcome !== 'OK') return done(false)
  const amount = childText(verify.answer ?? undefined, 'paymentList', 'paymentOptionDescription', 'amount') as string

  // 2. get payment (activation: the amount the PSP read)
  const getDoc = template('ReqPaGetPayment.xml')
  const ge = envelopeOf(getDoc)
  ge.body[ge.key] = { ...ids, qrCode, amount }
  if (v2) rename(ge.body, ge.key, `${ge.prefix}:paGetPaymentV2Request`)
  const get = await call(o, v2 ? 'paGetPaymentV2' : 'paGetPayment', getDoc)
  steps.push(get)
  if (get.outcome !== 'OK' || o.dryRun) return done(false)
  const data = get.answer?.children.find((c) => c.local === 'data') as XNode
  const dataObj = toObject(data) as Obj

  // 3. send the receipt, with the example's PSP and channel
  const send = await sendReceipt({ ...o, strict: false }, dataObj)
  steps.push(send.step)
  return done(send.step.outcome === 'OK', send.receiptId, send.amountCents)
}

/**
 * Every request sent and every SOAP answer received, validated in one libxml2 run; the problems go on each step,
 * and in strict mode (the default) an invalid message fails the caller.
 */
async function checkSteps(o: Pick<SimulatorOptions, 'strict'>, steps: StepResult[]) {
  const answered = steps.map((s) => s.httpStatus === 200 && s.answer !== null)
  const found = await soapProblems(steps.flatMap((s, k) => (answered[k] ? [s.request, s.xml] : [s.request])))
  let n = 0
  for (const [k, s] of steps.entries()) {
    s.problems = [...(found[n++] ?? []).map((p) => `request: ${p}`)]
    if (answered[k]) s.problems.push(...(found[n++] ?? []).map((p) => `answer: ${p}`))
  }
  const bad = steps.filter((s) => s.problems.length)
  if (bad.length && o.strict !== false)
    throw new Error(
      `messages pagoPA's schema refuses: ${bad.map((s) => `${s.operation}: ${s.problems.join('; ')}`).join(' | ')}`,
    )
}

/**
 * paSendRT (or V2) for a notice, from the payment data a creditor answered (paGetPayment's `data`) or the node
 * read from the central archive (standInData): what the node does after a PSP collected the money.
 */
export async function sendReceipt(
  o: SimulatorOptions,
  dataObj: Obj,
): Promise<{ step: StepResult; receiptId: string; amountCents: number }> {
  const v2 = o.version === 2
  const broker = o.brokerId ?? o.fiscalCode
  const ids = { idPA: o.fiscalCode, idBrokerPA: broker, idStation: o.stationId ?? `${broker}_01` }
  const sendDoc = template('ReqPaSendRT.xml')
  const se = envelopeOf(sendDoc)
  const example = (se.body[se.key] as Obj).receipt as Obj
  const paidCents = o.amountCents ?? toCents(dataObj.paymentAmount as string)
  const receiptId = o.receiptId ?? randomBytes(16).toString('hex')
  const transfers = Array.isArray((dataObj.transferList as Obj).transfer)
    ? ((dataObj.transferList as Obj).transfer as Obj[])
    : [(dataObj.transferList as Obj).transfer as Obj]
  if (o.amountCents !== undefined && transfers[0]) {
    // the transfers must add up to the amount paid
    const others = transfers.slice(1).reduce((s, t) => s + toCents(t.transferAmount as string), 0)
    transfers[0] = { ...transfers[0], transferAmount: toAmount(paidCents - others) }
  }
  const reported = o.editTransfers ? o.editTransfers(transfers) : transfers
  const today = todayRome()
  const receipt: Obj = {
    receiptId,
    noticeNumber: o.noticeNumber,
    fiscalCode: o.fiscalCode,
    outcome: 'OK',
    creditorReferenceId: dataObj.creditorReferenceId,
    paymentAmount: toAmount(paidCents),
    description: dataObj.description,
    companyName: dataObj.companyName ?? example.companyName,
    ...(dataObj.officeName ? { officeName: dataObj.officeName } : {}),
    debtor: dataObj.debtor,
    transferList: { transfer: reported },
    idPSP: example.idPSP,
    pspFiscalCode: example.pspFiscalCode,
    pspPartitaIVA: example.pspPartitaIVA,
    PSPCompanyName: 'Tabaccheria di prova (simulatore)',
    idChannel: example.idChannel,
    channelDescription: 'tabaccheria',
    payer: dataObj.debtor,
    paymentMethod: 'cash',
    fee: example.fee,
    paymentDateTime: romeDateTime(),
    applicationDate: today,
    transferDate: today,
  }
  se.body[se.key] = { ...ids, receipt }
  if (v2) rename(se.body, se.key, `${se.prefix}:paSendRTV2Request`)
  const step = await call(o, v2 ? 'paSendRTV2' : 'paSendRT', sendDoc)
  if (o.strict !== false) await checkSteps(o, [step])
  return { step, receiptId, amountCents: paidCents }
}

/**
 * The payment data the node builds in Stand-In from a position of the central archive (GPD for ACA's
 * PaymentPositionModel and one of its options), in the shape of paGetPayment's answer.
 */
export function standInData(
  position: { model: Obj },
  option: { iuv: string; amount: number; description: string; transfer: Obj[] },
): Obj {
  const m = position.model
  const debtor: Obj = {
    uniqueIdentifier: { entityUniqueIdentifierType: m.type, entityUniqueIdentifierValue: m.fiscalCode },
    fullName: m.fullName,
    ...(m.email ? { 'e-mail': m.email } : {}),
  }
  return {
    creditorReferenceId: option.iuv,
    paymentAmount: toAmount(option.amount),
    description: option.description,
    companyName: m.companyName,
    debtor,
    transferList: {
      transfer: option.transfer.map((t) => ({
        idTransfer: t.idTransfer,
        transferAmount: toAmount(t.amount as number),
        fiscalCodePA: t.organizationFiscalCode,
        IBAN: t.iban ?? t.postalIban,
        remittanceInformation: t.remittanceInformation,
        transferCategory: t.category,
      })),
    },
  }
}
