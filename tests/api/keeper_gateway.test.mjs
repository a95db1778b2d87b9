// The keeper gateway (src/api/keeper_gateway.c): signed keeper requests under /api/keeper/, the
// original's POST /health check-in, and POST /api/admin/keepers/:address/whitelist.
//
// A whole life cycle: keepers register (POST /api/keepers), are whitelisted (admin route), check
// in; a task is made due and dispatched with SQL; a long-poll that started before the assignment
// receives it; ack, a signed result, an attestation by a second keeper.  Then the refusals: forged,
// replayed (also on the other instance), stale, not whitelisted, not registered, stale epoch, bad
// bodies.  Signatures are made with ethers (tests/e2e/node_modules); without it the file skips.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { before, describe, test } from 'node:test';
import {
  ADMIN_KEY, BASE2, RUN, assertDbUnchanged, assertError, dbSnapshot, lit, newOwner, req, seedJob, sql, sqlVal,
} from './lib/api.mjs';

let ethers;
try {
  ethers = await import(new URL('../e2e/node_modules/ethers/lib.esm/index.js', import.meta.url));
} catch {
  ethers = null;
}
const SKIP = ethers ? false : 'ethers is not installed in tests/e2e/node_modules (cd tests/e2e && npm ci)';

const CHAIN = '4242' + String(parseInt(RUN, 16) % 100000); // a chain only these keepers serve
const OTHER_CHAIN = CHAIN + '1';
const sha256hex = (s) => createHash('sha256').update(s).digest('hex');

/** Canonical JSON (compact, keys sorted), as jansson's json_dumps(JSON_COMPACT | JSON_SORT_KEYS). */
function canonical(v) {
  if (Array.isArray(v)) return '[' + v.map(canonical).join(',') + ']';
  if (v !== null && typeof v === 'object') {
    return '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + canonical(v[k])).join(',') + '}';
  }
  return JSON.stringify(v);
}
const digest = (v) => ethers.keccak256(ethers.toUtf8Bytes(canonical(v)));

/**
 * A signed keeper request: METHOD\nPATH\nTIMESTAMP\nSHA256_HEX(BODY) signed with EIP-191 by WALLET.
 * OPTS: ts (unix seconds), base, signer (another wallet signs), address (another claimed address),
 * raw (a prepared {headers, body} to send again).
 */
async function signed(wallet, method, path, body, opts = {}) {
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  const ts = String(opts.ts ?? Math.floor(Date.now() / 1000));
  const msg = `${method}\n${path}\n${ts}\n${sha256hex(text)}`;
  const sig = await (opts.signer || wallet).signMessage(msg);
  const headers = {
    'X-Keeper-Address': opts.address || wallet.address, 'X-Keeper-Timestamp': ts, 'X-Keeper-Signature': sig,
  };
  const prepared = { headers, body: text === '' ? undefined : text };
  const r = await req(method, path, { headers, body: prepared.body, base: opts.base });
  r.prepared = prepared;
  return r;
}
const resend = (method, path, prepared, base) => req(method, path, { headers: prepared.headers, body: prepared.body, base });

const resultText = (taskId, epoch, result) => `tgx-result:${taskId}:${epoch}:${digest(result)}`;
const attestText = (taskId, epoch, verdict, d) => `tgx-attest:${taskId}:${epoch}:${verdict ? 'agree' : 'disagree'}:${d}`;

let A; let B; let C; let D; // A performs, B attests, C is not whitelisted, D is not registered
let idA; let idB;
const owner = newOwner('keeper-gw-owner');

function taskRow(taskId) {
  const [state, keeper, epoch] = sql(`SELECT state, keeper_id, lease_epoch FROM tgx.tasks WHERE task_id = ${taskId}`).split('|');
  return { state, keeper: Number(keeper), epoch: Number(epoch) };
}
/** A new pending task of a job on CHAIN, due now.  Returns its id. */
function newTask() {
  const jobId = seedJob(owner.address, { chain: CHAIN, title: `gw job ${RUN}` });
  return Number(sqlVal(`SELECT tgx.run_job_now(${jobId}, 'keeper gateway test')`));
}
/** Serve chains: A gets OTHER work only when asked; B serves CHAIN unless moved away. */
function serve(keeperId, chain) {
  sql(`UPDATE tgx.keepers SET chain_ids = ARRAY[${lit(chain)}] WHERE keeper_id = ${keeperId}`);
}

