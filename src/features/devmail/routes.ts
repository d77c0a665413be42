// Development mailbox: the outbox, readable here. It holds reset and invitation links, so it exists only in the
// demo or with DEV_MAIL=1 outside production (config.devMail); otherwise every address under it is a 404.
import { Hono } from 'hono'
import { NotFound } from '../../platform/errors.ts'
import type { Env } from '../../platform/http.ts'
import { render } from '../../platform/render.ts'

export const devMailRoutes = new Hono<Env>()

devMailRoutes.use('/dev/mail/*', async (c, next) => {
  if (!c.var.deps.config.devMail) throw new NotFound()
  await next()
})
devMailRoutes.use('/dev/mail', async (c, next) => {
  if (!c.var.deps.config.devMail) throw new NotFound()
  await next()
})

devMailRoutes.get('/dev/mail', async (c) => {
  const messages = await c.var.deps.db.sql<
    { id: number; to_address: string; subject: string; status: string; created_at: Date }[]
  >`
    select id, to_address, subject, status, created_at from platform.outbox order by id desc limit 100`
  return render(c, 'devmail/list', { title: c.var.t('devmail.title'), messages })
})

devMailRoutes.get('/dev/mail/:id', async (c) => {
  const id = Number(c.req.param('id'))
  if (!Number.isSafeInteger(id)) throw new NotFound()
  const [m] = await c.var.deps.db.sql<
    {
      id: number
      to_address: string
      subject: string
      text_body: string
      status: string
      created_at: Date
      attachments: { filename: string }[]
    }[]
  >`select id, to_address, subject, text_body, status, created_at, attachments from platform.outbox where id = ${id}`
  if (!m) throw new NotFound()
  const parts = m.text_body.split(/(https?:\/\/[^\s]+)/g)
  return render(c, 'devmail/show', { title: m.subject, m, parts })
})
