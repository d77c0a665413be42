// Shared start of the command-line tools: configuration, database, platform migrations.
import { ConfigError, loadConfig } from '../config.ts'
import { type Db, openDatabase } from '../platform/db.ts'
import { migratePlatform } from '../platform/migrate.ts'

export async function openForCli(): Promise<{ config: ReturnType<typeof loadConfig>; db: Db }> {
  let config: ReturnType<typeof loadConfig>
  try {
    config = loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message)
      process.exit(78)
    }
    throw err
  }
  const db = await openDatabase(config)
  console.error(`database: ${db.describe}`)
  await migratePlatform(db.admin, db.roles)
  return { config, db }
}
