// GET /metrics: Prometheus text format 0.0.4, open; per-route request counters and latency
// histograms, queue depth by task state, keepers online, scheduler lag.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createJob, lit, newOwner, req, runJobNow, sql, timeJob } from './lib/api.mjs';

const alice = newOwner('metrics-alice');

/** Parses the exposition text into {types: {name: type}, samples: [{name, labels, value}]}. */
function parseProm(text) {
  const types = {};
  const samples = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (m) { types[m[1]] = m[2]; continue; }
    if (line.startsWith('#')) { assert.match(line, /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* ?/, `comment line: ${line}`); continue; }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)( -?[0-9]+)?$/.exec(line);
    assert.ok(m, `not a Prometheus sample line: ${JSON.stringify(line)}`);
    const labels = {};
    if (m[3]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g;
      let l;
      let consumed = 0;
      while ((l = re.exec(m[3]))) { labels[l[1]] = l[2]; consumed += l[0].length; }
      assert.equal(consumed, m[3].length, `label set ${m[3]}`);
    }
    samples.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return { types, samples };
}

async function scrape() {
  const r = await req('GET', '/metrics');
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type') || '', /^text\/plain/);
  return parseProm(r.text);
}

// the route label of a sample: "route" naming the pattern or the route's name
function routeOf(s) {
  return s.labels.route ?? s.labels.path ?? s.labels.handler;
}

describe('GET /metrics', () => {
  test('open, valid exposition text, every sample has a TYPE', async () => {
    const { types, samples } = await scrape();
    assert.ok(samples.length > 0);
    for (const s of samples) {
      const base = s.name.replace(/_(bucket|sum|count|total)$/, '');
      assert.ok(types[s.name] || types[base] || types[s.name.replace(/_(bucket|sum|count)$/, '')], `no # TYPE for ${s.name}`);
    }
  });

  test('a request counter per route that grows with requests to that route', async () => {
    await req('GET', `/api/users/${alice.address}`, { key: alice.key });
    const perRoute = (p) => {
      const m = new Map();
      for (const s of p.samples.filter((x) => /requests_total$/.test(x.name) && routeOf(x) !== undefined)) {
        m.set(routeOf(s), (m.get(routeOf(s)) || 0) + s.value);
      }
      return m;
    };
    const before = perRoute(await scrape());
    assert.ok(before.size > 0, 'a *_requests_total counter with a route label');
    for (let i = 0; i < 3; i++) await req('GET', `/api/users/${alice.address}`, { key: alice.key });
    const after = perRoute(await scrape());
    // the route label is the route's name (http.h) or its pattern: find the one that grew by 3
    const grown = [...after].filter(([r, n]) => n - (before.get(r) || 0) === 3).map(([r]) => r);
    assert.equal(grown.length, 1, `exactly one route label counted the three requests: ${JSON.stringify([...after])}`);
    assert.ok(before.get(grown[0]) >= 1, 'the first request was counted under the same label');
    // a route label is a pattern or a name, never a raw path with an address (cardinality)
    for (const r of after.keys()) assert.ok(!/0x[0-9a-fA-F]{40}/.test(r), `raw path in a route label: ${r}`);
  });

  test('a latency histogram per route: cumulative buckets ending at +Inf, _sum and _count', async () => {
    const { types, samples } = await scrape();
    const hist = Object.entries(types).filter(([n, t]) => t === 'histogram' && /(duration|latency)/.test(n)).map(([n]) => n);
    assert.ok(hist.length > 0, `a request duration histogram among ${JSON.stringify(types)}`);
    const name = hist[0];
    const buckets = samples.filter((s) => s.name === `${name}_bucket` && routeOf(s) !== undefined);
    assert.ok(buckets.length > 0, `${name}_bucket has route labels`);
    const byRoute = new Map();
    for (const b of buckets) {
      const k = JSON.stringify({ ...b.labels, le: undefined });
      if (!byRoute.has(k)) byRoute.set(k, []);
      byRoute.get(k).push(b);
    }
    for (const [k, bs] of byRoute) {
      const inf = bs.find((b) => b.labels.le === '+Inf');
      assert.ok(inf, `${k}: a +Inf bucket`);
      const ordered = bs.filter((b) => b.labels.le !== '+Inf').sort((a, b) => Number(a.labels.le) - Number(b.labels.le));
      for (let i = 1; i < ordered.length; i++) assert.ok(ordered[i].value >= ordered[i - 1].value, `${k}: buckets are cumulative`);
      const labels = JSON.parse(k);
      const count = samples.find((s) => s.name === `${name}_count` && JSON.stringify({ ...s.labels, le: undefined }) === k);
      assert.ok(count, `${k}: a _count sample ${JSON.stringify(labels)}`);
      assert.equal(count.value, inf.value, `${k}: _count equals the +Inf bucket`);
      assert.ok(samples.some((s) => s.name === `${name}_sum` && JSON.stringify({ ...s.labels, le: undefined }) === k), `${k}: a _sum sample`);
    }
  });

  test('queue depth by task state follows the tasks table', async () => {
    const job = await createJob(alice.key, timeJob(alice.address));
    runJobNow(job);
    runJobNow(job);
    const depth = (p, state) => p.samples.filter((s) => /(queue|tasks)/.test(s.name) && s.labels.state === state)
      .reduce((a, s) => a + s.value, 0);
    const want = () => Number(sql(`SELECT count(*) FROM tgx.tasks WHERE state = 'pending'`));
    // the gauge may be computed on a short cache: it must match the table within 15 s
    let got;
    const end = Date.now() + 15000;
    for (;;) {
      got = depth(await scrape(), 'pending');
      if (got === want() || Date.now() > end) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(got, want(), 'pending tasks gauge');
    const p = await scrape();
    const states = new Set(p.samples.filter((s) => /(queue|tasks)/.test(s.name) && s.labels.state).map((s) => s.labels.state));
    for (const st of ['scheduled', 'pending', 'assigned', 'running', 'attesting']) assert.ok(states.has(st), `state ${st} is reported (0 included): ${[...states]}`);
  });

  test('keepers online and scheduler lag are reported', async () => {
    const a = '0x' + 'ee'.repeat(19) + 'e1';
    sql(`SELECT tgx.register_keeper(${lit(a)}, 'metrics keeper'); SELECT tgx.keeper_checkin(keeper_id) FROM tgx.keepers WHERE keeper_address = ${lit(a)}`);
    const online = () => Number(sql('SELECT count(*) FROM tgx.keepers WHERE online'));
    let got;
    const end = Date.now() + 15000;
    for (;;) {
      const p = await scrape();
      const s = p.samples.find((x) => /keepers_online/.test(x.name) && Object.keys(x.labels).length === 0)
        ?? p.samples.find((x) => /keepers/.test(x.name) && (x.labels.online === 'true' || x.labels.state === 'online'));
      got = s?.value;
      if (got === online() || Date.now() > end) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(got, online(), 'keepers online gauge');
    const p = await scrape();
    assert.ok(p.samples.some((s) => /scheduler.*lag|lag.*sched/.test(s.name)), 'a scheduler lag metric');
  });
});
