// The two README commands and the operator commands, run as real processes.
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Db } from '../../src/platform/db.ts'
import { listTenantFiles, readTenantFile, TenantRegistry } from '../../src/platform/tenancy.ts'
import { nodeArgs } from '../helpers/built.ts'
import { dropTestTenant, openTestDb, testTarget, testTenantFile } from '../helpers/db.ts'

const run = promisify(execFile)
const target = testTarget()
let dir: string

// Vite puts BASE_URL, MODE, DEV, PROD and SSR into the test process's environment: children must not inherit them.
const { BASE_URL: _b, MODE: _m, DEV: _d, PROD: _p, SSR: _s, ...cleanEnv } = process.env
let db: Db

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sportello-cli-'))
  db = await openTestDb()
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
  await db.close()
})

function waitFor(child: ChildProcess, pattern: RegExp, ms = 40_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}: ${out}`)), ms)
    const on = (d: Buffer) => {
      out += d.toString()
      if (pattern.test(out)) {
        clearTimeout(timer)
        resolve(out)
      }
    }
    child.stdout?.on('data', on)
    child.stderr?.on('data', on)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`exited with ${code}: ${out}`))
    })
  })
}

describe('tenant files', () => {
  it('every file in tenants/ is valid, with a unique slug, fiscal code and segregation code', async () => {
    const files = await Promise.all((await listTenantFiles('tenants')).map(readTenantFile))
    expect(files.map((f) => f.slug).sort()).toEqual(expect.arrayContaining(['ic-pertini-milano', 'monopoli', 'siena']))
    for (const key of ['slug', 'fiscalCode', 'segregationCode'] as const) {
      expect(new Set(files.map((f) => f[key])).size).toBe(files.length)
    }
    expect(files.find((f) => f.slug === 'monopoli')?.settings.commission).toEqual({
      type: 'grossup',
      basisPoints: 150,
    })
  })

  it('a bad tenant file is refused with the field named', async () => {
    const path = join(dir, 'bad.json')
    await writeFile(
      path,
      JSON.stringify({
        ...testTenantFile(),
        fiscalCode: '12345678901',
        branding: { logoText: 'X', accent: '#ffff00' },
      }),
    )
    await expect(readTenantFile(path)).rejects.toThrow(/fiscalCode[\s\S]*branding.accent/)
  })
})

describe('npm start on the embedded database', () => {
  it('starts, onboards the demo tenants, serves them and shuts down gracefully', async () => {
    const port = 40_000 + Math.floor(Math.random() * 20_000)
    const env = {
      ...cleanEnv,
      DATA_DIR: join(dir, 'data'),
      PORT: String(port),
      DATABASE_URL: '',
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      JOBS: 'false',
    }
    const child = spawn(process.execPath, nodeArgs('server'), { env })
    try {
      const out = await waitFor(child, /Demo ready at/)
      expect(out).toContain('embedded PGlite')
      const home = await (await fetch(`http://127.0.0.1:${port}/`)).text()
      for (const name of ['Comune di Siena', 'Comune di Monopoli', 'Istituto Comprensivo Sandro Pertini'])
        expect(home).toContain(name)
      const siena = await fetch(`http://127.0.0.1:${port}/t/siena`)
      expect(siena.status).toBe(200)
    } finally {
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      expect(await exited).toBe(0)
    }
    // a second start finds the data in place and does not seed twice
    const again = spawn(process.execPath, nodeArgs('server'), { env })
    try {
      const out = await waitFor(again, /Demo ready at/)
      expect(out).not.toContain('onboarded')
    } finally {
      const exited = new Promise((r) => again.once('exit', r))
      again.kill('SIGTERM')
      await exited
    }
  })

  it('a bad setting stops start-up with a message naming the variable', async () => {
    await expect(
      run(process.execPath, nodeArgs('server'), { env: { ...cleanEnv, PORT: 'many' } }),
    ).rejects.toMatchObject({
      stderr: expect.stringContaining('PORT'),
    })
  })
})

describe.skipIf(target.kind !== 'postgres')('operator commands on PostgreSQL', () => {
  it('npm run tenants -- add onboards a file; npm run migrate reports every tenant current', async () => {
    const file = testTenantFile()
    const path = join(dir, `${file.slug}.json`)
    await writeFile(path, JSON.stringify(file))
    const env = { ...cleanEnv, DATABASE_URL: target.url, LOG_LEVEL: 'silent' }
    const add = await run(process.execPath, nodeArgs('cli/tenants', 'add', path), { env })
    expect(add.stdout).toMatch(new RegExp(`onboarded ${file.slug} \\(schema t_`))
    const tenant = await new TenantRegistry(db, 0).get(file.slug)
    expect(tenant?.status).toBe('active')
    const migrate = await run(process.execPath, nodeArgs('cli/migrate', '--only', file.slug), { env })
    expect(migrate.stdout).toMatch(/0 migrated, 0 failed/)
    // the same file twice is refused, and nothing is half-created
    await expect(run(process.execPath, nodeArgs('cli/tenants', 'add', path), { env })).rejects.toMatchObject({
      stderr: expect.stringMatching(/duplicate key|already exists/),
    })
    if (tenant) await dropTestTenant(db, tenant)
  })
})
