// Tasks: GET /api/tasks/:id, /api/tasks/job/:job_id, /api/tasks/recent, /api/tasks/user/:user_address,
// /api/tasks/by-apikey/:api_key, /api/tasks/safe-address/:safe_address, and the internal writers
// POST /api/tasks and PUT /api/tasks/execution/:id when the route table has them.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  ADMIN_KEY, TASK_DATA, TASK_ITEM, assertDbUnchanged, assertError, assertShape, createJob, dbSnapshot, ifRoute,
  lit, newJobId, newOwner, rawReq, req, runJobNow, sql, sqlVal, timeJob,
} from './lib/api.mjs';

const alice = newOwner('tasks-alice');
const bob = newOwner('tasks-bob');
const safe = '0x' + 'f6'.repeat(20);
let job; let sepoliaJob; let safeJob; let bobJob; let emptyJob;
let t1; let t2; let tSepolia; let tBob;
const HASH = '0x' + 'ab'.repeat(32);

before(async () => {
  job = await createJob(alice.key, timeJob(alice.address));
  sepoliaJob = await createJob(alice.key, timeJob(alice.address, { job_id: newJobId(11155111n), created_chain_id: '11155111', target_chain_id: '11155111' }));
  safeJob = await createJob(alice.key, timeJob(alice.address, { is_safe: true, safe_address: safe, safe_name: 'x' }));
  emptyJob = await createJob(alice.key, timeJob(alice.address));
  bobJob = await createJob(bob.key, timeJob(bob.address));
  t1 = runJobNow(job);
  t2 = runJobNow(job);
  tSepolia = runJobNow(sepoliaJob);
  runJobNow(safeJob);
  tBob = runJobNow(bobJob);
  sql(`UPDATE tgx.tasks SET execution_tx_hash = ${lit(HASH)}, task_opx_cost = 1.5 WHERE task_id IN (${t2}, ${tSepolia})`);
});

describe('GET /api/tasks/job/:job_id', () => {
  test('200 [TaskItem] with the original field names', async () => {
    const r = await req('GET', `/api/tasks/job/${job}`, { key: alice.key });
    assert.equal(r.status, 200, r.text);
    assert.ok(Array.isArray(r.json), r.text);
    assert.deepEqual(r.json.map((t) => t.task_id).sort((a, b) => a - b), [t1, t2].sort((a, b) => a - b));
    for (const t of r.json) assertShape(t, TASK_ITEM, 'TaskItem');
    const a = r.json.find((t) => t.task_id === t1);
    assert.equal(a.tx_url, '', 'no tx hash: empty tx_url');
    assert.equal(a.execution_timestamp, '0001-01-01T00:00:00Z');
    const b = r.json.find((t) => t.task_id === t2);
    assert.equal(b.execution_tx_hash, HASH);
    assert.equal(b.tx_url, `https://sepolia.etherscan.io/tx/${HASH}`, 'unknown chain: the default explorer');
    assert.equal(b.task_opx_cost, 1.5);
  });
  test('tx_url uses the explorer of the job\'s created_chain_id', async () => {
    const r = await req('GET', `/api/tasks/job/${sepoliaJob}`, { key: alice.key });
    assert.equal(r.json[0].tx_url, `https://eth-sepolia.blockscout.com/tx/${HASH}`);
  });
  test('a job without tasks: 200 []', async () => {
    const r = await req('GET', `/api/tasks/job/${emptyJob}`, { key: alice.key });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, []);
  });
  test("unknown job 404 TASKS_NOT_FOUND; bad id 400; another owner's job 403; admin 200; no key 401", async () => {
    assertError(await req('GET', `/api/tasks/job/${newJobId()}`, { key: alice.key }), 404, 'TASKS_NOT_FOUND');
    assertError(await req('GET', '/api/tasks/job/0xff', { key: alice.key }), 400);
    assertError(await req('GET', `/api/tasks/job/${bobJob}`, { key: alice.key }), 403);
    assert.equal((await req('GET', `/api/tasks/job/${bobJob}`, { key: ADMIN_KEY })).status, 200);
    assertError(await req('GET', `/api/tasks/job/${job}`), 401, 'API_KEY_REQUIRED');
  });
});

