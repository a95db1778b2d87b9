// Keepers and leaderboards: POST /api/keepers, /api/keepers/form, GET /api/keepers/performers,
// /api/keepers/:id, increment-tasks, task-count, add-points, points, update-chat-id (the right
// keeper changes), com-info; GET /api/leaderboard/keepers, /users, /users/search, /keepers/search.
// Keeper routes are called with the admin key (whatever their authentication, admin passes it).
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  ADMIN_KEY, KEEPER_DATA, RUN, addr, assertDbUnchanged, assertError, assertShape, createJob, dbSnapshot, ifRoute,
  lit, newOwner, rawReq, req, runJobNow, sql, sqlVal, timeJob,
} from './lib/api.mjs';

const K = ADMIN_KEY;
const k1 = addr('keeper-1');
const k2 = addr('keeper-2');
const k3 = addr('keeper-3');
let id1; let id2; let id3;
const user = newOwner('keepers-user');

before(() => {
  id1 = Number(sqlVal(`SELECT tgx.register_keeper(${lit(k1)}, 'keeper one ${RUN}', 'one@example.org')`));
  id2 = Number(sqlVal(`SELECT tgx.register_keeper(${lit(k2)}, 'keeper two ${RUN}')`));
  id3 = Number(sqlVal(`SELECT tgx.register_keeper(${lit(k3)}, 'keeper three ${RUN}')`));
  sql(`SELECT tgx.whitelist_keeper(${lit(k1)}, 'test'); SELECT tgx.whitelist_keeper(${lit(k2)}, 'test');
       UPDATE tgx.keepers SET on_imua = true WHERE keeper_id = ${id2}`);
});

describe('POST /api/keepers', () => {
  test('new: 201 {"keeper_id"}; again: 200 {"message":"Keeper already exists","keeper_id","status":"existing"}',
    ifRoute('POST', '/api/keepers'), async () => {
      const a = addr('keeper-new');
      const r = await req('POST', '/api/keepers', { key: K, body: { keeper_name: 'fresh', keeper_address: a, email_id: 'f@example.org' } });
      assert.equal(r.status, 201, r.text);
      assertShape(r.json, { keeper_id: 'int' }, 'new keeper');
      assert.equal(sqlVal(`SELECT keeper_address FROM tgx.keepers WHERE keeper_id = ${r.json.keeper_id}`), a);
      const again = await req('POST', '/api/keepers', { key: K, body: { keeper_name: 'fresh', keeper_address: a, email_id: 'f@example.org' } });
      assert.equal(again.status, 200, again.text);
      assert.deepEqual(again.json, { message: 'Keeper already exists', keeper_id: r.json.keeper_id, status: 'existing' });
    });
  test('bad JSON / bad address: 400, nothing stored', ifRoute('POST', '/api/keepers'), async () => {
    const snap = dbSnapshot();
    assertError(await req('POST', '/api/keepers', { key: K, body: '{"keeper_name":' }), 400, 'INVALID_REQUEST');
    assertError(await req('POST', '/api/keepers', { key: K, body: { keeper_name: 'x', keeper_address: '0x12', email_id: '' } }), 400);
    assertDbUnchanged(snap, 'bad keeper registrations');
  });
});

describe('POST /api/keepers/form', () => {
  test('201 {"keeper_id","status":"created"} then "existing"; the address lower-cased', ifRoute('POST', '/api/keepers/form'), async () => {
    const a = addr('keeper-form');
    const body = { keeper_address: a.toUpperCase().replace('0X', '0x'), rewards_address: addr('rewards'),
      keeper_name: 'form keeper', email_id: 'form@example.org', on_imua: true };
    const r = await req('POST', '/api/keepers/form', { key: K, body });
    assert.equal(r.status, 201, r.text);
    assertShape(r.json, { keeper_id: 'int', status: 'str' }, 'form');
    assert.equal(r.json.status, 'created');
    assert.equal(sqlVal(`SELECT keeper_address || ' ' || on_imua FROM tgx.keepers WHERE keeper_id = ${r.json.keeper_id}`), `${a} true`);
    const again = await req('POST', '/api/keepers/form', { key: K, body });
    assert.equal(again.status, 201, again.text);
    assert.equal(again.json.status, 'existing');
    assert.equal(again.json.keeper_id, r.json.keeper_id);
  });
});

