// Pagination on list routes: ?limit=N&cursor=C, newest first; a walk returns every element exactly
// once; without parameters the original shapes (no pagination fields).  The next page's cursor is
// the body's "next_cursor", or the X-Next-Cursor header for routes answering a bare array (absent
// on the last page).
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { ADMIN_KEY, assertError, createJob, newKey, newOwner, req, runJobNow, seedJob, timeJob } from './lib/api.mjs';

const alice = newOwner('page-alice');
const seeded = []; // newest first
let tasksJob;
const taskIds = [];

before(async () => {
  // 25 jobs one minute apart (explicit created_at: "newest first" is well defined)
  for (let i = 0; i < 25; i++) {
    seeded.unshift(seedJob(alice.address, { createdAt: `now() - interval '${25 - i} minutes'`, title: `page job ${i}` }));
  }
  tasksJob = await createJob(alice.key, timeJob(alice.address, { job_title: 'page tasks' }));
  seeded.unshift(tasksJob);
  for (let i = 0; i < 7; i++) taskIds.unshift(runJobNow(tasksJob));
});

function nextCursor(r) {
  const inBody = r.json && !Array.isArray(r.json) ? r.json.next_cursor : undefined;
  return inBody ?? r.headers.get('x-next-cursor') ?? null;
}

