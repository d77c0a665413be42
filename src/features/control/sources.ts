// Payment providers and settlement channels by name, as staff read them.
import type { Translate } from '../../platform/i18n.ts'

const SOURCES = ['sandbox', 'pagopa', 'checkout', 'riconciliazione', 'manuale']

/** A provider or channel name as staff read it; a provider added later shows by its own name. */
export function sourceLabel(t: Translate, source: string): string {
  return SOURCES.includes(source) ? t(`control.source.${source}`) : source
}
