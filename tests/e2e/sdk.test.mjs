// SDK acceptance: the unmodified npm package sdk-triggerx@0.1.38 against tgxd serve --roles=api and
// an anvil chain with our stand-in contracts (contracts/*.sol, compiled here with solc).  The SDK's
// REST functions and createJob / deleteJob for interval, cron, event and condition jobs, checking
// the SDK's results, the rows tgxd stored, and the chain.
//
// Environment (tests/e2e/run.sh): TGX_E2E_URL (tgxd), TGX_E2E_RPC (anvil), TGX_E2E_DATABASE_URL,
// TGXD (for `tgxd keys create`).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import { compileAll, deploy } from './lib/chain.mjs';

const require = createRequire(import.meta.url);
const sdk = require('sdk-triggerx');
const { ethers } = require('ethers');

const URL_ = process.env.TGX_E2E_URL;
const RPC = process.env.TGX_E2E_RPC;
const DB = process.env.TGX_E2E_DATABASE_URL;
const TGXD = process.env.TGXD;
const CHAIN = '31337';

// The SDK prints progress with console.log / console.warn; keep it out of the TAP stream and show
// it only when a test fails.
const sdkLog = [];
const quiet = (...a) => { sdkLog.push(a.map((x) => (typeof x === 'string' ? x : String(x?.message ?? x))).join(' ')); };
const saved = { log: console.log, warn: console.warn, error: console.error };
async function callSdk(fn) {
  Object.assign(console, { log: quiet, warn: quiet, error: quiet });
  try { return await fn(); } finally { Object.assign(console, saved); }
}
function explain(res) {
  return `${JSON.stringify(res, (k, v) => (typeof v === 'bigint' ? v.toString() : v)).slice(0, 1500)}\nSDK log:\n${sdkLog.slice(-15).join('\n')}`;
}

function sql(q) {
  return execFileSync('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', DB, '-c', q], { encoding: 'utf8' }).trim();
}
function newKey(owner) {
  return execFileSync(TGXD, ['keys', 'create', '--owner', owner, '--rate-limit', '100000', '--database-url', DB],
    { encoding: 'utf8' }).trim();
}

let provider; let signer; let user; let userLower;
let contracts; let client;
const created = {}; // kind -> {jobId, deposit}

before(async () => {
  assert.ok(URL_ && RPC && DB && TGXD, 'TGX_E2E_URL, TGX_E2E_RPC, TGX_E2E_DATABASE_URL and TGXD are set (tests/e2e/run.sh)');
  provider = new ethers.JsonRpcProvider(RPC, undefined, { pollingInterval: 100 });
  provider.pollingInterval = 100;
  signer = await provider.getSigner(0);
  user = await signer.getAddress();
  userLower = user.toLowerCase();
  const compiled = compileAll();
  const [jobRegistry, gasRegistry, counter] = [await deploy(compiled, 'JobRegistry', signer),
    await deploy(compiled, 'GasRegistry', signer), await deploy(compiled, 'Counter', signer)];
  contracts = { jobRegistry, gasRegistry, counter };
  // the SDK reads this mutable table at call time
  sdk.CONTRACT_ADDRESSES_BY_CHAIN[CHAIN] = {
    gasRegistry: await gasRegistry.getAddress(), jobRegistry: await jobRegistry.getAddress(),
    safeFactory: '', safeModule: '', multisendCallOnly: '', rpcUrl: RPC,
  };
  client = new sdk.TriggerXClient(newKey(userLower), { baseURL: URL_ });
});

after(() => { provider?.destroy(); });

const COUNTER_ABI = JSON.stringify([{ type: 'function', name: 'increment', stateMutability: 'nonpayable',
  inputs: [{ name: 'by', type: 'uint256' }], outputs: [] }]);

function base(title, extra) {
  return {
    jobTitle: title, timeFrame: 3600, timezone: 'UTC', chainId: CHAIN,
    targetFunction: 'increment', abi: COUNTER_ABI, argType: 'static', arguments: ['1'], autotopupETH: true, ...extra,
  };
}