describe('GET /api/tasks/:id', () => {
  test('200 TaskData', async () => {
    const r = await req('GET', `/api/tasks/${t2}`, { key: alice.key });
    assert.equal(r.status, 200, r.text);
    assertShape(r.json, TASK_DATA, 'TaskData');
    assert.equal(r.json.task_id, t2);
    assert.equal(r.json.job_id, job);
    assert.equal(r.json.task_definition_id, 1);
    assert.equal(r.json.execution_tx_hash, HASH);
  });
  test("bad id 400 INVALID_TASK_ID; missing 404 TASK_NOT_FOUND; another owner's task 403; no key 401", async () => {
    assertError(await req('GET', '/api/tasks/abc', { key: alice.key }), 400, 'INVALID_TASK_ID');
    assertError(await req('GET', '/api/tasks/99999999999', { key: alice.key }), 404, 'TASK_NOT_FOUND');
    assertError(await req('GET', `/api/tasks/${tBob}`, { key: alice.key }), 403);
    assert.equal((await req('GET', `/api/tasks/${tBob}`, { key: ADMIN_KEY })).status, 200);
    assertError(await req('GET', `/api/tasks/${t1}`), 401, 'API_KEY_REQUIRED');
  });
});

describe('GET /api/tasks/recent', () => {
  const RECENT = { task_id: 'int', task_number: 'int', job_id: 'uint', task_definition_id: 'int', created_at: 'ts',
    task_opx_cost: 'num', execution_timestamp: 'ts', execution_tx_hash: 'str', tx_url: 'str', task_performer_id: 'int',
    task_attester_ids: 'int[]|null', task_status: 'str', task_error: 'str', is_imua: 'bool' };
  test('200 {"tasks":[RecentTask],"count","limit"}; a user key sees only its own tasks', async () => {
    const r = await req('GET', '/api/tasks/recent', { key: alice.key });
    assert.equal(r.status, 200, r.text);
    assertShape(r.json, { tasks: 'arr', count: 'int', limit: 'int' }, 'recent');
    assert.equal(r.json.limit, 200);
    assert.equal(r.json.count, r.json.tasks.length);
    for (const t of r.json.tasks) assertShape(t, RECENT, 'RecentTask');
    const mine = new Set([job, sepoliaJob, safeJob, emptyJob]);
    for (const t of r.json.tasks) assert.ok(mine.has(t.job_id), `task ${t.task_id} of job ${t.job_id} is not alice's`);
    assert.ok(r.json.tasks.some((t) => t.task_id === t1));
  });
  test('limit: 2 gives 2, newest first; > 200 is clamped to 200; admin sees everyone', async () => {
    const r = await req('GET', '/api/tasks/recent?limit=2', { key: ADMIN_KEY });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.limit, 2);
    assert.equal(r.json.tasks.length, 2);
    assert.ok(r.json.tasks[0].task_id > r.json.tasks[1].task_id || Date.parse(r.json.tasks[0].created_at) >= Date.parse(r.json.tasks[1].created_at));
    const big = await req('GET', '/api/tasks/recent?limit=5000', { key: ADMIN_KEY });
    assert.equal(big.status, 200, big.text);
    assert.equal(big.json.limit, 200);
    const all = await req('GET', '/api/tasks/recent', { key: ADMIN_KEY });
    assert.ok(all.json.tasks.some((t) => t.task_id === tBob));
  });
  test('limit not a positive integer: 400 INVALID_LIMIT', async () => {
    for (const l of ['0', '-3', 'abc', '1.5']) {
      assertError(await req('GET', `/api/tasks/recent?limit=${l}`, { key: alice.key }), 400, 'INVALID_LIMIT');
    }
  });
  test('no key 401', async () => {
    assertError(await req('GET', '/api/tasks/recent'), 401, 'API_KEY_REQUIRED');
  });
});

describe('GET /api/tasks/user/:user_address', () => {
  test('200 {"user_address","task_groups":[{"job_id","tasks":[TaskItem]}]}', async () => {
    const r = await req('GET', `/api/tasks/user/${alice.checksummed}`, { key: alice.key });
    assert.equal(r.status, 200, r.text);
    assertShape(r.json, { user_address: 'str', task_groups: 'arr' }, 'tasks by user');
    assert.equal(r.json.user_address.toLowerCase(), alice.address);
    const g = r.json.task_groups.find((x) => x.job_id === job);
    assert.ok(g, r.text.slice(0, 500));
    assertShape(g, { job_id: 'uint', tasks: 'arr' }, 'task group');
    assert.deepEqual(g.tasks.map((t) => t.task_id).sort((a, b) => a - b), [t1, t2].sort((a, b) => a - b));
    for (const t of g.tasks) assertShape(t, TASK_ITEM, 'TaskItem');
    assert.ok(!r.json.task_groups.some((x) => x.job_id === bobJob));
  });
  test("unknown user 404 USER_NOT_FOUND; another owner's 403; no key 401", async () => {
    const n = newOwner('tasks-nobody');
    assertError(await req('GET', `/api/tasks/user/${n.address}`, { key: n.key }), 404, 'USER_NOT_FOUND');
    assertError(await req('GET', `/api/tasks/user/${alice.address}`, { key: bob.key }), 403);
    assertError(await req('GET', `/api/tasks/user/${alice.address}`), 401, 'API_KEY_REQUIRED');
  });
});

