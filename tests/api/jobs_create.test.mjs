// POST /api/jobs: what the SDK sends for every job type (direct and Safe-wallet mode), the
// response shape, what is stored (through the SQL API: schedules validated there), the trace id,
// and every field-named 400 -- after each of which the database is unchanged.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ADMIN_KEY, TARGET, assertDbUnchanged, assertError, assertShape, conditionJob, cronJob, customJob,
  dbSnapshot, eventJob, lit, newOwner, rawNumber, req, specificJob, sql, sqlRows, sqlVal, timeJob,
} from './lib/api.mjs';

const alice = newOwner('create-alice');
const bob = newOwner('create-bob');

async function post(key, jobs, headers) {
  return req('POST', '/api/jobs', { key, body: jobs, headers });
}

function jobRow(jobId) {
  const [row] = sqlRows(`SELECT j.task_definition_id, j.status, j.time_frame, j.is_imua, j.created_chain_id,
      j.target_contract_address, j.target_function, j.arg_type, array_to_json(j.arguments), j.trace_id,
      u.user_address, j.job_cost_prediction, coalesce(j.safe_address, ''), j.custom, j.recurring,
      coalesce(j.link_job_id::text, ''), j.chain_status, j.job_title, j.expiration_time > j.created_at
    FROM tgx.jobs j JOIN tgx.users u USING (user_id) WHERE j.job_id = ${jobId}`);
  assert.ok(row, `job ${jobId} is not stored`);
  const [tdid, status, timeFrame, isImua, createdChain, target, fn, argType, args, traceId, user, cost, safe,
    custom, recurring, link, chainStatus, title, expiresLater] = row;
  return { tdid: Number(tdid), status, timeFrame: Number(timeFrame), isImua: isImua === 't', createdChain, target,
    fn, argType: Number(argType), args: JSON.parse(args), traceId, user, cost: Number(cost), safe, custom: custom === 't',
    recurring: recurring === 't', link, chainStatus: Number(chainStatus), title, expiresLater: expiresLater === 't' };
}

