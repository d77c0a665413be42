// Bounded waits when the database stalls: nothing refused, nothing answered (a paused network, a frozen
// server). postgres.js has no client-side statement deadline, so without this every request would wait as long
// as the stall lasts. A probe on a connection of its own (not the pool: a pool busy with slow but healthy work
// must not look like a stall) decides; while the database is stalled, requests that reach it answer the 503
// page at once, and those already waiting get it as soon as the stall is found. Recovery is found by the same
// probe, every half second; a stall that lasts renews the pools (decision 0089).

/** An error isDatabaseUnavailable recognises: the request is answered with the 503 page. */
export function stalledError(): Error {
  return Object.assign(new Error('the database does not answer'), { code: 'CONNECT_TIMEOUT' })
}

export interface WatchOptions {
  /** a statement on a connection of its own, e.g. `select 1` */
  probe: () => Promise<unknown>
  /** a probe not answered within this is a stall (ms) */
  probeTimeoutMs?: number
  /** a request still waiting after this has the database probed (ms) */
  suspectAfterMs?: number
  /** how often a stalled database is probed again (ms) */
  retryMs?: number
  /** after a stall of this long, `onLongStall` runs once (the pools are renewed) (ms) */
  longStallMs?: number
  onLongStall?: () => void
  onChange?: (stalled: boolean) => void
}

export class DatabaseWatch {
  private stalledAt: number | null = null
  private probing: Promise<boolean> | null = null
  private lastOk = 0
  private retryTimer: NodeJS.Timeout | null = null
  private longStallDone = false
  private closed = false
  /** the requests waiting now, each told at once when a stall is found (a Set, not a long-lived promise that every
   * request would race: that keeps a reaction per request alive until the stall, which may never come) */
  private readonly waiting = new Set<(err: Error) => void>()
  readonly probeTimeoutMs: number
  readonly suspectAfterMs: number
  private readonly retryMs: number
  private readonly longStallMs: number

  constructor(private readonly opts: WatchOptions) {
    this.probeTimeoutMs = opts.probeTimeoutMs ?? 500
    this.suspectAfterMs = opts.suspectAfterMs ?? 1000
    this.retryMs = opts.retryMs ?? 500
    this.longStallMs = opts.longStallMs ?? 10_000
  }

  /** requests waiting now (what a finished request leaves behind: nothing) */
  get waitingCount(): number {
    return this.waiting.size
  }

  get stalled(): boolean {
    return this.stalledAt !== null
  }

  /** Probes now (one probe at a time): true when the database answered within the probe timeout. */
  check(): Promise<boolean> {
    if (this.closed) return Promise.resolve(true)
    if (this.probing) return this.probing
    this.probing = (async () => {
      let timer: NodeJS.Timeout | undefined
      const ok = await Promise.race([
        this.opts.probe().then(
          () => true,
          () => false,
        ),
        new Promise<boolean>((r) => {
          timer = setTimeout(() => r(false), this.probeTimeoutMs)
        }),
      ])
      clearTimeout(timer)
      this.probing = null
      if (ok) this.recovered()
      else this.stall()
      return ok
    })()
    return this.probing
  }

  private stall() {
    if (this.stalledAt === null) {
      this.stalledAt = Date.now()
      this.longStallDone = false
      const waiting = [...this.waiting]
      this.waiting.clear()
      for (const tell of waiting) tell(stalledError())
      this.opts.onChange?.(true)
    } else if (!this.longStallDone && Date.now() - this.stalledAt >= this.longStallMs) {
      this.longStallDone = true
      this.opts.onLongStall?.()
    }
    if (!this.retryTimer && !this.closed) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null
        void this.check()
      }, this.retryMs)
      this.retryTimer.unref()
    }
  }

  private recovered() {
    this.lastOk = Date.now()
    if (this.stalledAt === null) return
    this.stalledAt = null
    this.opts.onChange?.(false)
  }

  /**
   * Runs `work` (a request's database work) unless the database is known to be stalled; if it is still waiting
   * after suspectAfterMs, the database is probed, and a stall found meanwhile ends the wait with stalledError.
   * The work itself goes on in the background (what it commits, it commits) and its outcome is dropped.
   */
  guard<T>(work: () => Promise<T>): Promise<T> {
    if (this.stalled) return Promise.reject(stalledError())
    const running = work()
    return new Promise<T>((resolve, reject) => {
      const tell = (err: Error) => {
        // answered by the stall: whatever the work does later is nobody's to hear
        running.catch(() => {})
        reject(err)
      }
      this.waiting.add(tell)
      const timer = setTimeout(() => {
        // a probe that answered a moment ago says enough
        if (Date.now() - this.lastOk > this.suspectAfterMs) void this.check()
      }, this.suspectAfterMs)
      timer.unref()
      running.then(resolve, reject).finally(() => {
        this.waiting.delete(tell)
        clearTimeout(timer)
      })
    })
  }

  close() {
    this.closed = true
    if (this.retryTimer) clearTimeout(this.retryTimer)
    this.retryTimer = null
  }
}
