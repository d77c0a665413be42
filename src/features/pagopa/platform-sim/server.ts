// A local stand-in for pagoPA's REST services and the IO app's, for the tests and the demo: the central notice
// archive (GPD for ACA), the reporting flows read by creditors (FdR 3) and IO's services API (profiles,
// messages). Every request is checked against the published interface (openapi.ts) before it is served and
// every answer before it leaves; what does not conform is answered 400 as pagoPA would and kept in `problems`,
// so a test fails when Sportello sends what pagoPA would refuse. State lives in memory; tests drive it
// directly (publish a flow, enable a citizen on IO, take a payment in Stand-In, take a service down).
import { randomUUID } from 'node:crypto'
import { type Context, Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { api, type Problem, type SpecName } from './openapi.ts'

export type Service = 'aca' | 'fdr' | 'io'

/** Where each interface lives under the simulator's address (the same paths as pagoPA's production hosts). */
export const BASE_PATHS: Record<Service, string> = {
  aca: '/aca/debt-positions-service/v1',
  fdr: '/fdr-org/service/v1',
  io: '/api/v1',
}

const SPEC: Record<Service, SpecName> = { aca: 'gpd-4-aca', fdr: 'fdr_organization', io: 'io-services' }

type Json = Record<string, unknown>

export interface PaymentOption {
  nav: string
  iuv: string
  amount: number
  description: string
  isPartialPayment: boolean
  dueDate: string
  status: 'PO_UNPAID' | 'PO_PAID'
  paidBy: 'stand-in' | 'creditor' | null
  transfer: Json[]
}

export interface Position {
  organizationFiscalCode: string
  iupd: string
  status: 'VALID' | 'INVALID' | 'PARTIALLY_PAID' | 'PAID'
  payStandIn: boolean
  model: Json
  options: PaymentOption[]
  insertedDate: string
  lastUpdatedDate: string
  /** every version this position had, as received */
  history: { operation: string; at: string; model: Json | null }[]
}

export interface PublishedFlow {
  organizationId: string
  fdr: string
  pspId: string
  revision: number
  published: string
  flow: Json
  payments: Json[]
}

export interface IoService {
  apiKey: string
  serviceId: string
  organizationFiscalCode: string
}

export interface Call {
  service: Service
  method: string
  path: string
  operationId: string | null
  status: number
  body: unknown
}

export interface SimState {
  /** the local demo: any key is accepted, and every citizen is on IO with every service enabled */
  open: boolean
  /** subscription keys accepted by ACA and FdR (empty: any key) */
  keys: { aca: string[]; fdr: string[] }
  io: IoService[]
  /** services answering 503 as if pagoPA were unreachable */
  down: Set<Service>
  positions: Map<string, Position>
  flows: PublishedFlow[]
  /** citizens on IO: fiscal code → the services they enabled */
  profiles: Map<string, Set<string>>
  messages: { id: string; serviceId: string; body: Json }[]
  calls: Call[]
  problems: (Problem & { service: Service; operationId: string | null; direction: 'request' | 'response' })[]
}

export function newState(): SimState {
  return {
    open: false,
    keys: { aca: [], fdr: [] },
    io: [],
    down: new Set(),
    positions: new Map(),
    flows: [],
    profiles: new Map(),
    messages: [],
    calls: [],
    problems: [],
  }
}

const now = () => new Date().toISOString()
const posKey = (cf: string, iupd: string) => `${cf}|${iupd}`

function problem(status: number, title: string, detail: string): Json {
  return { title, status, detail }
}

/** The archive's answer for one position (PaymentPositionModelBaseResponse). */
function positionView(p: Position): Json {
  const m = p.model
  return {
    iupd: p.iupd,
    organizationFiscalCode: p.organizationFiscalCode,
    type: m.type,
    companyName: m.companyName,
    ...(m.officeName ? { officeName: m.officeName } : {}),
    insertedDate: p.insertedDate,
    publishDate: p.insertedDate,
    lastUpdatedDate: p.lastUpdatedDate,
    status: p.status,
    paymentOption: p.options.map((o) => ({
      nav: o.nav,
      iuv: o.iuv,
      organizationFiscalCode: p.organizationFiscalCode,
      amount: o.amount,
      description: o.description,
      isPartialPayment: o.isPartialPayment,
      dueDate: o.dueDate,
      status: o.status,
      transfer: o.transfer.map((t) => ({
        organizationFiscalCode: (t.organizationFiscalCode as string | undefined) ?? p.organizationFiscalCode,
        idTransfer: t.idTransfer,
        amount: t.amount,
        remittanceInformation: t.remittanceInformation,
        category: t.category,
        ...(t.iban ? { iban: t.iban } : {}),
        ...(t.postalIban ? { postalIban: t.postalIban } : {}),
        status: o.status === 'PO_PAID' ? 'T_REPORTED' : 'T_UNREPORTED',
      })),
    })),
  }
}

function positionStatus(options: PaymentOption[]): Position['status'] {
  const paid = options.filter((o) => o.status === 'PO_PAID').length
  if (paid === 0) return 'VALID'
  // a position paid in full by one option or by all its installments
  if (options.some((o) => o.status === 'PO_PAID' && !o.isPartialPayment) || paid === options.length) return 'PAID'
  return 'PARTIALLY_PAID'
}

function optionsOf(model: Json, previous: PaymentOption[] = []): PaymentOption[] {
  return ((model.paymentOption as Json[] | undefined) ?? []).map((o) => {
    const before = previous.find((p) => p.iuv === o.iuv)
    return {
      nav: (o.nav as string | undefined) ?? `3${o.iuv as string}`,
      iuv: o.iuv as string,
      amount: o.amount as number,
      description: o.description as string,
      isPartialPayment: o.isPartialPayment as boolean,
      dueDate: o.dueDate as string,
      status: before?.status ?? 'PO_UNPAID',
      paidBy: before?.paidBy ?? null,
      transfer: (o.transfer as Json[] | undefined) ?? [],
    }
  })
}

/** The rules the archive keeps beyond the schema: amounts add up, at most five transfers, unique IUVs. */
function semanticProblems(state: SimState, cf: string, model: Json, iupd: string): string | null {
  for (const o of (model.paymentOption as Json[] | undefined) ?? []) {
    const transfers = (o.transfer as Json[] | undefined) ?? []
    if (transfers.length === 0 || transfers.length > 5) return `option ${o.iuv}: 1 to 5 transfers`
    const sum = transfers.reduce((s, t) => s + (t.amount as number), 0)
    if (sum !== o.amount) return `option ${o.iuv}: the transfers add up to ${sum}, not ${o.amount}`
    for (const t of transfers)
      if (!t.iban && !t.postalIban && !t.stamp) return `option ${o.iuv}: a transfer without IBAN`
    for (const other of state.positions.values())
      if (other.organizationFiscalCode === cf && other.iupd !== iupd && other.options.some((x) => x.iuv === o.iuv))
        return `IUV ${o.iuv} belongs to position ${other.iupd}`
  }
  return null
}

export interface PlatformSimulator {
  app: Hono
  state: SimState
  /** the node's Stand-In: takes a payment for a notice from what the archive holds (null: not payable there) */
  standInPay(organizationFiscalCode: string, nav: string): { position: Position; option: PaymentOption } | null
  publishFlow(flow: Omit<PublishedFlow, 'published'> & { published?: string }): void
  enableOnIo(fiscalCode: string, serviceId: string): void
  registerIoService(s: IoService): void
  /** every request or answer that did not conform to the published interfaces */
  problems(): SimState['problems']
  reset(): void
}

export function platformSimulator(state: SimState = newState()): PlatformSimulator {
  const app = new Hono()
  app.use('*', bodyLimit({ maxSize: 4 * 1024 * 1024 }))

  const serviceOf = (path: string): Service | null => {
    for (const [s, base] of Object.entries(BASE_PATHS)) if (path.startsWith(`${base}/`)) return s as Service
    return null
  }

  async function respond(
    c: Context,
    service: Service,
    operationId: string | null,
    status: number,
    body: unknown,
    request: unknown,
  ) {
    state.calls.push({ service, method: c.req.method, path: c.req.path, operationId, status, body: request })
    if (operationId && status < 500) {
      const spec = await api(SPEC[service])
      for (const p of spec.checkResponse(operationId, status, body))
        state.problems.push({ ...p, service, operationId, direction: 'response' })
    }
    return c.json(body as Json, status as 200)
  }

  // the simulator's own controls, for the local demo (not pagoPA's interfaces)
  app.get('/_sim', (c) =>
    c.json({
      positions: [...state.positions.values()].map((p) => ({
        organizationFiscalCode: p.organizationFiscalCode,
        iupd: p.iupd,
        status: p.status,
        options: p.options.map((o) => ({ nav: o.nav, amount: o.amount, status: o.status, paidBy: o.paidBy })),
      })),
      flows: state.flows.map((f) => ({ fdr: f.fdr, revision: f.revision, payments: f.payments.length })),
      messages: state.messages.map((m) => ({
        id: m.id,
        fiscalCode: (m.body as { fiscal_code?: string }).fiscal_code,
        subject: (m.body as { content?: { subject?: string } }).content?.subject,
      })),
      calls: state.calls.length,
      problems: state.problems,
    }),
  )
  app.post('/_sim/flows', async (c) => {
    const b = (await c.req.json().catch(() => null)) as {
      organizationId?: string
      organizationName?: string
      pspId?: string
      payments?: { iuv: string; iur: string; amountCents: number }[]
    } | null
    if (!b?.organizationId || !/^[0-9]{11}$/.test(b.organizationId) || !b.payments?.length)
      return c.json(problem(400, 'Bad Request', 'organizationId (11 digits) and payments are required'), 400)
    const pspId = b.pspId ?? '88888888888'
    const at = now()
    const fdr = `${at.slice(0, 10)}${pspId}-${String(state.flows.length + 1).padStart(5, '0')}`
    const sum = b.payments.reduce((s2, p) => s2 + p.amountCents, 0)
    state.flows.push({
      organizationId: b.organizationId,
      fdr,
      pspId,
      revision: 1,
      published: at,
      flow: {
        fdr,
        fdrDate: at,
        revision: 1,
        status: 'PUBLISHED',
        created: at,
        updated: at,
        regulation: `SEPA - Bonifico ${fdr}`,
        regulationDate: at.slice(0, 10),
        bicCodePouringBank: 'UNCRITMMXXX',
        sender: {
          type: 'LEGAL_PERSON',
          id: 'SIMULATO',
          pspId,
          pspName: 'PSP del simulatore',
          pspBrokerId: pspId,
          channelId: `${pspId}_01`,
        },
        receiver: { id: 'SIMULATO', organizationId: b.organizationId, organizationName: b.organizationName ?? 'Ente' },
        totPayments: b.payments.length,
        sumPayments: sum / 100,
      },
      payments: b.payments.map((p, k) => ({
        index: k + 1,
        iuv: p.iuv,
        iur: p.iur,
        idTransfer: 1,
        pay: p.amountCents / 100,
        payStatus: 'EXECUTED',
        payDate: at,
      })),
    })
    return c.json({ fdr }, 201)
  })

  app.all('*', async (c) => {
    const service = serviceOf(c.req.path)
    if (!service) return c.json(problem(404, 'Not Found', 'no such interface'), 404)
    const spec = await api(SPEC[service])
    const path = c.req.path.slice(BASE_PATHS[service].length)
    const text = ['POST', 'PUT', 'PATCH'].includes(c.req.method) ? await c.req.text() : ''
    let body: unknown
    try {
      body = text ? JSON.parse(text) : undefined
    } catch {
      return respond(c, service, null, 400, problem(400, 'Bad Request', 'the body is not JSON'), text)
    }
    const headers: Record<string, string> = {}
    c.req.raw.headers.forEach((v, k) => {
      headers[k] = v
    })
    const query: Record<string, string> = {}
    new URL(c.req.url).searchParams.forEach((v, k) => {
      query[k] = v
    })
    const req = { method: c.req.method.toLowerCase(), path, headers, query, body }
    const route = spec.route(req)
    const operationId = route?.operationId ?? null
    if (!route || !operationId)
      return respond(c, service, null, 404, problem(404, 'Not Found', `${c.req.method} ${path}`), body)
    const wrong = spec.checkRequest(req, operationId)
    if (wrong.length) {
      for (const p of wrong) state.problems.push({ ...p, service, operationId, direction: 'request' })
      const detail = wrong.map((p) => `${p.where}: ${p.message}`).join('; ')
      return respond(c, service, operationId, 400, problem(400, 'Bad Request', detail), body)
    }
    // reachability and authentication, as pagoPA's API gateway answers them
    if (state.down.has(service)) return respond(c, service, operationId, 503, problem(503, 'Unavailable', 'down'), body)
    const key = headers['ocp-apim-subscription-key'] ?? query['subscription-key'] ?? ''
    let ioService: IoService | undefined
    if (service === 'io') {
      ioService = state.io.find((s) => s.apiKey === key)
      if (!ioService && state.open && key) {
        ioService = { apiKey: key, serviceId: `servizio-${state.io.length + 1}`, organizationFiscalCode: '' }
        state.io.push(ioService)
      }
      if (!ioService) return respond(c, service, operationId, 401, {}, body)
    } else if (!state.open && state.keys[service].length && !state.keys[service].includes(key))
      return respond(c, service, operationId, 401, {}, body)

    const [status, answer] = handle(service, operationId, route.params, query, body as Json, ioService)
    return respond(c, service, operationId, status, answer, body)
  })

  function handle(
    service: Service,
    op: string,
    params: Record<string, string>,
    query: Record<string, string>,
    body: Json,
    ioService: IoService | undefined,
  ): [number, unknown] {
    if (service === 'aca') return handleAca(op, params, query, body)
    if (service === 'fdr') return handleFdr(op, params, query)
    return handleIo(op, body, ioService as IoService)
  }

  function handleAca(
    op: string,
    params: Record<string, string>,
    query: Record<string, string>,
    body: Json,
  ): [number, unknown] {
    const cf = params.organizationfiscalcode as string
    const iupd = params.iupd as string
    const existing = iupd ? state.positions.get(posKey(cf, iupd)) : undefined
    const at = now()
    switch (op) {
      case 'createPosition': {
        const id = body.iupd as string
        if (state.positions.has(posKey(cf, id))) return [409, problem(409, 'Conflict', `position ${id} exists`)]
        const wrong = semanticProblems(state, cf, body, id)
        if (wrong) return [400, problem(400, 'Bad Request', wrong)]
        const options = optionsOf(body)
        const p: Position = {
          organizationFiscalCode: cf,
          iupd: id,
          status: positionStatus(options),
          payStandIn: body.payStandIn !== false,
          model: body,
          options,
          insertedDate: at,
          lastUpdatedDate: at,
          history: [{ operation: 'create', at, model: body }],
        }
        if (query.toPublish !== 'true') return [400, problem(400, 'Bad Request', 'ACA positions are published at once')]
        state.positions.set(posKey(cf, id), p)
        return [201, { ...body, status: p.status }]
      }
      case 'getOrganizationDebtPositions': {
        const limit = Number(query.limit ?? 10)
        const page = Number(query.page ?? 0)
        const all = [...state.positions.values()].filter((p) => p.organizationFiscalCode === cf)
        return [
          200,
          {
            payment_position_list: all.slice(page * limit, (page + 1) * limit).map(positionView),
            page_info: {
              page,
              limit,
              items_found: all.length,
              total_pages: Math.max(1, Math.ceil(all.length / limit)),
            },
          },
        ]
      }
      case 'getOrganizationDebtPositionByIUPD':
        return existing ? [200, positionView(existing)] : [404, problem(404, 'Not Found', `no position ${iupd}`)]
      case 'updatePosition': {
        if (!existing) return [404, problem(404, 'Not Found', `no position ${iupd}`)]
        if (existing.status === 'INVALID' || existing.status === 'PAID')
          return [409, problem(409, 'Conflict', `position ${iupd} is ${existing.status}`)]
        const wrong = semanticProblems(state, cf, body, iupd)
        if (wrong) return [400, problem(400, 'Bad Request', wrong)]
        const options = optionsOf(body, existing.options)
        // an option paid cannot change or disappear
        for (const paid of existing.options.filter((o) => o.status === 'PO_PAID')) {
          const next = options.find((o) => o.iuv === paid.iuv)
          if (!next || next.amount !== paid.amount)
            return [409, problem(409, 'Conflict', `option ${paid.iuv} is paid and cannot change`)]
        }
        existing.model = body
        existing.options = options
        existing.payStandIn = body.payStandIn !== false
        existing.status = positionStatus(options)
        existing.lastUpdatedDate = at
        existing.history.push({ operation: 'update', at, model: body })
        return [200, { ...body, status: existing.status }]
      }
      case 'invalidatePosition': {
        if (!existing) return [404, problem(404, 'Not Found', `no position ${iupd}`)]
        if (existing.status !== 'VALID')
          return [409, problem(409, 'Conflict', `position ${iupd} is ${existing.status}`)]
        existing.status = 'INVALID'
        existing.lastUpdatedDate = at
        existing.history.push({ operation: 'invalidate', at, model: null })
        return [200, { ...existing.model, status: 'INVALID' }]
      }
      case 'setPaymentOptionAsAlreadyPaid': {
        const nav = params.nav as string
        for (const p of state.positions.values()) {
          if (p.organizationFiscalCode !== cf) continue
          const o = p.options.find((x) => x.nav === nav)
          if (!o) continue
          if (o.status === 'PO_PAID') return [409, problem(409, 'Conflict', `option ${nav} is already paid`)]
          if (p.status === 'INVALID') return [409, problem(409, 'Conflict', `position ${p.iupd} is INVALID`)]
          o.status = 'PO_PAID'
          o.paidBy = 'creditor'
          p.status = positionStatus(p.options)
          p.lastUpdatedDate = at
          p.history.push({ operation: `paid ${nav}`, at, model: null })
          const view = (positionView(p).paymentOption as Json[]).find((x) => x.nav === nav) as Json
          return [200, { ...view, paymentDate: at, lastUpdatedDate: at }]
        }
        return [404, problem(404, 'Not Found', `no option ${nav}`)]
      }
      default:
        return [501, problem(501, 'Not Implemented', `${op} is not simulated`)]
    }
  }

  function handleFdr(op: string, params: Record<string, string>, query: Record<string, string>): [number, unknown] {
    const org = params.organizationId as string
    const page = Number(query.page ?? 1)
    const size = Number(query.size ?? 1000)
    const paginate = <T>(rows: T[]) => ({
      metadata: { pageSize: size, pageNumber: page, totPage: Math.max(1, Math.ceil(rows.length / size)) },
      count: rows.length,
      data: rows.slice((page - 1) * size, page * size),
    })
    if (op === 'IOrganizationsController_getAllPublishedFlows') {
      const rows = state.flows
        .filter(
          (f) =>
            f.organizationId === org &&
            (!query.pspId || f.pspId === query.pspId) &&
            (!query.publishedGt || Date.parse(f.published) > Date.parse(query.publishedGt)),
        )
        .map((f) => ({
          fdr: f.fdr,
          pspId: f.pspId,
          revision: f.revision,
          published: f.published,
          flowDate: f.flow.fdrDate,
        }))
      return [200, paginate(rows)]
    }
    const flow = state.flows.find(
      (f) =>
        f.organizationId === org &&
        f.fdr === params.fdr &&
        f.pspId === params.pspId &&
        f.revision === Number(params.revision),
    )
    if (!flow) return [404, { httpStatusCode: 404, httpStatusDescription: 'Not Found', appErrorCode: 'FDR-0702' }]
    if (op === 'IOrganizationsController_getSinglePublishedFlow')
      return [
        200,
        {
          ...flow.flow,
          status: 'PUBLISHED',
          revision: flow.revision,
          published: flow.published,
          computedTotPayments: flow.payments.length,
          computedSumPayments: flow.payments.reduce((s, p) => s + (p.pay as number), 0),
        },
      ]
    return [200, paginate(flow.payments)]
  }

  function handleIo(op: string, body: Json, s: IoService): [number, unknown] {
    if (state.open && typeof body.fiscal_code === 'string') {
      // the demo: every citizen has the app and every service enabled
      const set = state.profiles.get(body.fiscal_code) ?? new Set<string>()
      set.add(s.serviceId)
      state.profiles.set(body.fiscal_code, set)
    }
    if (op === 'getProfileByPOST') {
      const enabled = state.profiles.get(body.fiscal_code as string)
      if (!enabled) return [404, { title: 'Not Found', status: 404, detail: 'no user on IO' }]
      return [200, { sender_allowed: enabled.has(s.serviceId), preferred_languages: ['it_IT'] }]
    }
    if (op === 'submitMessageforUserWithFiscalCodeInBody') {
      const cf = body.fiscal_code as string | undefined
      if (!cf || !state.profiles.get(cf)?.has(s.serviceId)) return [403, {}]
      const payee = (body.content as Json | undefined)?.payment_data as Json | undefined
      if (payee && !(payee.payee as Json | undefined)?.fiscal_code)
        return [400, { title: 'Bad Request', status: 400, detail: 'payment_data.payee.fiscal_code is required' }]
      const id = randomUUID().replaceAll('-', '').slice(0, 26).toUpperCase()
      state.messages.push({ id, serviceId: s.serviceId, body })
      return [201, { id }]
    }
    return [501, { title: 'Not Implemented', status: 501, detail: `${op} is not simulated` }]
  }

  return {
    app,
    state,
    standInPay(cf, nav) {
      for (const p of state.positions.values()) {
        if (p.organizationFiscalCode !== cf || p.status === 'INVALID' || !p.payStandIn) continue
        const option = p.options.find((o) => o.nav === nav)
        if (!option || option.status === 'PO_PAID' || p.status === 'PAID') continue
        option.status = 'PO_PAID'
        option.paidBy = 'stand-in'
        p.status = positionStatus(p.options)
        p.history.push({ operation: `stand-in paid ${nav}`, at: now(), model: null })
        return { position: p, option }
      }
      return null
    },
    publishFlow(f) {
      state.flows.push({ ...f, published: f.published ?? now() })
    },
    enableOnIo(fiscalCode, serviceId) {
      const set = state.profiles.get(fiscalCode) ?? new Set<string>()
      set.add(serviceId)
      state.profiles.set(fiscalCode, set)
    },
    registerIoService(s) {
      state.io.push(s)
    },
    problems: () => state.problems,
    reset() {
      Object.assign(state, newState())
    },
  }
}
