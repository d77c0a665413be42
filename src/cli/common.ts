// The start of every command-line tool that touches the database (decision 0086). With DATABASE_URL it connects
// itself. On the embedded database, which one process owns at a time: when the server owns it, the server does
// the work for the tool (control.ts); when a tool does, this one refuses, naming it; when nobody does, the tool
// opens it itself — never a second open.
import { hostname } from 'node:os'
import { type Config, ConfigError, loadConfig } from '../config.ts'
import { selectProvider } from '../features/pagopa/provider.ts'
import { JOBS } from '../jobs/registry.ts'
import { loadJobSettings } from '../jobs/settings.ts'
import { type Db, embeddedDir, embeddedLockPath, openDatabase } from '../platform/db.ts'
import { createLogger } from '../platform/log.ts'
import { migratePlatform } from '../platform/migrate.ts'
import { DataDirBusy, describeOwner, ownerAlive, readOwner } from '../platform/owner-lock.ts'
import { TenantRegistry } from '../platform/tenancy.ts'
import { type Command, type CommandContext, output } from './commands/command.ts'
import { askServer } from './control.ts'

const terminal = output(
  (text) => process.stdout.write(text),
  (text) => process.stderr.write(text),
)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** How long a tool waits for a server that is starting (migrations, the demo seed) or stopping. */
const SERVER_WAIT_MS = 120_000

async function exit(code: number): Promise<never> {
  // what was written to a pipe reaches it before the process ends
  await Promise.all([new Promise((r) => process.stdout.write('', r)), new Promise((r) => process.stderr.write('', r))])
  process.exit(code)
}

/**
 * On the embedded database: the exit code of the command done by the server that owns it (or of the refusal),
 * or the database, opened here because nobody owns it.
 */
async function throughOwner(config: Config, command: Command, args: string[], label: string): Promise<number | Db> {
  const lockPath = embeddedLockPath(config)
  const deadline = Date.now() + SERVER_WAIT_MS
  let waiting = false
  let told = false
  for (;;) {
    const holder = await readOwner(lockPath)
    if (holder && holder !== 'unreadable' && ownerAlive(holder)) {
      const server = holder.command === 'server'
      if (server && holder.socket && holder.state !== 'stopping') {
        if (!told)
          terminal.error(
            `${label}: run by the server that owns the embedded database ${embeddedDir(config)}, ${describeOwner(holder)}`,
          )
        told = true
        const code = await askServer(holder.socket, { command: command.name, args }, terminal)
        if (code !== null) return code
        // nothing answers: the server stopped meanwhile (look again), or it no longer listens
        await sleep(250)
        const now = await readOwner(lockPath)
        if (!now || now === 'unreadable' || now.token !== holder.token || now.state !== 'ready' || !ownerAlive(now))
          continue
        terminal.error(
          `${label}: ${describeOwner(holder)} owns the embedded database ${embeddedDir(config)} but does not answer on ` +
            `its control socket ${holder.socket}. Nothing was done. Restart it (kill -TERM ${holder.pid}, then npm start) and try again.`,
        )
        return 69
      }
      if (server && holder.state !== 'ready' && Date.now() < deadline) {
        if (!waiting) terminal.error(`${label}: waiting for ${describeOwner(holder)} to finish ${holder.state}…`)
        waiting = true
        await sleep(250)
        continue
      }
      terminal.error(
        server && holder.state === 'ready'
          ? `${label}: the embedded database ${embeddedDir(config)} is owned by ${describeOwner(holder)}, which takes ` +
              `no commands (no control socket). Nothing was done. Stop it (kill -TERM ${holder.pid}) and try again.`
          : `${label}: ${new DataDirBusy(lockPath, holder).message} Nothing was done.`,
      )
      return 75
    }
    try {
      return await openDatabase(config, { command: label })
    } catch (err) {
      // taken a moment ago by a server starting or another tool: look at the holder again
      if (err instanceof DataDirBusy) continue
      throw err
    }
  }
}

/** Runs a command as a tool: its arguments checked, then done by the server that owns the database, or here. */
export async function runCommand(
  command: Command,
  argv: string[],
  hooks: { onOpen?(ctx: CommandContext, args: string[]): void } = {},
): Promise<never> {
  let config: Config
  let flowsDir: string
  let heartbeatMs: number
  let args: string[] | number
  try {
    config = loadConfig()
    ;({ flowsDir, heartbeatMs } = loadJobSettings(config, JOBS))
    args = command.prepare(argv, { config, cwd: process.cwd() }, terminal)
  } catch (err) {
    if (err instanceof ConfigError) {
      terminal.error(err.message)
      return exit(78)
    }
    throw err
  }
  if (typeof args === 'number') return exit(args)
  const label = `npm run ${command.name}${argv[0] && !argv[0].startsWith('-') ? ` -- ${argv[0]}` : ''}`
  let db: Db
  if (config.databaseUrl) db = await openDatabase(config, { command: label })
  else {
    const r = await throughOwner(config, command, args, label)
    if (typeof r === 'number') return exit(r)
    db = r
  }
  terminal.error(`database: ${db.describe}`)
  let code = 1
  try {
    await migratePlatform(db.admin, db.roles)
    const ctx: CommandContext = {
      db,
      config,
      log: createLogger(process.env.LOG_LEVEL ?? 'warn'),
      provider: selectProvider(config, db),
      tenants: new TenantRegistry(db, 0),
      // the server's scheduled 'outbox' job sends what this run queued
      kickMail: () => {},
      flowsDir,
      heartbeatMs,
      via: 'tool',
      instance: `cli:${hostname()}:${process.pid}`,
    }
    hooks.onOpen?.(ctx, args)
    code = await command.run(ctx, args, terminal)
  } catch (err) {
    terminal.error(err instanceof Error ? err.message : String(err))
  } finally {
    await db.close()
  }
  return exit(code)
}
