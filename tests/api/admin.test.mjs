// Admin API keys: POST /api/admin/api-keys, PUT/DELETE /api/admin/api-keys/:key,
// GET /api/admin/api-keys/:owner -- admin only (403 ADMIN_REQUIRED for user keys), keys stored as
// SHA-256 and shown once, masked in listings, the update working (camelCase body, only the fields sent).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  ADMIN_KEY, addr, assertDbUnchanged, assertError, assertShape, dbSnapshot, eventually, lit, newKey, newOwner, req,
  sqlVal,
} from './lib/api.mjs';

const user = newOwner('admin-user');
const KEY_RE = /^TGRX-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const sha = (k) => createHash('sha256').update(k).digest('hex');

function masked(key) {
  return new RegExp(`^TGRX\\*+${key.slice(-4)}$`);
}

describe('tgxd keys create', () => {
  test('the key is stored as its SHA-256 only, with a masked hint', () => {
    const owner = addr('cli-key');
    const key = newKey(owner, { rateLimit: 77 });
    assert.equal(sqlVal(`SELECT encode(key_hash, 'hex') FROM tgx.api_keys WHERE owner = ${lit(owner)}`), sha(key));
    assert.match(sqlVal(`SELECT key_hint FROM tgx.api_keys WHERE owner = ${lit(owner)}`), masked(key));
    assert.equal(sqlVal(`SELECT rate_limit || ' ' || is_admin FROM tgx.api_keys WHERE owner = ${lit(owner)}`), '77 false');
    assert.equal(sqlVal(`SELECT count(*) FROM tgx.api_keys k WHERE k::text LIKE ${lit('%' + key.slice(5) + '%')}`), '0',
      'the key itself is nowhere in the row');
  });
});

describe('admin only', () => {
  for (const [method, path, body] of [
    ['POST', '/api/admin/api-keys', { owner: '0x0000000000000000000000000000000000000abc', rate_limit: 10 }],
    ['PUT', '/api/admin/api-keys/TGRX-00000000-0000-4000-8000-000000000000', { isActive: false }],
    ['DELETE', '/api/admin/api-keys/TGRX-00000000-0000-4000-8000-000000000000', undefined],
    ['GET', '/api/admin/api-keys/0x0000000000000000000000000000000000000abc', undefined],
  ]) {
    test(`${method} ${path.replace(/TGRX-[0-9a-f-]+|0x[0-9a-f]+/, ':x')}: user key 403 ADMIN_REQUIRED, no key 401, nothing changes`, async () => {
      const snap = dbSnapshot();
      assertError(await req(method, path, { key: user.key, body }), 403, 'ADMIN_REQUIRED');
      assertError(await req(method, path, { body }), 401, 'API_KEY_REQUIRED');
      assertDbUnchanged(snap, `${method} ${path} refused`);
    });
  }
});

describe('POST /api/admin/api-keys', () => {
  test('201 with the key shown once; it works; stored hashed', async () => {
    const owner = addr('admin-created');
    const r = await req('POST', '/api/admin/api-keys', { key: ADMIN_KEY, body: { owner, rate_limit: 120 } });
    assert.equal(r.status, 201, r.text);
    assertShape(r.json, { key: 'str', owner: 'str', is_active: 'bool', is_keeper: 'bool', rate_limit: 'int',
      success_count: 'int', failed_count: 'int', last_used: 'ts', created_at: 'ts' }, 'new key');
    assert.match(r.json.key, KEY_RE);
    assert.equal(r.json.owner, owner);
    assert.equal(r.json.is_active, true);
    assert.equal(r.json.is_keeper, false);
    assert.equal(r.json.rate_limit, 120);
    assert.equal(sqlVal(`SELECT encode(key_hash, 'hex') FROM tgx.api_keys WHERE owner = ${lit(owner)}`), sha(r.json.key));
    const use = await req('GET', '/api/jobs/by-apikey', { key: r.json.key });
    assert.equal(use.status, 200, `the new key authenticates: ${use.text}`);
    assert.equal(use.headers.get('x-ratelimit-limit'), '120');
  });
  test('several keys per owner', async () => {
    const owner = addr('admin-two-keys');
    const a = await req('POST', '/api/admin/api-keys', { key: ADMIN_KEY, body: { owner, rate_limit: 5 } });
    const b = await req('POST', '/api/admin/api-keys', { key: ADMIN_KEY, body: { owner, rate_limit: 5 } });
    assert.equal(a.status, 201);
    assert.equal(b.status, 201);
    assert.notEqual(a.json.key, b.json.key);
  });
  test('refusals: owner missing or too short, rate_limit 0 or > 1000 or missing, bad JSON: 400; nothing stored', async () => {
    const snap = dbSnapshot();
    for (const body of [{ rate_limit: 10 }, { owner: 'ab', rate_limit: 10 }, { owner: addr('x1'), rate_limit: 0 },
      { owner: addr('x2'), rate_limit: 1001 }, { owner: addr('x3') }, { owner: addr('x4'), rate_limit: 'ten' }, '{"owner":']) {
      assertError(await req('POST', '/api/admin/api-keys', { key: ADMIN_KEY, body }), 400);
    }
    assertDbUnchanged(snap, 'refused key creations');
  });
});

