// tests/api/lib/api.mjs: what every REST test file shares -- the server's address, requests
// (fetch, and raw node:http for exact header spelling and oversized bodies), psql, API keys made
// with `tgxd keys create`, valid job bodies as the SDK sends them, and shape assertions.
//
// Environment (set by tests/api/run.sh):
//   TGX_API_URL           http://127.0.0.1:PORT of a running `tgxd serve --roles=api`
//   TGX_API_URL2          a second instance on the same database (rate limit across instances)
//   TGX_API_DATABASE_URL  the database it serves
//   TGX_API_ADMIN_KEY     an admin key
//   TGXD                  path to build/tgxd (for `tgxd keys create` and `tgxd routes`)
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';

export const BASE = process.env.TGX_API_URL || 'http://127.0.0.1:9002';
export const BASE2 = process.env.TGX_API_URL2 || '';
export const DB_URL = process.env.TGX_API_DATABASE_URL || process.env.TGX_DATABASE_URL || '';
export const ADMIN_KEY = process.env.TGX_API_ADMIN_KEY || '';
export const TGXD = process.env.TGXD || new URL('../../../build/tgxd', import.meta.url).pathname;
// a per-process tag so that every test file works on its own owners and ids
export const RUN = randomBytes(4).toString('hex');

// ---------------------------------------------------------------------------------------------
// requests

/**
 * One request with fetch.  OPTS: key (sent as X-Api-Key), body (a JS value sent as JSON, or a
 * string sent as is), headers, base (another instance).  Returns {status, headers (a Headers),
 * text, json (parsed or undefined)}.
 */
export async function req(method, path, opts = {}) {
  const headers = { ...(opts.headers || {}) };
  if (opts.key !== undefined && opts.key !== null) headers['X-Api-Key'] = opts.key;
  let body;
  if (opts.body !== undefined) {
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
      headers['Content-Type'] = 'application/json';
    }
  }
  const res = await fetch((opts.base || BASE) + path, { method, headers, body, redirect: 'manual' });
  const text = await res.text();
  let json;
  try {
    json = text.length ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/**
 * A request through node:http: header names are sent exactly as spelled, the body may be a
 * Buffer written with or without Content-Length (opts.chunked), and an early answer (413 before
 * the body is read) is taken as the answer.  Returns {status, headers (lower-case object), text, json}.
 */
export function rawReq(method, path, opts = {}) {
  const url = new URL((opts.base || BASE) + path);
  return new Promise((resolve, reject) => {
    const headers = [];
    for (const [k, v] of Object.entries(opts.headers || {})) headers.push([k, v]);
    const body = opts.body === undefined ? undefined : Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(opts.body);
    if (body && !opts.chunked) headers.push(['Content-Length', String(body.length)]);
    if (body && opts.chunked) headers.push(['Transfer-Encoding', 'chunked']);
    const r = http.request({
      host: url.hostname, port: url.port, path: url.pathname + url.search, method,
      headers: headers.flat(), setHost: !headers.some(([k]) => k.toLowerCase() === 'host'), agent: false,
    });
    let done = false;
    r.on('response', (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        done = true;
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try { json = text.length ? JSON.parse(text) : undefined; } catch { json = undefined; }
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
      res.on('error', (e) => { if (!done) reject(e); });
    });
    r.on('error', (e) => {
      // the server may close while the (too large) body is still being written: the answer
      // already arrived or arrives on the response handler; only fail when nothing came
      setTimeout(() => { if (!done) reject(e); }, 500);
    });
    if (body) {
      if (opts.chunked) {
        for (let off = 0; off < body.length; off += 65536) r.write(body.subarray(off, off + 65536));
      } else {
        r.write(body);
      }
    }
    r.end();
  });
}

// ---------------------------------------------------------------------------------------------
// the database

/** Runs SQL with psql; returns the unaligned, tuples-only output (fields separated by '|'). */
export function sql(query) {
  return execFileSync('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', DB_URL, '-c', query],
    { encoding: 'utf8' }).trim();
}
/** The first field of the first row. */
export function sqlVal(query) {
  return sql(query).split('\n')[0].split('|')[0];
}
/** Rows as arrays of fields. */
export function sqlRows(query) {
  const out = sql(query);
  return out === '' ? [] : out.split('\n').map((l) => l.split('|'));
}
/** A quoted SQL literal. */
export function lit(s) {
  return `'${String(s).replace(/'/g, "''")}'`;
}