before(async () => {
  if (SKIP) return;
  A = ethers.Wallet.createRandom();
  B = ethers.Wallet.createRandom();
  C = ethers.Wallet.createRandom();
  D = ethers.Wallet.createRandom();
  for (const [w, name] of [[A, 'A'], [B, 'B'], [C, 'C']]) {
    const r = await req('POST', '/api/keepers', {
      key: ADMIN_KEY, body: { keeper_name: `gw ${name} ${RUN}`, keeper_address: w.address, email_id: '' },
    });
    assert.equal(r.status, 201, r.text);
  }
  idA = Number(sqlVal(`SELECT keeper_id FROM tgx.keepers WHERE keeper_address = ${lit(A.address.toLowerCase())}`));
  idB = Number(sqlVal(`SELECT keeper_id FROM tgx.keepers WHERE keeper_address = ${lit(B.address.toLowerCase())}`));
  // only this file's keepers are online while it runs (other files check theirs in again)
  sql('UPDATE tgx.keepers SET online = false WHERE online');
  serve(idA, CHAIN);
  serve(idB, OTHER_CHAIN);
});

describe('POST /api/admin/keepers/:address/whitelist', { skip: SKIP }, () => {
  test('admin: 200, audited with the key\'s owner; again: 409; unknown: 404; bad body: 400; user key: 403', async () => {
    for (const w of [A, B]) {
      const r = await req('POST', `/api/admin/keepers/${w.address}/whitelist`, {
        key: ADMIN_KEY, body: { whitelisted: true, reason: 'gateway test' },
      });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json, { keeper_address: w.address.toLowerCase(), whitelisted: true, requeued_tasks: 0 });
    }
    const audit = sqlVal(`SELECT reason FROM tgx.audit_log WHERE action = 'whitelist_keeper' AND object_id = '${idA}' ORDER BY audit_id DESC LIMIT 1`);
    assert.match(audit, /^gateway test \(REST: admin key \d+ of 0x/);
    assertError(await req('POST', `/api/admin/keepers/${A.address}/whitelist`, { key: ADMIN_KEY, body: { reason: 'again' } }), 409);
    assertError(await req('POST', `/api/admin/keepers/${D.address}/whitelist`, { key: ADMIN_KEY, body: { reason: 'x' } }), 404, 'KEEPER_NOT_FOUND');
    const snap = dbSnapshot();
    assertError(await req('POST', `/api/admin/keepers/${C.address}/whitelist`, { key: ADMIN_KEY, body: { whitelisted: true } }), 400, 'INVALID_REQUEST', 'reason');
    assertError(await req('POST', `/api/admin/keepers/${C.address}/whitelist`, { key: ADMIN_KEY, body: { whitelisted: 'yes', reason: 'x' } }), 400, 'INVALID_REQUEST', 'whitelisted');
    assertError(await req('POST', '/api/admin/keepers/0x12/whitelist', { key: ADMIN_KEY, body: { reason: 'x' } }), 400, 'INVALID_ADDRESS');
    assertError(await req('POST', `/api/admin/keepers/${C.address}/whitelist`, { key: owner.key, body: { reason: 'x' } }), 403, 'ADMIN_REQUIRED');
    assertDbUnchanged(snap, 'refused whitelist requests');
  });
});

