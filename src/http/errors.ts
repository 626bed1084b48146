import type { FastifyError } from 'fastify';
import { isDatabaseUnavailable } from '../db/unavailable.js';
import { DomainError, ERROR_STATUS, type ErrorCode } from '../errors.js';
import { UUID_PATTERN } from '../lib/ids.js';

export interface ErrorAnswer {
  status: number;
  code: ErrorCode;
  message: string;
  /** A client's mistake that only the database caught: a validation the request's schema lacks. */
  unexpected?: boolean;
  /** Seconds after which to try again (Retry-After of a 429). */
  retryAfter?: number;
}

interface AjvError {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

const answer = (code: ErrorCode, message: string): ErrorAnswer => ({ status: ERROR_STATUS[code], code, message });

/**
 * Turns anything a handler or Fastify throws into one of the closed list of
 * codes. Client mistakes name the field; nothing internal reaches the client.
 */
export function toErrorAnswer(err: unknown): ErrorAnswer {
  if (err instanceof DomainError) {
    const retryAfter = (err as { retryAfter?: unknown }).retryAfter;
    return typeof retryAfter === 'number' ? { ...answer(err.code, err.message), retryAfter } : answer(err.code, err.message);
  }
  const e = err as FastifyError & { validation?: AjvError[]; validationContext?: string };
  if (e.validation?.length) return validationAnswer(e.validation[0], e.validationContext ?? 'body');
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return answer('body_too_large', 'body: larger than the 1 MiB limit');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return answer('missing_data', 'body: a JSON body is required');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return answer('unsupported_media_type', 'Content-Type: send application/json (a program to the admin API may also be application/yaml)');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return answer('invalid_json', 'body: not valid JSON');
  }
  if (e instanceof SyntaxError || e.name === 'SyntaxError') return answer('invalid_json', `body: not valid JSON (${e.message})`);
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return answer('argument_error', e.message);
  if (isDatabaseUnavailable(err)) return answer('service_unavailable', 'the database is unavailable: retry later');
  // SQLSTATE class 22 (data exception): a value PostgreSQL refused that validation should have
  if (typeof e.code === 'string' && /^22...$/.test(e.code)) return { ...answer('argument_error', UNVALIDATED_MESSAGE), unexpected: true };
  return answer('internal_server_error', 'the server failed to process the request');
}

function validationAnswer(error: AjvError, context: string): ErrorAnswer {
  const path = error.instancePath.split('/').filter(Boolean);
  if (error.keyword === 'required') {
    const field = [...path, String(error.params.missingProperty)].join('.');
    return answer('missing_data', `${field}: is required`);
  }
  const field = path.join('.') || context;
  if (error.keyword === 'additionalProperties') return answer('argument_error', `${field}.${String(error.params.additionalProperty)}: is not allowed`);
  if (error.keyword === 'pattern' && error.params.pattern === UUID_PATTERN) return answer('argument_error', `${field}: is not a UUID`);
  return answer('argument_error', `${field}: ${error.message ?? 'is not valid'}`);
}

/** The message of a value only the database refused (the suite checks that no input gets it). */
export const UNVALIDATED_MESSAGE = 'a value in the request is malformed or out of range';
