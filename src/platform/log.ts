// The process's logger: JSON lines (pino). `destination` lets a test read what was logged.
import pino, { type DestinationStream } from 'pino'

export { redactPath, redactUrl } from './redact.ts'

export function createLogger(level: string, destination?: DestinationStream) {
  const options = { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }
  return destination ? pino(options, destination) : pino(options)
}
