// npm run pagopa:platform -- [--port 3900] [--strict]
// pagoPA's REST services and IO's, simulated for the local demo (src/features/pagopa/platform-sim): the central
// archive (GPD for ACA), the reporting flows (FdR) and IO's services API, every request and answer checked against
// the published interfaces (problems printed as they happen). By default it is open, as a demo needs: any key is
// accepted and every citizen is on IO with every service enabled (--strict: keys as configured, nobody on IO).
// Point the body's connection at it on /t/<slug>/ufficio/pagopa/collegamento (addresses printed below);
// GET /_sim shows what it holds; POST /_sim/flows publishes a reporting flow (npm run pagopa:sim does it for you).
import { parseArgs } from 'node:util'
import { serve } from '@hono/node-server'
import { BASE_PATHS, platformSimulator } from '../features/pagopa/platform-sim/server.ts'

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '3900' },
    host: { type: 'string', default: '127.0.0.1' },
    strict: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
})
if (values.help) {
  console.log('usage: npm run pagopa:platform -- [--port 3900] [--host 127.0.0.1] [--strict]')
  process.exit(0)
}
const port = Number(values.port)
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error('--port is a port number')
  process.exit(64)
}

const sim = platformSimulator()
sim.state.open = !values.strict
let seen = 0
const server = serve({ fetch: sim.app.fetch, hostname: values.host, port }, () => {
  const base = `http://${values.host === '0.0.0.0' ? 'localhost' : values.host}:${port}`
  console.log(`pagoPA and IO simulated at ${base} (${sim.state.open ? 'open: any key' : 'strict keys'})`)
  console.log(`  archive (ACA):  ${base}${BASE_PATHS.aca}`)
  console.log(`  flows (FdR):    ${base}${BASE_PATHS.fdr}`)
  console.log(`  IO:             ${base}${BASE_PATHS.io}`)
  console.log(`  what it holds:  ${base}/_sim`)
})
// every call, and anything a call did wrong against the published interfaces, as it happens
setInterval(() => {
  for (const call of sim.state.calls.slice(seen))
    console.log(`${call.status} ${call.service} ${call.operationId ?? call.path}`)
  seen = sim.state.calls.length
  for (const p of sim.state.problems.splice(0))
    console.error(`NOT AS PUBLISHED (${p.service} ${p.operationId} ${p.direction}) ${p.where}: ${p.message}`)
}, 500).unref()
const stop = () => server.close(() => process.exit(0))
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