async function createAndCheck(kind, input) {
  // the target is the Counter contract (deployed in before())
  input.targetContractAddress = await contracts.counter.getAddress();
  const before = await contracts.gasRegistry.getBalance(user);
  const counterBefore = await contracts.jobRegistry.getJobCounter();
  const res = await callSdk(() => sdk.createJob(client, { jobInput: input, signer }));
  assert.equal(res.success, true, `createJob(${kind}) failed: ${explain(res)}`);
  const data = res.data;
  assert.ok(Array.isArray(data.job_ids) && data.job_ids.length === 1, explain(res));
  const jobId = data.job_ids[0];
  assert.equal(typeof jobId, 'string');
  assert.equal(typeof data.user_id, 'number');
  assert.deepEqual(data.time_frames, [input.timeFrame]);
  // the id is the one JobCreated reported: chain id and counter packed in
  const id = BigInt(jobId);
  assert.equal(id >> 224n, 31337n, 'chain id in the top bits');
  assert.equal(id & ((1n << 160n) - 1n), counterBefore + 1n, 'the registry counter in the low bits');
  const deposit = (await contracts.gasRegistry.getBalance(user)) - before;
  assert.ok(deposit > 0n, 'the SDK topped up the gas registry');
  assert.equal(typeof data.requiredETH, 'bigint');
  // what tgxd stored
  const [tdid, status, owner, isImua, cost, trace, title, frame] = sql(`SELECT j.task_definition_id, j.status,
      u.user_address, j.is_imua, j.job_cost_prediction, coalesce(j.trace_id, ''), j.job_title, j.time_frame
    FROM tgx.jobs j JOIN tgx.users u USING (user_id) WHERE j.job_id = ${jobId}`).split('|');
  assert.equal(status, 'pending');
  assert.equal(owner, userLower);
  assert.equal(isImua, 't', 'the SDK sends is_imua true by default');
  assert.equal(title, input.jobTitle);
  assert.equal(Number(frame), input.timeFrame);
  // job_cost_prediction (ETH) is what the SDK deposited: /api/fees' current_total_fee x executions
  assert.ok(Math.abs(Number(cost) - Number(ethers.formatEther(deposit))) <= 1e-9 * Number(ethers.formatEther(deposit)),
    `job_cost_prediction ${cost} vs deposit ${ethers.formatEther(deposit)} ETH`);
  assert.match(trace, /^post-jobs-/, 'the SDK X-Trace-ID is stored on the job');
  created[kind] = { jobId, deposit, tdid: Number(tdid) };
  return { jobId, tdid: Number(tdid) };
}

describe('GET /api/fees on the anvil chain (tgxd serve --rpc 31337=anvil)', () => {
  test('estimated with eth_estimateGas x eth_gasPrice + the keeper fee, as the SDK asks for it', async () => {
    const target = await contracts.counter.getAddress();
    const q = new URLSearchParams({ ipfs_url: '', task_definition_id: '1', target_chain_id: CHAIN,
      target_contract_address: target, target_function: 'increment', abi: COUNTER_ABI, args: '["1"]' });
    const r = await fetch(`${URL_}/api/fees?${q}`);
    const text = await r.text();
    assert.equal(r.status, 200, text);
    assert.equal(r.headers.get('x-fee-source'), 'estimated', `the node answered eth_estimateGas: ${text}`);
    const body = JSON.parse(text);
    const fee = BigInt(body.current_total_fee_wei);
    const price = BigInt(await provider.send('eth_gasPrice', []));
    const data = contracts.counter.interface.encodeFunctionData('increment', [1n]);
    const gas = await provider.estimateGas({ to: target, data, from: '0x0000000000000000000000000000000000000001' });
    const keeperFee = 2000000000000n; // tgxd's default --keeper-fee-wei
    // gas price may move by a block between the two reads: within 25 %
    const want = gas * price + keeperFee;
    assert.ok(fee * 4n >= want * 3n && fee * 4n <= want * 5n, `current_total_fee ${fee} vs gas ${gas} x price ${price} + ${keeperFee}`);
    assert.equal(BigInt(body.total_fee_wei), (fee * 6n + 4n) / 5n, 'total_fee = ceil(1.2 x current_total_fee)');
  });
});

