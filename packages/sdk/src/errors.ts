/** The error envelope's `error` object (docs/api.md §3.2). */
export interface ErrorBody {
  readonly code: string;
  readonly key: string;
  readonly description: string;
  readonly developerMessages?: Readonly<Record<string, string>>;
  readonly clientMessages?: Readonly<Record<string, string>>;
}

/** An answer of relevo in the error envelope: match on `code`, never on the text. */
export class RelevoApiError extends Error {
  override readonly name = 'RelevoApiError';
  /** The HTTP status. */
  readonly status: number;
  /** The error code of docs/errors.md, e.g. `conversation_not_found`. */
  readonly code: string;
  readonly key: string;
  readonly description: string;
  /** Field path → problems, empty unless the request was invalid. */
  readonly validationError: Readonly<Record<string, readonly string[]>>;
  readonly developerMessages: Readonly<Record<string, string>>;
  readonly clientMessages: Readonly<Record<string, string>>;
  /** The `x-request-id` of the answer: name it when reporting a 500. */
  readonly requestId: string | null;

  constructor(
    status: number,
    error: ErrorBody,
    validationError: Record<string, readonly string[]>,
    requestId: string | null,
  ) {
    super(`${status} ${error.code}: ${error.description}`);
    this.status = status;
    this.code = error.code;
    this.key = error.key;
    this.description = error.description;
    this.validationError = validationError;
    this.developerMessages = error.developerMessages ?? {};
    this.clientMessages = error.clientMessages ?? {};
    this.requestId = requestId;
  }
}

/** No answer came: the connection failed, or the answer was not relevo's JSON. */
export class RelevoConnectionError extends Error {
  override readonly name: string = 'RelevoConnectionError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** No answer came within the timeout. */
export class RelevoTimeoutError extends RelevoConnectionError {
  override readonly name: string = 'RelevoTimeoutError';
}
