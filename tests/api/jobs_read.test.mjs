// Job reads: GET /api/jobs/by-apikey, /api/jobs/user/:user_address, .../chain/:created_chain_id,
// /api/jobs/user/:user_address/:job_id, /api/jobs/safe-address/:safe_address,
// /api/jobs/:job_id/task-fees -- shapes, ownership, errors.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  ADMIN_KEY, JOB_DATA, assertError, assertShape, conditionJob, createJob, cronJob, customJob, eventJob, lit,
  newJobId, newOwner, req, runJobNow, sql, sqlVal, timeJob,
} from './lib/api.mjs';

const alice = newOwner('read-alice');
const bob = newOwner('read-bob');
const nobody = newOwner('read-nobody');
const safe = '0x' + 'd4'.repeat(20);
const ids = {};

const COMMON_SUB = {
  job_id: 'uint', target_chain_id: 'str', target_contract_address: 'str', target_function: 'str', abi: 'str',
  arg_type: 'int', arguments: 'str[]|null', dynamic_arguments_script_url: 'str', is_completed: 'bool',
  is_active: 'bool', expiration_time: 'ts',
};
const TIME_SUB = { ...COMMON_SUB, timezone: 'str', schedule_type: 'str', time_interval: 'int', cron_expression: 'str',
  specific_schedule: 'str', next_execution_timestamp: 'ts' };
const EVENT_SUB = { ...COMMON_SUB, recurring: 'bool', trigger_chain_id: 'str', trigger_contract_address: 'str',
  trigger_event: 'str', event_filter_para_name: 'str', event_filter_value: 'str' };
const COND_SUB = { ...COMMON_SUB, recurring: 'bool', condition_type: 'str', upper_limit: 'num', lower_limit: 'num',
  value_source_type: 'str', value_source_url: 'str', selected_key_route: 'str' };

before(async () => {
  ids.time = await createJob(alice.key, timeJob(alice.address, { job_title: 'read time' }));
  ids.cron = await createJob(alice.key, cronJob(alice.address));
  ids.event = await createJob(alice.key, eventJob(alice.address));
  ids.cond = await createJob(alice.key, conditionJob(alice.address));
  ids.custom = await createJob(alice.key, customJob(alice.address));
  ids.otherChain = await createJob(alice.key, timeJob(alice.address, { job_id: newJobId(11155111n),
    created_chain_id: '11155111', target_chain_id: '11155111' }));
  ids.safe = await createJob(alice.key, timeJob(alice.address, { is_safe: true, safe_address: safe, safe_name: 's' }));
  ids.bob = await createJob(bob.key, timeJob(bob.address));
});

function byId(jobs) {
  const m = new Map();
  for (const j of jobs) m.set(j.job_data.job_id, j);
  return m;
}

function checkListElement(el) {
  assertShape(el, { job_data: 'obj' }, 'JobResponseAPI');
  assertShape(el.job_data, JOB_DATA, 'job_data');
  const subs = ['time_job_data', 'event_job_data', 'condition_job_data'].filter((k) => k in el && el[k] !== null);
  assert.equal(subs.length, 1, `exactly one type-specific part, got ${subs} in ${JSON.stringify(el).slice(0, 300)}`);
  const spec = { time_job_data: TIME_SUB, event_job_data: EVENT_SUB, condition_job_data: COND_SUB }[subs[0]];
  assertShape(el[subs[0]], spec, subs[0]);
  assert.equal(el[subs[0]].job_id, el.job_data.job_id);
  return subs[0];
}

