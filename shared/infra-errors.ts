import { ConnectionError, TimeoutError } from 'sequelize';

/** Whatever was thrown, as the text of a log field. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
]);

function codeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null
    ? (error as { code?: unknown }).code
    : undefined;
}

/** The database could not be reached or dropped the connection (not a bad query). */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof ConnectionError || error instanceof TimeoutError) return true;
  const parent =
    typeof error === 'object' && error !== null
      ? (error as { parent?: unknown }).parent
      : undefined;
  return NETWORK_CODES.has(codeOf(error) as string) || NETWORK_CODES.has(codeOf(parent) as string);
}

/**
 * Redis could not take the command: unreachable (ioredis refuses commands while disconnected,
 * no offline queue), too slow, or full (`OOM command not allowed` under noeviction).
 */
export function isRedisUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    NETWORK_CODES.has(codeOf(error) as string) ||
    error.name === 'MaxRetriesPerRequestError' ||
    /Stream isn't writeable|Connection is closed|Command timed out|enableOfflineQueue|^OOM /.test(
      error.message,
    )
  );
}
