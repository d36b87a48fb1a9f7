/**
 * The console's only way to the server: relevo's own HTTP API, same origin, with the session's
 * credential. Three kinds of failure matter to the screens, and each has its own class:
 * the server is not reachable (NetworkError: the layout shows a banner with a retry), the
 * credential is refused (Unauthorized: back to the sign-in form), and everything else the API
 * answers in its error envelope (ApiFailure, with the envelope's description).
 */
import { authHeaders, type Session } from './session';

/** The management API's prefix (docs/api.md §1); the admin API lives under /admin/v1. */
export const API = '/v1';
export const ADMIN = '/admin/v1';

export class NetworkError extends Error {
  override readonly name = 'NetworkError';
}

export class Unauthorized extends Error {
  override readonly name = 'Unauthorized';
}

export class ApiFailure extends Error {
  override readonly name = 'ApiFailure';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The envelope's validationError: each invalid field with its messages. */
    readonly validation: Record<string, string[]> = {},
  ) {
    super(message);
  }
}

/** Told about every request's outcome: the layout's "not reachable" banner and the 401 sign-out. */
export interface ApiEvents {
  reachable(): void;
  unreachable(): void;
  unauthorized(): void;
}

interface ErrorEnvelope {
  readonly error?: { readonly code?: string; readonly description?: string };
  readonly validationError?: Record<string, string[]>;
}

const quiet: ApiEvents = { reachable() {}, unreachable() {}, unauthorized() {} };

export class ApiClient {
  constructor(
    readonly session: Session,
    private readonly events: ApiEvents = quiet,
  ) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json', ...authHeaders(this.session) };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? null : JSON.stringify(body),
        credentials: 'omit',
        cache: 'no-store',
      });
    } catch {
      this.events.unreachable();
      throw new NetworkError('relevo is not reachable');
    }
    this.events.reachable();
    const text = await response.text();
    const parsed: unknown = text === '' ? undefined : safeJson(text);
    if (response.ok) return parsed as T;
    const error = (parsed as ErrorEnvelope | undefined)?.error;
    const description = error?.description ?? `The server answered ${response.status}.`;
    if (response.status === 401) {
      this.events.unauthorized();
      throw new Unauthorized(description);
    }
    const validation = (parsed as ErrorEnvelope | undefined)?.validationError ?? {};
    throw new ApiFailure(response.status, error?.code ?? 'unknown', description, validation);
  }

  /** Says that a request outside this client (the event stream) was refused with 401. */
  refused(): void {
    this.events.unauthorized();
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, body);
  }

  put<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, body);
  }

  delete<T>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A path segment or query value, encoded. */
export const enc = encodeURIComponent;

/** What a person reads for an error: the envelope's description, or what went wrong. */
export function describeError(e: unknown): string {
  if (e instanceof NetworkError) return 'relevo is not reachable. Check that the server is running.';
  if (e instanceof Error) return e.message;
  return 'Something went wrong.';
}

// The API's shapes the console reads (docs/admin.md, docs/api.md).

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}

export interface ProjectSummary {
  readonly id: string;
  readonly name: string;
  readonly createdAt: string;
}

export interface Credential {
  readonly id: string;
  readonly clientId: string;
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

export interface Project extends ProjectSummary {
  readonly credentials: Credential[];
}

export interface ProjectCreated {
  readonly id: string;
  readonly name: string;
  readonly apiKey: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly credentialId: string;
}

export interface CredentialCreated {
  readonly id: string;
  readonly apiKey: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

/** The management API's success envelope (docs/api.md §3). */
export interface Envelope<T> {
  readonly data: T;
}

/** A project at a glance (docs/api.md §5.10). */
export interface MinuteCount {
  readonly minute: string;
  readonly delivered: number;
  readonly failed: number;
}

export interface ProjectOverview {
  readonly activeConversations: number;
  readonly eventsWaiting: number;
  readonly deadLetters: number;
  readonly lastHour: {
    readonly from: string;
    readonly to: string;
    readonly delivered: number;
    readonly failed: number;
    readonly successRate: number | null;
    readonly perMinute: readonly MinuteCount[];
  };
}

/** A conversation (docs/api.md §4.8). */
export interface Conversation {
  readonly _id: string;
  readonly roomId: string;
  readonly state: 'active' | 'closed';
  readonly startAt: string;
  readonly endAt?: string;
  readonly endedReason?: string;
  readonly User: { readonly id: string; readonly names: string; readonly referenceId: string | null };
  readonly Bot: { readonly id: string; readonly name: string };
  readonly assignment?: { readonly type: string; readonly target: string };
  readonly metadata?: Record<string, unknown>;
}

/** A message of a transcript (docs/api.md §5.4). */
export interface TranscriptMessage {
  readonly id: string;
  readonly sender: 'user' | 'operator' | 'bot';
  readonly type: string;
  readonly content: Record<string, unknown>;
  readonly createdAt: string;
}

/** The 422 envelope's field → messages map, when the API sent one. */
export function fieldErrors(e: unknown): Record<string, string[]> {
  return e instanceof ApiFailure ? e.validation : {};
}

/** The delivery log (docs/api.md §5.5). */
export type DeliveryStatus = 'pending' | 'delivered' | 'failed' | 'cancelled' | 'skipped';

export interface DeliverySummary {
  readonly id: string;
  readonly eventType: string;
  readonly conversationId: string | null;
  readonly roomId: string;
  readonly status: DeliveryStatus;
  readonly attemptCount: number;
  readonly nextAttemptAt: string | null;
  readonly deliveredAt: string | null;
  readonly createdAt: string;
  readonly lastError: string | null;
}

export interface DeliveryAttempt {
  readonly id: string;
  readonly attemptNumber: number;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly url: string;
  readonly statusCode: number | null;
  readonly responseBody: string | null;
  readonly error: string | null;
  readonly outcome: 'delivered' | 'failed' | 'gone' | 'abandoned';
}

export interface DeliveryDetail extends DeliverySummary {
  readonly payload: unknown;
  readonly attempts: readonly DeliveryAttempt[];
}

/** The project's integration (docs/api.md §4.2). */
export interface Integration {
  readonly id: string;
  readonly webhookUrl: string;
  readonly authType: 'no_auth' | 'bearer' | 'api_key' | 'basic';
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly disabled: boolean;
  readonly disabledAt: string | null;
  readonly disabledReason: string | null;
}