describe('GET /api/jobs/user/:user_address', () => {
  test('200 {"jobs":[JobResponseAPI]}: every job of the owner with its type part', async () => {
    const r = await req('GET', `/api/jobs/user/${alice.checksummed}`, { key: alice.key });
    assert.equal(r.status, 200, r.text);
    assert.ok(Array.isArray(r.json.jobs), r.text);
    const m = byId(r.json.jobs);
    for (const [k, id] of Object.entries(ids)) {
      if (k === 'bob') assert.ok(!m.has(id), "bob's job is not listed");
      else assert.ok(m.has(id), `${k} job ${id} missing`);
    }
    for (const el of r.json.jobs) checkListElement(el);
    assert.ok('time_job_data' in m.get(ids.time));
    assert.equal(m.get(ids.time).time_job_data.schedule_type, 'interval');
    assert.equal(m.get(ids.time).time_job_data.time_interval, 900);
    assert.equal(m.get(ids.cron).time_job_data.schedule_type, 'cron');
    assert.equal(m.get(ids.cron).time_job_data.cron_expression, '*/5 * * * *');
    assert.ok('event_job_data' in m.get(ids.event));
    assert.equal(m.get(ids.event).event_job_data.trigger_event, 'Transfer(address,address,uint256)');
    assert.ok('condition_job_data' in m.get(ids.cond));
    assert.equal(m.get(ids.cond).condition_job_data.condition_type, 'greater_than');
    assert.equal(m.get(ids.time).job_data.status, 'pending');
    assert.equal(m.get(ids.time).job_data.job_title, 'read time');
    assert.equal(m.get(ids.time).job_data.user_id, Number(sqlVal(`SELECT user_id FROM tgx.users WHERE user_address = ${lit(alice.address)}`)));
  });

  test('newest first', async () => {
    const r = await req('GET', `/api/jobs/user/${alice.address}`, { key: alice.key });
    const times = r.json.jobs.map((j) => Date.parse(j.job_data.created_at));
    for (let i = 1; i < times.length; i++) assert.ok(times[i - 1] >= times[i], `created_at not descending: ${times}`);
  });

  test('deleted jobs are still listed with status "deleted"', async () => {
    const id = await createJob(alice.key, timeJob(alice.address, { job_title: 'to delete' }));
    assert.equal((await req('PUT', `/api/jobs/delete/${id}`, { key: alice.key, body: {} })).status, 200);
    const r = await req('GET', `/api/jobs/user/${alice.address}`, { key: alice.key });
    assert.equal(byId(r.json.jobs).get(id)?.job_data.status, 'deleted');
  });

  test('a user without jobs (or unknown): 200 {"message":"No jobs found for this user","jobs":[]}', async () => {
    const r = await req('GET', `/api/jobs/user/${nobody.address}`, { key: nobody.key });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { message: 'No jobs found for this user', jobs: [] });
  });

  test("another owner's jobs: 403; admin: 200", async () => {
    assertError(await req('GET', `/api/jobs/user/${alice.address}`, { key: bob.key }), 403);
    const a = await req('GET', `/api/jobs/user/${alice.address}`, { key: ADMIN_KEY });
    assert.equal(a.status, 200, a.text);
    assert.ok(byId(a.json.jobs).has(ids.time));
  });

  test('missing key 401, bad address 4xx', async () => {
    assertError(await req('GET', `/api/jobs/user/${alice.address}`), 401, 'API_KEY_REQUIRED');
    const r = await req('GET', '/api/jobs/user/0xnope', { key: ADMIN_KEY });
    assert.ok([400, 404].includes(r.status), `${r.status} ${r.text}`);
    assertError(r, r.status);
  });
});

describe('GET /api/jobs/by-apikey', () => {
  test("200: the jobs of the key's owner", async () => {
    const r = await req('GET', '/api/jobs/by-apikey', { key: alice.key });
    assert.equal(r.status, 200, r.text);
    const m = byId(r.json.jobs);
    assert.ok(m.has(ids.time) && m.has(ids.event) && m.has(ids.cond));
    assert.ok(!m.has(ids.bob));
    for (const el of r.json.jobs) checkListElement(el);
  });
  test('an owner without jobs: 200 with jobs []', async () => {
    const r = await req('GET', '/api/jobs/by-apikey', { key: nobody.key });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.jobs, []);
  });
  test('missing key 401', async () => {
    assertError(await req('GET', '/api/jobs/by-apikey'), 401, 'API_KEY_REQUIRED');
  });
});

