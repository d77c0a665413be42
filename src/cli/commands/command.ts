// What a command-line tool's work is: a function on a database that writes to an Output and returns an exit code.
// The tool calls it itself (DATABASE_URL, or no server owns the embedded database), or the running server calls it
// on its own database for the tool, through the control socket (src/cli/control.ts, decision 0086).
import type { Config } from '../../config.ts'
import type { JobDeps } from '../../jobs/runner.ts'

/** Where a command writes: the terminal, or the control socket's answer to the tool. */
export interface Output {
  /** text for standard output, as is (`tenants export --out -`) */
  write(text: string): void
  /** one line for standard output */
  log(line: string): void
  /** one line for standard error */
  error(line: string): void
}

export function output(stdout: (text: string) => void, stderr: (text: string) => void): Output {
  return {
    write: stdout,
    log: (line) => stdout(`${line}\n`),
    error: (line) => stderr(`${line}\n`),
  }
}

export interface CommandContext extends JobDeps {
  /** 'server': the running server does it for a tool; 'tool': the tool on a database it opened itself */
  via: 'server' | 'tool'
  /** the job runs' instance name */
  instance: string
}

export interface Command {
  name: 'tenants' | 'migrate' | 'job'
  /**
   * Before any database is opened: checks the arguments and makes paths absolute against the tool's working
   * directory (the server reads and writes them as given). A number ends the command there with that exit code
   * (a usage error, `job --list`).
   */
  prepare(args: string[], env: { config: Config; cwd: string }, out: Output): string[] | number
  /** The work, on ctx.db: returns the exit code. */
  run(ctx: CommandContext, args: string[], out: Output): Promise<number>
}