describe('signed requests', { skip: SKIP }, () => {
  test('POST /api/keeper/checkin: 200, the keeper is online with its version', async () => {
    for (const w of [A, B]) {
      const r = await signed(w, 'POST', '/api/keeper/checkin', { version: '1.2.3', uptime: 10 });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.status, true);
      assert.equal(r.json.keeper_address, w.address.toLowerCase());
    }
    assert.equal(sql(`SELECT online, version FROM tgx.keepers WHERE keeper_id = ${idA}`), 't|1.2.3');
    // an empty body is a check-in too
    assert.equal((await signed(A, 'POST', '/api/keeper/checkin')).status, 200);
  });

  test('forged signature, wrong claimed address, missing headers: 401 INVALID_SIGNATURE, nothing changed', async () => {
    const version = sqlVal(`SELECT version FROM tgx.keepers WHERE keeper_id = ${idA}`);
    assertError(await signed(A, 'POST', '/api/keeper/checkin', { version: 'forged' }, { signer: B }), 401, 'INVALID_SIGNATURE');
    assertError(await signed(B, 'POST', '/api/keeper/checkin', { version: 'forged' }, { address: A.address }), 401, 'INVALID_SIGNATURE');
    assertError(await req('POST', '/api/keeper/checkin', { body: { version: 'forged' } }), 401, 'INVALID_SIGNATURE');
    assertError(await req('POST', '/api/keeper/checkin', {
      body: { version: 'forged' },
      headers: { 'X-Keeper-Address': A.address, 'X-Keeper-Timestamp': 'soon', 'X-Keeper-Signature': '0x00' },
    }), 401, 'INVALID_SIGNATURE');
    // a signature over another body
    const good = await signed(A, 'POST', '/api/keeper/checkin', { version: 'v1' });
    assert.equal(good.status, 200);
    assertError(await req('POST', '/api/keeper/checkin', { headers: good.prepared.headers, body: JSON.stringify({ version: 'v2' }) }), 401, 'INVALID_SIGNATURE');
    assert.equal(sqlVal(`SELECT version FROM tgx.keepers WHERE keeper_id = ${idA}`), 'v1');
    sql(`UPDATE tgx.keepers SET version = ${lit(version)} WHERE keeper_id = ${idA}`);
  });

  test('replayed request: 401 REPLAYED_REQUEST, on this instance and on the other one', async () => {
    const first = await signed(A, 'POST', '/api/keeper/checkin', { version: 'replay-1' });
    assert.equal(first.status, 200, first.text);
    const before = sql(`SELECT count(*) FROM tgx.keeper_checkins WHERE keeper_id = ${idA}`);
    assertError(await resend('POST', '/api/keeper/checkin', first.prepared), 401, 'REPLAYED_REQUEST');
    if (BASE2) assertError(await resend('POST', '/api/keeper/checkin', first.prepared, BASE2), 401, 'REPLAYED_REQUEST');
    // v = 0/1 instead of 27/28 is the same signature
    const sig = first.prepared.headers['X-Keeper-Signature'];
    const v = parseInt(sig.slice(-2), 16) - 27;
    const alt = { ...first.prepared, headers: { ...first.prepared.headers, 'X-Keeper-Signature': sig.slice(0, -2) + v.toString(16).padStart(2, '0') } };
    assertError(await resend('POST', '/api/keeper/checkin', alt), 401, 'REPLAYED_REQUEST');
    assert.equal(sql(`SELECT count(*) FROM tgx.keeper_checkins WHERE keeper_id = ${idA}`), before);
  });

  test('stale timestamp: 401 STALE_TIMESTAMP (past and future), nothing changed', async () => {
    const snap = dbSnapshot();
    const now = Math.floor(Date.now() / 1000);
    assertError(await signed(A, 'GET', '/api/keeper/tasks?wait=0', undefined, { ts: now - 120 }), 401, 'STALE_TIMESTAMP');
    assertError(await signed(A, 'GET', '/api/keeper/tasks?wait=0', undefined, { ts: now + 120 }), 401, 'STALE_TIMESTAMP');
    assertDbUnchanged(snap, 'stale requests');
  });

  test('not whitelisted: 403 KEEPER_NOT_WHITELISTED; unknown: 403 KEEPER_NOT_REGISTERED', async () => {
    assertError(await signed(C, 'POST', '/api/keeper/checkin', {}), 403, 'KEEPER_NOT_WHITELISTED');
    assertError(await signed(D, 'GET', '/api/keeper/tasks?wait=0'), 403, 'KEEPER_NOT_REGISTERED');
    assertError(await signed(D, 'GET', '/api/keeper/attestations'), 403, 'KEEPER_NOT_REGISTERED');
    assert.equal(sqlVal(`SELECT online FROM tgx.keepers WHERE keeper_address = ${lit(C.address.toLowerCase())}`), 'f');
  });

  test('bad query and bodies: 400 JSON', async () => {
    assertError(await signed(A, 'GET', '/api/keeper/tasks?wait=31'), 400, 'INVALID_REQUEST', 'wait');
    assertError(await signed(A, 'GET', '/api/keeper/tasks?wait=x'), 400, 'INVALID_REQUEST', 'wait');
    assertError(await signed(A, 'POST', '/api/keeper/checkin', { uptime: -1 }), 400, 'INVALID_REQUEST', 'uptime');
    assertError(await signed(A, 'POST', '/api/keeper/checkin', '[1]'), 400, 'INVALID_REQUEST');
    assertError(await signed(A, 'POST', '/api/keeper/checkin', '{bad'), 400, 'INVALID_REQUEST');
    assertError(await signed(A, 'POST', '/api/keeper/tasks/1/ack', {}), 400, 'INVALID_REQUEST', 'lease_epoch');
    assertError(await signed(A, 'POST', '/api/keeper/tasks/abc/ack', { lease_epoch: 1 }), 400, 'INVALID_TASK_ID');
    assertError(await signed(A, 'POST', '/api/keeper/tasks/1/result', { lease_epoch: 1, signature: '0x' }), 400, 'INVALID_REQUEST', 'result');
    assertError(await signed(A, 'POST', '/api/keeper/tasks/1/result', { lease_epoch: 1, result: {}, signature: '0x12' }), 400, 'INVALID_REQUEST', 'signature');
    assertError(await signed(A, 'POST', '/api/keeper/tasks/1/fail', { lease_epoch: 1, error: '' }), 400, 'INVALID_REQUEST', 'error');
    assertError(await signed(A, 'POST', '/api/keeper/tasks/1/fail', { lease_epoch: 1, error: 'x', permanent: 'no' }), 400, 'INVALID_REQUEST', 'permanent');
    assertError(await signed(A, 'POST', '/api/keeper/attestations/1', { lease_epoch: 1, verdict: 'yes', signature: '0x' }), 400, 'INVALID_REQUEST', 'verdict');
    assertError(await signed(A, 'POST', '/api/keeper/tasks/999999999/ack', { lease_epoch: 1 }), 404, 'TASK_NOT_FOUND');
  });
});

