// The HTTP basics every route shares: health, unknown routes, OPTIONS and CORS, trace ids,
// authentication (X-Api-Key in any case, Bearer ignored, missing / invalid / inactive keys),
// the open routes (fees), and the routes that answer 501 until later issues.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ADMIN_KEY, UUID4, assertDbUnchanged, assertError, assertShape, dbSnapshot, ifRoute, newOwner, rawNumber,
  rawReq, req, sql, lit,
} from './lib/api.mjs';

describe('GET /api/health', () => {
  test('200 with the original shape, open (no key)', async () => {
    const r = await req('GET', '/api/health');
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type') || '', /^application\/json/);
    assertShape(r.json, {
      status: 'str', timestamp: 'int', service: 'str', version: 'str', uptime: 'str', database: 'obj', checks: 'obj',
    }, 'health');
    assert.equal(r.json.status, 'ok');
    assert.ok(Math.abs(r.json.timestamp - Date.now() / 1000) < 300, `timestamp ${r.json.timestamp} is unix seconds`);
    assert.deepEqual(r.json.database, { status: 'healthy', error: '' });
    assert.deepEqual(r.json.checks, { database_connection: true });
  });
});

describe('unknown routes', () => {
  for (const [method, path] of [['GET', '/api/nope'], ['GET', '/nope'], ['POST', '/api/health'],
    ['DELETE', '/api/jobs/user/0x0000000000000000000000000000000000000001'], ['GET', '/api/jobs/user'],
    ['PATCH', '/api/jobs'], ['GET', '/api/jobs/delete/1']]) {
    test(`${method} ${path}: 404 text/plain "404 page not found" like the original`, async () => {
      const r = await req(method, path, { key: ADMIN_KEY });
      assert.equal(r.status, 404, r.text);
      assert.match(r.headers.get('content-type') || '', /^text\/plain/);
      assert.equal(r.text, '404 page not found');
      assert.ok(r.headers.get('x-trace-id'), 'X-Trace-ID is echoed on a 404 too');
    });
  }
});

describe('CORS and OPTIONS', () => {
  test('OPTIONS on any path: 204, empty body, CORS headers allowing DELETE and X-Trace-ID', async () => {
    for (const path of ['/api/jobs', '/api/jobs/delete/1', '/anything/at/all', '/api/admin/api-keys/TGRX-x']) {
      const r = await req('OPTIONS', path, {
        headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'DELETE',
          'Access-Control-Request-Headers': 'x-trace-id, x-api-key' },
      });
      assert.equal(r.status, 204, `${path}: ${r.status} ${r.text}`);
      assert.equal(r.text, '');
      assert.equal(r.headers.get('access-control-allow-origin'), 'https://app.example');
      const methods = (r.headers.get('access-control-allow-methods') || '').split(/\s*,\s*/);
      for (const m of ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS']) assert.ok(methods.includes(m), `allow-methods ${methods} lacks ${m}`);
      const allowed = (r.headers.get('access-control-allow-headers') || '').toLowerCase().split(/\s*,\s*/);
      for (const h of ['content-type', 'authorization', 'x-api-key', 'x-trace-id']) assert.ok(allowed.includes(h), `allow-headers ${allowed} lacks ${h}`);
      assert.equal(r.headers.get('access-control-allow-credentials'), 'false');
    }
  });

  test('every answer carries CORS: the request Origin, or * without one', async () => {
    const a = await req('GET', '/api/health', { headers: { Origin: 'http://localhost:3000' } });
    assert.equal(a.headers.get('access-control-allow-origin'), 'http://localhost:3000');
    const b = await req('GET', '/api/health');
    assert.equal(b.headers.get('access-control-allow-origin'), '*');
    const c = await req('GET', '/api/users/0x0000000000000000000000000000000000000001', { headers: { Origin: 'http://x.example' } });
    assert.equal(c.status, 401);
    assert.equal(c.headers.get('access-control-allow-origin'), 'http://x.example', 'CORS on an error answer too');
  });
});