const COUNTED = ['tgx.users', 'tgx.jobs', 'tgx.time_schedules', 'tgx.event_triggers', 'tgx.condition_triggers',
  'tgx.custom_scripts', 'tgx.tasks', 'tgx.safe_addresses', 'tgx.api_keys', 'tgx.keepers'];
/**
 * A fingerprint of the tables a request may write: row counts and an md5 over every row, so an
 * UPDATE that changes no count is seen too.  Columns a read may legitimately touch (api_keys.last_used,
 * success_count, failed_count) are left out.
 */
export function dbSnapshot() {
  const parts = COUNTED.map((t) => {
    const cols = t === 'tgx.api_keys' ? 'key_id, key_hash, key_hint, owner, is_active, is_admin, rate_limit'
      : t === 'tgx.keepers' ? 'keeper_id, keeper_address, keeper_name, chat_id, email_id, keeper_points, no_executed_tasks'
        : 'x.*';
    return `SELECT ${lit(t)} || ':' || count(*) || ':' || coalesce(md5(string_agg((SELECT row(${cols})::text), ',' ORDER BY (SELECT row(${cols})::text))), '') FROM ${t} x`;
  });
  return sql(parts.join(' UNION ALL '));
}
export function assertDbUnchanged(before, what) {
  assert.equal(dbSnapshot(), before, `the database changed after ${what}`);
}

// ---------------------------------------------------------------------------------------------
// owners, keys, ids

/** A lower-case address derived from LABEL and this process's tag. */
export function addr(label) {
  return '0x' + createHash('sha256').update(`${RUN}:${label}`).digest('hex').slice(0, 40);
}
/** The EIP-55 checksummed form of a lower-case address (keccak-256 written out below). */
export function checksum(address) {
  const hex = address.slice(2).toLowerCase();
  const h = keccak256Hex(Buffer.from(hex, 'ascii'));
  let out = '0x';
  for (let i = 0; i < 40; i++) out += parseInt(h[i], 16) >= 8 ? hex[i].toUpperCase() : hex[i];
  return out;
}

/** `tgxd keys create`: the new key (printed alone on stdout). */
export function newKey(owner, { admin = false, rateLimit = 1000000 } = {}) {
  const args = ['keys', 'create', '--owner', owner, '--rate-limit', String(rateLimit), '--database-url', DB_URL];
  if (admin) args.push('--admin');
  const out = execFileSync(TGXD, args, { encoding: 'utf8' }).trim();
  assert.match(out, /^TGRX-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    `tgxd keys create printed ${JSON.stringify(out)}`);
  return out;
}

/** An owner with its own key: {address, key, checksummed}. */
export function newOwner(label, opts) {
  const address = addr(label);
  return { address, key: newKey(address, opts), checksummed: checksum(address) };
}

let idCounter = BigInt(parseInt(RUN, 16) % 1000000) * 1000n;
/** A packed job id like JobRegistry's: (chainid << 224) | (timestamp << 160) | counter. */
export function newJobId(chainId = 31337n) {
  idCounter += 1n;
  return ((BigInt(chainId) << 224n) | (BigInt(Math.floor(Date.now() / 1000)) << 160n) | idCounter).toString();
}

export const COUNTER_ABI = JSON.stringify([
  { type: 'function', name: 'increment', stateMutability: 'nonpayable', inputs: [{ name: 'by', type: 'uint256' }], outputs: [] },
  { type: 'function', name: 'reset', stateMutability: 'nonpayable', inputs: [], outputs: [] },
  { type: 'function', name: 'count', stateMutability: 'view', inputs: [], outputs: [{ name: '', type: 'uint256' }] },
]);
export const TARGET = '0x5fbdb2315678afecb367f032d93f642f64180aa3';

