// tests/e2e/lib/keepers.mjs: the node side of tests/e2e/keepers.sh (not a test itself).
//
//   node keepers.mjs deploy RPC ADDRESS...     compile contracts/*.sol (npm solc), deploy two Counters
//                                              with anvil's dev account 0 and send 10 ETH to every
//                                              ADDRESS; prints {"counter1", "counter2", "owner"}
//   node keepers.mjs count RPC COUNTER         prints COUNTER's count()
//   node keepers.mjs txs RPC COUNTER HASH...   per transaction one line HASH|FROM|OK (FROM lower case;
//                                              OK t when the receipt has status 1 and went to COUNTER)
//   node keepers.mjs job URL KEY OWNER SPEC    POST /api/jobs (key KEY) with one time job of OWNER as
//                                              the SDK sends it; SPEC is JSON {title, counter,
//                                              schedule_type, time_interval | cron_expression,
//                                              time_frame, function, arguments}; prints the job id
//   node keepers.mjs signed URL PRIVKEY METHOD TARGET BODY [--forge | --tamper] [--save FILE]
//                                              one signed keeper request (include/tgx/keeper_gw.h:
//                                              EIP-191 over METHOD\nTARGET\nTIMESTAMP\nSHA256(BODY));
//                                              --forge: signed by another key, claiming PRIVKEY's
//                                              address; --tamper: a valid signature over another body;
//                                              --save: the request as sent, for `replay`
//   node keepers.mjs replay URL FILE           sends a saved request again, byte for byte
// `signed` and `replay` print "STATUS CODE" (CODE is the body's "code", "-" when none).
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { compileAll, deploy } from './chain.mjs';

const require = createRequire(import.meta.url);
const { ethers } = require('ethers');

const COUNTER_ABI = JSON.stringify([
  { type: 'function', name: 'increment', stateMutability: 'nonpayable', inputs: [{ name: 'by', type: 'uint256' }], outputs: [] },
  { type: 'function', name: 'boom', stateMutability: 'pure', inputs: [], outputs: [] },
  { type: 'function', name: 'count', stateMutability: 'view', inputs: [], outputs: [{ name: '', type: 'uint256' }] },
]);

function provider(rpc) {
  const p = new ethers.JsonRpcProvider(rpc, undefined, { pollingInterval: 100, staticNetwork: true });
  p.pollingInterval = 100;
  return p;
}

async function cmdDeploy(rpc, addresses) {
  const p = provider(rpc);
  const signer = await p.getSigner(0);
  const compiled = compileAll();
  const c1 = await deploy(compiled, 'Counter', signer);
  const c2 = await deploy(compiled, 'Counter', signer);
  for (const a of addresses) {
    const tx = await signer.sendTransaction({ to: a, value: ethers.parseEther('10') });
    await tx.wait();
  }
  console.log(JSON.stringify({ counter1: (await c1.getAddress()).toLowerCase(),
    counter2: (await c2.getAddress()).toLowerCase(), owner: (await signer.getAddress()).toLowerCase() }));
  p.destroy();
}

async function cmdCount(rpc, address) {
  const p = provider(rpc);
  const c = new ethers.Contract(address, JSON.parse(COUNTER_ABI), p);
  console.log((await c.count()).toString());
  p.destroy();
}

async function cmdTxs(rpc, counter, hashes) {
  const p = provider(rpc);
  for (const h of hashes) {
    const [tx, rc] = await Promise.all([p.getTransaction(h), p.getTransactionReceipt(h)]);
    const ok = tx !== null && rc !== null && rc.status === 1 && (tx.to || '').toLowerCase() === counter.toLowerCase();
    console.log(`${h}|${(tx?.from || '').toLowerCase()}|${ok ? 't' : 'f'}`);
  }
  p.destroy();
}

let jobCounter = BigInt(process.pid) * 1000n;
async function cmdJob(url, key, owner, specText) {
  const s = JSON.parse(specText);
  jobCounter += BigInt(Date.now() % 1000);
  // a packed id like JobRegistry's: chain id << 224 | timestamp << 160 | counter
  const jobId = ((31337n << 224n) | (BigInt(Math.floor(Date.now() / 1000)) << 160n) | jobCounter).toString();
  const job = {
    job_id: jobId, user_address: ethers.getAddress(owner), ether_balance: 1000000000000000, token_balance: 0,
    job_title: s.title, task_definition_id: 1, custom: false, time_frame: s.time_frame, recurring: false,
    job_cost_prediction: 0.001, timezone: 'UTC', created_chain_id: '31337', schedule_type: s.schedule_type,
    target_chain_id: '31337', target_contract_address: ethers.getAddress(s.counter), target_function: s.function,
    abi: COUNTER_ABI, arg_type: 1, arguments: s.arguments, is_imua: false, is_safe: false, safe_name: '',
    safe_address: '', language: '',
  };
  if (s.schedule_type === 'cron') job.cron_expression = s.cron_expression;
  else job.time_interval = s.time_interval;
  const r = await fetch(`${url}/api/jobs`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Api-Key': key }, body: JSON.stringify([job]),
  });
  const text = await r.text();
  if (r.status !== 200) {
    console.error(`POST /api/jobs answered ${r.status}: ${text}`);
    process.exit(1);
  }
  const ids = JSON.parse(text).job_ids;
  if (!Array.isArray(ids) || ids[0] !== jobId) {
    console.error(`POST /api/jobs: unexpected answer ${text}`);
    process.exit(1);
  }
  console.log(jobId);
}

const sha256hex = (s) => createHash('sha256').update(s).digest('hex');

async function send(url, req) {
  const r = await fetch(url + req.target, { method: req.method, headers: req.headers, body: req.body });
  const text = await r.text();
  let code = '-';
  try { code = JSON.parse(text).code ?? '-'; } catch { /* not JSON */ }
  console.log(`${r.status} ${code}`);
  if (r.status >= 300) console.error(text);
}

async function cmdSigned(url, privkey, method, target, body, flags) {
  const wallet = new ethers.Wallet(privkey);
  const ts = String(Math.floor(Date.now() / 1000));
  const signedBody = flags.includes('--tamper') ? body + ' ' : body;
  const signer = flags.includes('--forge') ? ethers.Wallet.createRandom() : wallet;
  const sig = await signer.signMessage(`${method}\n${target}\n${ts}\n${sha256hex(signedBody)}`);
  const headers = { 'X-Keeper-Address': wallet.address, 'X-Keeper-Timestamp': ts, 'X-Keeper-Signature': sig };
  if (body !== '') headers['Content-Type'] = 'application/json';
  const req = { method, target, headers, body: body === '' ? undefined : body };
  const save = flags.indexOf('--save');
  if (save >= 0) writeFileSync(flags[save + 1], JSON.stringify(req));
  await send(url, req);
}

const [cmd, ...args] = process.argv.slice(2);
try {
  if (cmd === 'deploy') await cmdDeploy(args[0], args.slice(1));
  else if (cmd === 'count') await cmdCount(args[0], args[1]);
  else if (cmd === 'txs') await cmdTxs(args[0], args[1], args.slice(2));
  else if (cmd === 'job') await cmdJob(...args.slice(0, 4));
  else if (cmd === 'signed') await cmdSigned(args[0], args[1], args[2], args[3], args[4], args.slice(5));
  else if (cmd === 'replay') await send(args[0], JSON.parse(readFileSync(args[1], 'utf8')));
  else throw new Error(`unknown command ${cmd}`);
} catch (e) {
  console.error(e?.stack || String(e));
  process.exit(1);
}
