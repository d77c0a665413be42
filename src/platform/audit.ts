// The audit log of a tenant: who changed what, when, before and after. Written in the same transaction as
// the change it records (inside withTenant), so a change without its entry cannot exist.
import type { Tx } from './db.ts'
import type { SessionUser } from './http.ts'

export interface Actor {
  accountId: number | null
  name: string
}

export function actorOf(user: SessionUser | null | undefined): Actor {
  return user
    ? { accountId: user.accountId, name: `${user.givenName} ${user.familyName}` }
    : { accountId: null, name: 'sistema' }
}

export async function audit(
  tx: Tx,
  actor: Actor,
  entry: {
    action: string
    entity: string
    entityId?: string | number | null
    before?: unknown
    after?: unknown
    reason?: string | null
  },
): Promise<void> {
  await tx`
    insert into audit_log (actor_account_id, actor_name, action, entity, entity_id, before, after, reason)
    values (${actor.accountId}, ${actor.name}, ${entry.action}, ${entry.entity},
            ${entry.entityId === undefined || entry.entityId === null ? null : String(entry.entityId)},
            ${entry.before === undefined ? null : tx.json(entry.before as Parameters<typeof tx.json>[0])},
            ${entry.after === undefined ? null : tx.json(entry.after as Parameters<typeof tx.json>[0])},
            ${entry.reason ?? null})`
}
