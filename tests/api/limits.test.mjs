// Input limits: the body limit (413 above 1 MiB, with Content-Length or chunked), the JSON depth
// limit (400 for deep nesting; shallow nesting passes), malformed JSON on every route that reads a
// body (400 {"error","code"}), and the database unchanged after each.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ADMIN_KEY, assertDbUnchanged, assertError, createJob, dbSnapshot, newOwner, rawReq, req, routes, timeJob,
} from './lib/api.mjs';

const alice = newOwner('limits-alice');
const MiB = 1024 * 1024;

function jsonBodyOf(size) {
  // a syntactically valid job array padded to SIZE bytes with a long title
  const job = timeJob(alice.address);
  const base = JSON.stringify([{ ...job, job_title: '' }]);
  return Buffer.from(JSON.stringify([{ ...job, job_title: 'x'.repeat(size - base.length) }]));
}

describe('body limit (1 MiB)', () => {
  test('Content-Length above 1 MiB: 413 JSON, nothing stored', async () => {
    const snap = dbSnapshot();
    const body = jsonBodyOf(MiB + 1);
    assert.equal(body.length, MiB + 1);
    const r = await rawReq('POST', '/api/jobs', { headers: { 'X-Api-Key': alice.key, 'Content-Type': 'application/json' }, body });
    assertError(r, 413);
    assertDbUnchanged(snap, 'an oversized body');
  });
  test('chunked body growing above 1 MiB: 413 JSON, nothing stored', async () => {
    const snap = dbSnapshot();
    const r = await rawReq('POST', '/api/jobs', { headers: { 'X-Api-Key': alice.key, 'Content-Type': 'application/json' },
      body: jsonBodyOf(2 * MiB), chunked: true });
    assertError(r, 413);
    assertDbUnchanged(snap, 'an oversized chunked body');
  });
  test('a body of exactly 1 MiB is read (and refused for its content, not its size)', async () => {
    const r = await rawReq('POST', '/api/jobs', { headers: { 'X-Api-Key': alice.key, 'Content-Type': 'application/json' },
      body: jsonBodyOf(MiB) });
    assert.notEqual(r.status, 413, 'exactly the limit is allowed');
    assertError(r, 400, undefined, 'job_title'); // a 1 MiB title is too long
  });
  test('the server still answers after oversized bodies', async () => {
    const r = await req('GET', '/api/health');
    assert.equal(r.status, 200);
  });
});

describe('JSON depth limit', () => {
  const nest = (n) => '['.repeat(n) + ']'.repeat(n);
  test('an extra field nested 10 deep is fine; 100 or 100000 deep is a 400 JSON error', async () => {
    const ok = await req('POST', '/api/users/email', { key: alice.key,
      body: `{"user_address":"${alice.address}","email_id":"a@example.org","extra":${nest(10)}}` });
    // the user does not exist yet: 404 means the body was parsed
    assert.ok(ok.status === 404 || ok.status === 200, `depth 10: ${ok.status} ${ok.text}`);
    for (const n of [100, 100000]) {
      const snap = dbSnapshot();
      const r = await req('POST', '/api/users/email', { key: alice.key,
        body: `{"user_address":"${alice.address}","email_id":"a@example.org","extra":${nest(n)}}` });
      assertError(r, 400);
      assertDbUnchanged(snap, `depth ${n}`);
    }
  });
  test('a deeply nested job array: 400, nothing stored', async () => {
    const snap = dbSnapshot();
    const r = await req('POST', '/api/jobs', { key: alice.key, body: '['.repeat(5000) + ']'.repeat(5000) });
    assertError(r, 400);
    assertDbUnchanged(snap, 'a deep job array');
  });
});

describe('malformed JSON on every body-reading route', () => {
  const bodies = ['{', '[', '{"a":}', 'nul', '"\\u00"', '{"a":1}}', '\u0000', '{"a":"\\ud800"}', '1e999999', '{"a" 1}'];
  // routes that read no body (delete ignores it by contract; the status is in the path) are excluded
  const bodyRoutes = () => routes().filter((r) => ['POST', 'PUT'].includes(r.method) && !r.pattern.includes('/delete/')
    && !/claim-fund|code\/validate|increment-tasks|\/status\//.test(r.pattern));
  test('400 {"error","code"} and no change, never 5xx', async () => {
    const list = bodyRoutes();
    assert.ok(list.length >= 5, `tgxd routes lists POST/PUT routes: ${JSON.stringify(list)}`);
    const job = await createJob(alice.key, timeJob(alice.address));
    for (const { method, pattern } of list) {
      const path = pattern.replace(/:[a-z_]+/g, (p) => (p === ':key' ? 'TGRX-00000000-0000-4000-8000-000000000000'
        : p === ':status' ? 'pending' : job));
      for (const b of bodies) {
        const snap = dbSnapshot();
        const r = await req(method, path, { key: ADMIN_KEY, body: b });
        assert.ok(r.status >= 400 && r.status < 500, `${method} ${path} body ${JSON.stringify(b)}: ${r.status} ${r.text}`);
        assertError(r, r.status);
        assertDbUnchanged(snap, `${method} ${path} with ${JSON.stringify(b)}`);
      }
    }
  });
  test('wrong content: a JSON string / number / null where an object is expected is a 400', async () => {
    for (const b of ['"x"', '42', 'null', 'true']) {
      assertError(await req('POST', '/api/jobs', { key: alice.key, body: b }), 400);
      assertError(await req('POST', '/api/users/email', { key: alice.key, body: b }), 400);
    }
  });
});
