// tests/api/lib/ws.mjs: a minimal RFC 6455 client over node:net (node 20 has no global
// WebSocket).  Text frames only on the way out (masked, as a client must); the server's text,
// ping, pong and close frames on the way in, fragmented messages reassembled.
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/**
 * Opens ws://HOST:PORT/PATH.  Resolves to a client {send(obj), next(pred, ms), close(), closed,
 * messages} once the server answered 101 with the right Sec-WebSocket-Accept; rejects with
 * err.status / err.body when the server refused the upgrade with a plain HTTP answer.
 */
export function wsConnect(baseUrl, path, headers = {}) {
  const url = new URL(baseUrl);
  const key = randomBytes(16).toString('base64');
  const accept = createHash('sha1').update(key + GUID).digest('base64');
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: url.hostname, port: Number(url.port) });
    let buf = Buffer.alloc(0);
    let upgraded = false;
    const client = new WsClient(sock);
    sock.on('connect', () => {
      const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
      sock.write(`GET ${path} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`);
    });
    sock.on('data', (d) => {
      if (upgraded) { client.feed(d); return; }
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.subarray(0, end).toString('latin1');
      const rest = buf.subarray(end + 4);
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1]);
      const hdrs = {};
      for (const line of head.split('\r\n').slice(1)) {
        const i = line.indexOf(':');
        if (i > 0) hdrs[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      if (status !== 101) {
        // read the (short) body, then report the refusal
        const len = Number(hdrs['content-length'] || 0);
        const finish = () => {
          const err = new Error(`upgrade refused: ${status}`);
          err.status = status;
          err.headers = hdrs;
          err.body = buf.subarray(end + 4, end + 4 + len).toString('utf8');
          sock.destroy();
          reject(err);
        };
        if (rest.length >= len) finish();
        else sock.on('data', () => { if (buf.length - end - 4 >= len) finish(); });
        return;
      }
      if (hdrs['sec-websocket-accept'] !== accept) {
        sock.destroy();
        reject(new Error(`bad Sec-WebSocket-Accept ${hdrs['sec-websocket-accept']} (want ${accept})`));
        return;
      }
      upgraded = true;
      client.headers = hdrs;
      resolve(client);
      if (rest.length) client.feed(rest);
    });
    sock.on('error', (e) => { if (!upgraded) reject(e); else client.fail(e); });
    sock.on('close', () => { client.closed = true; client.wake(); });
  });
}

class WsClient {
  constructor(sock) {
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.frag = [];
    this.messages = []; // every text message received, parsed as JSON when it is JSON
    this.queue = [];    // not yet taken by next()
    this.waiters = [];
    this.closed = false;
    this.closeCode = undefined;
    this.pongs = 0;
  }

  /** Sends OBJ as a JSON text frame (a string is sent as is). */
  send(obj) {
    this.sendFrame(0x1, Buffer.from(typeof obj === 'string' ? obj : JSON.stringify(obj), 'utf8'));
  }

  sendFrame(opcode, payload) {
    const mask = randomBytes(4);
    let head;
    if (payload.length < 126) {
      head = Buffer.from([0x80 | opcode, 0x80 | payload.length]);
    } else if (payload.length < 65536) {
      head = Buffer.alloc(4);
      head[0] = 0x80 | opcode; head[1] = 0x80 | 126; head.writeUInt16BE(payload.length, 2);
    } else {
      head = Buffer.alloc(10);
      head[0] = 0x80 | opcode; head[1] = 0x80 | 127; head.writeBigUInt64BE(BigInt(payload.length), 2);
    }
    const masked = Buffer.alloc(payload.length);
    for (let i = 0; i < payload.length; i++) masked[i] = payload[i] ^ mask[i & 3];
    this.sock.write(Buffer.concat([head, mask, masked]));
  }

  feed(d) {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      if (this.buf.length < 2) return;
      const fin = (this.buf[0] & 0x80) !== 0;
      const opcode = this.buf[0] & 0x0f;
      const masked = (this.buf[1] & 0x80) !== 0;
      let len = this.buf[1] & 0x7f;
      let off = 2;
      if (len === 126) { if (this.buf.length < 4) return; len = this.buf.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (this.buf.length < 10) return; len = Number(this.buf.readBigUInt64BE(2)); off = 10; }
      if (masked) off += 4; // a server must not mask; tolerate it anyway
      if (this.buf.length < off + len) return;
      let payload = this.buf.subarray(off, off + len);
      if (masked) {
        const m = this.buf.subarray(off - 4, off);
        payload = Buffer.from(payload.map((b, i) => b ^ m[i & 3]));
      }
      this.buf = this.buf.subarray(off + len);
      if (opcode === 0x9) { this.sendFrame(0xA, payload); continue; }          // ping -> pong
      if (opcode === 0xA) { this.pongs++; continue; }
      if (opcode === 0x8) {
        this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        this.closed = true;
        this.wake();
        continue;
      }
      if (opcode === 0x1 || opcode === 0x2 || opcode === 0x0) {
        this.frag.push(payload);
        if (!fin) continue;
        const text = Buffer.concat(this.frag).toString('utf8');
        this.frag = [];
        let msg;
        try { msg = JSON.parse(text); } catch { msg = text; }
        this.messages.push(msg);
        this.queue.push(msg);
        this.wake();
      }
    }
  }

  wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  fail(e) { this.error = e; this.closed = true; this.wake(); }

  /**
   * The next received message for which PRED(msg) is true (earlier non-matching ones stay
   * queued); rejects after MS milliseconds or when the connection closes first.
   */
  next(pred = () => true, ms = 10000) {
    return new Promise((resolve, reject) => {
      const deadline = Date.now() + ms;
      const look = () => {
        const i = this.queue.findIndex(pred);
        if (i >= 0) { resolve(this.queue.splice(i, 1)[0]); return; }
        if (this.closed) { reject(new Error(`connection closed (code ${this.closeCode}) before the awaited message; got ${JSON.stringify(this.messages)}`)); return; }
        if (Date.now() >= deadline) { reject(new Error(`no awaited message within ${ms} ms; got ${JSON.stringify(this.messages)}`)); return; }
        this.waiters.push(look);
        setTimeout(() => this.wake(), Math.min(250, Math.max(1, deadline - Date.now())));
      };
      look();
    });
  }

  /** Sends a close frame and ends the socket. */
  close() {
    if (!this.sock.destroyed) {
      try { this.sendFrame(0x8, Buffer.from([0x03, 0xe8])); } catch { /* already gone */ }
      this.sock.end();
      setTimeout(() => this.sock.destroy(), 200).unref();
    }
  }
}
