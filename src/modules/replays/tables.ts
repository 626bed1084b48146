import type { Database } from '../../db/schema.js';

/** The tables this module owns (kept answers of Message-ID and request_id replays): only its own SQL names them (test/unit/ownership.test.ts). */
export const TABLES = ['message_replays'] as const satisfies readonly (keyof Database)[];
