import type { Database } from '../../db/schema.js';

/** The tables this module owns (operators, their roles, sessions, tokens, invitations and failed sign-ins): only its own SQL names them (test/unit/ownership.test.ts). */
export const TABLES = ['operators', 'operator_roles', 'operator_sessions', 'operator_tokens', 'operator_invitations', 'login_failures'] as const satisfies readonly (keyof Database)[];