async function walk(pathBase, limit, pick, key = alice.key) {
  const seen = [];
  let cursor = null;
  for (let page = 0; page < 100; page++) {
    const sep = pathBase.includes('?') ? '&' : '?';
    const path = `${pathBase}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const r = await req('GET', path, { key });
    assert.equal(r.status, 200, `${path}: ${r.text}`);
    const items = pick(r.json);
    assert.ok(items.length <= limit, `${path}: ${items.length} items > limit ${limit}`);
    seen.push(...items);
    cursor = nextCursor(r);
    if (!cursor) break;
    assert.equal(typeof cursor, 'string', `next_cursor is an opaque string: ${JSON.stringify(cursor)}`);
    assert.ok(items.length > 0, 'a page before the end is not empty');
  }
  return seen;
}

describe('pagination', () => {
  test('GET /api/jobs/user/:addr: limit 10 + cursor walks 26 jobs exactly once, newest first', async () => {
    const ids = await walk(`/api/jobs/user/${alice.address}`, 10, (j) => j.jobs.map((x) => x.job_data.job_id));
    assert.deepEqual(ids, seeded);
  });

  test('the same walk with limit 1 and limit 26', async () => {
    assert.deepEqual(await walk(`/api/jobs/user/${alice.address}`, 1, (j) => j.jobs.map((x) => x.job_data.job_id)), seeded);
    const one = await req('GET', `/api/jobs/user/${alice.address}?limit=26`, { key: alice.key });
    assert.deepEqual(one.json.jobs.map((x) => x.job_data.job_id), seeded);
    assert.ok(!nextCursor(one), 'no next page after the last job');
  });

  test('GET /api/jobs/by-apikey walks the same', async () => {
    assert.deepEqual(await walk('/api/jobs/by-apikey', 7, (j) => j.jobs.map((x) => x.job_data.job_id)), seeded);
  });

  test('GET /api/jobs/user/:addr/chain/:id walks the same', async () => {
    assert.deepEqual(await walk(`/api/jobs/user/${alice.address}/chain/31337`, 9, (j) => j.jobs.map((x) => x.job_data.job_id)), seeded);
  });

  test('a new job between pages does not disturb the walk (keyset, not offset)', async () => {
    const first = await req('GET', `/api/jobs/user/${alice.address}?limit=5`, { key: alice.key });
    const ids = first.json.jobs.map((x) => x.job_data.job_id);
    const extra = seedJob(alice.address, { createdAt: 'now()', title: 'inserted mid-walk' });
    let cursor = nextCursor(first);
    assert.ok(cursor, 'a next page');
    while (cursor) {
      const r = await req('GET', `/api/jobs/user/${alice.address}?limit=5&cursor=${encodeURIComponent(cursor)}`, { key: alice.key });
      ids.push(...r.json.jobs.map((x) => x.job_data.job_id));
      cursor = r.json.next_cursor;
    }
    assert.deepEqual(ids, seeded, `the walk is unchanged (the newer job ${extra} comes before the first page)`);
    seeded.unshift(extra);
  });

  test('GET /api/tasks/job/:id: 7 tasks walked with limit 3, newest first', async () => {
    const ids = await walk(`/api/tasks/job/${tasksJob}`, 3, (j) => {
      assert.ok(Array.isArray(j), 'still a bare array with limit (the cursor in X-Next-Cursor)');
      return j.map((t) => t.task_id);
    });
    assert.deepEqual(ids, taskIds);
  });

  test('without parameters the original shapes: no pagination fields', async () => {
    const a = await req('GET', `/api/jobs/user/${alice.address}`, { key: alice.key });
    assert.deepEqual(Object.keys(a.json), ['jobs']);
    assert.equal(a.json.jobs.length, seeded.length);
    const t = await req('GET', `/api/tasks/job/${tasksJob}`, { key: alice.key });
    assert.ok(Array.isArray(t.json), 'tasks of a job: a bare array');
    const r = await req('GET', '/api/tasks/recent', { key: alice.key });
    assert.deepEqual(Object.keys(r.json).sort(), ['count', 'limit', 'tasks']);
  });

  test('other list routes accept limit: users board, recent tasks, api keys', async () => {
    const u = await req('GET', '/api/leaderboard/users?limit=1', { key: alice.key });
    assert.equal(u.status, 200, u.text);
    const users = Array.isArray(u.json) ? u.json : u.json.users;
    assert.equal(users.length, 1, u.text);
    const rec = await req('GET', '/api/tasks/recent?limit=3', { key: alice.key });
    assert.deepEqual(rec.json.tasks.map((t) => t.task_id), taskIds.slice(0, 3));
    const rc = nextCursor(rec);
    assert.ok(rc, 'recent tasks: a next page');
    const more = await req('GET', `/api/tasks/recent?limit=3&cursor=${encodeURIComponent(rc)}`, { key: alice.key });
    assert.deepEqual(more.json.tasks.map((t) => t.task_id), taskIds.slice(3, 6));
    newKey(alice.address); // a second key: two pages of one
    const k = await req('GET', `/api/admin/api-keys/${alice.address}?limit=1`, { key: ADMIN_KEY });
    assert.equal(k.status, 200, k.text);
    assert.equal(k.json.length, 1);
    const kc = nextCursor(k);
    assert.ok(kc, 'api keys: a next page');
    const k2 = await req('GET', `/api/admin/api-keys/${alice.address}?limit=1&cursor=${encodeURIComponent(kc)}`, { key: ADMIN_KEY });
    assert.equal(k2.json.length, 1);
    assert.notEqual(k2.json[0].key, k.json[0].key);
  });

  test('bad limit or cursor: 400 JSON', async () => {
    for (const q of ['limit=0', 'limit=-1', 'limit=abc', 'cursor=%00%ff', 'cursor=not-a-cursor', 'limit=5&cursor=' + 'A'.repeat(5000)]) {
      const r = await req('GET', `/api/jobs/user/${alice.address}?${q}`, { key: alice.key });
      assert.equal(r.status, 400, `?${q.slice(0, 40)}: ${r.status} ${r.text.slice(0, 200)}`);
      assertError(r, 400);
    }
  });

  test("a cursor does not leak across owners: another owner's key is still refused", async () => {
    const first = await req('GET', `/api/jobs/user/${alice.address}?limit=2`, { key: alice.key });
    const bob = newOwner('page-bob');
    const r = await req('GET', `/api/jobs/user/${alice.address}?limit=2&cursor=${encodeURIComponent(nextCursor(first))}`, { key: bob.key });
    assertError(r, 403);
  });
});
