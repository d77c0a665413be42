// The published OpenAPI interfaces of pagoPA and IO (test/fixtures/pagopa/openapi, test/fixtures/io), loaded into
// openapi-backend (ajv underneath) so the simulators check every request Sportello sends and every answer they
// give against what pagoPA published: a field pagoPA would refuse fails the test that sent it. IO's interface is
// Swagger 2.0 and is converted to OpenAPI 3 by swagger2openapi first. Dev tooling: tests and the local demo only.
import { readFileSync } from 'node:fs'
import addFormats from 'ajv-formats'
import OpenAPIBackend, { type Document, type Request as OARequest } from 'openapi-backend'
import { convertObj } from 'swagger2openapi'
import { parse as parseYaml } from 'yaml'
import { projectPath } from '../../../platform/paths.ts'

export type SpecName =
  | 'gpd-4-aca'
  | 'fdr_organization'
  | 'orgs_payment_options'
  | 'gpd'
  | 'gpd_v3'
  | 'paCreatePosition'
  | 'io-services'

function specFile(name: SpecName): Document {
  if (name === 'io-services')
    return parseYaml(readFileSync(projectPath('test/fixtures/io/services-api.yaml'), 'utf8')) as Document
  return JSON.parse(readFileSync(projectPath(`test/fixtures/pagopa/openapi/${name}.json`), 'utf8')) as Document
}

export interface Problem {
  where: string
  message: string
}

export interface Api {
  name: SpecName
  backend: OpenAPIBackend
  /** the operation a request is for and its path parameters, or null (not in the interface) */
  route(req: OARequest): { operationId: string; params: Record<string, string> } | null
  /** what is wrong with the request, per the interface (empty: valid) */
  checkRequest(req: OARequest, operationId: string): Problem[]
  /** what is wrong with an answer the simulator is about to give */
  checkResponse(operationId: string, status: number, body: unknown): Problem[]
}

const cache = new Map<SpecName, Promise<Api>>()

const problems = (errors: { instancePath?: string; message?: string; params?: unknown }[] | null | undefined) =>
  (errors ?? []).map((e) => ({
    where: e.instancePath || '/',
    message: `${e.message ?? 'invalid'}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`,
  }))

/**
 * OpenAPI 3.0 (like JSON Schema draft 4) writes `exclusiveMaximum: true` beside `maximum`; ajv reads draft 7,
 * where it is the bound itself. Rewritten in place, with the same meaning.
 */
function draft7Bounds(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) draft7Bounds(item)
    return
  }
  if (!node || typeof node !== 'object') return
  const o = node as Record<string, unknown>
  for (const [flag, bound] of [
    ['exclusiveMaximum', 'maximum'],
    ['exclusiveMinimum', 'minimum'],
  ] as const) {
    if (typeof o[flag] !== 'boolean') continue
    if (o[flag] === true && typeof o[bound] === 'number') {
      o[flag] = o[bound]
      delete o[bound]
    } else delete o[flag]
  }
  for (const v of Object.values(o)) draft7Bounds(v)
}

async function build(name: SpecName): Promise<Api> {
  let definition = specFile(name)
  if ((definition as { swagger?: string }).swagger === '2.0')
    definition = (
      await (convertObj(definition as unknown as Parameters<typeof convertObj>[0], {
        patch: true,
        warnOnly: true,
      }) as Promise<{
        openapi: unknown
      }>)
    ).openapi as Document
  draft7Bounds(definition)
  const backend = new OpenAPIBackend({
    definition,
    // the published files carry a few OpenAPI 3.0-isms a draft-07 meta-schema check dislikes (paCreatePosition's
    // boolean exclusiveMaximum); the operations and schemas themselves are what matters
    strict: false,
    validate: true,
    quick: false,
    ignoreTrailingSlashes: true,
    // pagoPA's patterns use \h and \w outside unicode mode, as Java reads them
    ajvOpts: { unicodeRegExp: false, strict: false, allErrors: true },
    customizeAjv: (ajv) => {
      addFormats.default(ajv)
      // local-date-time (pagoPA's own name for a date-time without offset)
      ajv.addFormat('local-date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$/)
      ajv.addFormat('int32', true)
      ajv.addFormat('int64', true)
      return ajv
    },
  })
  const quiet = console.warn
  console.warn = () => {}
  try {
    await backend.init()
  } finally {
    console.warn = quiet
  }
  return {
    name,
    backend,
    route(req) {
      const op = backend.matchOperation(req)
      if (!op) return null
      return {
        operationId: op.operationId as string,
        params: backend.router.parseRequest(req, op).params as Record<string, string>,
      }
    },
    checkRequest(req, operationId) {
      const r = backend.validateRequest(req, operationId)
      return r.valid ? [] : problems(r.errors)
    },
    checkResponse(operationId, status, body) {
      const r = backend.validateResponse(body, operationId, status)
      return r.valid ? [] : problems(r.errors)
    },
  }
}

/** The interface, loaded once per process. */
export function api(name: SpecName): Promise<Api> {
  let p = cache.get(name)
  if (!p) {
    p = build(name)
    cache.set(name, p)
  }
  return p
}
