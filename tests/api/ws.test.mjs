// The WebSocket task feed, GET /api/ws/tasks: authentication before the upgrade, SUBSCRIBE with
// SUCCESS and JOB_TASKS_SNAPSHOT, PING/PONG, refusals (bad rooms, other owners) as ERROR frames
// with the server still running, and live TASK_CREATED / TASK_STATUS_CHANGED events from changes
// made with SQL (LISTEN/NOTIFY -> the rooms).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN_KEY, BASE, createJob, lit, newOwner, req, runJobNow, sql, sqlVal, timeJob } from './lib/api.mjs';
import { wsConnect } from './lib/ws.mjs';

const alice = newOwner('ws-alice');
const bob = newOwner('ws-bob');
let job; let bobJob;
const open = [];

async function connect(key) {
  const c = await wsConnect(BASE, `/api/ws/tasks?api_key=${encodeURIComponent(key)}`);
  open.push(c);
  return c;
}
const isType = (t) => (m) => m && m.type === t;

before(async () => {
  job = await createJob(alice.key, timeJob(alice.address));
  bobJob = await createJob(bob.key, timeJob(bob.address));
});
after(() => { for (const c of open) c.close(); });

function checkFrame(m) {
  assert.equal(typeof m.type, 'string', JSON.stringify(m));
  assert.match(m.timestamp ?? '', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/, `frame timestamp: ${JSON.stringify(m)}`);
}

describe('connect', () => {
  test('missing key: a plain HTTP 401 JSON answer, no upgrade', async () => {
    await assert.rejects(wsConnect(BASE, '/api/ws/tasks'), (e) => {
      assert.equal(e.status, 401, e.message);
      const body = JSON.parse(e.body);
      assert.ok(body.error && /^[A-Z_]+$/.test(body.code), e.body);
      return true;
    });
  });
  test('bad key: 401 or 403 JSON, no upgrade', async () => {
    await assert.rejects(wsConnect(BASE, '/api/ws/tasks?api_key=TGRX-00000000-0000-4000-8000-000000000000'), (e) => {
      assert.ok([401, 403].includes(e.status), e.message);
      assert.ok(JSON.parse(e.body).error, e.body);
      return true;
    });
  });
  test('the key in the X-Api-Key header also works', async () => {
    const c = await wsConnect(BASE, '/api/ws/tasks', { 'X-Api-Key': alice.key });
    open.push(c);
    c.send({ type: 'PING' });
    checkFrame(await c.next(isType('PONG')));
  });
});

describe('rooms', () => {
  test('SUBSCRIBE job:<id> -> SUCCESS then JOB_TASKS_SNAPSHOT with the tasks so far', async () => {
    const t0 = runJobNow(job);
    const c = await connect(alice.key);
    c.send({ type: 'SUBSCRIBE', data: { room: `job:${job}` } });
    const ok = await c.next(isType('SUCCESS'));
    checkFrame(ok);
    assert.equal(ok.data.message, 'Subscribed to room');
    assert.deepEqual(ok.data.data, { room: `job:${job}` });
    const snap = await c.next(isType('JOB_TASKS_SNAPSHOT'));
    checkFrame(snap);
    assert.equal(snap.data.job_id, job);
    assert.ok(Array.isArray(snap.data.tasks));
    assert.ok(snap.data.tasks.some((t) => t.task_id === t0), JSON.stringify(snap.data));
  });

  test('PING -> PONG', async () => {
    const c = await connect(alice.key);
    c.send({ type: 'PING' });
    checkFrame(await c.next(isType('PONG')));
  });

  test('bad, short or unknown rooms: ERROR frames, the connection and the server keep running', async () => {
    const c = await connect(alice.key);
    for (const room of ['ab', 'abc', 'abcd', 'job', 'job:', 'job:abc', 'job:-1', `job:1${'0'.repeat(80)}`, 'task:x', 'user:0x12', 'x:1', '', 'ü'.repeat(40)]) {
      c.send({ type: 'SUBSCRIBE', data: { room } });
      const e = await c.next(isType('ERROR'));
      checkFrame(e);
      assert.ok(typeof e.data.code === 'string' && typeof e.data.message === 'string', JSON.stringify(e));
      assert.ok(['INVALID_ROOM', 'INVALID_SUBSCRIPTION_DATA'].includes(e.data.code), `room ${JSON.stringify(room)}: ${JSON.stringify(e)}`);
    }
    for (const bad of [{ type: 'SUBSCRIBE' }, { type: 'SUBSCRIBE', data: 'job:1' }, { type: 'SUBSCRIBE', data: { room: 5 } }]) {
      c.send(bad);
      const e = await c.next(isType('ERROR'));
      assert.ok(['INVALID_SUBSCRIPTION_DATA', 'INVALID_ROOM'].includes(e.data.code), JSON.stringify(e));
    }
    c.send({ type: 'DANCE' });
    assert.equal((await c.next(isType('ERROR'))).data.code, 'INVALID_MESSAGE_TYPE');
    c.send('this is not json');
    checkFrame(await c.next(isType('ERROR')));
    c.send({ type: 'PING' });
    await c.next(isType('PONG'));
    assert.equal((await req('GET', '/api/health')).status, 200, 'the server is alive');
  });

  test("user:<other owner> -> ERROR ACCESS_DENIED; job:<other owner's job> refused too", async () => {
    const c = await connect(alice.key);
    c.send({ type: 'SUBSCRIBE', data: { room: `user:${bob.address}`, user_id: bob.address } });
    const e = await c.next(isType('ERROR'));
    assert.equal(e.data.code, 'ACCESS_DENIED', JSON.stringify(e));
    c.send({ type: 'SUBSCRIBE', data: { room: `job:${bobJob}` } });
    const e2 = await c.next((m) => m.type === 'ERROR' || m.type === 'SUCCESS');
    assert.equal(e2.type, 'ERROR', `alice subscribed to bob's job room: ${JSON.stringify(e2)}`);
    assert.equal(e2.data.code, 'ACCESS_DENIED');
    // her own user room is fine
    c.send({ type: 'SUBSCRIBE', data: { room: `user:${alice.address}`, user_id: alice.address } });
    assert.equal((await c.next(isType('SUCCESS'))).data.data.room, `user:${alice.address}`);
  });

  test('an admin key may subscribe to any room', async () => {
    const c = await connect(ADMIN_KEY);
    c.send({ type: 'SUBSCRIBE', data: { room: `job:${bobJob}` } });
    await c.next(isType('SUCCESS'));
  });

  test('UNSUBSCRIBE -> SUCCESS "Unsubscribed from room"', async () => {
    const c = await connect(alice.key);
    c.send({ type: 'SUBSCRIBE', data: { room: `job:${job}` } });
    await c.next(isType('SUCCESS'));
    c.send({ type: 'UNSUBSCRIBE', data: { room: `job:${job}` } });
    const u = await c.next((m) => m.type === 'SUCCESS' && m.data.message === 'Unsubscribed from room');
    assert.deepEqual(u.data.data, { room: `job:${job}` });
  });

  test('an oversized client frame does not take the server down', async () => {
    const c = await connect(alice.key);
    c.send({ type: 'SUBSCRIBE', data: { room: `job:${job}`, pad: 'x'.repeat(100000) } });
    await c.next((m) => m.type === 'ERROR', 5000).catch(() => {}); // an ERROR or a close: both fine
    assert.equal((await req('GET', '/api/health')).status, 200, 'the server is alive');
  });

  test('GET /api/ws/stats counts the open connections', async () => {
    const r = await req('GET', '/api/ws/stats', { key: ADMIN_KEY });
    if (r.status === 404) return; // not in this route table: basics.test.mjs reports it
    assert.ok(r.json.data.total_clients >= 1, r.text);
  });
});

