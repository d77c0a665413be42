// Form handling: zod parses, messages are i18n keys in the schema, failures become the error summary.
import type { Context } from 'hono'
import { z } from 'zod'
import type { Env } from './http.ts'
import type { Translate } from './i18n.ts'
import type { FormErrors } from './render.ts'

export type FormValues = Record<string, string | string[]>

/** Length as PostgreSQL and a reader count it: characters, not UTF-16 units ("𝈛" is one, not two). */
export const chars = (s: string): number => {
  let n = 0
  for (const _ of s) n++
  return n
}

/** PostgreSQL text cannot hold NUL, and nobody types one: dropped from every value. */
const noNul = (s: string) => (s.includes('\u0000') ? s.replaceAll('\u0000', '') : s)

/** The submitted form as strings (files dropped, NUL characters removed), repeated names as arrays. */
export async function formValues(c: Context<Env>): Promise<FormValues> {
  const body = await c.req.parseBody({ all: true })
  const out: FormValues = {}
  for (const [k, v] of Object.entries(body)) {
    if (k === '_csrf') continue
    if (Array.isArray(v)) out[k] = v.filter((x): x is string => typeof x === 'string').map(noNul)
    else if (typeof v === 'string') out[k] = noNul(v)
  }
  return out
}

/**
 * Builds the error summary: one entry per field, in the order of `order` (the page's field order), each
 * linking to the field's id (`#name`, or `#name-day` for a date).
 */
export function formErrors(
  issues: z.core.$ZodIssue[],
  t: Translate,
  order: string[] = [],
  hrefs: Record<string, string> = {},
): FormErrors {
  const fields: Record<string, string> = {}
  for (const issue of issues) {
    const name = String(issue.path[0] ?? '_form')
    if (fields[name]) continue
    // schema messages are catalogue keys; anything else is zod's own wording, never shown as such
    fields[name] = t(
      /^[a-z][a-zA-Z0-9]*(\.[a-zA-Z0-9-]+)+$/.test(issue.message) ? issue.message : 'errors.fieldInvalid',
    )
  }
  const names = Object.keys(fields).sort((a, b) => {
    const ia = order.indexOf(a)
    const ib = order.indexOf(b)
    return (ia < 0 ? 999 : ia) - (ib < 0 ? 999 : ib)
  })
  return {
    summary: names.map((n) => ({ text: fields[n] as string, href: `#${hrefs[n] ?? n}` })),
    fields,
  }
}

/**
 * A field left out of the submission is a blank field, so its own "enter your …" message applies; fields
 * that may be absent (an unticked checkbox) stay absent.
 */
function withBlanks(schema: z.ZodType, values: FormValues): FormValues {
  if (!(schema instanceof z.ZodObject)) return values
  const out = { ...values }
  for (const [key, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
    if (out[key] === undefined && !field.safeParse(undefined).success) out[key] = ''
  }
  return out
}

export type Parsed<T> = { ok: true; data: T } | { ok: false; errors: FormErrors; values: FormValues }

export function parseWith<S extends z.ZodType>(
  schema: S,
  values: FormValues,
  t: Translate,
  order: string[] = [],
  hrefs: Record<string, string> = {},
): Parsed<z.output<S>> {
  const r = schema.safeParse(withBlanks(schema, values))
  if (r.success) return { ok: true, data: r.data }
  return { ok: false, errors: formErrors(r.error.issues, t, order, hrefs), values }
}

/** An error on one field, for rules checked after parsing (e.g. "wrong current password"). */
export function fieldError(t: Translate, name: string, key: string, params?: Record<string, string>): FormErrors {
  const text = t(key, params)
  return { summary: [{ text, href: `#${name}` }], fields: { [name]: text } }
}