/** A valid time (interval) job as the SDK sends it; OVERRIDES replace or (value undefined) drop fields. */
export function timeJob(owner, overrides = {}) {
  const j = {
    job_id: newJobId(), user_address: checksum(owner), ether_balance: 1000000000000000, token_balance: 1000000000000000,
    job_title: 'time job', task_definition_id: 1, custom: true, time_frame: 3600, recurring: false,
    job_cost_prediction: 0.004, timezone: 'UTC', created_chain_id: '31337', schedule_type: 'interval',
    time_interval: 900, target_chain_id: '31337', target_contract_address: TARGET, target_function: 'increment',
    abi: COUNTER_ABI, arg_type: 1, arguments: ['1'], is_imua: false, is_safe: false, safe_name: '',
    safe_address: '', language: '',
  };
  return applyOverrides(j, overrides);
}
export function cronJob(owner, overrides = {}) {
  const j = timeJob(owner, { job_title: 'cron job', schedule_type: 'cron', time_interval: undefined,
    cron_expression: '*/5 * * * *', ...overrides });
  return j;
}
export function specificJob(owner, overrides = {}) {
  const at = new Date(Date.now() + 1800 * 1000).toISOString();
  return timeJob(owner, { job_title: 'specific job', schedule_type: 'specific', time_interval: undefined,
    specific_schedule: at, ...overrides });
}
export function eventJob(owner, overrides = {}) {
  const j = timeJob(owner, { job_title: 'event job', task_definition_id: 3, schedule_type: undefined,
    time_interval: undefined, trigger_chain_id: '31337', trigger_contract_address: TARGET,
    trigger_event: 'Transfer(address,address,uint256)', recurring: true });
  return applyOverrides(j, overrides);
}
export function conditionJob(owner, overrides = {}) {
  const j = timeJob(owner, { job_title: 'condition job', task_definition_id: 5, schedule_type: undefined,
    time_interval: undefined, condition_type: 'greater_than', upper_limit: 100, lower_limit: 0,
    value_source_type: 'api', value_source_url: 'https://prices.invalid/eth' });
  return applyOverrides(j, overrides);
}
export function customJob(owner, overrides = {}) {
  const j = timeJob(owner, { job_title: 'custom script job', task_definition_id: 7, arg_type: 2,
    target_contract_address: '', target_function: '', abi: '', arguments: undefined, language: 'go',
    dynamic_arguments_script_url: 'https://gateway.invalid/ipfs/bafkreif426p7t7takzhw3g6we2h6wsvf27p5jxj3gaiynqf22p3jvhx4la',
    schedule_type: undefined, time_interval: 600 });
  return applyOverrides(j, overrides);
}
function applyOverrides(j, overrides) {
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete j[k];
    else j[k] = v;
  }
  for (const k of Object.keys(j)) if (j[k] === undefined) delete j[k];
  return j;
}

/** POST /api/jobs with one job; asserts 200 and returns the job id. */
export async function createJob(key, job, headers = {}) {
  const r = await req('POST', '/api/jobs', { key, body: [job], headers });
  assert.equal(r.status, 200, `POST /api/jobs answered ${r.status} ${r.text}`);
  return job.job_id;
}

/**
 * A job inserted with SQL (no API involved): an interval job of OWNER (the user row is created
 * when missing).  Returns the job id.
 */
export function seedJob(owner, { jobId = newJobId(), createdAt = 'now()', chain = '31337', title = 'seeded job',
  safe = null, interval = 900 } = {}) {
  sql(`INSERT INTO tgx.users (user_address) VALUES (${lit(owner)}) ON CONFLICT (user_address) DO NOTHING;
       INSERT INTO tgx.jobs (job_id, job_title, task_definition_id, user_id, time_frame, created_chain_id,
                             target_chain_id, target_contract_address, target_function, abi, arguments,
                             safe_address, created_at, updated_at, expiration_time)
       SELECT ${jobId}, ${lit(title)}, 1, u.user_id, 86400, ${lit(chain)}, ${lit(chain)}, ${lit(TARGET)},
              'increment', ${lit(COUNTER_ABI)}::jsonb, '{1}', ${safe ? lit(safe) : 'NULL'},
              ${createdAt}, ${createdAt}, ${createdAt} + interval '1 day'
         FROM tgx.users u WHERE u.user_address = ${lit(owner)};
       INSERT INTO tgx.time_schedules (job_id, schedule_type, time_interval, created_at)
       VALUES (${jobId}, 'interval', ${interval}, ${createdAt});`);
  return jobId;
}

/** A manual task of JOB_ID (tgx.run_job_now): pending, due now.  Returns the task id (a number). */
export function runJobNow(jobId) {
  return Number(sqlVal(`SELECT tgx.run_job_now(${jobId}, 'api test')`));
}

// ---------------------------------------------------------------------------------------------
// shapes

const TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
export const UUID4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const CHECKS = {
  str: (v) => typeof v === 'string',
  int: (v) => Number.isInteger(v),
  num: (v) => typeof v === 'number' && Number.isFinite(v),
  bool: (v) => typeof v === 'boolean',
  ts: (v) => typeof v === 'string' && TS.test(v) && !Number.isNaN(Date.parse(v)),
  uint: (v) => typeof v === 'string' && /^(0|[1-9][0-9]{0,77})$/.test(v), // uint256 as a decimal string
  arr: (v) => Array.isArray(v),
  obj: (v) => v !== null && typeof v === 'object' && !Array.isArray(v),
  'int[]': (v) => Array.isArray(v) && v.every(Number.isInteger),
  'str[]': (v) => Array.isArray(v) && v.every((x) => typeof x === 'string'),
  'uint[]': (v) => Array.isArray(v) && v.every((x) => CHECKS.uint(x)),
};

