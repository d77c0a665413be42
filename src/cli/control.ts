// The control socket of a server on the embedded database (decision 0086). The embedded database has one owner, so
// while the server runs, `npm run tenants|migrate|job` ask it to do their work on its database: POST /command
// {command, args} on a Unix socket in DATA_DIR (mode 0600: the same user only), answered as it goes with one JSON
// line per piece of output ({"stdout": …} or {"stderr": …}) and a last {"exit": code}. The server reads and writes
// files at the absolute paths the tool sends. With a real PostgreSQL the tools connect themselves and this is off.
import { chmod, unlink } from 'node:fs/promises'
import { createServer, request } from 'node:http'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { type CommandContext, type Output, output } from './commands/command.ts'
import { findCommand } from './commands/registry.ts'

export interface CommandRequest {
  command: string
  args: string[]
}

/** A request is a command name and its arguments (the files are read where they are): a few KB at most. */
export const MAX_REQUEST_BYTES = 64 * 1024
const MAX_ARGS = 256

export function controlSocketPath(dataDir: string): string {
  return join(dataDir, 'control.sock')
}

function parseRequest(body: string): CommandRequest | null {
  try {
    const r = JSON.parse(body) as Partial<CommandRequest>
    if (typeof r?.command !== 'string' || !Array.isArray(r.args) || r.args.length > MAX_ARGS) return null
    if (!r.args.every((a) => typeof a === 'string')) return null
    return { command: r.command, args: r.args }
  } catch {
    return null
  }
}

/**
 * Listens on the socket at path (a stale socket file is removed: the lock on the database says this process owns
 * it) and runs each command asked for on ctx, the server's own database and services.
 */
export async function startControl(
  path: string,
  ctx: CommandContext,
  log: Logger,
): Promise<{ close(): Promise<void> }> {
  await unlink(path).catch(() => {})
  const server = createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/command') {
      res.writeHead(404).end()
      return
    }
    const chunks: Buffer[] = []
    let size = 0
    let refused = false
    req.on('data', (d: Buffer) => {
      size += d.length
      if (size > MAX_REQUEST_BYTES && !refused) {
        // refused, and nothing more kept: the rest is read and dropped so that the answer reaches the tool
        refused = true
        chunks.length = 0
        res.writeHead(413, { Connection: 'close' }).end(`a request is at most ${MAX_REQUEST_BYTES} bytes`)
      }
      if (refused) {
        if (size > 64 * MAX_REQUEST_BYTES) req.destroy()
        return
      }
      chunks.push(d)
    })
    req.on('end', async () => {
      if (refused) return
      const parsed = parseRequest(Buffer.concat(chunks).toString('utf8'))
      if (!parsed) {
        res.writeHead(400).end('expected {"command": "…", "args": ["…"]}')
        return
      }
      const command = findCommand(parsed.command)
      if (!command) {
        res.writeHead(404).end(`unknown command ${parsed.command}`)
        return
      }
      res.writeHead(200, { 'Content-Type': 'application/x-ndjson' })
      const line = (o: object) => {
        if (!res.destroyed) res.write(`${JSON.stringify(o)}\n`)
      }
      const out = output(
        (text) => line({ stdout: text }),
        (text) => line({ stderr: text }),
      )
      log.info({ command: command.name, args: parsed.args }, 'command run for a tool')
      let code: number
      try {
        // checked again here: the same arguments the tool prepared (absolute paths) come out the same
        const prepared = command.prepare(parsed.args, { config: ctx.config, cwd: process.cwd() }, out)
        code = typeof prepared === 'number' ? prepared : await command.run(ctx, prepared, out)
      } catch (err) {
        log.error({ err, command: command.name }, 'command failed')
        out.error(err instanceof Error ? err.message : String(err))
        code = 1
      }
      line({ exit: code })
      res.end()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(path, () => resolve())
  })
  await chmod(path, 0o600)
  server.unref()
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeIdleConnections()
        unlink(path).catch(() => {})
      }),
  }
}

/**
 * Asks the server listening at path to run a command, writing its output to out as it comes. The exit code;
 * null when nothing answers on the socket (no server, or one gone); 70 when the answer broke off.
 */
export function askServer(path: string, req: CommandRequest, out: Output): Promise<number | null> {
  return new Promise((resolve) => {
    let answered = false
    const r = request(
      {
        socketPath: path,
        path: '/command',
        method: 'POST',
        agent: false,
        headers: { 'Content-Type': 'application/json' },
      },
      (res) => {
        answered = true
        res.setEncoding('utf8')
        let buffer = ''
        let code: number | null = null
        if (res.statusCode !== 200) {
          res.on('data', (d: string) => {
            buffer += d
          })
          res.on('end', () => {
            out.error(`the server refused the command (HTTP ${res.statusCode}): ${buffer.trim()}`)
            resolve(70)
          })
          return
        }
        const take = (text: string) => {
          let m: { stdout?: string; stderr?: string; exit?: number }
          try {
            m = JSON.parse(text)
          } catch {
            return
          }
          if (typeof m.stdout === 'string') out.write(m.stdout)
          else if (typeof m.stderr === 'string') out.error(m.stderr.replace(/\n$/, ''))
          else if (typeof m.exit === 'number') code = m.exit
        }
        res.on('data', (d: string) => {
          buffer += d
          for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
            const text = buffer.slice(0, i)
            buffer = buffer.slice(i + 1)
            if (text) take(text)
          }
        })
        let finished = false
        const done = () => {
          if (finished) return
          finished = true
          if (code === null) {
            out.error('the server stopped answering before the command finished: it may or may not have been done')
            resolve(70)
          } else resolve(code)
        }
        res.on('end', done)
        res.on('error', done)
        res.on('aborted', done)
      },
    )
    r.on('error', (err: NodeJS.ErrnoException) => {
      if (answered) return
      if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT') resolve(null)
      else {
        out.error(`the server's control socket ${path}: ${err.message}`)
        resolve(70)
      }
    })
    r.end(JSON.stringify(req))
  })
}
