import { describe, expect, it } from 'vitest';
import { amountInput, dayStart, diffSummary, fieldId, fromYaml, getAt, setAt, simulationWindow, toYaml, type ProgramDoc } from './program-draft';
import { conditionText, duration, expiryText } from './program-view';

const doc = { retailer: { name: 'X' }, rules: [{ id: 'r', name: 'R', trigger: { type: 'event', name: 'e' }, outcomes: [{ type: 'points', point_account_id: 'a', amount: 100 }] }] } as ProgramDoc;

describe('the program draft', () => {
  it('reads and writes by a validation message’s field path, without changing the original', () => {
    expect(getAt(doc, 'rules.0.outcomes.0.amount')).toBe(100);
    const next = setAt(doc, 'rules.0.outcomes.0.amount', 101);
    expect(getAt(next, 'rules.0.outcomes.0.amount')).toBe(101);
    expect(getAt(doc, 'rules.0.outcomes.0.amount')).toBe(100);
    expect(getAt(setAt(doc, 'retailer.time_zone', 'UTC'), 'retailer.time_zone')).toBe('UTC');
    expect('time_zone' in setAt(setAt(doc, 'retailer.time_zone', 'UTC'), 'retailer.time_zone', undefined).retailer!).toBe(false);
    expect(fieldId('rules.2.outcomes.0.amount')).toBe('program-field-rules-2-outcomes-0-amount');
  });

  it('keeps what is typed for the server to judge; whole numbers as numbers', () => {
    expect(amountInput('101')).toBe(101);
    expect(amountInput('-5')).toBe(-5);
    expect(amountInput('12.50')).toBe('12.50');
    expect(amountInput('abc')).toBe('abc');
    expect(amountInput(' ')).toBeUndefined();
  });

  it('round-trips YAML and says why a text is not a program', () => {
    const back = fromYaml(toYaml(doc));
    expect('doc' in back && back.doc).toEqual(doc);
    expect(fromYaml('rules: [')).toHaveProperty('error');
    expect(fromYaml('- a list')).toEqual({ error: expect.stringMatching(/mapping/) });
  });

  it('turns the chosen days into instants in the retailer’s zone', () => {
    expect(dayStart('2026-07-01', 'America/New_York').toISOString()).toBe('2026-07-01T04:00:00.000Z');
    expect(dayStart('2026-01-01', 'UTC').toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(simulationWindow('2026-03-01', '2026-03-31', 'Europe/Paris')).toEqual({ from: '2026-02-28T23:00:00.000Z', to: '2026-03-31T22:00:00.000Z' });
    expect(simulationWindow('2026-03-02', '2026-03-01', 'UTC')).toEqual({ error: expect.any(String), field: 'to' });
  });

  it('summarises a diff per section and writes policies and conditions readably', () => {
    const diff = { changes: 2, sections: { rules: { created: [], changed: [{ key: 'r', name: 'R', fields: [] }], retired: [{ key: 'q', name: null }] }, stores: { created: [], changed: [], retired: [] } } };
    expect(diffSummary(diff)).toEqual(['Rules: 1 changed (R), 1 removed (q)']);
    expect(duration('P12M')).toBe('12 months');
    expect(expiryText({ policy: 'fixed_date', month: 12, day: 31 })).toBe('Expire every December 31');
    expect(conditionText({ all: [{ fact: 'context.total', op: 'gte', value: 50 }, { fact: 'tags.vip', op: 'exists' }] })).toBe('context.total ≥ 50 and tags.vip exists');
  });
});
