// Per-key rate limit: X-RateLimit-Limit / -Remaining / -Reset on keyed answers, the request after
// the limit gets 429 with Retry-After, and the limit holds across two tgxd instances.  Windows are
// fixed minutes: each test starts right after a window boundary when the current window has less
// than 10 s left (a wait for a clean start, not an assertion on time).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BASE2, assertError, eventually, lit, newOwner, req, sqlVal } from './lib/api.mjs';

async function freshWindow() {
  const left = 60 - (Math.floor(Date.now() / 1000) % 60);
  if (left < 10) await new Promise((r) => setTimeout(r, left * 1000 + 300));
}

describe('rate limit', () => {
  test('limit 5: five answers count down X-RateLimit-Remaining, the 6th is 429 with Retry-After', async () => {
    const o = newOwner('rl-five', { rateLimit: 5 });
    await freshWindow();
    const path = `/api/users/${o.address}`;
    let reset;
    for (let i = 1; i <= 5; i++) {
      const r = await req('GET', path, { key: o.key });
      assert.equal(r.status, 404, `request ${i}: ${r.status} ${r.text}`); // no such user yet: the key passed
      assert.equal(r.headers.get('x-ratelimit-limit'), '5', `request ${i}`);
      assert.equal(r.headers.get('x-ratelimit-remaining'), String(5 - i), `request ${i}`);
      const rs = Number(r.headers.get('x-ratelimit-reset'));
      assert.ok(Number.isInteger(rs) && rs > Date.now() / 1000 - 1 && rs <= Date.now() / 1000 + 61, `X-RateLimit-Reset ${rs}`);
      if (reset !== undefined) assert.equal(rs, reset, 'one window');
      reset = rs;
    }
    const r = await req('GET', path, { key: o.key });
    assertError(r, 429);
    const ra = Number(r.headers.get('retry-after'));
    assert.ok(Number.isInteger(ra) && ra >= 1 && ra <= 60, `Retry-After ${r.headers.get('retry-after')}`);
    assert.equal(r.headers.get('x-ratelimit-remaining'), '0');
    assert.equal(r.headers.get('x-ratelimit-limit'), '5');
    // refused requests are not served: a write is refused too and changes nothing
    const w = await req('POST', '/api/users/email', { key: o.key, body: { user_address: o.address, email_id: 'a@b.c' } });
    assertError(w, 429);
  });

  test('the limit is per key: another key of the same owner is not limited by the first', async () => {
    const o = newOwner('rl-per-key', { rateLimit: 2 });
    await freshWindow();
    for (let i = 0; i < 2; i++) assert.equal((await req('GET', '/api/jobs/by-apikey', { key: o.key })).status, 200);
    assertError(await req('GET', '/api/jobs/by-apikey', { key: o.key }), 429);
    const other = newOwner('rl-per-key-2', { rateLimit: 2 });
    assert.equal((await req('GET', '/api/jobs/by-apikey', { key: other.key })).status, 200);
  });

  test('open routes carry no rate limit headers and are not limited', async () => {
    const r = await req('GET', '/api/health');
    assert.equal(r.headers.get('x-ratelimit-limit'), null);
  });

  test('across instances: 5 hits on instance 1, then instance 2 refuses once the counts were synced', { skip: BASE2 ? false : 'no second instance (TGX_API_URL2)' }, async () => {
    const o = newOwner('rl-cluster', { rateLimit: 5 });
    await freshWindow();
    for (let i = 0; i < 5; i++) assert.equal((await req('GET', '/api/jobs/by-apikey', { key: o.key })).status, 200);
    // instance 1 publishes its counts to tgx.rate_limit_counters every ~250 ms; wait until it did
    const keyId = sqlVal(`SELECT key_id FROM tgx.api_keys WHERE owner = ${lit(o.address)}`);
    const synced = await eventually(() => Number(sqlVal(`SELECT coalesce(sum(hits), 0) FROM tgx.rate_limit_counters
        WHERE key_id = ${keyId} AND window_start = date_trunc('minute', now())`)) >= 5, 5000);
    assert.ok(synced, 'instance 1 synced its counts');
    // instance 2 reads the cluster totals on its own sync (same period): give it four periods
    await new Promise((r) => setTimeout(r, 1000));
    const r = await req('GET', '/api/jobs/by-apikey', { key: o.key, base: BASE2 });
    assertError(r, 429);
  });
});
