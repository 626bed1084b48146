// The admin API, typed from the OpenAPI document (clients/typescript/src/schema.ts, generated):
// the console calls nothing else. The session cookie goes along by itself; every write also
// sends the session's CSRF token, which sign-in and GET /admin/me answer.
import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from '../../clients/typescript/src/schema';

export type Schemas = components['schemas'];

let csrfToken: string | null = null;
export const setCsrfToken = (token: string | null) => {
  csrfToken = token;
};

const csrf: Middleware = {
  onRequest({ request }) {
    if (request.method !== 'GET' && csrfToken) request.headers.set('x-csrf-token', csrfToken);
    return request;
  },
};

export const api = createClient<paths>({ baseUrl: window.location.origin, credentials: 'same-origin' });
api.use(csrf);

/** An answer of the API's error envelope: its stable code, its message, and the field the message names first. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
  /** The field a validation message starts with (`point_accounts.1.maximum_balance: …`), if any. */
  get field(): string | undefined {
    return fieldOf(this.message);
  }
}

export function fieldOf(message: string): string | undefined {
  const match = /^([A-Za-z_][\w.[\]]*)\s*:/.exec(message);
  return match?.[1];
}

/** The answer's data, or an ApiError thrown with the envelope's code and message. */
export async function ok<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (response.ok) return data as T;
  const errors = (error as { errors?: { code?: string; message?: string } } | undefined)?.errors;
  const message = errors?.message ?? `${response.status} ${response.statusText}`;
  if (response.status === 401) window.dispatchEvent(new Event('loyalist:signed-out'));
  throw new ApiError(response.status, errors?.code ?? 'http_error', message);
}
