// What each kind of application or communication asks, and the validation of a submitted form. The office
// chooses the questions of an application form per service; communications have fixed questions.
import { z } from 'zod'
import { addDays, dateFromParts, isIsoDate } from '../../platform/dates.ts'
import { isValidCodiceFiscale, normalizeCodiceFiscale } from '../../platform/it/codice-fiscale.ts'
import { parseMoney } from '../../platform/money.ts'

export const KINDS = ['iscrizione', 'indirizzo', 'sospensione', 'dieta', 'valutazione'] as const
export type Kind = (typeof KINDS)[number]
export const COMMUNICATIONS = ['indirizzo', 'sospensione', 'dieta', 'valutazione'] as const
export type Communication = (typeof COMMUNICATIONS)[number]

export const STATUSES = ['bozza', 'inviata', 'in_lavorazione', 'accolta', 'respinta'] as const
export type Status = (typeof STATUSES)[number]

/** Questions an office may put on an application form, in the order the form shows them. */
export const FORM_FIELDS = ['school', 'class', 'startDate', 'tariff', 'diet', 'notes'] as const
export type FormField = (typeof FORM_FIELDS)[number]

/** Every question a page may show, in page order. */
export type Field = 'pupil' | FormField | 'dietOnly' | 'address' | 'suspService' | 'period' | 'ratedService' | 'rating'

export const KIND_FIELDS: Record<Communication, Field[]> = {
  indirizzo: ['address', 'notes'],
  sospensione: ['pupil', 'suspService', 'period', 'notes'],
  dieta: ['pupil', 'dietOnly', 'notes'],
  valutazione: ['ratedService', 'rating', 'notes'],
}

export function fieldsOf(kind: Kind, formFields: readonly string[] = []): Field[] {
  if (kind === 'iscrizione') return ['pupil', ...FORM_FIELDS.filter((f) => formFields.includes(f))]
  return KIND_FIELDS[kind]
}

/** Attachments: a certificate for a diet, as PDF, JPEG or PNG. */
export const ATTACHMENT_LIMIT = 5 * 1024 * 1024

/** The answers kept with an application (jsonb). Choices keep the name shown, ids when from a list. */
export interface Answers {
  school?: { id: number | null; name: string }
  class?: { id: number | null; name: string }
  startDate?: string
  tariff?: { id: number | null; name: string }
  iseeCents?: number | null
  diet?: boolean
  dietDescription?: string
  notes?: string
  street?: string
  postalCode?: string
  city?: string
  service?: { id: number; name: string }
  from?: string
  to?: string
  rating?: number
}

export interface Choice {
  id: number
  name: string
}

/** What validation needs to know besides the form: the citizen's pupils, the lists to choose from, today. */
export interface FormContext {
  kind: Kind
  fields: Field[]
  today: string
  pupils: Choice[]
  schools: Choice[]
  classes: (Choice & { schoolId?: number })[]
  tariffs: Choice[]
  /** services a suspension or a rating may be about */
  services: Choice[]
  /** the draft already has an attachment (a new file replaces it) */
  hasAttachment: boolean
}

export interface Parsed {
  pupilId: number | null
  child: { givenName: string; familyName: string; codiceFiscale: string } | null
  serviceId: number | null
  answers: Answers
  /** the answers ask for an attachment and the draft has none yet */
  needsAttachment: boolean
  /** the answers no longer want an attachment (diet changed to no) */
  dropAttachment: boolean
}

/** The three inputs of a date as one value: '' when all empty, 'YYYY-MM-DD' when valid, otherwise 'x'. */
export function joinDate(values: Record<string, unknown>, name: string): string {
  const part = (p: string) => {
    const v = values[`${name}-${p}`]
    return typeof v === 'string' ? v : ''
  }
  const [d, m, y] = [part('day'), part('month'), part('year')]
  if (!d.trim() && !m.trim() && !y.trim()) return ''
  return dateFromParts(d, m, y) ?? 'x'
}

/** 'YYYY-MM-DD' into the three inputs of a date named `name` (to fill a form again). */
export function splitDate(name: string, iso: string | undefined | null): Record<string, string> {
  if (!iso) return {}
  const [y, m, d] = iso.split('-')
  return { [`${name}-day`]: String(Number(d)), [`${name}-month`]: String(Number(m)), [`${name}-year`]: y ?? '' }
}

