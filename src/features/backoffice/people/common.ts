// What the office's people pages share: payers' and pupils' rows, loading a payer, and the platform index of the
// codici fiscali that can see a document here.
import type { Tx } from '../../../platform/db.ts'
import { NotFound } from '../../../platform/errors.ts'

export interface PayerRow {
  id: number
  codice_fiscale: string
  given_name: string
  family_name: string
  email: string | null
  phone: string | null
  address: string | null
}

export interface PupilRow {
  id: number
  codice_fiscale: string | null
  given_name: string
  family_name: string
  birth_date: string | null
}

export const PAYER_COLUMNS = ['id', 'codice_fiscale', 'given_name', 'family_name', 'email', 'phone', 'address']
export const PUPIL_COLUMNS = ['id', 'codice_fiscale', 'given_name', 'family_name', 'birth_date']

/**
 * Adds to the platform index every codice fiscale of these payers that can see a document here (issued to
 * it, or to a pupil it is linked to), so their citizens' pages ask this tenant. Entries are never removed
 * here: a stale one only makes a citizen's page ask a tenant that answers with nothing.
 */
export async function indexPayers(tx: Tx, tenantId: number, payerIds: number[]) {
  if (!payerIds.length) return
  await tx`
    insert into platform.payer_index (codice_fiscale, tenant_id)
    select distinct p.codice_fiscale, ${tenantId}::bigint from payers p
    where p.id = any(${payerIds})
      and (exists (select 1 from documents d where d.payer_id = p.id)
           or exists (select 1 from pupil_payers pp join documents d on d.pupil_id = pp.pupil_id where pp.payer_id = p.id))
    on conflict do nothing`
}

export async function loadPayer(tx: Tx, id: number): Promise<PayerRow> {
  const [row] = await tx<PayerRow[]>`select ${tx(PAYER_COLUMNS)} from payers where id = ${id}`
  if (!row) throw new NotFound()
  return row
}