describe('sdk-triggerx@0.1.38 createJob', () => {
  test('interval time job: task definition 1, interval schedule with its next run', async () => {
    const { jobId, tdid } = await createAndCheck('interval', base('e2e interval job', { scheduleType: 'interval', timeInterval: 900 }));
    assert.equal(tdid, 1);
    const [type, interval, cron, next] = sql(`SELECT schedule_type, time_interval, coalesce(cron_expression, ''),
        abs(extract(epoch FROM next_fire_at - created_at) - 900) < 2 FROM tgx.time_schedules WHERE job_id = ${jobId}`).split('|');
    assert.deepEqual([type, interval, cron, next], ['interval', '900', '', 't']);
  });

  test('cron time job: the expression stored and scheduled', async () => {
    const { jobId, tdid } = await createAndCheck('cron', base('e2e cron job', { scheduleType: 'cron', cronExpression: '*/10 * * * *', timeFrame: 7200 }));
    assert.equal(tdid, 1);
    const [type, cron, interval, nextOk] = sql(`SELECT schedule_type, cron_expression, coalesce(time_interval::text, 'null'),
        next_fire_at > now() AND extract(minute FROM next_fire_at AT TIME ZONE 'UTC')::int % 10 = 0
        FROM tgx.time_schedules WHERE job_id = ${jobId}`).split('|');
    assert.deepEqual([type, cron, interval, nextOk], ['cron', '*/10 * * * *', 'null', 't']);
  });

  test('event job: task definition 3 and its trigger', async () => {
    const input = base('e2e event job', { triggerChainId: CHAIN, triggerEvent: 'Incremented(address,uint256,uint256)', recurring: true });
    input.triggerContractAddress = await contracts.counter.getAddress();
    const { jobId, tdid } = await createAndCheck('event', input);
    assert.equal(tdid, 3);
    const row = sql(`SELECT trigger_chain_id, trigger_contract_address, trigger_event FROM tgx.event_triggers WHERE job_id = ${jobId}`);
    assert.equal(row, `${CHAIN}|${input.triggerContractAddress.toLowerCase()}|Incremented(address,uint256,uint256)`);
  });

  test('condition job: task definition 5 and its trigger', async () => {
    const { jobId, tdid } = await createAndCheck('condition', base('e2e condition job', { conditionType: 'between',
      upperLimit: 2500, lowerLimit: 1500.5, valueSourceType: 'api', valueSourceUrl: 'https://prices.invalid/eth' }));
    assert.equal(tdid, 5);
    const row = sql(`SELECT condition_type, upper_limit, lower_limit, value_source_type, value_source_url
                       FROM tgx.condition_triggers WHERE job_id = ${jobId}`);
    assert.equal(row, 'between|2500|1500.5|api|https://prices.invalid/eth');
  });
});

