// Finding payers (intestatari) and pupils (alunni): by name or codice fiscale, the last ones created when no
// search is typed.
import { Hono } from 'hono'
import { z } from 'zod'
import type { Env } from '../../../platform/http.ts'
import { normalizeCodiceFiscale } from '../../../platform/it/codice-fiscale.ts'
import { containsPattern, inTenant, page, readers, searchField } from '../common.ts'
import { PAYER_COLUMNS, type PayerRow, type PupilRow } from './common.ts'

export const searchRoutes = new Hono<Env>()

// ---- search

const searchSchema = z.object({
  q: searchField,
})

searchRoutes.get('/t/:tenant/ufficio/anagrafiche', readers, async (c) => {
  const { q } = searchSchema.parse(c.req.query())
  const cf = normalizeCodiceFiscale(q)
  const byCf = /^[A-Z0-9]{16}$/.test(cf)
  const like = containsPattern(q)
  const { payers, pupils } = await inTenant(c, async (tx) => {
    const payerWhere = !q
      ? tx`true`
      : byCf
        ? tx`codice_fiscale = ${cf}`
        : tx`(lower(given_name || ' ' || family_name) like ${like} or lower(family_name || ' ' || given_name) like ${like}
              or codice_fiscale like ${`%${cf}%`})`
    const payers = await tx<PayerRow[]>`
      select ${tx(PAYER_COLUMNS)} from payers where ${payerWhere}
      order by ${q ? tx`lower(family_name), lower(given_name)` : tx`id desc`} limit 50`
    const pupils = await tx<(PupilRow & { holder: string | null })[]>`
      select pu.id, pu.codice_fiscale, pu.given_name, pu.family_name, pu.birth_date,
        (select p.given_name || ' ' || p.family_name from pupil_payers pp join payers p on p.id = pp.payer_id
         where pp.pupil_id = pu.id and pp.holder) as holder
      from pupils pu
      where ${
        !q
          ? tx`true`
          : byCf
            ? tx`pu.codice_fiscale = ${cf}`
            : tx`(lower(pu.given_name || ' ' || pu.family_name) like ${like} or lower(pu.family_name || ' ' || pu.given_name) like ${like}
                  or pu.codice_fiscale like ${`%${cf}%`})`
      }
      order by ${q ? tx`lower(pu.family_name), lower(pu.given_name)` : tx`pu.id desc`} limit 50`
    return { payers, pupils }
  })
  return page(c, 'people', { title: c.var.t('backoffice.people.title'), q, payers, pupils })
})
