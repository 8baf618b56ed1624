/**
 * The one error catalog. Every error a client can see has a stable `code` from the contract
 * and the HTTP status it maps to; the API's error handler is the only place that turns these
 * into responses.
 */
export const errorCatalog = {
  VALIDATION_FAILED: { status: 400, title: 'Validation failed' },
  INVALID_JSON: { status: 400, title: 'Request body is not valid JSON' },
  IDEMPOTENCY_KEY_REQUIRED: { status: 400, title: 'A valid Idempotency-Key header is required' },
  UNAUTHENTICATED: { status: 401, title: 'Authentication required' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  PRODUCT_NOT_FOUND: { status: 404, title: 'Product not found' },
  ORDER_NOT_FOUND: { status: 404, title: 'Order not found' },
  CHARGE_NOT_FOUND: { status: 404, title: 'Charge not found' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Request body too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Request body must be application/json' },
  ORDER_NOT_CANCELLABLE: { status: 409, title: 'The order can no longer be cancelled' },
  IDEMPOTENCY_KEY_REUSED: {
    status: 422,
    title: 'Idempotency-Key was already used with a different request body',
  },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  INTERNAL: { status: 500, title: 'Internal server error' },
  OVERLOADED: { status: 503, title: 'Service overloaded' },
  SERVICE_UNAVAILABLE: { status: 503, title: 'Service unavailable' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof errorCatalog;

/** One field-level problem, as reported in a problem+json `errors[]`. */
export interface FieldError {
  path: string;
  message: string;
}

export interface AppErrorOptions {
  detail?: string;
  errors?: FieldError[];
  /** Seconds a client should wait before retrying (sets `Retry-After`). */
  retryAfterSeconds?: number;
  /** Extra response headers, e.g. `WWW-Authenticate`. */
  headers?: Record<string, string>;
  cause?: unknown;
}

/**
 * Base class of every error with a meaning for clients. Throw it (or return it) from
 * use-cases and middleware; anything else that reaches the error handler is an internal error.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly httpStatus: number;
  readonly title: string;
  readonly detail: string | undefined;
  readonly errors: FieldError[] | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, options: AppErrorOptions = {}) {
    const entry = errorCatalog[code];
    super(options.detail ?? entry.title, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.httpStatus = entry.status;
    this.title = entry.title;
    this.detail = options.detail;
    this.errors = options.errors;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.headers = options.headers ?? {};
  }
}

/** A dependency (database, Redis) is unreachable: 503 with Retry-After. */
export function serviceUnavailable(detail: string, cause?: unknown): AppError {
  return new AppError('SERVICE_UNAVAILABLE', { detail, retryAfterSeconds: 1, cause });
}
