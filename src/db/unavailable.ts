/**
 * Whether an error means the database could not serve the request (it is down,
 * restarting, terminated the connection, ran out of resources, or timed out),
 * as opposed to refusing the statement: the request can be retried as it is.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    if (SYSTEM_CODES.has(code)) return true;
    // SQLSTATE classes: 08 connection exception, 53 insufficient resources, 58 system error;
    // 57P01-57P04 shutdown and connection refusals, 57014 a statement cancelled (its timeout),
    // 40001 and 40P01 a transaction chosen to fail so others can go on
    if (/^(08|53|58)...$|^57P0[1-4]$|^57014$|^40001$|^40P01$/.test(code)) return true;
  }
  return typeof message === 'string' && CLIENT_MESSAGES.test(message);
}

const SYSTEM_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/** What pg and pg-pool say when a connection is lost, cannot be had in time, or a query times out. */
const CLIENT_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Client was closed and is not queryable|Cannot use a pool after calling end)/;
