// Drains the outbox right away when a request or a job has just queued mail, in this instance. The
// scheduled 'outbox' job (every 10 seconds, one instance per slot) carries the retries and whatever a
// stopped instance left behind; drainOutbox claims rows with SKIP LOCKED, so both may run side by side.
import type { Config } from '../config.ts'
import type { Db } from '../platform/db.ts'
import { drainOutbox } from '../platform/mail.ts'

export class OutboxSender {
  private running: Promise<unknown> | null = null
  private again = false
  private stopped = false

  constructor(
    private db: Db,
    private config: Config,
    private onError: (err: unknown) => void = () => {},
  ) {}

  /** Drain soon; calls while a drain runs fold into one more pass. */
  kick() {
    if (this.stopped) return
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
    this.stopped = true
    await this.running
  }
}