describe('GET /api/jobs/user/:user_address/chain/:created_chain_id', () => {
  test('200: only the jobs created on that chain', async () => {
    const r = await req('GET', `/api/jobs/user/${alice.address}/chain/11155111`, { key: alice.key });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.jobs.map((j) => j.job_data.job_id), [ids.otherChain]);
    const r2 = await req('GET', `/api/jobs/user/${alice.address}/chain/31337`, { key: alice.key });
    const m = byId(r2.json.jobs);
    assert.ok(m.has(ids.time) && !m.has(ids.otherChain));
    for (const el of r2.json.jobs) assert.equal(el.job_data.created_chain_id, '31337');
  });
  test('no job on that chain: 200, jobs empty (or null as the original)', async () => {
    const r = await req('GET', `/api/jobs/user/${alice.address}/chain/10`, { key: alice.key });
    assert.equal(r.status, 200, r.text);
    assert.ok(r.json.jobs === null || (Array.isArray(r.json.jobs) && r.json.jobs.length === 0), r.text);
  });
  test("bad chain id 400; another owner's 403", async () => {
    const r = await req('GET', `/api/jobs/user/${alice.address}/chain/abc`, { key: alice.key });
    assertError(r, 400);
    assertError(await req('GET', `/api/jobs/user/${alice.address}/chain/31337`, { key: bob.key }), 403);
  });
});

describe('GET /api/jobs/user/:user_address/:job_id', () => {
  test('200 the bare JobData', async () => {
    const r = await req('GET', `/api/jobs/user/${alice.checksummed}/${ids.time}`, { key: alice.key });
    assert.equal(r.status, 200, r.text);
    assertShape(r.json, JOB_DATA, 'JobData');
    assert.equal(r.json.job_id, ids.time);
    assert.equal(r.json.task_definition_id, 1);
    assert.equal(r.json.time_frame, 3600);
    assert.equal(r.json.created_chain_id, '31337');
    assert.equal(r.json.last_executed_at, '0001-01-01T00:00:00Z', 'a job never run: the zero time like the original');
    assert.ok(!('time_job_data' in r.json));
  });
  test('custom, event and condition jobs read alike', async () => {
    for (const k of ['custom', 'event', 'cond', 'safe']) {
      const r = await req('GET', `/api/jobs/user/${alice.address}/${ids[k]}`, { key: alice.key });
      assert.equal(r.status, 200, `${k}: ${r.text}`);
      assertShape(r.json, JOB_DATA, `JobData ${k}`);
    }
    const s = await req('GET', `/api/jobs/user/${alice.address}/${ids.safe}`, { key: alice.key });
    assert.equal(s.json.safe_address, safe);
  });
  test("the job of another user under one's own address: 403; under the other's address: 403; admin: 200", async () => {
    assertError(await req('GET', `/api/jobs/user/${alice.address}/${ids.bob}`, { key: alice.key }), 403);
    assertError(await req('GET', `/api/jobs/user/${bob.address}/${ids.bob}`, { key: alice.key }), 403);
    const a = await req('GET', `/api/jobs/user/${bob.address}/${ids.bob}`, { key: ADMIN_KEY });
    assert.equal(a.status, 200, a.text);
  });
  test('unknown job 404; bad id 400', async () => {
    assertError(await req('GET', `/api/jobs/user/${alice.address}/${newJobId()}`, { key: alice.key }), 404);
    assertError(await req('GET', `/api/jobs/user/${alice.address}/abc`, { key: alice.key }), 400);
    assertError(await req('GET', `/api/jobs/user/${alice.address}/1${'0'.repeat(80)}`, { key: alice.key }), 400);
  });
});