describe('GET /api/keepers/performers', () => {
  test('200 [{keeper_id, keeper_address}]: registered and whitelisted, by id', ifRoute('GET', '/api/keepers/performers'), async () => {
    const r = await req('GET', '/api/keepers/performers', { key: K });
    assert.equal(r.status, 200, r.text);
    assert.ok(Array.isArray(r.json), r.text);
    for (const p of r.json) assertShape(p, { keeper_id: 'int', keeper_address: 'str' }, 'performer');
    const ids = r.json.map((p) => p.keeper_id);
    assert.ok(ids.includes(id1) && ids.includes(id2), `performers ${ids}`);
    assert.ok(!ids.includes(id3), 'a keeper that is not whitelisted is no performer');
    // the original sorts by id ascending; the pagination rule says newest first: either, consistently
    const asc = [...ids].sort((a, b) => a - b);
    assert.ok(JSON.stringify(ids) === JSON.stringify(asc) || JSON.stringify(ids) === JSON.stringify([...asc].reverse()), `ordered by id: ${ids}`);
  });
});

describe('GET /api/keepers/:id', () => {
  test('200 KeeperData', ifRoute('GET', '/api/keepers/:id'), async () => {
    const r = await req('GET', `/api/keepers/${id1}`, { key: K });
    assert.equal(r.status, 200, r.text);
    assertShape(r.json, KEEPER_DATA, 'KeeperData');
    assert.equal(r.json.keeper_id, id1);
    assert.equal(r.json.keeper_address, k1);
    assert.equal(r.json.whitelisted, true);
    assert.equal(r.json.email_id, 'one@example.org');
  });
  test('bad id 400 INVALID_KEEPER_ID; unknown 404 KEEPER_NOT_FOUND', ifRoute('GET', '/api/keepers/:id'), async () => {
    assertError(await req('GET', '/api/keepers/abc', { key: K }), 400, 'INVALID_KEEPER_ID');
    assertError(await req('GET', '/api/keepers/987654321', { key: K }), 404, 'KEEPER_NOT_FOUND');
  });
});

describe('keeper counters and points', () => {
  test('POST /api/keepers/:id/increment-tasks and GET .../task-count: {"no_executed_tasks"}',
    ifRoute('POST', '/api/keepers/:id/increment-tasks'), async () => {
      const start = Number(sqlVal(`SELECT no_executed_tasks FROM tgx.keepers WHERE keeper_id = ${id2}`));
      const r = await req('POST', `/api/keepers/${id2}/increment-tasks`, { key: K });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json, { no_executed_tasks: start + 1 });
      const c = await req('GET', `/api/keepers/${id2}/task-count`, { key: K });
      assert.equal(c.status, 200, c.text);
      assert.deepEqual(c.json, { no_executed_tasks: start + 1 });
      assertError(await req('POST', '/api/keepers/987654321/increment-tasks', { key: K }), 404);
    });
  test('POST /api/keepers/:id/add-points {"task_id"} adds the task fee; GET .../points', ifRoute('POST', '/api/keepers/:id/add-points'), async () => {
    const job = await createJob(user.key, timeJob(user.address));
    const t = runJobNow(job);
    sql(`UPDATE tgx.tasks SET task_opx_cost = 2.5 WHERE task_id = ${t}`);
    const p0 = Number(sqlVal(`SELECT keeper_points FROM tgx.keepers WHERE keeper_id = ${id1}`));
    const r = await req('POST', `/api/keepers/${id1}/add-points`, { key: K, body: { task_id: t } });
    assert.equal(r.status, 200, r.text);
    assertShape(r.json, { task_id: 'int', task_fee: 'num', keeper_points: 'num' }, 'add-points');
    assert.equal(r.json.task_fee, 2.5);
    assert.equal(r.json.keeper_points, p0 + 2.5);
    const g = await req('GET', `/api/keepers/${id1}/points`, { key: K });
    assert.equal(g.status, 200, g.text);
    assert.deepEqual(g.json, { keeper_points: p0 + 2.5 });
    const snap = dbSnapshot();
    assertError(await req('POST', `/api/keepers/${id1}/add-points`, { key: K, body: { task_id: 99999999999 } }), 404, 'TASK_NOT_FOUND');
    assertError(await req('POST', `/api/keepers/${id1}/add-points`, { key: K, body: '{' }), 400);
    assertDbUnchanged(snap, 'bad add-points');
  });
});

