// The lists an application form chooses from: the tenant's schools and classes (kept by the canteen feature,
// canteen_schools and canteen_classes) and, for the canteen service, its tariffs (canteen_tariffs). Where a
// list is empty the form asks in free text instead. See docs/decisions/0042-applications-enrollment.md.
import type { Tx } from '../../platform/db.ts'
import type { Choice } from './schema.ts'

export interface Choices {
  schools: Choice[]
  classes: (Choice & { schoolId: number })[]
  tariffs: Choice[]
}

/** The active schools, classes and (for the canteen) tariffs, in two round trips at most. */
export async function loadChoices(tx: Tx, serviceKind: string | null): Promise<Choices> {
  const rows = await tx<{ list: 'school' | 'class'; id: number; name: string; school_id: number | null }[]>`
    select 'school' as list, s.id, initcap(s.kind) || ' ' || s.name as name, null::bigint as school_id,
      initcap(s.kind) || ' ' || s.name as sort1, '' as sort2
    from canteen_schools s where s.active
    union all
    select 'class', c.id,
      initcap(s.kind) || ' ' || s.name || ' ' || c.name || coalesce(' (' || c.note || ')', ''), c.school_id,
      initcap(s.kind) || ' ' || s.name, c.name
    from canteen_classes c join canteen_schools s on s.id = c.school_id
    where c.active and s.active
    order by list, sort1, sort2, id`
  const tariffs =
    serviceKind === 'mensa'
      ? await tx<Choice[]>`select id, name from canteen_tariffs where active order by name, id`
      : []
  return {
    schools: rows.filter((r) => r.list === 'school').map((r) => ({ id: r.id, name: r.name })),
    classes: rows
      .filter((r) => r.list === 'class')
      .map((r) => ({ id: r.id, name: r.name, schoolId: r.school_id as number })),
    tariffs,
  }
}