describe('X-Trace-ID', () => {
  test('echoed when sent, generated (UUID v4) when not, on successes and errors alike', async () => {
    const sent = 'get-health-b92266-3bce36aa';
    const a = await req('GET', '/api/health', { headers: { 'X-Trace-ID': sent } });
    assert.equal(a.headers.get('x-trace-id'), sent);
    const b = await req('GET', '/api/health');
    assert.match(b.headers.get('x-trace-id') || '', UUID4);
    const c = await req('GET', '/api/health');
    assert.notEqual(b.headers.get('x-trace-id'), c.headers.get('x-trace-id'), 'a fresh id per request');
    const d = await req('GET', '/api/users/0x0000000000000000000000000000000000000001', { headers: { 'x-trace-id': 'err-trace-1' } });
    assert.equal(d.status, 401);
    assert.equal(d.headers.get('x-trace-id'), 'err-trace-1');
  });

  test('an absurd trace id (4 KiB, control characters) is not a 5xx', async () => {
    const r = await rawReq('GET', '/api/health', { headers: { 'X-Trace-ID': 'x'.repeat(4096) } });
    assert.ok(r.status < 500, `status ${r.status}`);
    const r2 = await rawReq('GET', '/api/health', { headers: { 'X-Trace-ID': 'a\tb' } });
    assert.ok(r2.status < 500, `status ${r2.status}`);
  });
});

describe('authentication', () => {
  const owner = newOwner('auth-owner');
  const path = `/api/users/${owner.address}`;

  test('missing key: 401 API_KEY_REQUIRED', async () => {
    assertError(await req('GET', path), 401, 'API_KEY_REQUIRED');
    assertError(await req('GET', '/api/jobs/by-apikey'), 401, 'API_KEY_REQUIRED');
  });

  test('Authorization: Bearer alone is ignored (401)', async () => {
    const r = await req('GET', path, { headers: { Authorization: `Bearer ${owner.key}` } });
    assertError(r, 401, 'API_KEY_REQUIRED');
  });

  test('unknown key: 403 INVALID_API_KEY', async () => {
    assertError(await req('GET', path, { key: 'TGRX-00000000-0000-4000-8000-000000000000' }), 403, 'INVALID_API_KEY');
    assertError(await req('GET', path, { key: 'not-a-key' }), 403, 'INVALID_API_KEY');
    assertError(await req('GET', path, { key: 'x'.repeat(2000) }), 403, 'INVALID_API_KEY');
  });

  test('inactive key: 403 INVALID_API_KEY', async () => {
    const o = newOwner('auth-inactive');
    sql(`UPDATE tgx.api_keys SET is_active = false WHERE owner = ${lit(o.address)}`);
    assertError(await req('GET', `/api/users/${o.address}`, { key: o.key }), 403, 'INVALID_API_KEY');
  });

  test('X-Api-Key header name in any case (the SDK sends X-API-KEY); Bearer beside it is harmless', async () => {
    // the user does not exist yet: 404 USER_NOT_FOUND proves the key was accepted
    for (const name of ['X-Api-Key', 'X-API-KEY', 'x-api-key', 'X-aPi-KeY']) {
      const r = await rawReq('GET', path, { headers: { [name]: owner.key, Authorization: 'Bearer nonsense' } });
      assert.equal(r.status, 404, `${name}: ${r.status} ${r.text}`);
      assert.equal(r.json?.code, 'USER_NOT_FOUND', `${name}: ${r.text}`);
    }
  });

  test('a failed authentication changes nothing', async () => {
    const before = dbSnapshot();
    await req('POST', '/api/jobs', { body: [{ job_id: '1' }] });
    await req('POST', '/api/jobs', { key: 'TGRX-00000000-0000-4000-8000-000000000000', body: [{ job_id: '1' }] });
    await req('PUT', '/api/jobs/delete/1', { key: 'bogus' });
    assertDbUnchanged(before, 'requests without a valid key');
  });
});

