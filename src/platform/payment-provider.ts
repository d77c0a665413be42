// What the payment domain needs from a payment service provider (PSP): start a hosted payment, ask its
// status, and verify the signed notification the provider sends when a payment ends.

export type ProviderStatus = 'pending' | 'succeeded' | 'failed' | 'cancelled' | 'expired'

export interface StartRequest {
  paymentId: number
  idempotencyKey: string
  /** total including commission */
  amountCents: number
  description: string
  payerEmail: string | null
  /** where the citizen comes back, absolute */
  returnUrl: string
  /** absolute URL the provider POSTs the signed notification to */
  notifyUrl: string
  lang: 'it' | 'en'
}

export interface StartResult {
  providerRef: string
  redirectUrl: string
  expiresAt: Date
}

export interface ProviderNotification {
  providerRef: string
  paymentId: number
  status: Exclude<ProviderStatus, 'pending'>
  amountCents: number
  authCode: string | null
  /** brand and last four digits of the card, when the provider reports them */
  cardMask?: string | null
  occurredAt: Date
  /** unique per event, for dedup */
  eventId: string
}

export interface ProviderState {
  status: ProviderStatus
  amountCents: number
  authCode: string | null
  cardMask?: string | null
}

export interface PaymentProvider {
  name: string
  start(req: StartRequest): Promise<StartResult>
  status(providerRef: string): Promise<ProviderState>
  /**
   * Closes a session the payer gave up, if it is still open; answers its state afterwards (a session that was
   * paid meanwhile stays paid and says so). A provider without it leaves the session to expire on its own.
   */
  cancel?(providerRef: string): Promise<ProviderState>
  /** null = forged or malformed */
  verifyNotification(rawBody: string, headers: Record<string, string | undefined>): ProviderNotification | null
}
