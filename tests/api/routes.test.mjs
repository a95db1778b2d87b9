// The route table itself: `tgxd routes` prints one "METHOD PATTERN" line per route, sorted; the
// SDK's routes are there; every route is exercised by these tests (lib/covered.mjs).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { TGXD, routes } from './lib/api.mjs';
import { COVERED, SDK_ROUTES, routeKey } from './lib/covered.mjs';

describe('tgxd routes', () => {
  test('prints METHOD PATTERN lines, sorted, no duplicates', () => {
    const out = execFileSync(TGXD, ['routes'], { encoding: 'utf8' });
    const lines = out.split('\n').filter(Boolean);
    assert.ok(lines.length >= 20, `tgxd routes printed ${lines.length} lines`);
    for (const l of lines) assert.match(l, /^(GET|POST|PUT|DELETE|PATCH) \/[A-Za-z0-9_\-/:.]*$/, `line ${JSON.stringify(l)}`);
    assert.deepEqual(lines, [...lines].sort(), 'sorted');
    const keys = lines.map((l) => routeKey(...l.split(' ')));
    assert.equal(new Set(keys).size, keys.length, 'no route twice (parameter names aside)');
  });

  test('the routes the SDK calls are there', () => {
    const have = new Set(routes().map((r) => routeKey(r.method, r.pattern)));
    for (const [m, p] of SDK_ROUTES) assert.ok(have.has(routeKey(m, p)), `${m} ${p} is missing`);
  });

  test('every route of the table is exercised by tests/api (lib/covered.mjs)', () => {
    const covered = new Set(COVERED.map((r) => routeKey(r.method, r.pattern)));
    const missing = routes().filter((r) => !covered.has(routeKey(r.method, r.pattern)));
    assert.deepEqual(missing, [], 'routes without tests');
  });
});
