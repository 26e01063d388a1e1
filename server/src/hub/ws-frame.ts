import * as wsModule from 'ws';

/**
 * Server -> client WebSocket frames built with ws's own framer (`Sender.frame`). Server frames are
 * unmasked, so one frame's bytes are valid for every socket: a broadcast is framed once and the
 * same Buffer is written to all subscribers. (`Sender` is exported by ws but absent from @types/ws.)
 */
interface FrameOptions {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
}
const { Sender } = wsModule as unknown as {
  Sender: { frame(data: Buffer, options: FrameOptions): Buffer[] };
};

const TEXT = { fin: true, rsv1: false, opcode: 0x1, mask: false, readOnly: false };
const BINARY = { fin: true, rsv1: false, opcode: 0x2, mask: false, readOnly: false };
const PONG = { fin: true, rsv1: false, opcode: 0xa, mask: false, readOnly: false };

function join(parts: Buffer[]): Buffer {
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/** One complete, unmasked text frame carrying `text`. */
export function textFrame(text: string): Buffer {
  return join(Sender.frame(Buffer.from(text, 'utf8'), TEXT));
}

/** One complete, unmasked binary frame carrying `data`. */
export function binaryFrame(data: Buffer): Buffer {
  return join(Sender.frame(data, BINARY));
}

/** One pong frame echoing a ping's application data (at most 125 bytes: ws refuses longer pings). */
export function pongFrame(data: Buffer): Buffer {
  return join(Sender.frame(data, PONG));
}