describe('POST /api/keepers/update-chat-id', () => {
  test('changes the chat id of the keeper with that address, and of no other (the original wrote keeper #chat_id)',
    ifRoute('POST', '/api/keepers/update-chat-id'), async () => {
      sql(`UPDATE tgx.keepers SET chat_id = NULL WHERE keeper_id IN (${id1}, ${id2}, ${id3})`);
      // chat_id = the id of ANOTHER keeper: the original's swapped arguments would update that one
      const r = await req('POST', '/api/keepers/update-chat-id', { key: K, body: { keeper_address: k3, chat_id: id1 } });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json, { message: 'Chat ID updated successfully' });
      assert.equal(sqlVal(`SELECT coalesce(chat_id::text, 'null') FROM tgx.keepers WHERE keeper_id = ${id3}`), String(id1));
      assert.equal(sqlVal(`SELECT coalesce(chat_id::text, 'null') FROM tgx.keepers WHERE keeper_id = ${id1}`), 'null');
      assert.equal(sqlVal(`SELECT coalesce(chat_id::text, 'null') FROM tgx.keepers WHERE keeper_id = ${id2}`), 'null');
      // a checksummed address finds the same keeper
      const r2 = await req('POST', '/api/keepers/update-chat-id', { key: K, body: { keeper_address: k3.toUpperCase().replace('0X', '0x'), chat_id: 424242 } });
      assert.equal(r2.status, 200, r2.text);
      assert.equal(sqlVal(`SELECT chat_id FROM tgx.keepers WHERE keeper_id = ${id3}`), '424242');
    });
  test('unknown keeper 404 KEEPER_NOT_FOUND; bad body 400; nothing changes', ifRoute('POST', '/api/keepers/update-chat-id'), async () => {
    const snap = dbSnapshot();
    assertError(await req('POST', '/api/keepers/update-chat-id', { key: K, body: { keeper_address: addr('nobody'), chat_id: 5 } }), 404, 'KEEPER_NOT_FOUND');
    assertError(await req('POST', '/api/keepers/update-chat-id', { key: K, body: '{"chat_id":' }), 400);
    assertError(await req('POST', '/api/keepers/update-chat-id', { key: K, body: { keeper_address: k1, chat_id: 'five' } }), 400);
    assertDbUnchanged(snap, 'bad chat-id updates');
  });
});

describe('GET /api/keepers/com-info/:id', () => {
  test('200 {"chat_id","keeper_name","email_id"}', ifRoute('GET', '/api/keepers/com-info/:id'), async () => {
    sql(`UPDATE tgx.keepers SET chat_id = 777 WHERE keeper_id = ${id1}`);
    const r = await req('GET', `/api/keepers/com-info/${id1}`, { key: K });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { chat_id: 777, keeper_name: `keeper one ${RUN}`, email_id: 'one@example.org' });
    assertError(await req('GET', '/api/keepers/com-info/987654321', { key: K }), 404);
  });
});