describe('sdk-triggerx@0.1.38 REST functions', () => {
  test('getUserData (checksummed address): the user with its jobs', async () => {
    const res = await callSdk(() => sdk.getUserData(client, user));
    assert.equal(res.success, true, explain(res));
    assert.equal(res.data.user_address, userLower);
    for (const { jobId } of Object.values(created)) assert.ok(res.data.job_ids.includes(jobId), `job_ids lacks ${jobId}`);
    assert.equal(res.data.total_jobs, Object.keys(created).length);
  });

  test('getJobData (by API key): every job with its type part', async () => {
    const res = await callSdk(() => sdk.getJobData(client));
    assert.equal(res.success, true, explain(res));
    const byId = new Map(res.jobs.map((j) => [j.job_data.job_id, j]));
    for (const [kind, { jobId }] of Object.entries(created)) {
      const j = byId.get(jobId);
      assert.ok(j, `${kind} job ${jobId} missing`);
      const part = { interval: 'time_job_data', cron: 'time_job_data', event: 'event_job_data', condition: 'condition_job_data' }[kind];
      assert.ok(j[part], `${kind}: ${part} in ${JSON.stringify(j).slice(0, 300)}`);
    }
    assert.equal(byId.get(created.cron.jobId).time_job_data.cron_expression, '*/10 * * * *');
  });

  test('getJobsByUserAddress: the same jobs', async () => {
    const res = await callSdk(() => sdk.getJobsByUserAddress(client, user));
    assert.equal(res.success, true, explain(res));
    const ids = new Set(res.jobs.map((j) => j.job_data.job_id));
    for (const { jobId } of Object.values(created)) assert.ok(ids.has(jobId));
  });

  test('getJobDataById: the job and its tasks (one run created with SQL)', async () => {
    const { jobId } = created.interval;
    const taskId = sql(`SELECT tgx.run_job_now(${jobId}, 'e2e')`);
    const res = await callSdk(() => sdk.getJobDataById(client, jobId, user));
    assert.equal(res.success, true, explain(res));
    assert.equal(res.data.jobData.job_id, jobId);
    assert.equal(res.data.jobData.task_definition_id, 1);
    assert.ok(Array.isArray(res.data.taskData), explain(res));
    assert.deepEqual(res.data.taskData.map((t) => t.task_id), [Number(taskId)]);
    assert.equal(res.data.taskData[0].task_status, 'pending');
  });

  test('a wrong key: the SDK reports 403; another owner: 403 on this user\'s job', async () => {
    const bad = new sdk.TriggerXClient('TGRX-00000000-0000-4000-8000-000000000000', { baseURL: URL_ });
    const r1 = await callSdk(() => sdk.getUserData(bad, user));
    assert.equal(r1.success, false);
    assert.equal(r1.httpStatusCode, 403, explain(r1));
    const other = new sdk.TriggerXClient(newKey('0x00000000000000000000000000000000000e2e02'), { baseURL: URL_ });
    const r2 = await callSdk(() => sdk.getJobDataById(other, created.interval.jobId, user));
    assert.equal(r2.success, false);
    assert.equal(r2.httpStatusCode, 403, explain(r2));
  });
});

describe('sdk-triggerx@0.1.38 deleteJob', () => {
  for (const kind of ['interval', 'cron', 'event', 'condition']) {
    test(`${kind} job: deleted on chain, then 2xx from tgxd; status deleted, waiting tasks cancelled`, async () => {
      const c = created[kind];
      assert.ok(c, `the ${kind} job was created`);
      if (kind === 'interval') assert.equal(sql(`SELECT count(*) FROM tgx.tasks WHERE job_id = ${c.jobId} AND state = 'pending'`), '1');
      const res = await callSdk(() => sdk.deleteJob(client, c.jobId, signer, CHAIN));
      assert.equal(res.success, true, `deleteJob(${kind}) failed: ${explain(res)}`);
      assert.equal(await contracts.jobRegistry.getJobOwner(c.jobId), ethers.ZeroAddress, 'deleted on chain');
      assert.equal(sql(`SELECT status FROM tgx.jobs WHERE job_id = ${c.jobId}`), 'deleted');
      assert.equal(sql(`SELECT count(*) FROM tgx.tasks WHERE job_id = ${c.jobId} AND state IN ('scheduled', 'pending')`), '0');
    });
  }

  test('getJobData still lists them, with status deleted', async () => {
    const res = await callSdk(() => sdk.getJobData(client));
    assert.equal(res.success, true, explain(res));
    const byId = new Map(res.jobs.map((j) => [j.job_data.job_id, j]));
    for (const { jobId } of Object.values(created)) assert.equal(byId.get(jobId)?.job_data.status, 'deleted');
  });
});
