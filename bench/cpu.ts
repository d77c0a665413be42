// CPU time of processes (from /proc): what a request costs the server and PostgreSQL, whatever else the
// machine is doing at the time (throughput on a shared machine moves with the load; CPU per request much less).
import { readFileSync } from 'node:fs'
import type postgres from 'postgres'

const TICK_MS = 1000 / 100 // USER_HZ is 100 on Linux

/** user + system CPU milliseconds of the processes (those that have exited count as 0). */
export function cpuMs(pids: number[]): number {
  let ticks = 0
  for (const pid of pids) {
    try {
      const fields = (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] as string).split(' ')
      ticks += Number(fields[11]) + Number(fields[12])
    } catch {}
  }
  return ticks * TICK_MS
}

/** The server processes (backends) of the connections with this application_name to the current database. */
export async function backendPids(sql: postgres.Sql, applicationName: string): Promise<number[]> {
  const rows = await sql<{ pid: number }[]>`
    select pid from pg_stat_activity where application_name = ${applicationName} and datname = current_database()`
  return rows.map((r) => r.pid)
}

/** CPU milliseconds the whole machine spent busy so far (all cores, from /proc/stat). */
export function machineBusyMs(): number {
  const [, ...fields] = (readFileSync('/proc/stat', 'utf8').split('\n')[0] as string).trim().split(/\s+/)
  const n = fields.map(Number)
  const total = n.slice(0, 8).reduce((a, b) => a + b, 0)
  const idle = (n[3] ?? 0) + (n[4] ?? 0)
  return (total - idle) * TICK_MS
}