describe('leaderboards', () => {
  const ENTRY = { keeper_id: 'int', keeper_address: 'str', keeper_name: 'str', no_executed_tasks: 'int',
    no_attested_tasks: 'int', keeper_points: 'num', on_imua: 'bool' };
  test('GET /api/leaderboard/keepers: registered and whitelisted keepers; Host app./imua. filter on_imua', async () => {
    const r = await req('GET', '/api/leaderboard/keepers', { key: user.key });
    assert.equal(r.status, 200, r.text);
    for (const e of r.json) assertShape(e, ENTRY, 'keeper board entry');
    const ids = r.json.map((e) => e.keeper_id);
    assert.ok(ids.includes(id1) && ids.includes(id2) && !ids.includes(id3), `${ids}`);
    // fetch drops a Host header: node:http sends it
    const imua = await rawReq('GET', '/api/leaderboard/keepers', { headers: { 'X-Api-Key': user.key, Host: 'imua.triggerx.network' } });
    assert.equal(imua.status, 200, imua.text);
    assert.ok(imua.json.every((e) => e.on_imua === true) && imua.json.some((e) => e.keeper_id === id2), imua.text);
    const app = await rawReq('GET', '/api/leaderboard/keepers', { headers: { 'X-Api-Key': user.key, Host: 'app.triggerx.network' } });
    assert.ok(app.json.every((e) => e.on_imua === false) && app.json.some((e) => e.keeper_id === id1), app.text);
    assertError(await req('GET', '/api/leaderboard/keepers'), 401, 'API_KEY_REQUIRED');
  });
  test('GET /api/leaderboard/users: [{user_id,user_address,total_jobs,total_tasks,user_points}]', async () => {
    await createJob(user.key, timeJob(user.address));
    const r = await req('GET', '/api/leaderboard/users', { key: user.key });
    assert.equal(r.status, 200, r.text);
    assert.ok(Array.isArray(r.json), r.text);
    for (const e of r.json) assertShape(e, { user_id: 'int', user_address: 'str', total_jobs: 'int', total_tasks: 'int', user_points: 'num' }, 'user board entry');
    assert.ok(r.json.some((e) => e.user_address === user.address));
    assertError(await req('GET', '/api/leaderboard/users'), 401, 'API_KEY_REQUIRED');
  });
  test('GET /api/leaderboard/users/search?user_address=: one entry; missing 400 MISSING_ADDRESS; unknown 404 USER_NOT_FOUND', async () => {
    const r = await req('GET', `/api/leaderboard/users/search?user_address=${user.address}`, { key: user.key });
    assert.equal(r.status, 200, r.text);
    assertShape(r.json, { user_id: 'int', user_address: 'str', total_jobs: 'int', total_tasks: 'int', user_points: 'num' }, 'user search');
    assert.equal(r.json.user_address, user.address);
    assertError(await req('GET', '/api/leaderboard/users/search', { key: user.key }), 400, 'MISSING_ADDRESS');
    assertError(await req('GET', `/api/leaderboard/users/search?user_address=${addr('ghost')}`, { key: user.key }), 404, 'USER_NOT_FOUND');
  });
  test('GET /api/leaderboard/keepers/search?keeper_address=|keeper_name=: one keeper; neither 400 MISSING_IDENTIFIER; unknown 404',
    ifRoute('GET', '/api/leaderboard/keepers/search'), async () => {
      const r = await req('GET', `/api/leaderboard/keepers/search?keeper_address=${k1}`, { key: user.key });
      assert.equal(r.status, 200, r.text);
      assertShape(r.json, { keeper_id: 'int', keeper_address: 'str', keeper_name: 'str', no_executed_tasks: 'int',
        no_attested_tasks: 'int', keeper_points: 'num' }, 'keeper search');
      assert.equal(r.json.keeper_id, id1);
      const n = await req('GET', `/api/leaderboard/keepers/search?keeper_name=${encodeURIComponent(`keeper two ${RUN}`)}`, { key: user.key });
      assert.equal(n.status, 200, n.text);
      assert.equal(n.json.keeper_id, id2);
      assertError(await req('GET', '/api/leaderboard/keepers/search', { key: user.key }), 400, 'MISSING_IDENTIFIER');
      assertError(await req('GET', `/api/leaderboard/keepers/search?keeper_address=${addr('ghost-keeper')}`, { key: user.key }), 404, 'KEEPER_NOT_FOUND');
    });
});