describe('GET /api/jobs/safe-address/:safe_address', () => {
  test('200 the jobs of the Safe (checksummed path works)', async () => {
    const r = await req('GET', `/api/jobs/safe-address/${safe.toUpperCase().replace('0X', '0x')}`, { key: alice.key });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.jobs.map((j) => j.job_data.job_id), [ids.safe]);
    checkListElement(r.json.jobs[0]);
  });
  test('no jobs: 200 {"message":"No jobs found for this safe address","jobs":[]}', async () => {
    const r = await req('GET', `/api/jobs/safe-address/0x${'e5'.repeat(20)}`, { key: alice.key });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { message: 'No jobs found for this safe address', jobs: [] });
  });
  test("another owner does not see them (403 or an empty list)", async () => {
    const r = await req('GET', `/api/jobs/safe-address/${safe}`, { key: bob.key });
    if (r.status === 200) assert.deepEqual(r.json.jobs, [], r.text);
    else assertError(r, 403);
    assertError(await req('GET', `/api/jobs/safe-address/${safe}`), 401, 'API_KEY_REQUIRED');
  });
});

describe('GET /api/jobs/:job_id/task-fees', () => {
  test('200 {"task_fees":[{task_id, task_opx_cost}]}', async () => {
    const t1 = runJobNow(ids.time);
    sql(`UPDATE tgx.tasks SET task_opx_cost = 0.25 WHERE task_id = ${t1}`);
    const r = await req('GET', `/api/jobs/${ids.time}/task-fees`, { key: alice.key });
    assert.equal(r.status, 200, r.text);
    assert.ok(Array.isArray(r.json.task_fees), r.text);
    const f = r.json.task_fees.find((x) => x.task_id === t1);
    assert.ok(f, r.text);
    assertShape(f, { task_id: 'int', task_opx_cost: 'num' }, 'task fee');
    assert.equal(f.task_opx_cost, 0.25);
  });
  test('a job without tasks: 200, task_fees [] or null', async () => {
    const r = await req('GET', `/api/jobs/${ids.cond}/task-fees`, { key: alice.key });
    assert.equal(r.status, 200, r.text);
    assert.ok(r.json.task_fees === null || r.json.task_fees.length === 0, r.text);
  });
  test("bad id 400; another owner's job 403; no key 401", async () => {
    assertError(await req('GET', '/api/jobs/xyz/task-fees', { key: alice.key }), 400);
    assertError(await req('GET', `/api/jobs/${ids.time}/task-fees`, { key: bob.key }), 403);
    assertError(await req('GET', `/api/jobs/${ids.time}/task-fees`), 401, 'API_KEY_REQUIRED');
  });
});

describe('GET /api/jobs/time', () => {
  test('the active time jobs due within the look-ahead, read only (no task is created)', async () => {
    const id = await createJob(alice.key, timeJob(alice.address, { time_interval: 20, job_title: 'due soon' }));
    const tasksBefore = sqlVal('SELECT count(*) FROM tgx.tasks');
    const r = await req('GET', '/api/jobs/time', { key: ADMIN_KEY });
    assert.equal(r.status, 200, r.text);
    assert.ok(Array.isArray(r.json), `an array (something is due): ${r.text.slice(0, 300)}`);
    const e = r.json.find((x) => x.task_target_data?.job_id === id || x.job_id === id);
    assert.ok(e, `job ${id} (due in 20 s) is listed: ${r.text.slice(0, 500)}`);
    assertShape(e, { task_id: 'int', task_definition_id: 'int', last_executed_at: 'ts', expiration_time: 'ts',
      next_execution_timestamp: 'ts', schedule_type: 'str', time_interval: 'int', cron_expression: 'str',
      specific_schedule: 'str', task_target_data: 'obj', is_imua: 'bool' }, 'ScheduleTimeTaskData');
    assert.equal(e.schedule_type, 'interval');
    assert.equal(e.time_interval, 20);
    assert.equal(sqlVal('SELECT count(*) FROM tgx.tasks'), tasksBefore, 'reading changed nothing');
    const far = await createJob(alice.key, timeJob(alice.address, { time_interval: 3000, job_title: 'due later' }));
    const r2 = await req('GET', '/api/jobs/time', { key: ADMIN_KEY });
    assert.ok(!(r2.json || []).some((x) => x.task_target_data?.job_id === far || x.job_id === far), 'a job due in 50 min is not listed');
  });
});
