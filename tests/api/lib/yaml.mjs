// tests/api/lib/yaml.mjs: a reader for the subset of YAML that contrib/openapi.yaml is written
// in -- no npm dependency.  Supported: block mappings and sequences (a sequence may sit at its
// key's indentation), "- key: value" items, plain / 'single' / "double" quoted scalars, true
// false null ~, integers and floats, one-line flow collections [a, b] {a: b}, block scalars
// | |- > >-, and # comments.  Not supported (a clear error): anchors, aliases, tags, multi-line
// flow collections, multi-document streams, complex keys.

export function parseYaml(text) {
  const lines = [];
  text.split(/\r?\n/).forEach((raw, n) => {
    lines.push({ n: n + 1, raw, indent: raw.length - raw.trimStart().length, text: stripComment(raw).trimEnd().trimStart() });
  });
  const st = { lines, i: 0 };
  skipBlank(st);
  if (st.i >= lines.length) return null;
  const v = parseBlock(st, lines[st.i].indent);
  skipBlank(st);
  if (st.i < lines.length) fail(lines[st.i], 'unexpected indentation');
  return v;
}

function fail(line, msg) {
  throw new Error(`yaml line ${line.n}: ${msg}: ${line.raw}`);
}

function stripComment(s) {
  let q = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (q) {
      if (c === q) { if (q === "'" && s[i + 1] === "'") { i++; continue; } q = null; }
      else if (q === '"' && c === '\\') i++;
    } else if (c === "'" || c === '"') {
      if (i === 0 || /[\s:[{,-]/.test(s[i - 1])) q = c;
    } else if (c === '#' && (i === 0 || /\s/.test(s[i - 1]))) {
      return s.slice(0, i);
    }
  }
  return s;
}

function skipBlank(st) {
  while (st.i < st.lines.length && st.lines[st.i].text === '') st.i++;
}

function isSeqItem(text) {
  return text === '-' || text.startsWith('- ');
}

function parseBlock(st, indent) {
  skipBlank(st);
  const line = st.lines[st.i];
  if (/^(&|\*|!|---|\.\.\.)/.test(line.text)) fail(line, 'anchors, aliases, tags and documents are not supported');
  return isSeqItem(line.text) ? parseSeq(st, indent) : parseMap(st, indent);
}

// the offset of the ':' that ends a mapping key, or -1
function keyColon(text) {
  let q = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) { if (c === q) q = null; else if (q === '"' && c === '\\') i++; continue; }
    if ((c === "'" || c === '"') && i === 0) { q = c; continue; }
    if ((c === '[' || c === '{') && i === 0) return -1;
    if (c === ':' && (i + 1 === text.length || text[i + 1] === ' ')) return i;
  }
  return -1;
}

function parseMap(st, indent) {
  const out = {};
  for (;;) {
    skipBlank(st);
    if (st.i >= st.lines.length) return out;
    const line = st.lines[st.i];
    if (line.indent < indent) return out;
    if (line.indent > indent) fail(line, 'unexpected indentation in a mapping');
    if (isSeqItem(line.text)) return out; // a sequence at the parent key's indentation ends here
    const c = keyColon(line.text);
    if (c < 0) fail(line, 'expected "key: value"');
    const key = scalar(line.text.slice(0, c).trim(), line);
    if (typeof key !== 'string' && typeof key !== 'number') fail(line, 'complex keys are not supported');
    if (Object.prototype.hasOwnProperty.call(out, key)) fail(line, `duplicate key "${key}"`);
    const rest = line.text.slice(c + 1).trim();
    st.i++;
    out[key] = value(st, rest, indent, line);
  }
}

function parseSeq(st, indent) {
  const out = [];
  for (;;) {
    skipBlank(st);
    if (st.i >= st.lines.length) return out;
    const line = st.lines[st.i];
    if (line.indent < indent || !isSeqItem(line.text) || line.indent > indent) {
      if (line.indent > indent) fail(line, 'unexpected indentation in a sequence');
      return out;
    }
    const content = line.text === '-' ? '' : line.text.slice(2).trim();
    if (content === '') {
      st.i++;
      skipBlank(st);
      out.push(st.i < st.lines.length && st.lines[st.i].indent > indent ? parseBlock(st, st.lines[st.i].indent) : null);
    } else if (keyColon(content) >= 0 || isSeqItem(content)) {
      // "- key: value": the item is a block starting at the content's column
      const col = line.indent + (line.text.length - content.length);
      st.lines[st.i] = { ...line, indent: col, text: content };
      out.push(parseBlock(st, col));
    } else {
      st.i++;
      out.push(value(st, content, indent, line));
    }
  }
}

