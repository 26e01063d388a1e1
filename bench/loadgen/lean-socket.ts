/**
 * A minimal WebSocket client over a raw `net` socket, one per simulated user.
 *
 * Why not `ws` or `socket.io-client`: the load generator must receive millions of frames per second
 * on one core. A full client per connection (frame objects, events, UTF-8 validation, per-message
 * buffers) would measure the client, not the server. This one reads into one shared buffer
 * (`onread`), walks frame headers, and only looks inside a frame when it must: during the protocol
 * handshake, for control frames, and for the sampled frames whose send timestamp it records.
 *
 * It speaks just enough RFC 6455 for a benchmark: HTTP/1.1 upgrade (accept key checked), unmasked
 * server frames of any length, masked client text frames, ping -> pong, close. No extensions,
 * no fragmentation (servers under test never fragment these small messages).
 */
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const HEADER_END = Buffer.from('\r\n\r\n');
/** Frames bigger than this are a protocol error. */
const MAX_FRAME = 64 << 20;
/**
 * Data frames bigger than this on a ready socket are skipped unread: the benchmark's own messages
 * are far smaller, and the big ones (e.g. Phoenix presence_state, one entry per member) would
 * otherwise be reassembled at a cost that grows with their size.
 */
const SKIP_OVER = 16_384;

/** One buffer shared by every socket of the process: `onread` fills it, the callback consumes it synchronously. */
const readBuffer = Buffer.allocUnsafe(256 * 1024);

/** What a protocol (Phoenix, Socket.IO, raw) does with a connection: see protocols.ts. */
export interface FrameHandler {
  /** Called once the HTTP upgrade succeeded. */
  onOpen(sock: LeanSocket): void;
  /** Every text/binary frame: `buf[start..end)` is the payload, valid only during the call. */
  onData(sock: LeanSocket, buf: Buffer, start: number, end: number): void;
}

/** Connection lifecycle: upgrading, open (protocol setup), ready (joined), closed. */
export type LeanState = 'upgrading' | 'open' | 'ready' | 'closed';

export interface LeanSocketOptions {
  host: string;
  port: number;
  /** Request target including the query string, e.g. `/socket/websocket?vsn=2.0.0&token=...`. */
  path: string;
  localAddress?: string;
  handler: FrameHandler;
  /** Called exactly once: `null` when the protocol declared the socket ready, else the failure. */
  onSettled(err: Error | null): void;
  /** Called when a socket that was ready closes. */
  onClosed(sock: LeanSocket, code: number): void;
}

export class LeanSocket {
  state: LeanState = 'upgrading';
  /** Free slot for the protocol (e.g. Phoenix join ref counter). */
  seq = 0;
  private readonly sock: Socket;
  private readonly opts: LeanSocketOptions;
  private readonly key = randomBytes(16).toString('base64');
  private readonly mask = randomBytes(4);
  private upgradeBuf: Buffer | null = Buffer.alloc(0);
  private pending: Buffer | null = null;
  /** Payload bytes of a skipped frame still to come. */
  private skip = 0;
  private settled = false;

