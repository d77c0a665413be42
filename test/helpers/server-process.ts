// The compiled server as a child process on a free port, as `npm start` runs it: for tests whose faults must not
// reach the test process (a dropped or stalled database, kill -9), and that watch the process's fate and log.
import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { nodeArgs } from './built.ts'
import { Client } from './client.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
}

/** the environment of the test process without what vitest adds (it would change the server's mode) */
export function cleanEnv(): Record<string, string | undefined> {
  const { BASE_URL: _b, MODE: _m, DEV: _d, PROD: _p, SSR: _s, ...rest } = process.env
  return rest
}

export interface ServerProcess {
  base: string
  child: ChildProcess
  /** everything the process wrote so far */
  output(): string
  /** how it ended, or null while it runs */
  exited(): { code: number | null; signal: NodeJS.Signals | null } | null
  /** a Client speaking HTTP to it (redirects not followed) */
  client(): Client
  /** SIGKILL, and waits for the exit */
  kill(): Promise<void>
}

/** Starts the server with `env` (PORT and BASE_URL are set here) and waits until /health answers 200. */
export async function startServerProcess(env: Record<string, string | undefined>): Promise<ServerProcess> {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const child = spawn(process.execPath, nodeArgs('server'), {
    env: { ...cleanEnv(), ...env, PORT: String(port), BASE_URL: base },
  })
  let output = ''
  let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString()
  })
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString()
  })
  child.once('exit', (code, signal) => {
    exited = { code, signal }
  })
  const proc: ServerProcess = {
    base,
    child,
    output: () => output,
    exited: () => exited,
    client: () =>
      new Client({
        request: (path: string, init?: RequestInit) => fetch(base + path, { ...init, redirect: 'manual' }),
      } as never),
    async kill() {
      if (exited) return
      const gone = new Promise((r) => child.once('exit', r))
      child.kill('SIGKILL')
      await gone
    },
  }
  const started = Date.now()
  while (Date.now() - started < 60_000) {
    if (exited) throw new Error(`server exited at start: ${output}`)
    try {
      if ((await fetch(`${base}/health`)).ok) return proc
    } catch {}
    await sleep(100)
  }
  await proc.kill()
  throw new Error(`server did not start: ${output}`)
}