describe('GET /api/tasks/by-apikey/:api_key', () => {
  test("200: the tasks of the path key's owner", async () => {
    const r = await req('GET', `/api/tasks/by-apikey/${alice.key}`, { key: alice.key });
    assert.equal(r.status, 200, r.text);
    assert.ok(Array.isArray(r.json.task_groups), r.text);
    assert.ok(r.json.task_groups.some((g) => g.job_id === job));
  });
  test("an unknown path key: 4xx JSON; another owner's key in the path with a user key: refused", async () => {
    const r = await req('GET', '/api/tasks/by-apikey/TGRX-00000000-0000-4000-8000-000000000000', { key: alice.key });
    assert.ok([401, 403, 404].includes(r.status), `${r.status} ${r.text}`);
    assertError(r, r.status);
    const o = await req('GET', `/api/tasks/by-apikey/${bob.key}`, { key: alice.key });
    assert.ok(o.status === 403 || o.status === 404, `alice reading bob's tasks through bob's key in the path: ${o.status} ${o.text}`);
    assertError(await req('GET', `/api/tasks/by-apikey/${alice.key}`), 401, 'API_KEY_REQUIRED');
  });
});

describe('GET /api/tasks/safe-address/:safe_address', () => {
  test('200 {"safe_address","task_groups":[...]}', async () => {
    const r = await req('GET', `/api/tasks/safe-address/${safe}`, { key: alice.key });
    assert.equal(r.status, 200, r.text);
    assertShape(r.json, { safe_address: 'str', task_groups: 'arr' }, 'tasks by safe');
    assert.deepEqual(r.json.task_groups.map((g) => g.job_id), [safeJob]);
  });
  test('an unknown Safe: 404 JSON; another owner: refused or empty; no key 401', async () => {
    const r = await req('GET', `/api/tasks/safe-address/0x${'07'.repeat(20)}`, { key: alice.key });
    assertError(r, 404);
    const o = await req('GET', `/api/tasks/safe-address/${safe}`, { key: bob.key });
    if (o.status === 200) assert.deepEqual(o.json.task_groups, []);
    else assert.ok([403, 404].includes(o.status), `${o.status} ${o.text}`);
    assertError(await req('GET', `/api/tasks/safe-address/${safe}`), 401, 'API_KEY_REQUIRED');
  });
});

describe('internal task writers', () => {
  test('POST /api/tasks: 201 {"task_id"} with job_id as a JSON number', ifRoute('POST', '/api/tasks'), async () => {
    const r = await rawReq('POST', '/api/tasks', { headers: { 'X-Api-Key': ADMIN_KEY, 'Content-Type': 'application/json',
      'X-Trace-ID': 'post-tasks-trace-1' }, body: `{"job_id":${job},"task_definition_id":1,"is_imua":false}` });
    assert.equal(r.status, 201, r.text);
    assertShape(r.json, { task_id: 'int' }, 'created task');
    assert.equal(sqlVal(`SELECT job_id || ' ' || state || ' ' || coalesce(trace_id, '') FROM tgx.tasks WHERE task_id = ${r.json.task_id}`),
      `${job} pending post-tasks-trace-1`, 'a pending task of the job with the request trace id');
    const snap = dbSnapshot();
    const bad = await rawReq('POST', '/api/tasks', { headers: { 'X-Api-Key': ADMIN_KEY }, body: '{"job_id":"x"}' });
    assertError(bad, 400);
    assertDbUnchanged(snap, 'a bad POST /api/tasks');
  });

  test('PUT /api/tasks/execution/:id: 200, execution data stored; missing fields 400 MISSING_REQUIRED_FIELDS',
    ifRoute('PUT', '/api/tasks/execution/:id'), async () => {
      const keeperId = sqlVal(`SELECT tgx.register_keeper('0x${'9a'.repeat(20)}', 'exec keeper')`);
      const body = { task_id: t1, task_performer_id: Number(keeperId), execution_timestamp: '2030-05-05T05:05:05Z',
        execution_tx_hash: '0x' + 'cd'.repeat(32), proof_of_task: 'proof', task_opx_cost: 0.75 };
      const r = await req('PUT', `/api/tasks/execution/${t1}`, { key: ADMIN_KEY, body });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json, { message: 'Task execution data updated successfully' });
      assert.equal(sqlVal(`SELECT execution_tx_hash || ' ' || task_opx_cost FROM tgx.tasks WHERE task_id = ${t1}`), `0x${'cd'.repeat(32)} 0.75`);
      const snap = dbSnapshot();
      assertError(await req('PUT', `/api/tasks/execution/${t1}`, { key: ADMIN_KEY, body: { task_id: t1 } }), 400, 'MISSING_REQUIRED_FIELDS');
      assertDbUnchanged(snap, 'a bad execution update');
    });
});
