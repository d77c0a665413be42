/** Everything production asks for, so that only the mode differs from the suite's own configuration (testApp). */
export const PRODUCTION = {
  NODE_ENV: '',
  PSP_SANDBOX: '',
  DEV_MAIL: '',
  DATABASE_URL: 'postgres://sportello@db.internal/sportello',
  SESSION_SECRET: 'Qm9xW2v8Lr4tYz1pK7nS3dF6hJ0cX5aE9gU',
  SECRETS_KEY: 'Zr5uW1nB8qTe3Lk0Vy7Hm2Ps9Dc4Fg6Ja',
  BASE_URL: 'https://pagamenti.example.it',
  SMTP_URL: 'smtps://sportello:pw@smtp.example.it',
  PAYMENT_PROVIDER: 'pagopa-checkout',
  PAGOPA_CHECKOUT_URL: 'https://api.platform.pagopa.it/checkout/ec/v2',
  PAGOPA_CHECKOUT_KEY: '8f2c0d9e7b6a41f3a5c2e1d0b9f87a6c',
  PAGOPA_NODE_KEY: '3b7e9d1f0a2c4e6b8d0f1a3c5e7b9d2f',
}