/**
 * Asserts that OBJ has every field of SPEC with its JSON type.  SPEC maps a field to a type:
 * str int num bool ts uint arr obj int[] str[] uint[], '|null' allows null, a leading '?' allows
 * the field to be absent.  WHAT names the object in messages.
 */
export function assertShape(obj, spec, what = 'object') {
  assert.ok(CHECKS.obj(obj), `${what}: expected a JSON object, got ${JSON.stringify(obj)}`);
  for (const [field, t0] of Object.entries(spec)) {
    let t = t0;
    const optional = t.startsWith('?');
    if (optional) t = t.slice(1);
    if (!(field in obj)) {
      assert.ok(optional, `${what}: field "${field}" is missing in ${JSON.stringify(obj).slice(0, 400)}`);
      continue;
    }
    const v = obj[field];
    const alts = t.split('|');
    const ok = alts.some((a) => (a === 'null' ? v === null : CHECKS[a](v)));
    assert.ok(ok, `${what}: field "${field}" should be ${t}, got ${JSON.stringify(v)}`);
  }
}

/** Asserts an error answer: STATUS, JSON {"error": non-empty string, "code": UPPER_SNAKE}, CODE when given. */
export function assertError(r, status, code, field) {
  assert.equal(r.status, status, `expected ${status}${code ? ' ' + code : ''}, got ${r.status} ${r.text.slice(0, 300)}`);
  const ct = r.headers.get ? r.headers.get('content-type') : r.headers['content-type'];
  assert.match(ct || '', /^application\/json/, `error content type ${ct}`);
  assert.ok(r.json && typeof r.json.error === 'string' && r.json.error.length > 0,
    `error body has no "error" message: ${r.text}`);
  assert.ok(typeof r.json.code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(r.json.code),
    `error body has no UPPER_SNAKE "code": ${r.text}`);
  if (code) assert.equal(r.json.code, code, `error code: ${r.text}`);
  if (field) assert.equal(r.json.field, field, `error field: ${r.text}`);
}

/** The raw JSON number text of FIELD in a response text (for values beyond 2^53). */
export function rawNumber(text, field) {
  const m = new RegExp(`"${field}"\\s*:\\s*(-?[0-9][0-9.eE+-]*)`).exec(text);
  return m ? m[1] : undefined;
}

export const JOB_DATA = {
  job_id: 'uint', job_title: 'str', task_definition_id: 'int', user_id: 'int', link_job_id: 'uint|null',
  chain_status: 'int', custom: 'bool', time_frame: 'int', recurring: 'bool', status: 'str',
  job_cost_prediction: 'num', job_cost_actual: 'num', task_ids: 'int[]|null', created_at: 'ts', updated_at: 'ts',
  last_executed_at: 'ts', timezone: 'str', is_imua: 'bool', created_chain_id: 'str', safe_address: 'str',
};
export const TASK_ITEM = {
  task_id: 'int', task_number: 'int', task_opx_cost: 'num', execution_timestamp: 'ts', execution_tx_hash: 'str',
  task_performer_id: 'int', task_attester_ids: 'int[]|null', task_status: 'str', task_error: 'str',
  is_accepted: 'bool', tx_url: 'str', converted_arguments: 'str[]|null',
};
export const TASK_DATA = {
  task_id: 'int', task_number: 'int', job_id: 'uint', task_definition_id: 'int', created_at: 'ts',
  task_opx_cost: 'num', execution_timestamp: 'ts', execution_tx_hash: 'str', task_performer_id: 'int',
  task_attester_ids: 'int[]|null', proof_of_task: 'str', converted_arguments: 'str[]|null',
  tp_signature: 'str|null', ta_signature: 'str|null', task_submission_tx_hash: 'str', task_status: 'str',
  task_error: 'str', is_accepted: 'bool', is_imua: 'bool',
};
export const USER_DATA = {
  user_id: 'int', user_address: 'str', job_ids: 'uint[]', ether_balance: 'int', token_balance: 'int',
  user_points: 'num', total_jobs: 'int', total_tasks: 'int', created_at: 'ts', last_updated_at: 'ts',
};
export const KEEPER_DATA = {
  keeper_id: 'int', keeper_name: 'str', keeper_address: 'str', consensus_address: 'str', registered_tx: 'str',
  operator_id: 'int', rewards_address: 'str', rewards_booster: 'num', voting_power: 'int', keeper_points: 'num',
  connection_address: 'str', peer_id: 'str', whitelisted: 'bool', registered: 'bool', online: 'bool',
  version: 'str', no_executed_tasks: 'int', no_attested_tasks: 'int', chat_id: 'int', email_id: 'str',
  last_checked_in: 'ts', on_imua: 'bool', uptime: 'int',
};

