// The items of the Italian tax return (modello 730, quadro E) that school and nursery payments belong to. Each
// service has one, chosen by the office or, when not chosen, the default of its kind.
export const TAX_CATEGORIES = ['nido', 'frequenza', 'erogazioni', 'nessuna'] as const
export type TaxCategory = (typeof TAX_CATEGORIES)[number]

const BY_KIND: Record<string, TaxCategory> = {
  nido: 'nido',
  mensa: 'frequenza',
  trasporto: 'frequenza',
  gite: 'frequenza',
  assicurazione: 'frequenza',
  extrascolastico: 'frequenza',
  contributo: 'erogazioni',
  tributi: 'nessuna',
  altro: 'nessuna',
}

/** The category a service's payments go under: the office's choice, else its kind's default. */
export function taxCategoryOf(kind: string, chosen: string | null | undefined): TaxCategory {
  if (chosen && (TAX_CATEGORIES as readonly string[]).includes(chosen)) return chosen as TaxCategory
  return BY_KIND[kind] ?? 'nessuna'
}