describe('GET /api/admin/api-keys/:owner', () => {
  test('200 the masked keys of the owner; 404 when it has none', async () => {
    const owner = addr('admin-list');
    const k1 = newKey(owner);
    const k2 = newKey(owner);
    const r = await req('GET', `/api/admin/api-keys/${owner}`, { key: ADMIN_KEY });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.length, 2);
    for (const e of r.json) {
      assertShape(e, { key: 'str', owner: 'str', is_active: 'bool', rate_limit: 'int', success_count: 'int',
        failed_count: 'int', last_used: 'ts', created_at: 'ts' }, 'listed key');
      assert.equal(e.owner, owner);
    }
    const keys = r.json.map((e) => e.key);
    assert.ok(keys.some((k) => masked(k1).test(k)) && keys.some((k) => masked(k2).test(k)), `masked keys: ${keys}`);
    assert.ok(!r.text.includes(k1.slice(5, 20)) && !r.text.includes(k2.slice(5, 20)), 'no full key in a listing');
    assertError(await req('GET', `/api/admin/api-keys/${addr('admin-nobody')}`, { key: ADMIN_KEY }), 404);
  });
});

describe('PUT /api/admin/api-keys/:key', () => {
  test('200 the key object with the change; only the fields sent change; deactivation takes effect', async () => {
    const owner = addr('admin-upd');
    const k = newKey(owner, { rateLimit: 50 });
    assert.equal((await req('GET', '/api/jobs/by-apikey', { key: k })).status, 200);
    const r = await req('PUT', `/api/admin/api-keys/${k}`, { key: ADMIN_KEY, body: { key: k, rateLimit: 70 } });
    assert.equal(r.status, 200, r.text);
    assertShape(r.json, { key: 'str', owner: 'str', is_active: 'bool', rate_limit: 'int' }, 'updated key');
    assert.equal(r.json.rate_limit, 70);
    assert.equal(r.json.is_active, true);
    assert.ok(!r.json.key.includes(k.slice(5, 20)) || r.json.key === k, 'the key is either masked or the one sent');
    assert.equal(sqlVal(`SELECT rate_limit || ' ' || is_active FROM tgx.api_keys WHERE owner = ${lit(owner)}`), '70 true');
    const off = await req('PUT', `/api/admin/api-keys/${k}`, { key: ADMIN_KEY, body: { isActive: false } });
    assert.equal(off.status, 200, off.text);
    assert.equal(off.json.is_active, false);
    assert.equal(off.json.rate_limit, 70, 'rate_limit kept');
    assert.equal(sqlVal(`SELECT rate_limit || ' ' || is_active FROM tgx.api_keys WHERE owner = ${lit(owner)}`), '70 false');
    // the server caches authentication answers "for a few seconds": the key stops working within 30 s
    const refused = await eventually(async () => (await req('GET', '/api/jobs/by-apikey', { key: k })).status === 403, 30000);
    assert.ok(refused, 'a deactivated key is refused');
  });
  test('unknown key 404; bad body 400; nothing changes', async () => {
    const k = newKey(addr('admin-upd2'));
    const snap = dbSnapshot();
    assertError(await req('PUT', '/api/admin/api-keys/TGRX-00000000-0000-4000-8000-000000000000', { key: ADMIN_KEY, body: { isActive: false } }), 404);
    assertError(await req('PUT', `/api/admin/api-keys/${k}`, { key: ADMIN_KEY, body: '{"isActive":' }), 400);
    assertError(await req('PUT', `/api/admin/api-keys/${k}`, { key: ADMIN_KEY, body: { rateLimit: 0 } }), 400);
    assertError(await req('PUT', `/api/admin/api-keys/${k}`, { key: ADMIN_KEY, body: { isActive: 'no' } }), 400);
    assertDbUnchanged(snap, 'refused key updates');
  });
});

describe('DELETE /api/admin/api-keys/:key', () => {
  test('204 by the key itself; the row is gone and the key stops working', async () => {
    const owner = addr('admin-del');
    const k = newKey(owner);
    const r = await req('DELETE', `/api/admin/api-keys/${k}`, { key: ADMIN_KEY });
    assert.equal(r.status, 204, r.text);
    assert.equal(r.text, '');
    assert.equal(sqlVal(`SELECT count(*) FROM tgx.api_keys WHERE owner = ${lit(owner)}`), '0');
    const refused = await eventually(async () => (await req('GET', '/api/jobs/by-apikey', { key: k })).status === 403, 30000);
    assert.ok(refused, 'a deleted key is refused');
  });
  test('by the masked key with ?owner=: 204; without owner 400; no match 404', async () => {
    const owner = addr('admin-del-masked');
    newKey(owner);
    const list = await req('GET', `/api/admin/api-keys/${owner}`, { key: ADMIN_KEY });
    const m = list.json[0].key;
    const snap = dbSnapshot();
    assertError(await req('DELETE', `/api/admin/api-keys/${encodeURIComponent(m)}`, { key: ADMIN_KEY }), 400);
    assertError(await req('DELETE', `/api/admin/api-keys/${encodeURIComponent(m)}?owner=${addr('someone-else')}`, { key: ADMIN_KEY }), 404);
    assertDbUnchanged(snap, 'refused masked deletes');
    const r = await req('DELETE', `/api/admin/api-keys/${encodeURIComponent(m)}?owner=${owner}`, { key: ADMIN_KEY });
    assert.equal(r.status, 204, r.text);
    assert.equal(sqlVal(`SELECT count(*) FROM tgx.api_keys WHERE owner = ${lit(owner)}`), '0');
  });
  test('unknown key 404', async () => {
    assertError(await req('DELETE', '/api/admin/api-keys/TGRX-00000000-0000-4000-8000-000000000000', { key: ADMIN_KEY }), 404);
  });
});
