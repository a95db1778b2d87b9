// contrib/openapi.yaml: a well-formed OpenAPI 3.0 document listing exactly the routes `tgxd routes`
// prints (method + path, {param} vs :param), every $ref resolving, path parameters declared, error
// answers in the Error shape, and the security it declares being what the server does.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { TGXD, newOwner, req, routes } from './lib/api.mjs';
import { routeKey } from './lib/covered.mjs';
import { parseYaml } from './lib/yaml.mjs';

const DOC_PATH = new URL('../../contrib/openapi.yaml', import.meta.url);
const doc = parseYaml(readFileSync(DOC_PATH, 'utf8'));
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head'];

function operations() {
  const out = [];
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const m of METHODS) if (item[m]) out.push({ method: m.toUpperCase(), path, op: item[m], item });
  }
  return out;
}

function resolve(ref) {
  assert.ok(ref.startsWith('#/'), `only local $refs: ${ref}`);
  let node = doc;
  for (const part of ref.slice(2).split('/')) {
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    assert.ok(node && typeof node === 'object' && key in node, `$ref ${ref} does not resolve`);
    node = node[key];
  }
  return node;
}
const deref = (x) => (x && x.$ref ? deref(resolve(x.$ref)) : x);

describe('contrib/openapi.yaml', () => {
  test('is an OpenAPI 3.0 document with info, paths and the X-Api-Key scheme', () => {
    assert.match(String(doc.openapi), /^3\.0\.\d+$/);
    assert.ok(doc.info && doc.info.title && doc.info.version);
    const scheme = doc.components.securitySchemes.ApiKey;
    assert.deepEqual({ type: scheme.type, in: scheme.in, name: scheme.name }, { type: 'apiKey', in: 'header', name: 'X-Api-Key' });
    assert.deepEqual(doc.security, [{ ApiKey: [] }], 'keyed by default');
  });

  test('lists exactly the routes of `tgxd routes`', () => {
    const table = routes();
    assert.ok(table.length > 0, '`tgxd routes` printed nothing');
    const want = new Set(table.map((r) => routeKey(r.method, r.pattern)));
    const have = new Set(operations().map((o) => routeKey(o.method, o.path)));
    const missing = [...want].filter((k) => !have.has(k)).sort();
    const extra = [...have].filter((k) => !want.has(k)).sort();
    assert.deepEqual({ missing, extra }, { missing: [], extra: [] }, 'routes missing from the document / documented but not served');
  });

  test('every $ref resolves', () => {
    const walk = (x) => {
      if (Array.isArray(x)) x.forEach(walk);
      else if (x && typeof x === 'object') {
        if (typeof x.$ref === 'string') resolve(x.$ref);
        Object.values(x).forEach(walk);
      }
    };
    walk(doc);
  });

  test('every operation: unique operationId, a success answer, JSON errors in the Error shape, path parameters declared', () => {
    const ids = new Set();
    for (const { method, path, op, item } of operations()) {
      const where = `${method} ${path}`;
      assert.ok(op.operationId && !ids.has(op.operationId), `${where}: operationId ${op.operationId}`);
      ids.add(op.operationId);
      assert.ok(op.summary, `${where}: summary`);
      const codes = Object.keys(op.responses || {});
      assert.ok(codes.some((c) => /^(2\d\d|101|501)$/.test(c)), `${where}: a success answer among ${codes}`);
      for (const c of codes.filter((x) => /^[45]\d\d$/.test(x))) {
        const resp = deref(op.responses[c]);
        if (resp['x-original-shape']) continue; // e.g. the health route's 503 keeps the original's body
        const schema = deref(resp.content?.['application/json']?.schema);
        assert.ok(schema && schema.required?.includes('error') && schema.required?.includes('code'), `${where} ${c}: the Error schema`);
      }
      const declared = [...(item.parameters || []), ...(op.parameters || [])].map(deref).filter((p) => p.in === 'path').map((p) => p.name);
      const inPath = [...path.matchAll(/\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]);
      assert.deepEqual([...declared].sort(), [...inPath].sort(), `${where}: path parameters`);
      if (op.security !== undefined && op.security.length > 0) {
        for (const req0 of op.security) for (const name of Object.keys(req0)) assert.ok(doc.components.securitySchemes[name], `${where}: scheme ${name}`);
      }
    }
  });

  test('the declared security is the route table\'s (`tgxd routes --verbose`: open / key / admin)', () => {
    let out = '';
    try { out = execFileSync(TGXD, ['routes', '--verbose'], { encoding: 'utf8' }); } catch { out = ''; }
    const access = new Map();
    for (const l of out.split('\n').filter(Boolean)) {
      const [m, p, a] = l.trim().split(/\s+/);
      if (a) access.set(routeKey(m, p), a);
    }
    assert.ok(access.size > 0, '`tgxd routes --verbose` prints METHOD PATTERN ACCESS NAME');
    const problems = [];
    for (const { method, path, op } of operations()) {
      const sec = op.security;
      // the WebSocket route authenticates in the upgrade handler, not the router
      // ... and the keeper gateway in its handlers (signed requests, no API key)
      const declared = (sec || []).some((x) => 'ApiKeyQuery' in x || 'KeeperSignature' in x) ? 'open'
        : Array.isArray(sec) && sec.length === 0 ? 'open' : op['x-admin-only'] ? 'admin' : 'key';
      const actual = access.get(routeKey(method, path));
      if (actual !== declared) problems.push(`${method} ${path}: documented ${declared}, the route table says ${actual}`);
    }
    assert.deepEqual(problems, []);
  });

  test('the declared security is what the server does (no key: 401 unless open; user key on x-admin-only: 403 ADMIN_REQUIRED)', async () => {
    const user = newOwner('openapi-user');
    const fill = (path) => path.replace(/\{([A-Za-z0-9_]+)\}/g, (_, n) => {
      if (/address|owner/.test(n)) return '0x0000000000000000000000000000000000000001';
      if (n === 'key' || n === 'api_key') return 'TGRX-00000000-0000-4000-8000-000000000000';
      if (n === 'status') return 'pending';
      return '1';
    });
    const problems = [];
    for (const { method, path, op } of operations()) {
      const url = fill(path);
      const open = Array.isArray(op.security) && op.security.length === 0;
      const keeperSigned = (op.security || []).some((x) => 'KeeperSignature' in x);
      const body = ['POST', 'PUT'].includes(method) ? {} : undefined;
      const anon = await req(method, url, { body });
      // the WebSocket route refuses like the original (AUTHENTICATION_FAILED); the others API_KEY_REQUIRED
      const wsRoute = (op.security || []).some((x) => 'ApiKeyQuery' in x);
      // the keeper gateway refuses an unsigned request with INVALID_SIGNATURE
      const wantCode = wsRoute ? 'AUTHENTICATION_FAILED' : keeperSigned ? 'INVALID_SIGNATURE' : 'API_KEY_REQUIRED';
      if (open && anon.status === 401) problems.push(`${method} ${path}: documented open, the server wants a key`);
      if (!open && !(anon.status === 401 && anon.json?.code === wantCode)) {
        problems.push(`${method} ${path}: documented keyed, without a key the server answered ${anon.status} ${anon.text.slice(0, 80)}`);
      }
      if (!open && !keeperSigned) {
        const u = await req(method, url, { key: user.key, body });
        const adminRefused = u.status === 403 && u.json?.code === 'ADMIN_REQUIRED';
        if (op['x-admin-only'] && !adminRefused) problems.push(`${method} ${path}: documented admin-only, a user key got ${u.status} ${u.text.slice(0, 80)}`);
        if (!op['x-admin-only'] && adminRefused) problems.push(`${method} ${path}: documented for user keys, the server wants an admin key`);
      }
    }
    assert.deepEqual(problems, []);
  });
});
