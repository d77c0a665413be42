// A TCP proxy that can pause: while paused it accepts and connects as usual but passes no byte either way
// (what arrives is held and passed on at resume), as a network or a database that stops answering without
// refusing anything. It also counts round trips: the times a client connection sends after the server last answered
// on it (what a client writes while it waits for nothing is one turn, however many packets carry it).
import { connect, createServer, type Socket } from 'node:net'

export interface PausableProxy {
  port: number
  pause(): void
  resume(): void
  /** client turns on every connection since the last reset (one per round trip the client waited for) */
  turns(): number
  resetTurns(): void
  close(): Promise<void>
}

export async function startPausableProxy(targetHost: string, targetPort: number): Promise<PausableProxy> {
  let paused = false
  let turns = 0
  const flushes = new Set<() => void>()
  const sockets = new Set<Socket>()
  /** passes `from`'s bytes to `to`, holding them while paused */
  const relay = (from: Socket, to: Socket) => {
    const held: Buffer[] = []
    const flush = () => {
      while (held.length && !to.destroyed) to.write(held.shift() as Buffer)
    }
    flushes.add(flush)
    from.on('data', (d: Buffer) => {
      if (paused) held.push(d)
      else to.write(d)
    })
    from.on('close', () => flushes.delete(flush))
  }
  const server = createServer((client) => {
    const upstream = connect(targetPort, targetHost)
    sockets.add(client)
    sockets.add(upstream)
    relay(client, upstream)
    relay(upstream, client)
    // a turn: the client speaks first on the connection, or again after the server has answered
    let serverSpokeLast = true
    client.on('data', () => {
      if (serverSpokeLast) turns++
      serverSpokeLast = false
    })
    upstream.on('data', () => {
      serverSpokeLast = true
    })
    const end = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    for (const s of [client, upstream]) {
      s.on('error', end)
      s.on('close', end)
    }
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    port: (server.address() as { port: number }).port,
    pause() {
      paused = true
    },
    resume() {
      paused = false
      for (const f of flushes) f()
    },
    turns: () => turns,
    resetTurns() {
      turns = 0
    },
    async close() {
      for (const s of sockets) s.destroy()
      await new Promise((r) => server.close(r))
    },
  }
}