// the value after "key:" (REST), whose block (if any) is indented more than INDENT
function value(st, rest, indent, line) {
  if (rest === '') {
    skipBlank(st);
    if (st.i >= st.lines.length) return null;
    const next = st.lines[st.i];
    if (next.indent > indent) return parseBlock(st, next.indent);
    if (next.indent === indent && isSeqItem(next.text)) return parseSeq(st, indent);
    return null;
  }
  const m = /^([|>])([-+]?)$/.exec(rest);
  if (m) return blockScalar(st, indent, m[1], m[2]);
  return scalar(rest, line);
}

function blockScalar(st, indent, style, chomp) {
  const body = [];
  let blockIndent = -1;
  while (st.i < st.lines.length) {
    const l = st.lines[st.i];
    if (l.raw.trim() === '') { body.push(''); st.i++; continue; }
    if (l.indent <= indent) break;
    if (blockIndent < 0) blockIndent = l.indent;
    if (l.indent < blockIndent) break;
    body.push(l.raw.slice(blockIndent));
    st.i++;
  }
  while (body.length && body[body.length - 1] === '') body.pop();
  let s;
  if (style === '|') s = body.join('\n');
  else s = body.reduce((acc, l) => (acc === '' ? l : l === '' ? acc + '\n' : acc.endsWith('\n') ? acc + l : acc + ' ' + l), '');
  return chomp === '-' ? s : s + '\n';
}

function scalar(s, line) {
  if (s.startsWith('[') || s.startsWith('{')) {
    const p = { s, i: 0, line };
    const v = flow(p);
    ws(p);
    if (p.i !== s.length) fail(line, 'trailing text after a flow collection');
    return v;
  }
  if (s.startsWith("'")) {
    if (!s.endsWith("'") || s.length < 2) fail(line, 'unterminated single-quoted string');
    return s.slice(1, -1).replace(/''/g, "'");
  }
  if (s.startsWith('"')) {
    if (!s.endsWith('"') || s.length < 2) fail(line, 'unterminated double-quoted string');
    return JSON.parse(s.replace(/\\'/g, "'"));
  }
  if (/^[&*!]/.test(s)) fail(line, 'anchors, aliases and tags are not supported');
  if (s === 'true') return true;
  if (s === 'false') return false;
  if (s === 'null' || s === '~') return null;
  if (/^-?(0|[1-9][0-9]*)$/.test(s)) return Number(s);
  if (/^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$/.test(s)) return Number(s);
  return s;
}

function ws(p) {
  while (p.i < p.s.length && p.s[p.i] === ' ') p.i++;
}

function flow(p) {
  ws(p);
  const c = p.s[p.i];
  if (c === '[') {
    p.i++;
    const out = [];
    ws(p);
    if (p.s[p.i] === ']') { p.i++; return out; }
    for (;;) {
      out.push(flow(p));
      ws(p);
      if (p.s[p.i] === ',') { p.i++; continue; }
      if (p.s[p.i] === ']') { p.i++; return out; }
      fail(p.line, 'expected , or ] in a flow sequence');
    }
  }
  if (c === '{') {
    p.i++;
    const out = {};
    ws(p);
    if (p.s[p.i] === '}') { p.i++; return out; }
    for (;;) {
      const k = flowScalar(p, ':');
      ws(p);
      if (p.s[p.i] !== ':') fail(p.line, 'expected : in a flow mapping');
      p.i++;
      out[k] = flow(p);
      ws(p);
      if (p.s[p.i] === ',') { p.i++; ws(p); continue; }
      if (p.s[p.i] === '}') { p.i++; return out; }
      fail(p.line, 'expected , or } in a flow mapping');
    }
  }
  return flowScalar(p, '');
}

function flowScalar(p, extraStop) {
  ws(p);
  const start = p.i;
  const q = p.s[p.i];
  if (q === "'" || q === '"') {
    p.i++;
    while (p.i < p.s.length) {
      if (p.s[p.i] === '\\' && q === '"') { p.i += 2; continue; }
      if (p.s[p.i] === q) {
        if (q === "'" && p.s[p.i + 1] === "'") { p.i += 2; continue; }
        break;
      }
      p.i++;
    }
    if (p.s[p.i] !== q) fail(p.line, 'unterminated string in a flow collection');
    p.i++;
    return scalar(p.s.slice(start, p.i), p.line);
  }
  while (p.i < p.s.length && !(',]}' + extraStop).includes(p.s[p.i])) p.i++;
  return scalar(p.s.slice(start, p.i).trim(), p.line);
}
