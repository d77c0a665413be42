// A database on a Citus cluster, made as ../shared/citus/cluster.sh makes one: on every node, with the extension,
// the workers added to the coordinator and schema-based sharding on (docs/scaling.md). For the tools that make
// throwaway databases (the test set-up, the benchmark's generator); a production database is made once by its
// operator.
import postgres from 'postgres'

/** Whether the server behind `maintenanceUrl` (its `postgres` database) is a Citus coordinator. */
export async function isCitus(maintenance: postgres.Sql): Promise<boolean> {
  const [row] = await maintenance<{ on: boolean }[]>`
    select exists (select 1 from pg_extension where extname = 'citus') as on`
  return !!row?.on
}

/**
 * Drops `names` (and the roles `dropRoles` lists for each) on every node, then creates them again as distributed
 * databases. `maintenanceUrl` points at the coordinator's `postgres` database.
 */
export async function recreateCitusDatabases(
  maintenanceUrl: string,
  names: string[],
  dropRoles: (sql: postgres.Sql, name: string) => Promise<void>,
): Promise<void> {
  const maintenance = new URL(maintenanceUrl)
  const on = (node: { host: string; port: number }, db: string) => {
    const u = new URL(maintenance)
    u.hostname = node.host
    u.port = String(node.port)
    u.pathname = `/${db}`
    return postgres(u.toString(), { max: 1, onnotice: () => {}, connect_timeout: 5 })
  }
  const coordinator = { host: maintenance.hostname, port: Number(maintenance.port || 5432) }
  const root = on(coordinator, 'postgres')
  const workers = await root<{ host: string; port: number }[]>`
    select nodename as host, nodeport as port from pg_dist_node where groupid <> 0 and noderole = 'primary'
    order by nodeport`
  await root.end()
  for (const node of [coordinator, ...workers]) {
    const sql = on(node, 'postgres')
    try {
      for (const name of names) {
        await sql.unsafe(`drop database if exists ${name} with (force)`)
        await dropRoles(sql, name)
        await sql.unsafe(`create database ${name}`)
      }
    } finally {
      await sql.end()
    }
  }
  for (const name of names) {
    for (const node of [coordinator, ...workers]) {
      const sql = on(node, name)
      await sql`create extension if not exists citus`
      await sql.end()
    }
    const sql = on(coordinator, name)
    try {
      await sql`select citus_set_coordinator_host(${coordinator.host}, ${coordinator.port})`
      for (const w of workers) await sql`select citus_add_node(${w.host}, ${w.port})`
      await sql.unsafe(`alter database ${name} set citus.enable_schema_based_sharding to on`)
    } finally {
      await sql.end()
    }
  }
}