const text = (max: number, tooLong: string) => z.string().trim().max(max, tooLong)
const required = (max: number, key: string) =>
  z.string().trim().min(1, `applications.errors.${key}Required`).max(max, `applications.errors.${key}TooLong`)

const personName = (key: string) =>
  z
    .string()
    .trim()
    .max(80, `applications.errors.${key}TooLong`)
    .regex(/^[\p{L}\p{M}' .-]*$/u, `applications.errors.${key}Chars`)

function dateField(key: string, today: string) {
  return z
    .string()
    .min(1, `applications.errors.${key}Required`)
    .refine((v) => isIsoDate(v), `applications.errors.${key}Invalid`)
    .refine((v) => !isIsoDate(v) || v >= today, `applications.errors.${key}Past`)
    .refine((v) => !isIsoDate(v) || v <= addDays(today, 730), `applications.errors.${key}Far`)
}

const oneOf = (choices: Choice[], key: string) =>
  z.string().refine((v) => choices.some((c) => String(c.id) === v), `applications.errors.${key}Required`)

/** The zod schema of one page, from its fields (checks across fields: crossChecks). */
export function formSchema(ctx: FormContext) {
  const f = new Set(ctx.fields)
  const shape: Record<string, z.ZodType> = {}
  if (f.has('pupil')) {
    const allowNew = ctx.kind === 'iscrizione'
    shape.pupil = z
      .string()
      .refine(
        (v) => ctx.pupils.some((p) => String(p.id) === v) || (allowNew && v === 'nuovo'),
        'applications.errors.pupilRequired',
      )
    if (allowNew) {
      shape.childGivenName = personName('childGivenName').optional()
      shape.childFamilyName = personName('childFamilyName').optional()
      shape.childCf = z.string().optional()
    }
  }
  if (f.has('school')) shape.school = ctx.schools.length ? oneOf(ctx.schools, 'school') : required(120, 'school')
  if (f.has('class')) shape.class = ctx.classes.length ? oneOf(ctx.classes, 'class') : required(60, 'class')
  if (f.has('startDate')) shape.startDate = dateField('startDate', ctx.today)
  if (f.has('tariff')) {
    shape.tariff = ctx.tariffs.length ? oneOf(ctx.tariffs, 'tariff') : required(120, 'tariff')
    shape.isee = z
      .string()
      .trim()
      .refine(
        (v) => v === '' || (parseMoney(v) !== null && (parseMoney(v) as number) <= 100_000_000),
        'applications.errors.iseeInvalid',
      )
  }
  if (f.has('diet')) {
    shape.diet = z.enum(['si', 'no'], { error: 'applications.errors.dietRequired' })
    shape.dietDescription = text(1000, 'applications.errors.dietDescriptionTooLong').optional()
  }
  if (f.has('dietOnly')) shape.dietDescription = required(1000, 'dietDescription')
  if (f.has('notes')) shape.notes = text(2000, 'applications.errors.notesTooLong').optional()
  if (f.has('address')) {
    shape.street = required(200, 'street')
    shape.postalCode = z
      .string()
      .trim()
      .min(1, 'applications.errors.postalCodeRequired')
      .regex(/^[0-9]{5}$/, 'applications.errors.postalCodeInvalid')
    shape.city = required(80, 'city')
  }
  if (f.has('suspService') || f.has('ratedService')) shape.service = oneOf(ctx.services, 'service')
  if (f.has('period')) {
    shape.from = dateField('from', ctx.today)
    shape.to = z
      .string()
      .min(1, 'applications.errors.toRequired')
      .refine((v) => isIsoDate(v), 'applications.errors.toInvalid')
  }
  if (f.has('rating')) shape.rating = z.enum(['1', '2', '3', '4', '5'], { error: 'applications.errors.ratingRequired' })

  return z.object(shape)
}

export type Issue = z.core.$ZodIssue

const issue = (path: string, message: string) => ({ code: 'custom', path: [path], message, input: undefined }) as Issue

/**
 * Checks across fields, run on the prepared values whatever the field checks said, so that every problem
 * of the page shows at once.
 */
export function crossChecks(ctx: FormContext, v: Record<string, unknown>): Issue[] {
  const f = new Set(ctx.fields)
  const s = (k: string) => (typeof v[k] === 'string' ? (v[k] as string).trim() : '')
  const out: Issue[] = []
  if (f.has('pupil') && ctx.kind === 'iscrizione' && s('pupil') === 'nuovo') {
    if (!s('childGivenName')) out.push(issue('childGivenName', 'applications.errors.childGivenNameRequired'))
    if (!s('childFamilyName')) out.push(issue('childFamilyName', 'applications.errors.childFamilyNameRequired'))
    const cf = normalizeCodiceFiscale(s('childCf'))
    if (!cf) out.push(issue('childCf', 'applications.errors.childCfRequired'))
    else if (cf.length !== 16 || !isValidCodiceFiscale(cf))
      out.push(issue('childCf', 'applications.errors.childCfInvalid'))
  }
  if (f.has('school') && f.has('class') && ctx.schools.length && ctx.classes.length) {
    const klass = ctx.classes.find((c) => String(c.id) === s('class'))
    if (klass && ctx.schools.some((x) => String(x.id) === s('school')) && String(klass.schoolId) !== s('school'))
      out.push(issue('class', 'applications.errors.classOfOtherSchool'))
  }
  if (f.has('diet') && s('diet') === 'si' && !s('dietDescription'))
    out.push(issue('dietDescription', 'applications.errors.dietDescriptionRequired'))
  const from = s('from')
  const to = s('to')
  if (f.has('period') && isIsoDate(from) && isIsoDate(to)) {
    if (to < from) out.push(issue('to', 'applications.errors.toBeforeFrom'))
    else if (to > addDays(from, 366)) out.push(issue('to', 'applications.errors.toFar'))
  }
  return out
}

/** Field checks and cross-field checks together; the data when there is no problem. */
export function validate(
  ctx: FormContext,
  prepared: Record<string, unknown>,
): { ok: true; data: Record<string, string | undefined>; issues: [] } | { ok: false; issues: Issue[] } {
  const schema = formSchema(ctx)
  const input = { ...prepared }
  // a field left out of the submission (no radio chosen) is a blank field, with its own message
  for (const [key, field] of Object.entries(schema.shape as Record<string, z.ZodType>))
    if (input[key] === undefined && !field.safeParse(undefined).success) input[key] = ''
  const r = schema.safeParse(input)
  const issues = [...(r.success ? [] : r.error.issues), ...crossChecks(ctx, input)]
  if (r.success && issues.length === 0)
    return { ok: true, data: r.data as Record<string, string | undefined>, issues: [] }
  return { ok: false, issues }
}

/** The order of fields on the page, and the id each error links to. */
export function fieldOrder(fields: Field[]): { order: string[]; hrefs: Record<string, string> } {
  const order: string[] = []
  const hrefs: Record<string, string> = {}
  for (const f of fields) {
    if (f === 'pupil') order.push('pupil', 'childGivenName', 'childFamilyName', 'childCf')
    else if (f === 'startDate') {
      order.push('startDate')
      hrefs.startDate = 'startDate-day'
    } else if (f === 'tariff') order.push('tariff', 'isee')
    else if (f === 'diet') order.push('diet', 'dietDescription', 'attachment')
    else if (f === 'dietOnly') order.push('dietDescription', 'attachment')
    else if (f === 'address') order.push('street', 'postalCode', 'city')
    else if (f === 'suspService' || f === 'ratedService') order.push('service')
    else if (f === 'period') {
      order.push('from', 'to')
      hrefs.from = 'from-day'
      hrefs.to = 'to-day'
    } else order.push(f)
  }
  return { order, hrefs }
}

/** The values of the form prepared for the schema: dates joined from their three inputs. */
export function prepare(values: Record<string, string | string[]>, fields: Field[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(values)) out[k] = Array.isArray(v) ? v[0] : v
  if (fields.includes('startDate')) out.startDate = joinDate(out, 'startDate')
  if (fields.includes('period')) {
    out.from = joinDate(out, 'from')
    out.to = joinDate(out, 'to')
  }
  return out
}

/** The parsed form as what the application keeps. */
export function toParsed(ctx: FormContext, v: Record<string, string | undefined>): Parsed {
  const f = new Set(ctx.fields)
  const pick = (list: Choice[], value: string | undefined) => {
    if (list.length) {
      const c = list.find((x) => String(x.id) === value) as Choice
      return { id: c.id, name: c.name }
    }
    return { id: null, name: value ?? '' }
  }
  const answers: Answers = {}
  let child: Parsed['child'] = null
  let pupilId: number | null = null
  if (f.has('pupil')) {
    if (v.pupil === 'nuovo')
      child = {
        givenName: v.childGivenName ?? '',
        familyName: v.childFamilyName ?? '',
        codiceFiscale: normalizeCodiceFiscale(v.childCf ?? ''),
      }
    else pupilId = Number(v.pupil)
  }
  if (f.has('school')) answers.school = pick(ctx.schools, v.school)
  if (f.has('class')) answers.class = pick(ctx.classes, v.class)
  if (f.has('startDate')) answers.startDate = v.startDate
  if (f.has('tariff')) {
    answers.tariff = pick(ctx.tariffs, v.tariff)
    answers.iseeCents = v.isee ? parseMoney(v.isee) : null
  }
  let wantsAttachment = false
  if (f.has('diet')) {
    answers.diet = v.diet === 'si'
    if (answers.diet) answers.dietDescription = v.dietDescription
    wantsAttachment = answers.diet
  }
  if (f.has('dietOnly')) answers.dietDescription = v.dietDescription
  if (f.has('notes') && v.notes) answers.notes = v.notes
  if (f.has('address')) {
    answers.street = v.street
    answers.postalCode = v.postalCode
    answers.city = v.city
  }
  let serviceId: number | null = null
  if (f.has('suspService') || f.has('ratedService')) {
    const s = ctx.services.find((x) => String(x.id) === v.service) as Choice
    answers.service = { id: s.id, name: s.name }
    serviceId = s.id
  }
  if (f.has('period')) {
    answers.from = v.from
    answers.to = v.to
  }
  if (f.has('rating')) answers.rating = Number(v.rating)
  return {
    pupilId,
    child,
    serviceId,
    answers,
    // a diet in an application needs its certificate; a special-diet communication may add one
    needsAttachment: wantsAttachment && !ctx.hasAttachment,
    dropAttachment: f.has('diet') && !wantsAttachment,
  }
}

/** The answers back into form values, to edit a draft. */
export function toValues(
  app: {
    pupil_id: number | null
    child_given_name: string | null
    child_family_name: string | null
    child_cf: string | null
    answers: Answers
  },
  fields: Field[],
): Record<string, string> {
  const a = app.answers
  const out: Record<string, string> = {}
  if (fields.includes('pupil')) {
    if (app.pupil_id) out.pupil = String(app.pupil_id)
    else if (app.child_cf) {
      out.pupil = 'nuovo'
      out.childGivenName = app.child_given_name ?? ''
      out.childFamilyName = app.child_family_name ?? ''
      out.childCf = app.child_cf
    }
  }
  const choice = (c?: { id: number | null; name: string }) => (c ? (c.id === null ? c.name : String(c.id)) : '')
  if (a.school) out.school = choice(a.school)
  if (a.class) out.class = choice(a.class)
  Object.assign(out, splitDate('startDate', a.startDate), splitDate('from', a.from), splitDate('to', a.to))
  if (a.tariff) out.tariff = choice(a.tariff)
  if (a.iseeCents !== undefined && a.iseeCents !== null)
    out.isee = `${Math.trunc(a.iseeCents / 100)},${String(a.iseeCents % 100).padStart(2, '0')}`
  if (a.diet !== undefined) out.diet = a.diet ? 'si' : 'no'
  if (a.dietDescription) out.dietDescription = a.dietDescription
  if (a.notes) out.notes = a.notes
  if (a.street) out.street = a.street
  if (a.postalCode) out.postalCode = a.postalCode
  if (a.city) out.city = a.city
  if (a.service) out.service = String(a.service.id)
  if (a.rating) out.rating = String(a.rating)
  return out
}
