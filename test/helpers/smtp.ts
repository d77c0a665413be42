// A real SMTP server (smtp-server) on a loopback port, keeping what it receives, parsed by mailparser.
import type { AddressInfo } from 'node:net'
import { type ParsedMail, simpleParser } from 'mailparser'
import { SMTPServer } from 'smtp-server'

export interface Received {
  to: string
  subject: string
  text: string
  html: string
  messageId: string
  attachments: { filename: string; contentType: string; size: number; content: Buffer }[]
}

/** failFirst: refuse that many messages (to failTo only, when given) with a temporary 451 error. */
export async function startSmtp(opts: { failFirst?: number; failTo?: string } = {}) {
  const received: Received[] = []
  let toFail = opts.failFirst ?? 0
  const server = new SMTPServer({
    authOptional: true,
    // the application keeps its connections open (a pooled transport): at close, cut them after a moment
    closeTimeout: 100,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((mail: ParsedMail) => {
          const rcpt = Array.isArray(mail.to) ? mail.to.map((a) => a.text).join(', ') : (mail.to?.text ?? '')
          if (toFail > 0 && (!opts.failTo || rcpt.includes(opts.failTo))) {
            toFail--
            const err = new Error('451 try again later') as Error & { responseCode: number }
            err.responseCode = 451
            return callback(err)
          }
          const to = Array.isArray(mail.to) ? mail.to.map((a) => a.text).join(', ') : (mail.to?.text ?? '')
          received.push({
            to,
            subject: mail.subject ?? '',
            text: mail.text ?? '',
            html: typeof mail.html === 'string' ? mail.html : '',
            messageId: mail.messageId ?? '',
            attachments: mail.attachments.map((a) => ({
              filename: a.filename ?? '',
              contentType: a.contentType,
              size: a.size,
              content: a.content,
            })),
          })
          callback()
        })
        .catch(callback)
    },
  })
  // a client killed with its connection open (kill -9 of a job mid-drain) resets it: expected, not a failure
  server.on('error', () => {})
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const port = (server.server.address() as AddressInfo).port
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    /** messages to one address, newest last */
    to: (address: string) => received.filter((m) => m.to.includes(address)),
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}

export function linkIn(text: string, pathPrefix: string): string {
  const m = new RegExp(`https?://[^\\s]+${pathPrefix.replace(/[/.]/g, '\\$&')}[^\\s]*`).exec(text)
  if (!m) throw new Error(`no ${pathPrefix} link in: ${text}`)
  return new URL(m[0]).pathname
}
