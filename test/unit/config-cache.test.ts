import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigCache } from '../../src/lib/config-cache.js';

/** A cache keeping `value` for retailer 'r', its lifetime just passed. */
async function expired(value: string) {
  const clock = { time: 0 };
  const cache = new ConfigCache<string>(20, () => clock.time);
  await cache.get('r', async () => value);
  clock.time = 30;
  return { cache, clock };
}

describe('ConfigCache', () => {
  it('keeps a finished read for its lifetime', async () => {
    const cache = new ConfigCache<number>(60_000);
    let reads = 0;
    const load = async () => ++reads;
    assert.equal(await cache.get('r', load), 1);
    assert.equal(await cache.get('r', load), 1);
    assert.equal(reads, 1);
  });

  it('never makes a caller wait for another caller\'s unfinished read', async () => {
    const cache = new ConfigCache<string>(60_000);
    // the first read waits for something (a pooled connection) that only the second caller can free
    let free!: () => void;
    const freed = new Promise<void>((resolve) => (free = resolve));
    const first = cache.get('r', () => freed.then(() => 'first'));
    const second = await Promise.race([cache.get('r', async () => 'second'), new Promise((resolve) => setTimeout(() => resolve('waited'), 1000))]);
    assert.equal(second, 'second');
    free();
    assert.equal(await first, 'first');
  });

  it('does not keep a read that started before an invalidation', async () => {
    const cache = new ConfigCache<string>(60_000);
    let finish!: (v: string) => void;
    const stale = cache.get('r', () => new Promise<string>((resolve) => (finish = resolve)));
    cache.invalidate('r');
    finish('before the change');
    await stale;
    assert.equal(await cache.get('r', async () => 'after the change'), 'after the change');
  });

  it('after expiry, one caller reads again while the others get the kept value', async () => {
    const { cache } = await expired('v1');
    let finish!: (v: string) => void;
    let reads = 0;
    const refreshing = cache.get('r', () => {
      reads++;
      return new Promise<string>((resolve) => (finish = resolve));
    });
    const meanwhile = await cache.get('r', async () => {
      reads++;
      return 'v2 read again';
    });
    assert.equal(meanwhile, 'v1');
    assert.equal(reads, 1);
    finish('v2');
    assert.equal(await refreshing, 'v2');
    assert.equal(await cache.get('r', async () => 'v3'), 'v2');
  });

  it('lets the next caller read again when a refresh fails', async () => {
    const { cache } = await expired('v1');
    await assert.rejects(cache.get('r', async () => Promise.reject(new Error('connection lost'))));
    assert.equal(await cache.get('r', async () => 'v2'), 'v2');
  });

  it('after an invalidation never answers with the value kept before it', async () => {
    const { cache } = await expired('before');
    let finish!: (v: string) => void;
    const refresh = cache.get('r', () => new Promise<string>((resolve) => (finish = resolve)));
    cache.invalidate('r');
    assert.equal(await cache.get('r', async () => 'after'), 'after');
    finish('read before the change');
    await refresh;
    assert.equal(await cache.get('r', async () => 'later'), 'after');
  });

  it('lets another caller read again when a refresh has not finished within a lifetime', async () => {
    const { cache, clock } = await expired('v1');
    void cache.get('r', () => new Promise<string>(() => {}));
    assert.equal(await cache.get('r', async () => 'not read'), 'v1');
    clock.time = 60;
    assert.equal(await cache.get('r', async () => 'v2'), 'v2');
    assert.equal(await cache.get('r', async () => 'v3'), 'v2');
  });
});
