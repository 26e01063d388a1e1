import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';

/**
 * A WebSocket stand-in for the Session: the session writes complete, unmasked WebSocket frames
 * to `socket`; this sink unframes them into the messages a poll returns. Inbound messages are
 * emitted as ws's 'message' events. One session model, two transports.
 */
export class PollSink extends EventEmitter {
  readyState = 1;
  readonly messages: string[] = [];
  bytes = 0;
  waiter: (() => void) | null = null;
  closeCode = 0;
  readonly socket: Duplex;

  constructor() {
    super();
    this.socket = new Duplex({
      read: () => undefined,
      write: (chunk: Buffer, _enc, cb) => {
        this.unframe(chunk);
        cb();
      },
    });
    // Messages no poll has taken yet count as the socket's unsent bytes, so the session's
    // OUTBOUND_QUEUE_MAX_BYTES bound (slow consumer, 4008) covers a client that stops polling.
    Object.defineProperty(this.socket, 'writableLength', { get: () => this.bytes });
  }

  /** Splits server frames (unmasked): text frames become messages; pongs and the rest are dropped. */
  private unframe(buf: Buffer): void {
    let i = 0;
    while (i + 2 <= buf.length) {
      const opcode = buf[i]! & 0x0f;
      let len = buf[i + 1]! & 0x7f;
      let p = i + 2;
      if (len === 126) {
        len = buf.readUInt16BE(p);
        p += 2;
      } else if (len === 127) {
        len = Number(buf.readBigUInt64BE(p));
        p += 8;
      }
      const payload = buf.subarray(p, p + len);
      if (opcode === 0x1) this.push(payload.toString('utf8'), len);
      else if (opcode === 0x2) this.push(payload.toString('base64'), len);
      i = p + len;
    }
  }

  private push(text: string, bytes: number): void {
    this.messages.push(text);
    this.bytes += bytes;
    this.wake();
  }

  /** Takes every pending message (what a poll answers with); their bytes no longer count as unsent. */
  take(): string[] {
    const messages = this.messages.splice(0);
    this.bytes = 0;
    this.socket.emit('drain');
    return messages;
  }

  wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /** What ws's WebSocket.close does for the session: the session sees 'close' once. */
  close(code: number): void {
    if (this.readyState !== 1) return;
    this.readyState = 3;
    this.closeCode = code;
    this.wake();
    this.emit('close', code, Buffer.alloc(0));
  }

  terminate(): void {
    this.close(1006);
  }
}
