#!/usr/bin/env node
// The least a POS lookup costs on this machine: a bare Fastify + pg handler
// (no credentials, no validation, no offers, no balances) that reads one
// member row by phone with a prepared statement and answers it, run by
// bench/pos.mjs beside the floor's send_transaction and Loyalist's lookup, with
// the same bodies. Loyalist's lookup against it says how much of the lookup's
// cost is the lookup's own work and how much the machine's (HTTP, the driver,
// one round trip).
//
//   DATABASE_URL=postgres://... PORT=18091 MEMBERS=200 node bench/bare-lookup.mjs
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

const require = createRequire(resolve(process.cwd(), 'package.json'));
const Fastify = require('fastify');
const pg = require('pg');

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.POOL ?? 10) });
// the phones of bench/pos.mjs's members: 617 and seven digits
await pool.query(`
  CREATE TABLE IF NOT EXISTS bare_member (phone text PRIMARY KEY, id uuid NOT NULL, first_name text, last_name text, email text, points numeric NOT NULL);
  INSERT INTO bare_member SELECT '617' || lpad(i::text, 7, '0'), gen_random_uuid(), 'First', 'Last', 'member' || i || '@example.com', 100
    FROM generate_series(0, ${Number(process.env.MEMBERS ?? 200) - 1}) AS i ON CONFLICT DO NOTHING;
`);

const app = Fastify({ logger: false });
app.post('/api/2.0/lookup', async (req, reply) => {
  const { rows } = await pool.query({ name: 'lookup', text: 'SELECT id, first_name, last_name, email, phone, points FROM bare_member WHERE phone = $1', values: [String(req.body?.request_payload?.phone ?? '')] });
  const m = rows[0];
  if (!m) return reply.code(404).send({ status: 'error', errors: { code: 'user_not_found' } });
  return { status: 'success', payload: [{ user_reference_id: m.id, first_name: m.first_name, last_name: m.last_name, phone: m.phone, email: m.email, points: m.points, offers: [], accounts: [] }], errors: null };
});
await app.listen({ port: Number(process.env.PORT ?? 18091), host: '127.0.0.1' });
