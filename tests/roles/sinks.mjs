// tests/roles/sinks.mjs DIR: local alert sinks for tests/roles/alerts.sh.
//   HTTP (webhook and Telegram-style): every request is appended to DIR/http.jsonl as
//   {method, url, body}; a path starting with /flaky/ answers 500 to its first two requests and
//   200 afterwards; /down/ always answers 503; anything else 200 {"ok":true}.
//   SMTP: a minimal responder (220 greeting, EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT); every
//   message is appended to DIR/smtp.jsonl as {from, to, data}.
// Writes DIR/ports.json {"http": N, "smtp": N} once both listen.
import { createServer as httpServer } from 'node:http';
import { createServer as tcpServer } from 'node:net';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
const seen = new Map();

const http = httpServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    appendFileSync(join(dir, 'http.jsonl'), JSON.stringify({ method: req.method, url: req.url, body }) + '\n');
    const n = (seen.get(req.url) ?? 0) + 1;
    seen.set(req.url, n);
    let status = 200;
    if (req.url.startsWith('/flaky/') && n <= 2) status = 500;
    if (req.url.startsWith('/down/')) status = 503;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(status === 200 ? '{"ok":true}' : '{"ok":false,"description":"sink says no"}');
  });
});

const smtp = tcpServer((sock) => {
  sock.setEncoding('utf8');
  let buf = '';
  let inData = false;
  let msg = { from: null, to: [], data: '' };
  const say = (line) => sock.write(line + '\r\n');
  say('220 sink.local ESMTP test sink');
  sock.on('data', (chunk) => {
    buf += chunk;
    for (;;) {
      if (inData) {
        const end = buf.indexOf('\r\n.\r\n');
        if (end < 0) return;
        msg.data = buf.slice(0, end + 2);
        buf = buf.slice(end + 5);
        inData = false;
        appendFileSync(join(dir, 'smtp.jsonl'), JSON.stringify(msg) + '\n');
        msg = { from: null, to: [], data: '' };
        say('250 2.0.0 queued');
        continue;
      }
      const nl = buf.indexOf('\r\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 2);
      const verb = line.slice(0, 4).toUpperCase();
      if (verb === 'EHLO') { say('250-sink.local'); say('250 8BITMIME'); }
      else if (verb === 'HELO') say('250 sink.local');
      else if (verb === 'MAIL') { msg.from = line.replace(/^MAIL FROM:\s*/i, ''); say('250 2.1.0 ok'); }
      else if (verb === 'RCPT') { msg.to.push(line.replace(/^RCPT TO:\s*/i, '')); say('250 2.1.5 ok'); }
      else if (verb === 'DATA') { inData = true; say('354 end with <CRLF>.<CRLF>'); }
      else if (verb === 'RSET') { msg = { from: null, to: [], data: '' }; say('250 ok'); }
      else if (verb === 'NOOP') say('250 ok');
      else if (verb === 'QUIT') { say('221 bye'); sock.end(); return; }
      else say('502 5.5.2 not implemented');
    }
  });
  sock.on('error', () => {});
});

let ready = 0;
const done = () => {
  if (++ready === 2)
    writeFileSync(join(dir, 'ports.json'), JSON.stringify({ http: http.address().port, smtp: smtp.address().port }));
};
http.listen(0, '127.0.0.1', done);
smtp.listen(0, '127.0.0.1', done);
