// With the embedded database (PGlite, the demo) only the server's process may open ./data, so
// `npm run job -- <name>` asks the running server to run the job through a Unix socket in DATA_DIR instead.
// The socket is reachable only by the same user (mode 0600); with a real PostgreSQL the command connects to
// the database itself and this is not used.
import { chmod, unlink } from 'node:fs/promises'
import { createServer, request } from 'node:http'
import { connect } from 'node:net'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { findJob } from './registry.ts'
import { type JobDeps, type RunResult, runJobNow } from './runner.ts'

export interface ControlRequest {
  job: string
  /** 'YYYY-MM-DD': run as if on that day (Rome) */
  date?: string
  tenants?: string[]
}

export function controlSocketPath(dataDir: string): string {
  return join(dataDir, 'jobs.sock')
}

/** Whether something answers on the socket (a running server). */
function answering(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path)
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })
}

export function dateToNow(date: string): Date {
  // midday in Rome of that day: the same date whatever the server's zone and daylight saving
  return new Date(`${date}T10:00:00Z`)
}

export async function startJobControl(path: string, deps: JobDeps, log: Logger): Promise<{ close(): Promise<void> }> {
  if (await answering(path)) {
    log.warn({ path }, 'another process answers on the job control socket; not starting one')
    return { close: async () => {} }
  }
  await unlink(path).catch(() => {})
  const server = createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/run') {
      res.writeHead(404).end()
      return
    }
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (d: string) => {
      body += d
      if (body.length > 10_000) req.destroy()
    })
    req.on('end', async () => {
      let parsed: ControlRequest
      try {
        parsed = JSON.parse(body) as ControlRequest
      } catch {
        res.writeHead(400).end()
        return
      }
      const job = typeof parsed.job === 'string' ? findJob(parsed.job) : undefined
      if (!job) {
        res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: 'unknown job' }))
        return
      }
      if (parsed.date !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(parsed.date)) {
        res.writeHead(400).end()
        return
      }
      try {
        const result = await runJobNow(deps, job, {
          now: parsed.date ? dateToNow(parsed.date) : new Date(),
          onlyTenants: Array.isArray(parsed.tenants) ? parsed.tenants.map(String) : undefined,
          instance: 'cli-via-server',
        })
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(result))
      } catch (err) {
        log.error({ err }, 'job control run failed')
        res.writeHead(500, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: String(err) }))
      }
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(path, () => resolve())
  })
  await chmod(path, 0o600).catch(() => {})
  server.unref()
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        unlink(path).catch(() => {})
      }),
  }
}

/** Asks a running server to run a job; null when no server listens on the socket. */
export async function runViaControl(path: string, req: ControlRequest): Promise<RunResult | { error: string } | null> {
  if (!(await answering(path))) return null
  return new Promise((resolve, reject) => {
    const r = request(
      { socketPath: path, path: '/run', method: 'POST', headers: { 'Content-Type': 'application/json' } },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (d: string) => {
          body += d
        })
        res.on('end', () => {
          try {
            resolve(JSON.parse(body) as RunResult | { error: string })
          } catch {
            resolve({ error: `HTTP ${res.statusCode}` })
          }
        })
      },
    )
    r.on('error', reject)
    r.end(JSON.stringify(req))
  })
}