describe('the life cycle', { skip: SKIP }, () => {
  test('a long-poll that started first is woken by the assignment; ack; signed result; attestation', async () => {
    // A's long-poll is parked before any task exists
    const poll = signed(A, 'GET', '/api/keeper/tasks?wait=25');
    await new Promise((r) => setTimeout(r, 300));
    const taskId = newTask();
    assert.ok(Number(sqlVal('SELECT tgx.dispatch_tasks(100)')) >= 1);
    const t0 = taskRow(taskId);
    assert.deepEqual([t0.state, t0.keeper], ['assigned', idA]);
    const got = await poll;
    assert.equal(got.status, 200, got.text);
    const task = got.json.tasks.find((t) => t.task_id === taskId);
    assert.ok(task, `the long-poll returned ${got.text}`);
    assert.equal(task.lease_epoch, t0.epoch);
    assert.equal(task.target_chain_id, CHAIN);
    assert.equal(task.target_function, 'increment');
    assert.equal(task.state, 'assigned');

    // a stale epoch: 409, nothing changed
    assertError(await signed(A, 'POST', `/api/keeper/tasks/${taskId}/ack`, { lease_epoch: t0.epoch + 1 }), 409, 'STALE_LEASE');
    // another keeper cannot take it
    assertError(await signed(B, 'POST', `/api/keeper/tasks/${taskId}/ack`, { lease_epoch: t0.epoch }), 409, 'STALE_LEASE');
    assert.equal(taskRow(taskId).state, 'assigned');
    const ack = await signed(A, 'POST', `/api/keeper/tasks/${taskId}/ack`, { lease_epoch: t0.epoch });
    assert.equal(ack.status, 200, ack.text);
    assert.equal(ack.json.task.state, 'running');
    assert.equal(taskRow(taskId).state, 'running');
    // acknowledged again (a retried request; within the same second the identical request would be a
    // replay, so the retry varies the target with a query argument the server ignores): the same answer
    assert.equal((await signed(A, 'POST', `/api/keeper/tasks/${taskId}/ack?n=2`, { lease_epoch: t0.epoch })).status, 200);

    // B may attest once A reported: let B serve the chain now
    serve(idB, CHAIN);
    const result = {
      execution_tx_hash: '0x' + 'ab'.repeat(32), execution_timestamp: Math.floor(Date.now() / 1000),
      gas_used: '21000', task_opx_cost: '0.0001', proof_of_task: `proof ${RUN}`,
    };
    // a result signed by another key: 401, nothing changed
    const forged = await B.signMessage(resultText(taskId, t0.epoch, result));
    assertError(await signed(A, 'POST', `/api/keeper/tasks/${taskId}/result`, { lease_epoch: t0.epoch, result, signature: forged }), 401, 'INVALID_SIGNATURE');
    // signed over another result
    const other = await A.signMessage(resultText(taskId, t0.epoch, { ...result, gas_used: '1' }));
    assertError(await signed(A, 'POST', `/api/keeper/tasks/${taskId}/result`, { lease_epoch: t0.epoch, result, signature: other }), 401, 'INVALID_SIGNATURE');
    assert.equal(taskRow(taskId).state, 'running');
    // under a stale epoch: 409
    const staleSig = await A.signMessage(resultText(taskId, t0.epoch + 5, result));
    assertError(await signed(A, 'POST', `/api/keeper/tasks/${taskId}/result`, { lease_epoch: t0.epoch + 5, result, signature: staleSig }), 409, 'STALE_LEASE');

    const sig = await A.signMessage(resultText(taskId, t0.epoch, result));
    const res = await signed(A, 'POST', `/api/keeper/tasks/${taskId}/result`, { lease_epoch: t0.epoch, result, signature: sig });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, { task_id: taskId, state: 'attesting' });
    assert.equal(sqlVal(`SELECT '0x' || encode(tp_signature, 'hex') FROM tgx.tasks WHERE task_id = ${taskId}`), sig.toLowerCase());

    // B's open attestation request, with what it needs to check
    const list = await signed(B, 'GET', '/api/keeper/attestations?wait=5');
    assert.equal(list.status, 200, list.text);
    const att = list.json.attestations.find((a) => a.task_id === taskId);
    assert.ok(att, `attestations: ${list.text}`);
    assert.equal(att.performer_address, A.address.toLowerCase());
    assert.equal(att.performer_id, idA);
    assert.equal(att.lease_epoch, t0.epoch);
    assert.equal(att.target_function, 'increment');
    assert.equal(att.result.execution_tx_hash, result.execution_tx_hash);
    assert.equal(att.result_digest, digest(att.result));
    assert.equal(att.result_digest, digest(result));
    assert.equal(att.tp_signature, sig.toLowerCase());
    // A is no attester of its own task
    const aList = await signed(A, 'GET', '/api/keeper/attestations');
    assert.ok(!aList.json.attestations.some((a) => a.task_id === taskId));

    // a verdict signed by the wrong key, or over another digest: 401
    const vForged = await A.signMessage(attestText(taskId, t0.epoch, true, att.result_digest));
    assertError(await signed(B, 'POST', `/api/keeper/attestations/${taskId}`, { lease_epoch: t0.epoch, verdict: true, signature: vForged }), 401, 'INVALID_SIGNATURE');
    const vOther = await B.signMessage(attestText(taskId, t0.epoch, false, att.result_digest));
    assertError(await signed(B, 'POST', `/api/keeper/attestations/${taskId}`, { lease_epoch: t0.epoch, verdict: true, signature: vOther }), 401, 'INVALID_SIGNATURE');
    assert.equal(taskRow(taskId).state, 'attesting');
    // A cannot vote on its own task
    const vA = await A.signMessage(attestText(taskId, t0.epoch, true, att.result_digest));
    assertError(await signed(A, 'POST', `/api/keeper/attestations/${taskId}`, { lease_epoch: t0.epoch, verdict: true, signature: vA }), 409);

    const vSig = await B.signMessage(attestText(taskId, t0.epoch, true, att.result_digest));
    const vote = await signed(B, 'POST', `/api/keeper/attestations/${taskId}`, { lease_epoch: t0.epoch, verdict: true, reason: 'checked', signature: vSig });
    assert.equal(vote.status, 200, vote.text);
    assert.deepEqual(vote.json, { task_id: taskId, state: 'succeeded' });
    assert.equal(sql(`SELECT verdict, reason FROM tgx.attestations WHERE task_id = ${taskId} AND keeper_id = ${idB}`), 't|checked');
    serve(idB, OTHER_CHAIN);
  });

  test('POST /api/keeper/tasks/:id/fail: transient -> scheduled (retry), permanent -> dead; stale epoch 409', async () => {
    const taskId = newTask();
    sql('SELECT tgx.dispatch_tasks(100)');
    const t = taskRow(taskId);
    assert.deepEqual([t.state, t.keeper], ['assigned', idA]);
    assert.equal((await signed(A, 'POST', `/api/keeper/tasks/${taskId}/ack`, { lease_epoch: t.epoch })).status, 200);
    assertError(await signed(A, 'POST', `/api/keeper/tasks/${taskId}/fail`, { lease_epoch: t.epoch - 1, error: 'rpc down' }), 409, 'STALE_LEASE');
    const r = await signed(A, 'POST', `/api/keeper/tasks/${taskId}/fail`, { lease_epoch: t.epoch, error: 'rpc down' });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { task_id: taskId, state: 'scheduled' });

    const t2 = newTask();
    sql('SELECT tgx.dispatch_tasks(100)');
    const e2 = taskRow(t2).epoch;
    assert.equal((await signed(A, 'POST', `/api/keeper/tasks/${t2}/ack`, { lease_epoch: e2 })).status, 200);
    const p = await signed(A, 'POST', `/api/keeper/tasks/${t2}/fail`, { lease_epoch: e2, error: 'execution reverted: nope', permanent: true });
    assert.equal(p.status, 200, p.text);
    assert.deepEqual(p.json, { task_id: t2, state: 'dead' });
    assert.equal(sqlVal(`SELECT task_error FROM tgx.tasks WHERE task_id = ${t2}`), 'execution reverted: nope');
  });

  test('long-polls hold no worker thread; a poll with nothing to get answers [] at its end', async () => {
    // more parked polls than the server has worker threads (2), then another request
    const polls = [signed(B, 'GET', '/api/keeper/tasks?wait=3'), signed(B, 'GET', '/api/keeper/tasks?wait=3&limit=5'),
      signed(B, 'GET', '/api/keeper/attestations?wait=3')];
    let settled = 0;
    polls.forEach((p) => p.then(() => { settled += 1; }));
    await new Promise((r) => setTimeout(r, 300));
    const h = await req('GET', '/api/health');
    assert.equal(h.status, 200);
    assert.equal(settled, 0, 'the health check answered while the long-polls were still parked');
    const out = await Promise.all(polls);
    assert.deepEqual(out.map((o) => o.status), [200, 200, 200]);
    assert.deepEqual(out[0].json, { tasks: [] });
    assert.deepEqual(out[2].json, { attestations: [] });
  });
});

