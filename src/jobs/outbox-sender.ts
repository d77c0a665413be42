// Drains the outbox every few seconds in this instance, and right away when a request has just queued mail.
import type { Config } from '../config.ts'
import type { Db } from '../platform/db.ts'
import { drainOutbox } from '../platform/mail.ts'

export class OutboxSender {
  private timer: NodeJS.Timeout | null = null
  private running: Promise<unknown> | null = null
  private again = false

  constructor(
    private db: Db,
    private config: Config,
    private onError: (err: unknown) => void = () => {},
  ) {}

  start(everyMs = 5000) {
    this.timer = setInterval(() => this.kick(), everyMs)
    this.timer.unref()
  }

  /** Drain soon; calls while a drain runs fold into one more pass. */
  kick() {
    if (this.running) {
      this.again = true
      return
    }
    this.running = drainOutbox(this.db.sql, this.config)
      .catch(this.onError)
      .finally(() => {
        this.running = null
        if (this.again) {
          this.again = false
          this.kick()
        }
      })
  }

  async stop() {
    if (this.timer) clearInterval(this.timer)
    await this.running
  }
}
