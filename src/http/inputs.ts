// The request pieces the surfaces' schemas share, with one coercion rule.
import { Type } from '@sinclair/typebox';

export const Opt = Type.Optional;

/** An id as clients send it: a UUID, an external id or a number as text. */
export const Id = Type.String({ minLength: 1, maxLength: 64 });

/**
 * An amount as a JSON number or a decimal string, parsed exactly (parseAmount),
 * never through a float. String first: type coercion then reads a number as its
 * decimal text and refuses a boolean (`true` would otherwise be coerced to 1).
 */
export const AmountInput = Type.Union([Type.String({ maxLength: 40 }), Type.Number()]);
