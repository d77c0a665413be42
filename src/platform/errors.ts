// Typed errors thrown by services and mapped to pages in one place (app.onError).
export class HttpError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 422 | 429 | 503,
    readonly messageKey: string,
    message?: string,
  ) {
    super(message ?? messageKey)
  }
}

export class NotFound extends HttpError {
  constructor(message?: string) {
    super(404, 'errors.notFound', message)
  }
}

export class Forbidden extends HttpError {
  constructor(message?: string) {
    super(403, 'errors.forbidden', message)
  }
}

export class Conflict extends HttpError {
  constructor(messageKey = 'errors.conflict', message?: string) {
    super(409, messageKey, message)
  }
}

export class BadRequest extends HttpError {
  constructor(messageKey = 'errors.badRequest', message?: string) {
    super(400, messageKey, message)
  }
}

export class TooManyRequests extends HttpError {
  constructor(messageKey = 'errors.tooMany', message?: string) {
    super(429, messageKey, message)
  }
}
