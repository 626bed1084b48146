/** A UUID in any case, as a JSON schema `pattern` (schemas and isUuid share it). */
export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
const UUID = new RegExp(UUID_PATTERN);

/**
 * Whether a client's id can name a row keyed by uuid: ids compare
 * case-insensitively (upper-case GUIDs name the same row), and anything else is
 * simply not found, never sent to PostgreSQL as a uuid.
 */
export const isUuid = (value: string): boolean => UUID.test(value);
