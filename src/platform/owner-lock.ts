// One owner of an embedded database directory at a time (decision 0086). Whichever process opens PGlite's folder
// — the server or a command-line tool — first creates a lock file beside it (DATA_DIR/pgdata.lock) exclusively,
// holding its pid, host, command and, once it serves, its address and control socket; a second opener gets
// DataDirBusy, whose message names the holder. A lock whose process is gone (killed, crashed, the machine
// restarted) is stale and taken over. The lock goes when the database is closed, and when the process exits.
import { randomBytes } from 'node:crypto'
import { readFileSync, unlinkSync } from 'node:fs'
import { link, open, readFile, rename, unlink, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'

export interface OwnerInfo {
  pid: number
  hostname: string
  /** what holds it: 'server' (npm start) or a tool's command ('npm run migrate') */
  command: string
  startedAt: string
  /** starting (migrations, demo seed), ready (serving), stopping (SIGINT/SIGTERM received) */
  state: 'starting' | 'ready' | 'stopping'
  /** the server's HTTP address, once it listens */
  address?: string
  /** the server's control socket, once it answers there: the tools run their work through it */
  socket?: string
  /** unique to this taking of the lock */
  token: string
  /** Linux: the boot and the process's start time, so that a pid reused after a crash or a reboot is no holder */
  bootId?: string
  procStart?: string
}

export type OwnerPatch = Partial<Pick<OwnerInfo, 'state' | 'address' | 'socket'>>

export interface OwnerLock {
  readonly path: string
  readonly info: OwnerInfo
  /** Rewrites the lock with what the holder now offers (its address, its socket, that it is stopping). */
  update(patch: OwnerPatch): Promise<void>
  /** Removes the lock, if it is still this one. */
  release(): Promise<void>
}

/** The lock of an embedded database folder: beside it, in the data directory (DATA_DIR/pgdata → DATA_DIR/pgdata.lock). */
export function lockPathFor(dir: string): string {
  return `${dir.replace(/[\\/]+$/, '')}.lock`
}

function when(iso: string): string {
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().replace('T', ' ').slice(0, 19)
}

/** "the Sportello server (pid 4711, started 2026-01-05 10:02:03 UTC, at http://127.0.0.1:3000)" */
export function describeOwner(h: OwnerInfo): string {
  const who = h.command === 'server' ? 'the Sportello server' : `\`${h.command}\``
  const details = [
    `pid ${h.pid}${h.hostname === hostname() ? '' : ` on host ${h.hostname}`}`,
    `started ${when(h.startedAt)} UTC`,
    h.address ? `at ${h.address}` : '',
  ].filter(Boolean)
  return `${who} (${details.join(', ')})`
}

/** What a second opener is told: who holds the database and what to do. */
export class DataDirBusy extends Error {
  constructor(
    readonly path: string,
    readonly holder: OwnerInfo,
  ) {
    const elsewhere =
      holder.hostname === hostname()
        ? ''
        : ` It runs on another host, where this one cannot check it: if that process is gone, remove ${path}.`
    const advice =
      holder.command === 'server'
        ? `Use that server (the npm run commands reach it by themselves), or stop it first (kill -TERM ${holder.pid}).`
        : 'Wait for it to finish, then try again.'
    super(
      `The embedded database ${path.replace(/\.lock$/, '')} is in use by ${describeOwner(holder)}. ` +
        `One process owns it at a time. ${advice}${elsewhere}`,
    )
    this.name = 'DataDirBusy'
  }
}

function bootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined
  } catch {
    return undefined
  }
}

/** Linux: the process's state (field 3 of /proc/<pid>/stat) and when it started (field 22, ticks since boot). */
function procStat(pid: number): { state: string; start: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // the command name (field 2) may hold spaces and parentheses: count from the last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return { state: fields[0] ?? '', start: fields[19] ?? '' }
  } catch {
    return undefined
  }
}
const procStart = (pid: number) => procStat(pid)?.start

/** tokens of the locks this process holds */
const held = new Map<string, string>()

/** Whether the holder still runs: a pid that is gone, or taken by another process since, is no holder. */
export function ownerAlive(h: OwnerInfo): boolean {
  // a process on another host cannot be checked: it holds the lock until it releases it or a person removes it
  if (h.hostname !== hostname()) return true
  const boot = bootId()
  if (h.bootId && boot && h.bootId !== boot) return false
  if (h.pid === process.pid) return [...held.values()].includes(h.token)
  try {
    process.kill(h.pid, 0)
  } catch (err) {
    // EPERM: it runs, as another user
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false
  }
  const now = procStat(h.pid)
  // a zombie (killed, not yet reaped by its parent) holds nothing
  if (now && (now.state === 'Z' || now.state === 'X')) return false
  if (h.procStart && now && now.start !== h.procStart) return false
  return true
}