describe('POST /health (the original keeper check-in)', { skip: SKIP }, () => {
  test('signed keeper_address by the consensus key: 200; wrong signer: 412; unknown: 403; bad JSON: 400', async () => {
    const consensus = ethers.Wallet.createRandom();
    const body = (w, signer) => ({
      keeper_address: w.address, consensus_address: consensus.address, version: '', peer_id: '',
      timestamp: new Date().toISOString(), is_imua: false, consensus_pub_key: '',
    });
    const ok = body(A);
    ok.signature = await consensus.signMessage(A.address);
    const r = await req('POST', '/health', { body: ok });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, true);
    assert.equal(sql(`SELECT consensus_address, peer_id, version FROM tgx.keepers WHERE keeper_id = ${idA}`),
      `${consensus.address.toLowerCase()}|no-peer-id|0.1.0`);

    const snap = dbSnapshot();
    const bad = body(A);
    bad.signature = await B.signMessage(A.address);
    const r412 = await req('POST', '/health', { body: bad });
    assert.equal(r412.status, 412);
    assert.deepEqual(r412.json, { error: 'Invalid signature' });
    const unknown = body(D);
    unknown.signature = await consensus.signMessage(D.address);
    const r403 = await req('POST', '/health', { body: unknown });
    assert.equal(r403.status, 403);
    assert.deepEqual(r403.json, { error: 'Keeper not verified', code: 'KEEPER_NOT_VERIFIED' });
    const notWl = body(C);
    notWl.signature = await consensus.signMessage(C.address);
    assert.equal((await req('POST', '/health', { body: notWl })).status, 403);
    const r400 = await req('POST', '/health', { body: '{nope' });
    assert.equal(r400.status, 400);
    assert.equal(r400.json.status, false);
    assertDbUnchanged(snap, 'refused check-ins');
  });
});
