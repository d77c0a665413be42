// Message catalogues: Italian by default, English available. No user-facing text lives in templates.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { projectPath } from './paths.ts'

export const LANGS = ['it', 'en'] as const
export type Lang = (typeof LANGS)[number]

/** Each feature keeps its messages in src/i18n/<lang>/<feature>.json; keys must not repeat across files. */
function load(lang: Lang): Record<string, string> {
  const dir = projectPath('src', 'i18n', lang)
  const out: Record<string, string> = {}
  for (const f of readdirSync(dir)
    .filter((x) => x.endsWith('.json'))
    .sort()) {
    const messages = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Record<string, string>
    for (const [k, v] of Object.entries(messages)) {
      if (k in out) throw new Error(`message ${k} defined twice (${lang}/${f})`)
      out[k] = v
    }
  }
  return out
}

const catalogues: Record<Lang, Record<string, string>> = { it: load('it'), en: load('en') }

export type Translate = (key: string, params?: Record<string, string | number>) => string

function makeTranslator(lang: Lang): Translate {
  // a Map: a catalogue has over a thousand keys, an object that large is a slow dictionary for V8
  const cat = new Map(Object.entries(catalogues[lang]))
  const fallback = new Map(Object.entries(catalogues.it))
  return (key, params) => {
    const text = cat.get(key) ?? fallback.get(key)
    if (text === undefined) {
      if (process.env.NODE_ENV !== 'production') throw new Error(`missing message ${key}`)
      return key
    }
    return params ? text.replace(/\{(\w+)\}/g, (m, k: string) => (k in params ? String(params[k]) : m)) : text
  }
}

const translators: Record<Lang, Translate> = { it: makeTranslator('it'), en: makeTranslator('en') }

/** The translation function of a language (one per language, made once). */
export function translator(lang: Lang): Translate {
  return translators[lang]
}

export function isLang(v: unknown): v is Lang {
  return v === 'it' || v === 'en'
}

/** Every key of every catalogue, for the test that keeps the catalogues in step. */
export function catalogueKeys(): Record<Lang, string[]> {
  return { it: Object.keys(catalogues.it).sort(), en: Object.keys(catalogues.en).sort() }
}