/** The lock's holder; null without a lock; 'unreadable' for a file that is not a lock (taken over as stale). */
export async function readOwner(path: string): Promise<OwnerInfo | 'unreadable' | null> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
  try {
    const info = JSON.parse(text) as OwnerInfo
    return Number.isInteger(info?.pid) && typeof info.token === 'string' ? info : 'unreadable'
  } catch {
    return 'unreadable'
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Writes the lock whole, then links it into place: it exists complete or not at all; false when one exists. */
async function create(path: string, info: OwnerInfo): Promise<boolean> {
  const tmp = `${path}.${info.token}.tmp`
  await writeFile(tmp, JSON.stringify(info), { mode: 0o600 })
  try {
    await link(tmp, path)
    return true
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') return false
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw err
    // a file system without hard links: an exclusive create (a reader may briefly find it empty)
    try {
      const fh = await open(path, 'wx', 0o600)
      await fh.writeFile(JSON.stringify(info))
      await fh.close()
      return true
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false
      throw e
    }
  } finally {
    await unlink(tmp).catch(() => {})
  }
}

/** Moves a stale lock aside; a live one found there instead (another process took over first) is put back. */
async function removeStale(path: string, token: string): Promise<void> {
  const aside = `${path}.${token}.stale`
  try {
    await rename(path, aside)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw err
  }
  const moved = await readOwner(aside)
  if (moved && moved !== 'unreadable' && ownerAlive(moved)) await link(aside, path).catch(() => {})
  await unlink(aside).catch(() => {})
}

function releaseAllSync() {
  for (const [path, token] of held) {
    try {
      const info = JSON.parse(readFileSync(path, 'utf8')) as OwnerInfo
      if (info.token === token) unlinkSync(path)
    } catch {}
  }
  held.clear()
}
let exitHook = false

export interface TakeOptions {
  /** how long to wait for a live holder to let go (default 0: DataDirBusy at once) */
  waitMs?: number
  /** which holders are worth waiting for (default: every one) */
  waitFor?: (holder: OwnerInfo) => boolean
}

/** Takes the lock at path for this process, or throws DataDirBusy naming the live holder. */
export async function takeOwnerLock(path: string, command: string, opts: TakeOptions = {}): Promise<OwnerLock> {
  let info: OwnerInfo = {
    pid: process.pid,
    hostname: hostname(),
    command,
    startedAt: new Date().toISOString(),
    state: 'starting',
    token: randomBytes(8).toString('hex'),
    bootId: bootId(),
    procStart: procStart(process.pid),
  }
  const deadline = Date.now() + (opts.waitMs ?? 0)
  let takeovers = 0
  for (;;) {
    if (await create(path, info)) break
    let holder = await readOwner(path)
    // a lock being written on a file system without hard links: look again before calling it stale
    if (holder === 'unreadable') holder = await sleep(100).then(() => readOwner(path))
    if (holder === null) continue
    if (holder !== 'unreadable' && ownerAlive(holder)) {
      if (Date.now() < deadline && (opts.waitFor?.(holder) ?? true)) {
        await sleep(200)
        continue
      }
      throw new DataDirBusy(path, holder)
    }
    if (++takeovers > 20) throw new Error(`cannot take the lock ${path}: it keeps changing`)
    await removeStale(path, info.token)
  }
  held.set(path, info.token)
  if (!exitHook) {
    exitHook = true
    process.on('exit', releaseAllSync)
  }
  const ours = async () => {
    const now = await readOwner(path).catch(() => null)
    return now !== null && now !== 'unreadable' && now.token === info.token
  }
  // one rewrite at a time, in the order asked (a server's "ready" and a signal's "stopping" may cross)
  let writes: Promise<void> = Promise.resolve()
  return {
    path,
    get info() {
      return info
    },
    update(patch) {
      const write = async () => {
        if (held.get(path) !== info.token || !(await ours())) return
        info = { ...info, ...patch }
        const tmp = `${path}.${info.token}.tmp`
        await writeFile(tmp, JSON.stringify(info), { mode: 0o600 })
        await rename(tmp, path)
      }
      const next = writes.then(write)
      writes = next.catch(() => {})
      return next
    },
    async release() {
      await writes
      if (held.get(path) !== info.token) return
      if (await ours()) await unlink(path).catch(() => {})
      held.delete(path)
    },
  }
}