// ---------------------------------------------------------------------------------------------
// routes

let routesCache;
/**
 * The route table as `tgxd routes` prints it: [{method, pattern}].  Throws when the command fails
 * or prints nothing: tests gated on ifRoute() must never be skipped because tgxd could not run.
 */
export function routes() {
  if (routesCache) return routesCache;
  const out = execFileSync(TGXD, ['routes'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (!out.trim()) throw new Error(`${TGXD} routes printed nothing`);
  routesCache = out.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => {
    const [method, pattern] = l.split(/\s+/);
    return { method, pattern };
  });
  return routesCache;
}
/** Whether the route table has METHOD PATTERN (':param' names are ignored). */
export function hasRoute(method, pattern) {
  const norm = (p) => p.replace(/[:{]([A-Za-z0-9_]+)\}?/g, ':');
  return routes().some((r) => r.method === method && norm(r.pattern) === norm(pattern));
}
/** node:test options skipping a test when the route is not in the route table. */
export function ifRoute(method, pattern) {
  return hasRoute(method, pattern) ? {} : { skip: `${method} ${pattern} is not in the route table (tgxd routes)` };
}

/** Polls FN (async, returns truthy when done) every 100 ms for at most MS; returns its last value. */
export async function eventually(fn, ms = 10000) {
  const end = Date.now() + ms;
  let v;
  for (;;) {
    v = await fn();
    if (v || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---------------------------------------------------------------------------------------------
// keccak-256 (Ethereum's, for EIP-55 checksums), BigInt lanes: small and slow, fine for tests

const RC = [
  0x0000000000000001n, 0x0000000000008082n, 0x800000000000808an, 0x8000000080008000n, 0x000000000000808bn,
  0x0000000080000001n, 0x8000000080008081n, 0x8000000000008009n, 0x000000000000008an, 0x0000000000000088n,
  0x0000000080008009n, 0x000000008000000an, 0x000000008000808bn, 0x800000000000008bn, 0x8000000000008089n,
  0x8000000000008003n, 0x8000000000008002n, 0x8000000000000080n, 0x000000000000800an, 0x800000008000000an,
  0x8000000080008081n, 0x8000000000008080n, 0x0000000080000001n, 0x8000000080008008n,
];
const ROT = [0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14];
const M64 = (1n << 64n) - 1n;
const rotl = (x, n) => (n === 0 ? x : ((x << BigInt(n)) | (x >> BigInt(64 - n))) & M64);
function keccakF(s) {
  for (let round = 0; round < 24; round++) {
    const c = [];
    for (let x = 0; x < 5; x++) c[x] = s[x] ^ s[x + 5] ^ s[x + 10] ^ s[x + 15] ^ s[x + 20];
    for (let x = 0; x < 5; x++) {
      const d = c[(x + 4) % 5] ^ rotl(c[(x + 1) % 5], 1);
      for (let y = 0; y < 25; y += 5) s[y + x] ^= d;
    }
    const b = new Array(25);
    for (let x = 0; x < 5; x++) for (let y = 0; y < 5; y++) b[y + 5 * ((2 * x + 3 * y) % 5)] = rotl(s[x + 5 * y], ROT[x + 5 * y]);
    for (let x = 0; x < 5; x++) for (let y = 0; y < 5; y++) {
      s[x + 5 * y] = b[x + 5 * y] ^ ((~b[(x + 1) % 5 + 5 * y] & M64) & b[(x + 2) % 5 + 5 * y]);
    }
    s[0] ^= RC[round];
  }
}
export function keccak256Hex(data) {
  const rate = 136;
  const padded = Buffer.alloc(Math.ceil((data.length + 1) / rate) * rate);
  data.copy(padded);
  padded[data.length] ^= 0x01;
  padded[padded.length - 1] ^= 0x80;
  const s = new Array(25).fill(0n);
  for (let off = 0; off < padded.length; off += rate) {
    for (let i = 0; i < rate / 8; i++) s[i] ^= padded.readBigUInt64LE(off + 8 * i);
    keccakF(s);
  }
  const out = Buffer.alloc(32);
  for (let i = 0; i < 4; i++) out.writeBigUInt64LE(s[i], 8 * i);
  return out.toString('hex');
}