describe('live events', () => {
  test('TASK_CREATED then TASK_STATUS_CHANGED in job:<id>, task:<id> and user:<owner> rooms', async () => {
    const c = await connect(alice.key);
    c.send({ type: 'SUBSCRIBE', data: { room: `job:${job}` } });
    await c.next(isType('JOB_TASKS_SNAPSHOT'));
    const u = await connect(alice.key);
    u.send({ type: 'SUBSCRIBE', data: { room: `user:${alice.address}`, user_id: alice.address } });
    await u.next(isType('SUCCESS'));

    const t = runJobNow(job);
    const created = await c.next((m) => m.type === 'TASK_CREATED' && m.data?.task_id === t);
    checkFrame(created);
    assert.equal(created.data.job_id, job);
    const uc = await u.next((m) => m.type === 'TASK_CREATED' && m.data?.task_id === t);
    assert.equal(uc.data.job_id, job);

    const tc = await connect(alice.key);
    tc.send({ type: 'SUBSCRIBE', data: { room: `task:${t}` } });
    await tc.next(isType('SUCCESS'));

    // a keeper that takes everything: registered, whitelisted, online, large capacity
    const k = '0x' + '5e'.repeat(20);
    const kid = sqlVal(`SELECT tgx.register_keeper(${lit(k)}, 'ws keeper')`);
    sql(`UPDATE tgx.keepers SET capacity = 10000 WHERE keeper_id = ${kid}`);
    if (sqlVal(`SELECT whitelisted FROM tgx.keepers WHERE keeper_id = ${kid}`) !== 't') sql(`SELECT tgx.whitelist_keeper(${lit(k)}, 'ws test')`);
    sql(`SELECT tgx.keeper_checkin(${kid})`);
    sql('SELECT tgx.dispatch_tasks(10000)');
    assert.equal(sqlVal(`SELECT state FROM tgx.tasks WHERE task_id = ${t}`), 'assigned');

    const changed = await c.next((m) => m.type === 'TASK_STATUS_CHANGED' && m.data?.task_id === t);
    checkFrame(changed);
    assert.equal(changed.data.job_id, job);
    await tc.next((m) => m.type === 'TASK_STATUS_CHANGED' && m.data?.task_id === t);
    await u.next((m) => m.type === 'TASK_STATUS_CHANGED' && m.data?.task_id === t);
  });

  test("bob's connection gets no event of alice's job (checked after an event of his own arrives)", async () => {
    const b = await connect(bob.key);
    b.send({ type: 'SUBSCRIBE', data: { room: `user:${bob.address}`, user_id: bob.address } });
    await b.next(isType('SUCCESS'));
    const ta = runJobNow(job);
    const tb = runJobNow(bobJob);
    await b.next((m) => m.type === 'TASK_CREATED' && m.data?.task_id === tb);
    assert.ok(!b.messages.some((m) => m.data?.task_id === ta), `bob saw alice's task: ${JSON.stringify(b.messages)}`);
  });
});
