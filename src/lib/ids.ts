const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Whether a client's id can name a row keyed by uuid: ids compare
 * case-insensitively (upper-case GUIDs name the same row), and anything else is
 * simply not found, never sent to PostgreSQL as a uuid.
 */
export const isUuid = (value: string): boolean => UUID.test(value);
