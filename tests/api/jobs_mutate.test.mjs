// Job mutations: PUT /api/jobs/update/:id (path id, only the fields sent), PUT
// /api/jobs/:id/status/:status and PUT /api/jobs/:id/lastexecuted (broken in the original, working
// here), PUT /api/jobs/delete/:id (2xx for every job type, waiting tasks cancelled).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ADMIN_KEY, assertDbUnchanged, assertError, assertShape, conditionJob, createJob, cronJob, customJob, dbSnapshot,
  eventJob, newJobId, newOwner, req, runJobNow, sql, sqlRows, sqlVal, timeJob,
} from './lib/api.mjs';

const alice = newOwner('mut-alice');
const bob = newOwner('mut-bob');

function jobCols(id) {
  const [r] = sqlRows(`SELECT job_title, time_frame, recurring, status, job_cost_prediction, timezone,
      extract(epoch FROM expiration_time - created_at)::bigint FROM tgx.jobs WHERE job_id = ${id}`);
  return { job_title: r[0], time_frame: Number(r[1]), recurring: r[2] === 't', status: r[3],
    job_cost_prediction: Number(r[4]), timezone: r[5], lifetime: Number(r[6]) };
}

describe('PUT /api/jobs/update/:id', () => {
  test('changes only the fields sent, by the path id', async () => {
    const id = await createJob(alice.key, timeJob(alice.address, { job_title: 'before', recurring: false }));
    const before = jobCols(id);
    const r = await req('PUT', `/api/jobs/update/${id}`, { key: alice.key, body: { job_title: 'after' } });
    assert.equal(r.status, 200, r.text);
    assertShape(r.json, { message: 'str', job_id: 'uint', updated_at: 'ts' }, 'update answer');
    assert.equal(r.json.message, 'Job updated successfully');
    assert.equal(r.json.job_id, id);
    const after = jobCols(id);
    assert.deepEqual(after, { ...before, job_title: 'after' }, 'only job_title changed');
  });

  test('a different job_id in the body never changes that other job (refused, or the path job is changed)', async () => {
    const id = await createJob(alice.key, timeJob(alice.address, { job_title: 'path job' }));
    const other = await createJob(alice.key, timeJob(alice.address, { job_title: 'untouched' }));
    const snap = dbSnapshot();
    const r = await req('PUT', `/api/jobs/update/${id}`, { key: alice.key, body: { job_id: other, job_title: 'changed' } });
    if (r.status === 200) {
      assert.equal(r.json.job_id, id);
      assert.equal(jobCols(id).job_title, 'changed');
    } else {
      assertError(r, 400, undefined, 'job_id');
      assertDbUnchanged(snap, 'a mismatched body job_id');
    }
    assert.equal(jobCols(other).job_title, 'untouched');
  });

  test('time_frame, recurring and job_cost_prediction change when sent; the others stay', async () => {
    const id = await createJob(alice.key, timeJob(alice.address, { job_title: 'tf job' }));
    const before = jobCols(id);
    const r = await req('PUT', `/api/jobs/update/${id}`, { key: alice.key, body: { time_frame: 7200, job_cost_prediction: 0.5 } });
    assert.equal(r.status, 200, r.text);
    const after = jobCols(id);
    assert.equal(after.time_frame, 7200);
    assert.equal(after.job_cost_prediction, 0.5);
    assert.equal(after.job_title, before.job_title);
    assert.equal(after.recurring, before.recurring);
    assert.equal(after.status, before.status);
  });

  test('time_interval of a time job: the schedule changes and next_fire_at is recomputed', async () => {
    const id = await createJob(alice.key, timeJob(alice.address));
    const r = await req('PUT', `/api/jobs/update/${id}`, { key: alice.key, body: { time_interval: 300 } });
    assert.equal(r.status, 200, r.text);
    const [ti, ok] = sqlRows(`SELECT time_interval, abs(extract(epoch FROM next_fire_at - updated_at) - 300) < 2
                                FROM tgx.time_schedules WHERE job_id = ${id}`)[0];
    assert.deepEqual([ti, ok], ['300', 't']);
  });

  test('refusals leave the job unchanged: bad JSON 400, bad values 400 with field, unknown 404, bad id 400, other owner 403, no key 401', async () => {
    const id = await createJob(alice.key, timeJob(alice.address));
    const snap = dbSnapshot();
    assertError(await req('PUT', `/api/jobs/update/${id}`, { key: alice.key, body: '{"job_title":' }), 400, 'INVALID_REQUEST');
    assertError(await req('PUT', `/api/jobs/update/${id}`, { key: alice.key, body: { time_frame: -1 } }), 400, undefined, 'time_frame');
    assertError(await req('PUT', `/api/jobs/update/${id}`, { key: alice.key, body: { time_interval: 999999 } }), 400, undefined, 'time_interval');
    assertError(await req('PUT', `/api/jobs/update/${id}`, { key: alice.key, body: { job_title: '' } }), 400, undefined, 'job_title');
    assertError(await req('PUT', `/api/jobs/update/${newJobId()}`, { key: alice.key, body: { job_title: 'x y z' } }), 404);
    assertError(await req('PUT', '/api/jobs/update/12abc', { key: alice.key, body: { job_title: 'x y z' } }), 400);
    assertError(await req('PUT', `/api/jobs/update/${id}`, { key: bob.key, body: { job_title: 'hijack' } }), 403);
    assertError(await req('PUT', `/api/jobs/update/${id}`, { body: { job_title: 'anon' } }), 401, 'API_KEY_REQUIRED');
    assertDbUnchanged(snap, 'refused job updates');
  });

  test('an admin key updates any job', async () => {
    const id = await createJob(alice.key, timeJob(alice.address));
    const r = await req('PUT', `/api/jobs/update/${id}`, { key: ADMIN_KEY, body: { job_title: 'by admin' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(jobCols(id).job_title, 'by admin');
  });
});

describe('PUT /api/jobs/:id/status/:status', () => {
  test('200 {"message":"Job status updated successfully","job_id","status","updated_at"}', async () => {
    const id = await createJob(alice.key, timeJob(alice.address));
    const r = await req('PUT', `/api/jobs/${id}/status/pending`, { key: alice.key });
    assert.equal(r.status, 200, r.text);
    assertShape(r.json, { message: 'str', job_id: 'uint', status: 'str', updated_at: 'ts' }, 'status answer');
    assert.equal(r.json.message, 'Job status updated successfully');
    assert.equal(r.json.job_id, id);
    assert.equal(r.json.status, 'pending');
    assert.equal(sqlVal(`SELECT status FROM tgx.jobs WHERE job_id = ${id}`), 'pending');
  });

  test('paused stops the job, pending resumes it', async () => {
    const id = await createJob(alice.key, timeJob(alice.address));
    const p = await req('PUT', `/api/jobs/${id}/status/paused`, { key: alice.key });
    assert.equal(p.status, 200, p.text);
    assert.equal(p.json.status, 'paused');
    assert.equal(sqlVal(`SELECT status FROM tgx.jobs WHERE job_id = ${id}`), 'paused');
    const q = await req('PUT', `/api/jobs/${id}/status/pending`, { key: alice.key });
    assert.equal(q.status, 200, q.text);
    assert.equal(sqlVal(`SELECT status || ' ' || (next_fire_at IS NOT NULL) FROM tgx.jobs JOIN tgx.time_schedules USING (job_id) WHERE job_id = ${id}`), 'pending true');
  });

  test('a deleted job cannot be resumed: 409', async () => {
    const id = await createJob(alice.key, timeJob(alice.address));
    assert.equal((await req('PUT', `/api/jobs/delete/${id}`, { key: alice.key, body: {} })).status, 200);
    const snap = dbSnapshot();
    assertError(await req('PUT', `/api/jobs/${id}/status/pending`, { key: alice.key }), 409);
    assertDbUnchanged(snap, 'resuming a deleted job');
  });

  test('refusals: unknown status 400 INVALID_STATUS, bad id 400, unknown job 404, other owner 403, no key 401; nothing changes', async () => {
    const id = await createJob(alice.key, timeJob(alice.address));
    const snap = dbSnapshot();
    assertError(await req('PUT', `/api/jobs/${id}/status/exploded`, { key: alice.key }), 400, 'INVALID_STATUS');
    assertError(await req('PUT', '/api/jobs/abc/status/pending', { key: alice.key }), 400);
    assertError(await req('PUT', `/api/jobs/${newJobId()}/status/pending`, { key: alice.key }), 404);
    assertError(await req('PUT', `/api/jobs/${id}/status/pending`, { key: bob.key }), 403);
    assertError(await req('PUT', `/api/jobs/${id}/status/pending`), 401, 'API_KEY_REQUIRED');
    assertDbUnchanged(snap, 'refused status changes');
  });
});

// an internal writer in the original (its scheduler calls it); here the owner's key or an admin key
describe('PUT /api/jobs/:id/lastexecuted', () => {
  test('200; last_executed_at and job_cost_actual stored', async () => {
    const id = await createJob(alice.key, timeJob(alice.address));
    const at = '2030-01-02T03:04:05.123456Z';
    const body = `{"job_id":${id},"task_ids":1,"job_cost_actual":0.0125,"last_executed_at":"${at}"}`;
    const r = await req('PUT', `/api/jobs/${id}/lastexecuted`, { key: ADMIN_KEY, body });
    assert.equal(r.status, 200, r.text);
    assertShape(r.json, { message: 'str', last_executed_at: 'ts', updated_at: 'ts' }, 'lastexecuted answer');
    assert.equal(r.json.message, 'Last executed time updated successfully');
    assert.equal(String(r.json.job_id), id);
    const [le, cost] = sqlRows(`SELECT to_char(last_executed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), job_cost_actual
                                  FROM tgx.jobs WHERE job_id = ${id}`)[0];
    assert.equal(le, at);
    assert.equal(Number(cost), 0.0125);
    const g = await req('GET', `/api/jobs/user/${alice.address}/${id}`, { key: alice.key });
    assert.equal(Date.parse(g.json.last_executed_at), Date.parse(at));
    // the owner's key may record it too (the route is keyed with ownership)
    const o = await req('PUT', `/api/jobs/${id}/lastexecuted`, { key: alice.key,
      body: `{"job_id":${id},"last_executed_at":"2030-01-03T00:00:00Z"}` });
    assert.equal(o.status, 200, o.text);
  });

  test('refusals: bad JSON 400, bad timestamp 400, unknown job 404, another owner 403, no key 401; nothing changes', async () => {
    const id = await createJob(alice.key, timeJob(alice.address));
    const snap = dbSnapshot();
    assertError(await req('PUT', `/api/jobs/${id}/lastexecuted`, { key: ADMIN_KEY, body: '{' }), 400, 'INVALID_REQUEST');
    for (const at of ['yesterday', 'now', 'epoch', '2030-13-01T00:00:00Z', '', 5]) {
      assertError(await req('PUT', `/api/jobs/${id}/lastexecuted`, { key: ADMIN_KEY, body: { last_executed_at: at } }), 400);
    }
    const unknown = newJobId();
    assertError(await req('PUT', `/api/jobs/${unknown}/lastexecuted`, { key: ADMIN_KEY,
      body: `{"job_id":${unknown},"last_executed_at":"2030-01-01T00:00:00Z"}` }), 404);
    assertError(await req('PUT', `/api/jobs/${id}/lastexecuted`, { key: bob.key,
      body: `{"job_id":${id},"last_executed_at":"2030-01-01T00:00:00Z"}` }), 403);
    assertError(await req('PUT', `/api/jobs/${id}/lastexecuted`, {
      body: `{"job_id":${id},"last_executed_at":"2030-01-01T00:00:00Z"}` }), 401, 'API_KEY_REQUIRED');
    assertDbUnchanged(snap, 'refused last-executed updates');
  });
});

describe('PUT /api/jobs/delete/:id', () => {
  const makers = { interval: timeJob, cron: cronJob, event: eventJob, condition: conditionJob, custom: customJob };
  for (const [kind, make] of Object.entries(makers)) {
    test(`${kind} job: 200 {"message":"Job deleted successfully"}, status deleted, waiting tasks cancelled`, async () => {
      const id = await createJob(alice.key, make(alice.address));
      const t1 = runJobNow(id);
      const t2 = runJobNow(id);
      const before = await req('GET', `/api/tasks/job/${id}`, { key: alice.key });
      assert.equal(before.status, 200, before.text);
      assert.deepEqual(before.json.map((t) => t.task_id).sort(), [t1, t2].sort());
      assert.ok(before.json.every((t) => t.task_status !== 'cancelled'));

      const r = await req('PUT', `/api/jobs/delete/${id}`, { key: alice.key, body: {} });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json?.message, 'Job deleted successfully', r.text);
      assert.equal(sqlVal(`SELECT status FROM tgx.jobs WHERE job_id = ${id}`), 'deleted');

      const after = await req('GET', `/api/tasks/job/${id}`, { key: alice.key });
      assert.equal(after.status, 200, after.text);
      for (const t of after.json) assert.equal(t.task_status, 'cancelled', `task ${t.task_id}: ${JSON.stringify(t)}`);
      assert.equal(sqlVal(`SELECT count(*) FROM tgx.tasks WHERE job_id = ${id} AND state <> 'cancelled'`), '0');
    });
  }

  test("a deleted job's schedule no longer fires", async () => {
    const id = await createJob(alice.key, timeJob(alice.address));
    const r = await req('PUT', `/api/jobs/delete/${id}`, { key: alice.key, body: {} });
    assert.equal(r.status, 200, r.text);
    const next = sqlVal(`SELECT coalesce(next_fire_at::text, 'null') FROM tgx.time_schedules WHERE job_id = ${id}`);
    // parked now, or parked by the scheduler at its next firing: either way no task is created
    sql(`UPDATE tgx.time_schedules SET next_fire_at = now() - interval '1 second' WHERE job_id = ${id} AND next_fire_at IS NOT NULL`);
    sql('SELECT tgx.fire_due_schedules(100)');
    assert.equal(sqlVal(`SELECT count(*) FROM tgx.tasks WHERE job_id = ${id}`), '0', `a deleted job fired (next_fire_at was ${next})`);
  });

  test('refusals: bad id 400 INVALID_JOB_ID, unknown 404 JOB_NOT_FOUND, other owner 403, no key 401; nothing changes', async () => {
    const id = await createJob(alice.key, timeJob(alice.address));
    const snap = dbSnapshot();
    assertError(await req('PUT', '/api/jobs/delete/notanumber', { key: alice.key, body: {} }), 400, 'INVALID_JOB_ID');
    assertError(await req('PUT', `/api/jobs/delete/${newJobId()}`, { key: alice.key, body: {} }), 404, 'JOB_NOT_FOUND');
    assertError(await req('PUT', `/api/jobs/delete/${id}`, { key: bob.key, body: {} }), 403);
    assertError(await req('PUT', `/api/jobs/delete/${id}`, { body: {} }), 401, 'API_KEY_REQUIRED');
    assertDbUnchanged(snap, 'refused deletes');
  });

  test('the body is ignored (none, {}, or junk)', async () => {
    for (const body of [undefined, '{}', 'not json at all']) {
      const id = await createJob(alice.key, timeJob(alice.address));
      const r = await req('PUT', `/api/jobs/delete/${id}`, { key: alice.key, body });
      assert.equal(r.status, 200, `${JSON.stringify(body)}: ${r.text}`);
    }
  });

  test('an admin key deletes any job', async () => {
    const id = await createJob(alice.key, timeJob(alice.address));
    const r = await req('PUT', `/api/jobs/delete/${id}`, { key: ADMIN_KEY, body: {} });
    assert.equal(r.status, 200, r.text);
  });
});