describe('POST /api/jobs: success', () => {
  test('interval job as the SDK sends it: 200 CreateJobResponse, rows stored, trace id kept', async () => {
    const job = timeJob(alice.address, { is_imua: true });
    const trace = 'post-jobs-b92266-3bce36aa';
    const r = await post(alice.key, [job], { 'X-Trace-ID': trace });
    assert.equal(r.status, 200, r.text);
    assertShape(r.json, { user_id: 'int', account_balance: 'int', token_balance: 'int', job_ids: 'uint[]',
      task_definition_ids: 'int[]', time_frames: 'int[]' }, 'CreateJobResponse');
    assert.deepEqual(r.json.job_ids, [job.job_id]);
    assert.deepEqual(r.json.task_definition_ids, [1]);
    assert.deepEqual(r.json.time_frames, [3600]);
    assert.equal(rawNumber(r.text, 'account_balance'), '1000000000000000');
    assert.equal(r.headers.get('x-trace-id'), trace);

    const j = jobRow(job.job_id);
    assert.equal(j.tdid, 1);
    assert.equal(j.status, 'pending');
    assert.equal(j.timeFrame, 3600);
    assert.equal(j.user, alice.address, 'the user row has the lower-cased address');
    assert.equal(j.isImua, true);
    assert.equal(j.createdChain, '31337');
    assert.equal(j.target, TARGET);
    assert.equal(j.fn, 'increment');
    assert.deepEqual(j.args, ['1']);
    assert.equal(j.traceId, trace, 'jobs.trace_id is the request X-Trace-ID');
    assert.ok(Math.abs(j.cost - 0.004) < 1e-12);
    assert.ok(j.expiresLater);
    const [s] = sqlRows(`SELECT schedule_type, time_interval, next_fire_at > now(), abs(extract(epoch FROM next_fire_at - created_at) - 900) < 2
                           FROM tgx.time_schedules WHERE job_id = ${job.job_id}`);
    assert.deepEqual(s, ['interval', '900', 't', 't'], 'time_schedules: interval 900, first run created_at + 900 s');
  });

  test("the job's trace id is copied into the tasks its schedule fires", async () => {
    const job = timeJob(alice.address, { time_interval: 60 });
    const r = await post(alice.key, [job], { 'X-Trace-ID': 'trace-into-tasks-1' });
    assert.equal(r.status, 200, r.text);
    sql(`UPDATE tgx.time_schedules SET next_fire_at = now() - interval '1 second' WHERE job_id = ${job.job_id}`);
    sql('SELECT tgx.fire_due_schedules(100)');
    const traces = sqlRows(`SELECT trace_id FROM tgx.tasks WHERE job_id = ${job.job_id}`).map((x) => x[0]);
    assert.ok(traces.length >= 1, 'the schedule fired a task');
    assert.deepEqual([...new Set(traces)], ['trace-into-tasks-1']);
  });

  test('without X-Trace-ID the generated id is stored on the job', async () => {
    const job = timeJob(alice.address);
    const r = await post(alice.key, [job]);
    assert.equal(r.status, 200, r.text);
    assert.equal(jobRow(job.job_id).traceId, r.headers.get('x-trace-id'));
  });

  test('cron job (with a zone): schedule_type cron, expression and canonical zone stored, next_fire_at computed', async () => {
    const job = cronJob(alice.address, { cron_expression: '0 9 * * 1-5', timezone: 'europe/berlin', time_frame: 864000 });
    const r = await post(alice.key, [job]);
    assert.equal(r.status, 200, r.text);
    const [s] = sqlRows(`SELECT schedule_type, cron_expression, timezone, next_fire_at IS NOT NULL, time_interval IS NULL
                           FROM tgx.time_schedules WHERE job_id = ${job.job_id}`);
    assert.deepEqual(s, ['cron', '0 9 * * 1-5', 'Europe/Berlin', 't', 't']);
  });

  test('specific job: specific_at parsed, next_fire_at = that instant', async () => {
    const at = new Date(Math.floor(Date.now() / 1000) * 1000 + 1800 * 1000);
    const job = specificJob(alice.address, { specific_schedule: at.toISOString() });
    const r = await post(alice.key, [job]);
    assert.equal(r.status, 200, r.text);
    const [s] = sqlRows(`SELECT schedule_type, extract(epoch FROM next_fire_at)::bigint, extract(epoch FROM specific_at)::bigint
                           FROM tgx.time_schedules WHERE job_id = ${job.job_id}`);
    assert.deepEqual(s, ['specific', String(at.getTime() / 1000), String(at.getTime() / 1000)]);
  });

  test('event job: event_triggers row', async () => {
    const job = eventJob(alice.address);
    const r = await post(alice.key, [job]);
    assert.equal(r.status, 200, r.text);
    assert.equal(jobRow(job.job_id).tdid, 3);
    const [e] = sqlRows(`SELECT trigger_chain_id, trigger_contract_address, trigger_event FROM tgx.event_triggers WHERE job_id = ${job.job_id}`);
    assert.deepEqual(e, ['31337', TARGET, 'Transfer(address,address,uint256)']);
    assert.equal(sqlVal(`SELECT count(*) FROM tgx.time_schedules WHERE job_id = ${job.job_id}`), '0');
  });

  test('event job with a checksummed trigger contract: stored lower-case', async () => {
    const job = eventJob(alice.address, { trigger_contract_address: '0x5FbDB2315678afecb367f032d93F642f64180aa3' });
    const r = await post(alice.key, [job]);
    assert.equal(r.status, 200, r.text);
    assert.equal(sqlVal(`SELECT trigger_contract_address FROM tgx.event_triggers WHERE job_id = ${job.job_id}`), TARGET);
  });

  test('condition job: condition_triggers row', async () => {
    const job = conditionJob(alice.address, { condition_type: 'between', upper_limit: 2000.5, lower_limit: 1500 });
    const r = await post(alice.key, [job]);
    assert.equal(r.status, 200, r.text);
    assert.equal(jobRow(job.job_id).tdid, 5);
    const [c] = sqlRows(`SELECT condition_type, upper_limit, lower_limit, value_source_type, value_source_url
                           FROM tgx.condition_triggers WHERE job_id = ${job.job_id}`);
    assert.deepEqual(c, ['between', '2000.5', '1500', 'api', 'https://prices.invalid/eth']);
  });

  test('dynamic-argument time job (task definition 2) with a script url', async () => {
    const job = timeJob(alice.address, { task_definition_id: 2, arg_type: 2, arguments: undefined,
      dynamic_arguments_script_url: 'https://gateway.invalid/ipfs/bafkreidynamic' });
    const r = await post(alice.key, [job]);
    assert.equal(r.status, 200, r.text);
    assert.equal(sqlVal(`SELECT dynamic_arguments_script_url FROM tgx.jobs WHERE job_id = ${job.job_id}`), 'https://gateway.invalid/ipfs/bafkreidynamic');
  });

  test("custom script job (task definition 7) with the SDK's empty target_contract_address", async () => {
    const job = customJob(alice.address);
    const r = await post(alice.key, [job]);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.task_definition_ids, [7]);
    const [c] = sqlRows(`SELECT custom_script_url, script_language FROM tgx.custom_scripts WHERE job_id = ${job.job_id}`);
    assert.deepEqual(c, [job.dynamic_arguments_script_url, 'go']);
    assert.equal(sqlVal(`SELECT time_interval FROM tgx.time_schedules WHERE job_id = ${job.job_id}`), '600');
  });

  test('Safe-wallet static job: the bare number among arguments is stored as its decimal string; Safe recorded', async () => {
    const safe = '0x' + 'b2'.repeat(20);
    const module = '0x' + 'c3'.repeat(20);
    const abi = JSON.stringify([{ type: 'function', name: 'execJobFromHub', stateMutability: 'nonpayable', inputs: [
      { name: 'safeAddress', type: 'address' }, { name: 'actionTarget', type: 'address' }, { name: 'actionValue', type: 'uint256' },
      { name: 'actionData', type: 'bytes' }, { name: 'operation', type: 'uint8' }, { name: 'jobOwner', type: 'address' }],
    outputs: [{ type: 'bool', name: 'success' }] }]);
    const job = timeJob(alice.address, { is_safe: true, safe_address: safe, safe_name: 'ops safe',
      target_contract_address: module, target_function: 'execJobFromHub', abi,
      arguments: [safe, TARGET, '0', '0xd09de08a', 0, alice.checksummed] });
    const r = await post(alice.key, [job]);
    assert.equal(r.status, 200, r.text);
    const j = jobRow(job.job_id);
    assert.deepEqual(j.args, [safe, TARGET, '0', '0xd09de08a', '0', alice.checksummed]);
    assert.equal(j.safe, safe);
    assert.equal(sqlVal(`SELECT safe_name FROM tgx.safe_addresses WHERE user_address = ${lit(alice.address)} AND safe_address = ${lit(safe)}`), 'ops safe');
  });

  test('two linked jobs in one request: both stored, the first links to the second (chain_status 0 / 1)', async () => {
    const a = timeJob(alice.address, { job_title: 'head' });
    const b = timeJob(alice.address, { job_title: 'follower' });
    const r = await post(alice.key, [a, b]);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual([...r.json.job_ids].sort(), [a.job_id, b.job_id].sort());
    const ja = jobRow(a.job_id);
    const jb = jobRow(b.job_id);
    assert.equal(ja.link, b.job_id);
    assert.equal(ja.chainStatus, 0);
    assert.equal(jb.link, '');
    assert.equal(jb.chainStatus, 1);
  });

  test('an admin key creates jobs for any user', async () => {
    const carol = newOwner('create-carol');
    const job = timeJob(carol.address);
    const r = await post(ADMIN_KEY, [job]);
    assert.equal(r.status, 200, r.text);
    assert.equal(jobRow(job.job_id).user, carol.address);
  });
});

