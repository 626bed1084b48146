/**
 * The closed list of error codes every surface answers with, and the HTTP
 * status each maps to. Domain code throws `DomainError`; the surfaces render it
 * in their own envelope.
 */
export const ERROR_STATUS = {
  // credentials
  access_denied: 401,
  invalid_api_key: 401,
  forbidden: 403,
  csrf_refused: 403,
  too_many_attempts: 429,
  // bad input
  invalid_json: 400,
  body_too_large: 400,
  unsupported_media_type: 415,
  missing_data: 400,
  argument_error: 400,
  validation: 422,
  // lookups
  not_found: 404,
  user_not_found: 404,
  not_available: 404,
  // points and tiers
  insufficient_points: 422,
  point_account_not_found: 404,
  point_account_inactive: 422,
  point_source_not_found: 404,
  point_source_not_allowed: 422,
  maximum_balance_exceeded: 422,
  // offers and reward stores
  offer_not_found: 404,
  user_offer_not_found: 404,
  reward_store_not_found: 404,
  store_offer_not_found: 404,
  store_not_found: 404,
  offer_not_available: 422,
  inventory_exhausted: 422,
  purchase_limit_reached: 422,
  member_not_eligible: 422,
  offer_not_redeemable: 422,
  offer_expired: 422,
  offer_not_yet_valid: 422,
  offer_revoked: 422,
  store_not_allowed: 422,
  already_redeemed: 409,
  offer_locked: 409,
  offer_not_locked: 409,
  offer_not_redeemed: 409,
  // privacy and merge
  privacy_request_not_found: 404,
  privacy_request_not_cancellable: 409,
  merge_not_found: 404,
  merge_into_self: 422,
  member_merged: 422,
  member_forgotten: 422,
  already_merged: 409,
  // conflicts
  idempotency_conflict: 409,
  duplicate_email: 409,
  duplicate_external_id: 409,
  multiple_matches: 409,
  message_id_conflict: 409,
  request_in_progress: 409,
  last_owner: 409,
  // server
  internal_server_error: 500,
  service_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** The request field the error is about, when there is one. */
    readonly field?: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export const notFound = (what: string) => new DomainError('not_found', `${what} not found`);
export const memberNotFound = () => new DomainError('user_not_found', 'user not found');
