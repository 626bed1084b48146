/**
 * Simulations as records: what was asked, how far the run has got, and its
 * report. A run that stops beating (its server ended) is answered failed.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../../db/index.js';

/** A run that has not moved for this long is not running any more (its server stopped). */
const STALE_MS = 60_000;

export interface SimulationRecord {
  id: string;
  status: 'running' | 'done' | 'failed';
  percent_done: number;
  request: Record<string, unknown>;
  result: Record<string, unknown> | null;
  error: string | null;
  created_at: string;
  finished_at: string | null;
}

export async function createSimulation(db: Db, retailerId: string, request: Record<string, unknown>): Promise<string> {
  const id = randomUUID();
  await db.insertInto('simulations').values({ retailer_id: retailerId, id, request: JSON.stringify(request) }).execute();
  return id;
}

export async function recordProgress(db: Db, retailerId: string, id: string, progress: number): Promise<void> {
  await db.updateTable('simulations').set({ progress: progress.toFixed(4), heartbeat_at: sql`now()` }).where('retailer_id', '=', retailerId).where('id', '=', id).execute();
}

export async function finishSimulation(db: Db, retailerId: string, id: string, outcome: { result: Record<string, unknown> } | { error: string }): Promise<void> {
  await db
    .updateTable('simulations')
    .set('result' in outcome ? { status: 'done', progress: '1', result: JSON.stringify(outcome.result), finished_at: sql`now()` } : { status: 'failed', error: outcome.error, finished_at: sql`now()` })
    .where('retailer_id', '=', retailerId)
    .where('id', '=', id)
    .execute();
}

export async function findSimulation(db: Db, retailerId: string, id: string): Promise<SimulationRecord | undefined> {
  const row = await db.selectFrom('simulations').selectAll().where('retailer_id', '=', retailerId).where('id', '=', id).executeTakeFirst();
  if (!row) return undefined;
  const stale = row.status === 'running' && Date.now() - new Date(row.heartbeat_at).getTime() > STALE_MS;
  return {
    id: row.id,
    status: stale ? 'failed' : (row.status as SimulationRecord['status']),
    percent_done: Math.floor(Number(row.progress) * 1000) / 10,
    request: row.request,
    result: row.result,
    error: stale ? 'interrupted: the server running it stopped' : row.error,
    created_at: new Date(row.created_at).toISOString(),
    finished_at: row.finished_at ? new Date(row.finished_at).toISOString() : null,
  };
}