describe('POST /api/jobs: refusals leave the database unchanged', () => {
  // [title, body maker, status, code (or null: any), field (or null: none checked)]
  const cases = [
    ['bad user_address', () => [timeJob(alice.address, { user_address: '0x1234' })], 400, null, 'user_address', ADMIN_KEY],
    ['bad target_contract_address', () => [timeJob(alice.address, { target_contract_address: '0xnothex' })], 400, null, 'target_contract_address'],
    ['bad trigger_contract_address', () => [eventJob(alice.address, { trigger_contract_address: '0x12' })], 400, null, 'trigger_contract_address'],
    ['bad safe_address', () => [timeJob(alice.address, { is_safe: true, safe_address: 'nope' })], 400, null, 'safe_address'],
    ['unknown zone', () => [cronJob(alice.address, { timezone: 'Mars/Olympus_Mons' })], 400, null, 'timezone'],
    ['bad cron', () => [cronJob(alice.address, { cron_expression: '61 * * * *' })], 400, null, 'cron_expression'],
    ['cron that is not cron', () => [cronJob(alice.address, { cron_expression: 'every day' })], 400, null, 'cron_expression'],
    ['interval > time_frame', () => [timeJob(alice.address, { time_interval: 7200, time_frame: 3600 })], 400, null, 'time_interval'],
    ['ABI not JSON', () => [timeJob(alice.address, { abi: '[{"type":"function",' })], 400, null, 'abi'],
    ['target_function not in the ABI', () => [timeJob(alice.address, { target_function: 'decrement' })], 400, null, 'target_function'],
    ['too few arguments', () => [timeJob(alice.address, { arguments: [] })], 400, null, 'arguments'],
    ['too many arguments', () => [timeJob(alice.address, { arguments: ['1', '2'] })], 400, null, 'arguments'],
    ['job_id not a number', () => [timeJob(alice.address, { job_id: 'abc' })], 400, null, 'job_id'],
    ['job_id beyond uint256', () => [timeJob(alice.address, { job_id: '1' + '0'.repeat(78) })], 400, null, 'job_id'],
    ['negative time_frame', () => [timeJob(alice.address, { time_frame: -5 })], 400, null, 'time_frame'],
    ['task_definition_id 9', () => [timeJob(alice.address, { task_definition_id: 9 })], 400, null, 'task_definition_id'],
    ['unknown schedule_type', () => [timeJob(alice.address, { schedule_type: 'weekly' })], 400, null, 'schedule_type'],
    ['bad condition_type', () => [conditionJob(alice.address, { condition_type: 'sideways' })], 400, null, 'condition_type'],
    ['job_title too short', () => [timeJob(alice.address, { job_title: 'ab' })], 400, null, 'job_title'],
    ['empty array', () => [], 400, 'EMPTY_REQUEST', null],
    ['a bare object instead of an array', () => timeJob(alice.address), 400, null, null],
    ['an array of numbers', () => [1, 2], 400, null, null],
    ['malformed JSON', () => '[{"job_id": "1",', 400, 'INVALID_REQUEST', null],
    ['JSON with a trailing garbage', () => '[]x', 400, 'INVALID_REQUEST', null],
    ['the second job of two is bad: nothing stored', () => [timeJob(alice.address), timeJob(alice.address, { cron_expression: 'x', schedule_type: 'cron', time_interval: undefined })], 400, null, null],
  ];
  for (const [title, make, status, code, field, key] of cases) {
    test(`${title}: ${status}${code ? ' ' + code : ''}${field ? ' field ' + field : ''}`, async () => {
      const snap = dbSnapshot();
      const r = await post(key || alice.key, make());
      assertError(r, status, code || undefined, field || undefined);
      assertDbUnchanged(snap, title);
    });
  }

  test('an existing job_id: 409, nothing changed', async () => {
    const job = timeJob(alice.address);
    assert.equal((await post(alice.key, [job])).status, 200);
    const snap = dbSnapshot();
    const r = await post(alice.key, [{ ...job, job_title: 'again' }]);
    assertError(r, 409);
    assertDbUnchanged(snap, 'a duplicate job id');
  });

  test("a job for another owner's address: 403, nothing changed", async () => {
    const snap = dbSnapshot();
    assertError(await post(bob.key, [timeJob(alice.address)]), 403);
    assertDbUnchanged(snap, 'a job for another owner');
  });

  test('no key: 401 (the original left this route open; we do not)', async () => {
    const snap = dbSnapshot();
    assertError(await post(undefined, [timeJob(alice.address)]), 401, 'API_KEY_REQUIRED');
    assertDbUnchanged(snap, 'a job without a key');
  });

  test('a job_id of 0x-hex or with a sign is refused', async () => {
    for (const id of ['0x10', '-1', '+1', '1.5', '1e3', '']) {
      const snap = dbSnapshot();
      const r = await post(alice.key, [timeJob(alice.address, { job_id: id })]);
      assertError(r, 400, undefined, 'job_id');
      assertDbUnchanged(snap, `job_id ${JSON.stringify(id)}`);
    }
  });

  test('the full range of uint256 is accepted as a job id', async () => {
    const max = ((1n << 256n) - 1n).toString();
    const r = await post(alice.key, [timeJob(alice.address, { job_id: max })]);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.job_ids, [max]);
  });

  test('a balance as JSON integer beyond 2^64 is kept exactly', async () => {
    const dave = newOwner('create-dave');
    const job = timeJob(dave.address);
    const body = JSON.stringify([job]).replace('"ether_balance":1000000000000000', '"ether_balance":340282366920938463463374607431768211456');
    const r = await req('POST', '/api/jobs', { key: dave.key, body });
    assert.equal(r.status, 200, r.text);
    assert.equal(sqlVal(`SELECT ether_balance FROM tgx.users WHERE user_address = ${lit(dave.address)}`), '340282366920938463463374607431768211456');
    assert.equal(rawNumber(r.text, 'account_balance'), '340282366920938463463374607431768211456');
  });

  test("unknown fields (the SDK's extras) are ignored", async () => {
    const job = { ...timeJob(alice.address), something_new: { a: 1 }, selected_key_route: 'data.price' };
    const r = await post(alice.key, [job]);
    assert.equal(r.status, 200, r.text);
  });
});
