// Runs last: both tgxd instances survived every test of the suite (bad input never crashes them).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BASE, BASE2, req } from './lib/api.mjs';

test('both tgxd serve instances are still running and answering', async () => {
  for (const pid of (process.env.TGX_API_PIDS || '').split(/\s+/).filter(Boolean)) {
    assert.doesNotThrow(() => process.kill(Number(pid), 0), `tgxd pid ${pid} is gone`);
  }
  for (const base of [BASE, BASE2].filter(Boolean)) {
    const r = await req('GET', '/api/health', { base });
    assert.equal(r.status, 200, `${base}: ${r.status}`);
  }
});
