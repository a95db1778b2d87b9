// Users: GET /api/users/:address, POST /api/users/email, GET /api/users/safe-addresses/:user_address,
// with ownership (a key sees only its owner's user; admin keys see all).
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  ADMIN_KEY, USER_DATA, assertDbUnchanged, assertError, assertShape, createJob, dbSnapshot, lit, newOwner,
  rawNumber, req, sql, sqlVal, timeJob,
} from './lib/api.mjs';

const alice = newOwner('users-alice');
const bob = newOwner('users-bob');
let aliceJob;

before(async () => {
  aliceJob = await createJob(alice.key, timeJob(alice.address));
});

describe('GET /api/users/:address', () => {
  test('200 UserData with the original field names and JSON types', async () => {
    const r = await req('GET', `/api/users/${alice.address}`, { key: alice.key });
    assert.equal(r.status, 200, r.text);
    assertShape(r.json, USER_DATA, 'UserData');
    assert.equal(r.json.user_address, alice.address);
    assert.ok(r.json.job_ids.includes(aliceJob), `job_ids ${r.json.job_ids} lacks ${aliceJob}`);
    assert.equal(r.json.total_jobs, 1);
    assert.equal(String(r.json.user_id), sqlVal(`SELECT user_id FROM tgx.users WHERE user_address = ${lit(alice.address)}`));
    assert.ok(!('email_id' in r.json), 'the original does not return the e-mail address');
  });

  test('a checksummed (mixed-case) address finds the lower-case user, as the SDK sends it', async () => {
    const r = await req('GET', `/api/users/${alice.checksummed}`, { key: alice.key });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.user_address, alice.address);
  });

  test('balances are exact JSON integers, also beyond 2^64', async () => {
    sql(`UPDATE tgx.users SET ether_balance = 123456789012345678901234567890, token_balance = 7
          WHERE user_address = ${lit(alice.address)}`);
    const r = await req('GET', `/api/users/${alice.address}`, { key: alice.key });
    assert.equal(r.status, 200, r.text);
    assert.equal(rawNumber(r.text, 'ether_balance'), '123456789012345678901234567890', r.text);
    assert.equal(rawNumber(r.text, 'token_balance'), '7', r.text);
  });

  test('unknown user: 404 USER_NOT_FOUND', async () => {
    const r = await req('GET', `/api/users/${bob.address}`, { key: bob.key });
    assertError(r, 404, 'USER_NOT_FOUND');
  });

  test("another owner's user: 403; an admin key reads it", async () => {
    const r = await req('GET', `/api/users/${alice.address}`, { key: bob.key });
    assertError(r, 403);
    const a = await req('GET', `/api/users/${alice.address}`, { key: ADMIN_KEY });
    assert.equal(a.status, 200, a.text);
    assert.equal(a.json.user_address, alice.address);
  });

  test('a malformed address is a 4xx JSON error (admin key: no ownership question)', async () => {
    for (const a of ['0x123', 'abc', '0x' + 'g'.repeat(40), '%20', 'x'.repeat(300)]) {
      const r = await req('GET', `/api/users/${a}`, { key: ADMIN_KEY });
      assert.ok([400, 404].includes(r.status), `${a}: ${r.status} ${r.text}`);
      assertError(r, r.status);
    }
  });

  test('missing key: 401', async () => {
    assertError(await req('GET', `/api/users/${alice.address}`), 401, 'API_KEY_REQUIRED');
  });
});

describe('POST /api/users/email', () => {
  test('200 {"message":"Email updated successfully"} and the address is stored', async () => {
    const r = await req('POST', '/api/users/email', { key: alice.key,
      body: { user_address: alice.checksummed, email_id: 'alice@example.org' } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { message: 'Email updated successfully' });
    assert.equal(sqlVal(`SELECT email_id FROM tgx.users WHERE user_address = ${lit(alice.address)}`), 'alice@example.org');
  });

  test('errors: bad JSON 400 INVALID_REQUEST, empty fields 400 MISSING_FIELDS, bad e-mail 400, unknown user 404, other owner 403; nothing changes', async () => {
    const snap = dbSnapshot();
    assertError(await req('POST', '/api/users/email', { key: alice.key, body: '{"user_address":' }), 400, 'INVALID_REQUEST');
    assertError(await req('POST', '/api/users/email', { key: alice.key, body: { user_address: alice.address, email_id: '' } }), 400, 'MISSING_FIELDS');
    assertError(await req('POST', '/api/users/email', { key: alice.key, body: { email_id: 'a@b.c' } }), 400, 'MISSING_FIELDS');
    const bad = await req('POST', '/api/users/email', { key: alice.key, body: { user_address: alice.address, email_id: 'not an e-mail' } });
    assertError(bad, 400);
    assertError(await req('POST', '/api/users/email', { key: bob.key, body: { user_address: bob.address, email_id: 'bob@example.org' } }), 404);
    assertError(await req('POST', '/api/users/email', { key: bob.key, body: { user_address: alice.address, email_id: 'evil@example.org' } }), 403);
    assertError(await req('POST', '/api/users/email', { body: { user_address: alice.address, email_id: 'x@example.org' } }), 401, 'API_KEY_REQUIRED');
    assertDbUnchanged(snap, 'bad e-mail updates');
  });
});

describe('GET /api/users/safe-addresses/:user_address', () => {
  const safe = '0x' + 'a1'.repeat(20);
  before(async () => {
    await createJob(alice.key, timeJob(alice.address, { is_safe: true, safe_address: safe, safe_name: 'vault' }));
  });

  test('200 {"safe_addresses":[{safe_address,safe_name,created_at}]}', async () => {
    const r = await req('GET', `/api/users/safe-addresses/${alice.checksummed}`, { key: alice.key });
    assert.equal(r.status, 200, r.text);
    assert.ok(Array.isArray(r.json.safe_addresses), r.text);
    const row = r.json.safe_addresses.find((s) => s.safe_address === safe);
    assert.ok(row, `safe ${safe} missing: ${r.text}`);
    assertShape(row, { safe_address: 'str', safe_name: 'str', created_at: 'ts' }, 'safe address');
    assert.equal(row.safe_name, 'vault');
  });

  test("a user without Safes: 200 with an empty list or null; another owner's: 403", async () => {
    const r = await req('GET', `/api/users/safe-addresses/${bob.address}`, { key: bob.key });
    assert.equal(r.status, 200, r.text);
    assert.ok(r.json.safe_addresses === null || (Array.isArray(r.json.safe_addresses) && r.json.safe_addresses.length === 0), r.text);
    assertError(await req('GET', `/api/users/safe-addresses/${alice.address}`, { key: bob.key }), 403);
    const a = await req('GET', `/api/users/safe-addresses/${alice.address}`, { key: ADMIN_KEY });
    assert.equal(a.status, 200, a.text);
  });
});