  constructor(opts: LeanSocketOptions) {
    this.opts = opts;
    this.sock = connect({
      host: opts.host,
      port: opts.port,
      localAddress: opts.localAddress,
      noDelay: true,
      onread: {
        buffer: readBuffer,
        callback: (n: number, buf: Uint8Array) => {
          this.onBytes(buf as Buffer, 0, n);
          return true;
        },
      },
    });
    this.sock.once('connect', () => {
      this.sock.write(
        `GET ${opts.path} HTTP/1.1\r\nHost: ${opts.host}:${opts.port}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${this.key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    this.sock.on('error', (err) => this.fail(err));
    this.sock.on('close', () => this.closed(1006));
  }

  /** The protocol calls this when the connection is usable (e.g. channel joined). */
  markReady(): void {
    if (this.state === 'closed') return;
    this.state = 'ready';
    this.settle(null);
  }

  /** The protocol calls this when setup failed (e.g. join refused). */
  fail(err: Error): void {
    this.settle(err);
    this.destroy();
  }

  /** Sends one masked text frame. */
  sendText(text: string): void {
    if (this.state === 'closed') return;
    this.sock.write(this.frame(0x1, Buffer.from(text)));
  }

  /** Holds writes until `uncork`, so a burst of sends leaves in one syscall. */
  cork(): void {
    this.sock.cork();
  }

  uncork(): void {
    this.sock.uncork();
  }

  /** Bytes queued in user space because the kernel buffer is full: the publisher's backpressure signal. */
  get writeBacklog(): number {
    return this.sock.writableLength;
  }

  /** Sends a close frame and ends the TCP connection. */
  close(): void {
    if (this.state === 'closed') return;
    const body = Buffer.alloc(2);
    body.writeUInt16BE(1000);
    this.sock.end(this.frame(0x8, body));
    this.state = 'closed';
  }

  destroy(): void {
    this.sock.destroy();
  }

  private settle(err: Error | null): void {
    if (this.settled) return;
    this.settled = true;
    this.opts.onSettled(err);
  }

  private closed(code: number): void {
    const wasReady = this.state === 'ready';
    this.state = 'closed';
    this.settle(new Error(`connection closed during setup (code ${code})`));
    if (wasReady) this.opts.onClosed(this, code);
  }

  private frame(opcode: number, payload: Buffer): Buffer {
    const len = payload.length;
    const hl = len < 126 ? 2 : len < 65536 ? 4 : 10;
    const out = Buffer.allocUnsafe(hl + 4 + len);
    out[0] = 0x80 | opcode;
    if (hl === 2) out[1] = 0x80 | len;
    else if (hl === 4) {
      out[1] = 0x80 | 126;
      out.writeUInt16BE(len, 2);
    } else {
      out[1] = 0x80 | 127;
      out.writeUInt32BE(0, 2);
      out.writeUInt32BE(len, 6);
    }
    const m = this.mask;
    out[hl] = m[0]!;
    out[hl + 1] = m[1]!;
    out[hl + 2] = m[2]!;
    out[hl + 3] = m[3]!;
    const base = hl + 4;
    for (let i = 0; i < len; i++) out[base + i] = payload[i]! ^ m[i & 3]!;
    return out;
  }

  private onBytes(buf: Buffer, start: number, end: number): void {
    if (this.upgradeBuf) {
      const all = Buffer.concat([this.upgradeBuf, buf.subarray(start, end)]);
      const at = all.indexOf(HEADER_END);
      if (at < 0) {
        if (all.length > 16_384) this.fail(new Error('oversized HTTP upgrade response'));
        else this.upgradeBuf = all;
        return;
      }
      this.upgradeBuf = null;
      const head = all.subarray(0, at).toString('latin1');
      const status = head.slice(0, head.indexOf('\r\n'));
      if (!/^HTTP\/1\.1 101/.test(status)) {
        this.fail(new Error(`upgrade refused: ${status}`));
        return;
      }
      const accept = createHash('sha1')
        .update(this.key + GUID)
        .digest('base64');
      if (!head.toLowerCase().includes(`sec-websocket-accept: ${accept.toLowerCase()}`)) {
        this.fail(new Error('upgrade response has a wrong Sec-WebSocket-Accept'));
        return;
      }
      this.state = 'open';
      this.opts.handler.onOpen(this);
      if (at + 4 < all.length) this.parse(all, at + 4, all.length);
      return;
    }
    while (start < end && this.state !== 'closed') {
      if (this.skip > 0) {
        const n = Math.min(this.skip, end - start);
        this.skip -= n;
        start += n;
      } else if (this.pending) start = this.completePending(buf, start, end);
      else {
        this.parse(buf, start, end);
        return;
      }
    }
  }

  /**
   * Appends just enough of the new bytes to finish the frame that straddled the last read (first its
   * header; a big data frame then switches to skipping). Consumes at least one byte.
   */
  private completePending(buf: Buffer, start: number, end: number): number {
    const p = this.pending!;
    const take = Math.min(frameBytesNeeded(p), end - start);
    const next = Buffer.concat([p, buf.subarray(start, start + take)]);
    const header = frameHeader(next);
    if (frameBytesNeeded(next) === 0) {
      this.pending = null;
      this.parse(next, 0, next.length);
    } else if (header && header.len > SKIP_OVER && this.state === 'ready' && (next[0]! & 0x0f) <= 0x2) {
      this.pending = null;
      this.skip = header.hl + header.len - next.length;
    } else this.pending = next;
    return start + take;
  }

  private parse(b: Buffer, i: number, end: number): void {
    while (i < end) {
      if (end - i < 2) break;
      const b1 = b[i + 1]!;
      if (b1 & 0x80) {
        this.fail(new Error('server sent a masked frame'));
        return;
      }
      let len = b1 & 0x7f;
      let hl = 2;
      if (len === 126) {
        if (end - i < 4) break;
        len = b.readUInt16BE(i + 2);
        hl = 4;
      } else if (len === 127) {
        if (end - i < 10) break;
        len = b.readUInt32BE(i + 2) * 2 ** 32 + b.readUInt32BE(i + 6);
        hl = 10;
      }
      if (len > MAX_FRAME) {
        this.fail(new Error(`frame of ${len} bytes exceeds the benchmark's ${MAX_FRAME}`));
        return;
      }
      const ps = i + hl;
      const pe = ps + len;
      if (len > SKIP_OVER && this.state === 'ready' && (b[i]! & 0x0f) <= 0x2) {
        if (pe > end) {
          this.skip = pe - end;
          return;
        }
        i = pe;
        continue;
      }
      if (pe > end) break;
      this.onFrame(b[i]! & 0x0f, b, ps, pe);
      if (this.state === 'closed') return;
      i = pe;
    }
    if (i < end) this.pending = Buffer.from(b.subarray(i, end));
  }

  private onFrame(opcode: number, b: Buffer, ps: number, pe: number): void {
    if (opcode === 0x1 || opcode === 0x2) this.opts.handler.onData(this, b, ps, pe);
    else if (opcode === 0x9) this.sock.write(this.frame(0xa, Buffer.from(b.subarray(ps, pe))));
    else if (opcode === 0x8) {
      const code = pe - ps >= 2 ? b.readUInt16BE(ps) : 1005;
      const wasReady = this.state === 'ready';
      this.state = 'closed';
      this.settle(new Error(`server closed the connection during setup (code ${code})`));
      if (wasReady) this.opts.onClosed(this, code);
      // Echo the close (RFC 6455 5.5.1) and end gracefully, so frames written just before (a pong) arrive.
      this.sock.end(this.frame(0x8, Buffer.from(b.subarray(ps, Math.min(pe, ps + 2)))));
    }
  }
}

/** Header length and payload length of a partial frame, once its header is complete. */
function frameHeader(p: Buffer): { hl: number; len: number } | null {
  if (p.length < 2) return null;
  const l7 = p[1]! & 0x7f;
  const hl = l7 === 126 ? 4 : l7 === 127 ? 10 : 2;
  if (p.length < hl) return null;
  const len =
    l7 === 126 ? p.readUInt16BE(2) : l7 === 127 ? p.readUInt32BE(2) * 2 ** 32 + p.readUInt32BE(6) : l7;
  return { hl, len };
}

/** Bytes still missing from a partial frame (0 when complete): first the header, then the payload. */
function frameBytesNeeded(p: Buffer): number {
  if (p.length < 2) return 2 - p.length;
  const h = frameHeader(p);
  if (!h) return ((p[1]! & 0x7f) === 126 ? 4 : 10) - p.length;
  return Math.max(0, h.hl + h.len - p.length);
}
