// The outbox: one message per dedupe key, retried with backoff through a real SMTP server, sent once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import type { Db } from '../../src/platform/db.ts'
import { composeMail, drainOutbox, enqueueMail, registerAttachment } from '../../src/platform/mail.ts'
import { openTestDb } from '../helpers/db.ts'
import { startSmtp } from '../helpers/smtp.ts'

let db: Db
const run = Math.random().toString(36).slice(2, 8)
const to = (who: string) => `${who}.${run}@example.it`

beforeAll(async () => {
  db = await openTestDb()
})
afterAll(async () => {
  await db.sql`delete from platform.outbox where to_address like ${`%.${run}@example.it`}`
  await db.close()
})

describe('outbox', () => {
  it('keeps one message per dedupe key', async () => {
    const msg = {
      ...composeMail('it', 'confirm', { name: 'A', link: 'http://x/y', hours: 48 }, to('dedupe')),
      dedupeKey: `k-${run}`,
    }
    expect(await enqueueMail(db.sql, msg)).toBe(true)
    expect(await enqueueMail(db.sql, msg)).toBe(false)
    const rows = await db.sql`select id from platform.outbox where dedupe_key = ${`k-${run}`}`
    expect(rows).toHaveLength(1)
  })

  it('retries after an SMTP refusal with backoff, then delivers exactly once with its attachment', async () => {
    const smtp = await startSmtp({ failFirst: 1, failTo: to('retry') })
    const config = loadConfig({ SMTP_URL: smtp.url, NODE_ENV: 'test' })
    try {
      await enqueueMail(db.sql, {
        ...composeMail('en', 'passwordChanged', { name: 'B', reset: 'http://x/r' }, to('retry')),
        attachments: [
          {
            filename: 'ricevuta.pdf',
            contentType: 'application/pdf',
            contentBase64: Buffer.from('%PDF-1.7 test').toString('base64'),
          },
        ],
      })
      // drain until nothing of ours is due (other test files may have queued mail too)
      const first = await drainOutbox(db.sql, config, 500, `%.${run}@example.it`)
      expect(first.retried).toBeGreaterThanOrEqual(1)
      const [row] = await db.sql<{ status: string; attempts: number; wait: number; last_error: string }[]>`
        select status, attempts, extract(epoch from next_attempt_at - now())::int as wait, last_error
        from platform.outbox where to_address = ${to('retry')}`
      expect(row?.status).toBe('pending')
      expect(row?.attempts).toBe(1)
      expect(row?.wait).toBeGreaterThan(20)
      expect(row?.last_error).toMatch(/451/)
      // nothing is due yet: a second drain sends nothing of ours
      await drainOutbox(db.sql, config, 500, `%.${run}@example.it`)
      expect(smtp.to(to('retry'))).toHaveLength(0)
      await db.sql`update platform.outbox set next_attempt_at = now() where to_address = ${to('retry')}`
      // two drainers at once: SKIP LOCKED gives the message to one of them
      await Promise.all([
        drainOutbox(db.sql, config, 500, `%.${run}@example.it`),
        drainOutbox(db.sql, config, 500, `%.${run}@example.it`),
      ])
      const got = smtp.to(to('retry'))
      expect(got).toHaveLength(1)
      expect(got[0]?.subject).toBe('Your password has changed')
      expect(got[0]?.attachments[0]?.filename).toBe('ricevuta.pdf')
      expect(got[0]?.messageId).toMatch(/^<outbox-\d+@localhost>$/)
      await drainOutbox(db.sql, config, 500, `%.${run}@example.it`)
      expect(smtp.to(to('retry'))).toHaveLength(1)
    } finally {
      await smtp.close()
    }
  })

  it('makes an attachment registered for sending time when it sends, and retries while it cannot be made', async () => {
    const smtp = await startSmtp()
    const config = loadConfig({ SMTP_URL: smtp.url, NODE_ENV: 'test' })
    const made: number[] = []
    registerAttachment(`test-${run}`, async (sql, ref) => {
      const [row] = await sql<{ n: number }[]>`select ${ref ?? null}::int as n`
      made.push(row?.n as number)
      return ref === 7 ? Buffer.from(`%PDF-1.7 numero ${row?.n}`) : null
    })
    try {
      for (const [who, ref] of [
        ['made', 7],
        ['missing', 8],
      ] as const) {
        await enqueueMail(db.sql, {
          ...composeMail('it', 'passwordChanged', { name: 'C', reset: 'http://x/r' }, to(who)),
          attachments: [
            { filename: `${who}.pdf`, contentType: 'application/pdf', render: { kind: `test-${run}`, ref } },
          ],
        })
      }
      expect(made).toEqual([])
      await drainOutbox(db.sql, config, 500, `%.${run}@example.it`)
      const got = smtp.to(to('made'))
      expect(got).toHaveLength(1)
      expect(got[0]?.attachments[0]?.content.toString()).toBe('%PDF-1.7 numero 7')
      expect(smtp.to(to('missing'))).toHaveLength(0)
      const [row] = await db.sql<{ status: string; last_error: string }[]>`
        select status, last_error from platform.outbox where to_address = ${to('missing')}`
      expect(row).toEqual({ status: 'pending', last_error: `attachment missing.pdf: test-${run} 8 not available` })
    } finally {
      await smtp.close()
    }
  })
})
