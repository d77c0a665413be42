// The lock of an embedded database folder: taken exclusively, refused to a second taker with the holder named,
// taken over from a process that is gone (or whose pid another process now has), released only by its holder.
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DataDirBusy, lockPathFor, type OwnerInfo, ownerAlive, readOwner, takeOwnerLock } from './owner-lock.ts'

let dir: string
let n = 0
const next = () => join(dir, `pgdata-${++n}.lock`)

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sportello-lock-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

function holder(over: Partial<OwnerInfo>): OwnerInfo {
  return {
    pid: process.pid,
    hostname: hostname(),
    command: 'npm run migrate',
    startedAt: new Date().toISOString(),
    state: 'starting',
    token: 'someone-else',
    ...over,
  }
}

/** The pid of a process that has ended (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''])
  await new Promise((r) => child.once('exit', r))
  return child.pid as number
}

describe('the owner lock', () => {
  it('sits beside the folder it guards', () => {
    expect(lockPathFor('/srv/data/pgdata')).toBe('/srv/data/pgdata.lock')
    expect(lockPathFor('/srv/data/pgdata/')).toBe('/srv/data/pgdata.lock')
  })

  it('is taken once: a second taker is told who holds it, until it is released', async () => {
    const path = next()
    const lock = await takeOwnerLock(path, 'server')
    expect(await readOwner(path)).toMatchObject({ pid: process.pid, command: 'server', state: 'starting' })
    await lock.update({ state: 'ready', address: 'http://127.0.0.1:3000', socket: '/srv/data/control.sock' })
    const err = await takeOwnerLock(path, 'npm run migrate').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DataDirBusy)
    expect((err as DataDirBusy).message).toContain(
      `in use by the Sportello server (pid ${process.pid}, started ${lock.info.startedAt.replace('T', ' ').slice(0, 19)} UTC, at http://127.0.0.1:3000)`,
    )
    expect((err as DataDirBusy).message).toContain(`kill -TERM ${process.pid}`)
    expect((err as DataDirBusy).holder.socket).toBe('/srv/data/control.sock')
    await lock.release()
    expect(await readOwner(path)).toBeNull()
    const again = await takeOwnerLock(path, 'npm run migrate')
    await again.release()
  })

  it('takes over the lock of a process that is gone', async () => {
    const path = next()
    const pid = await deadPid()
    const stale = holder({ pid })
    expect(ownerAlive(stale)).toBe(false)
    await writeFile(path, JSON.stringify(stale))
    const lock = await takeOwnerLock(path, 'server')
    expect((await readOwner(path)) as OwnerInfo).toMatchObject({ pid: process.pid, token: lock.info.token })
    await lock.release()
  })

  it('takes over a lock whose pid is now another process, or from before a reboot, or that is not a lock', async () => {
    const path = next()
    // this process's pid, but not a lock this process took: a former process that had the same pid
    await writeFile(path, JSON.stringify(holder({ token: 'earlier-life' })))
    const lock = await takeOwnerLock(path, 'server')
    await lock.release()
    if (process.platform === 'linux') {
      expect(ownerAlive(holder({ pid: process.ppid, procStart: '1' }))).toBe(false)
      expect(ownerAlive(holder({ pid: process.ppid, bootId: 'another-boot' }))).toBe(false)
      expect(ownerAlive(holder({ pid: process.ppid }))).toBe(true)
    }
    await writeFile(path, 'not json')
    const again = await takeOwnerLock(path, 'server')
    await again.release()
  })

  it('is held by a live process, and by one on another host (that cannot be checked from here)', async () => {
    const path = next()
    await writeFile(path, JSON.stringify(holder({ pid: process.ppid, command: 'npm run tenants -- add' })))
    const busy = await takeOwnerLock(path, 'server').catch((e: unknown) => e)
    expect((busy as Error).message).toContain(`in use by \`npm run tenants -- add\` (pid ${process.ppid}`)
    expect((busy as Error).message).toContain('Wait for it to finish')
    await writeFile(path, JSON.stringify(holder({ pid: await deadPid(), hostname: 'elsewhere' })))
    const remote = await takeOwnerLock(path, 'server').catch((e: unknown) => e)
    expect((remote as Error).message).toContain(`on host elsewhere`)
    expect((remote as Error).message).toContain(`remove ${path}`)
  })

  it('waits for a holder it is told to wait for', async () => {
    const path = next()
    const first = await takeOwnerLock(path, 'npm run migrate')
    setTimeout(() => void first.release(), 300)
    const started = Date.now()
    const second = await takeOwnerLock(path, 'server', { waitMs: 5000, waitFor: (h) => h.command !== 'server' })
    expect(Date.now() - started).toBeGreaterThanOrEqual(250)
    await second.release()
    // not for a server that runs
    const server = await takeOwnerLock(path, 'server')
    const started2 = Date.now()
    await expect(
      takeOwnerLock(path, 'server', { waitMs: 5000, waitFor: (h) => h.command !== 'server' }),
    ).rejects.toBeInstanceOf(DataDirBusy)
    expect(Date.now() - started2).toBeLessThan(1000)
    await server.release()
  })

  it('is released only by its holder: a lock taken over meanwhile stays', async () => {
    const path = next()
    const lock = await takeOwnerLock(path, 'server')
    const theirs = holder({ pid: process.ppid, token: 'theirs' })
    await writeFile(path, JSON.stringify(theirs))
    await lock.update({ state: 'stopping' })
    await lock.release()
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual(theirs)
  })
})