describe('open routes', () => {
  test('GET /api/fees without a key: 200, current_total_fee > 0 (the SDK refuses 0), wei strings match', async () => {
    const q = new URLSearchParams({
      ipfs_url: '', task_definition_id: '1', target_chain_id: '31337',
      target_contract_address: '0x5fbdb2315678afecb367f032d93f642f64180aa3', target_function: 'increment',
      abi: '[{"type":"function","name":"increment","inputs":[{"name":"by","type":"uint256"}],"outputs":[]}]', args: '["1"]',
    });
    const r = await req('GET', `/api/fees?${q}`, { headers: { 'X-Trace-ID': 'get-fees-b92266-4ddc5123' } });
    assert.equal(r.status, 200, r.text);
    assertShape(r.json, { total_fee: 'num', total_fee_wei: 'str', current_total_fee: 'num', current_total_fee_wei: 'str' }, 'fees');
    assert.match(r.json.current_total_fee_wei, /^[1-9][0-9]*$/);
    assert.match(r.json.total_fee_wei, /^[0-9]+$/);
    assert.ok(r.json.current_total_fee > 0, 'current_total_fee is not 0');
    assert.equal(rawNumber(r.text, 'current_total_fee'), r.json.current_total_fee_wei, 'the number and the wei string agree');
    assert.equal(rawNumber(r.text, 'total_fee'), r.json.total_fee_wei);
    assert.equal(r.headers.get('x-trace-id'), 'get-fees-b92266-4ddc5123');
  });

  test('GET /api/fees with garbage parameters is never a 5xx', async () => {
    for (const q of ['task_definition_id=abc', 'abi=%7Bnot-json', 'target_chain_id=-1&args=%5B', 'task_definition_id=99999999999999999999', '']) {
      const r = await req('GET', `/api/fees?${q}`);
      assert.ok(r.status < 500, `/api/fees?${q}: ${r.status} ${r.text}`);
      if (r.status >= 400) assertError(r, r.status);
    }
  });
});

describe('not implemented yet', () => {
  test('POST /api/claim-fund: 501 JSON error', ifRoute('POST', '/api/claim-fund'), async () => {
    const r = await req('POST', '/api/claim-fund', { key: ADMIN_KEY,
      body: { wallet_address: '0x0000000000000000000000000000000000000001', network: 'op_sepolia' } });
    assertError(r, 501);
  });
  test('POST /api/code/validate: 501 JSON error', ifRoute('POST', '/api/code/validate'), async () => {
    const r = await req('POST', '/api/code/validate', { key: ADMIN_KEY,
      body: { code: 'package main', language: 'go', task_definition_id: 2, target_function: 'f' } });
    assertError(r, 501);
  });
});

describe('WebSocket hub HTTP routes', () => {
  test('GET /api/ws/stats: 200 {"status":"success","data":{total_clients,total_rooms,rooms}}', ifRoute('GET', '/api/ws/stats'), async () => {
    const r = await req('GET', '/api/ws/stats', { key: ADMIN_KEY });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'success');
    assertShape(r.json.data, { total_clients: 'int', total_rooms: 'int', rooms: 'obj' }, 'ws stats');
  });
  test('GET /api/ws/health: 200 {"status":"healthy","timestamp","websocket":{...}}', ifRoute('GET', '/api/ws/health'), async () => {
    const r = await req('GET', '/api/ws/health', { key: ADMIN_KEY });
    assert.equal(r.status, 200, r.text);
    assertShape(r.json, { status: 'str', timestamp: 'int', websocket: 'obj' }, 'ws health');
    assert.equal(r.json.status, 'healthy');
    assertShape(r.json.websocket, { active_connections: 'int', active_rooms: 'int' }, 'ws health websocket');
  });
});
