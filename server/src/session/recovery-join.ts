import { payloadJsonOf } from '../broker/broker.js';
import { binaryFrame, textFrame } from '../hub/ws-frame.js';
import { positionRef } from '../hub/hub.js';
import type { Serializer } from '../protocol/serializer.js';
import type { HistoryAccess } from '../store/index.js';
import type { SequencedPublication, StreamPosition } from '../store/sequencer.js';
import type { Logger } from '../telemetry/logger.js';

/**
 * Join with recovery (docs/recovery.md). A client opts in per join with the `recover` join param:
 * `true` (fresh: tell me the position) or `{"epoch": e, "offset": n}` (resume after what I saw).
 * Only opted-in joins see positions: in the join reply and in the ref slot of every broadcast.
 */

/** What the client asked for: `from` null is a fresh opt-in, else the last position it saw. */
export interface RecoverRequest {
  from: StreamPosition | null;
}

/** Longest epoch accepted in the join params (ours are 12 characters). */
const MAX_EPOCH_LENGTH = 64;

/** The usage line in error replies. */
export const RECOVER_PARAM_HINT =
  'recover must be true or {"epoch": "<epoch>", "offset": <whole number >= 0>} (the position of the last message received)';

/**
 * Reads the `recover` join param: undefined (or false) when the join does not opt in, a request,
 * or a string describing what is wrong (answered as the join's error reason).
 */
export function parseRecoverParam(v: unknown): RecoverRequest | undefined | string {
  if (v === undefined || v === false || v === null) return undefined;
  if (v === true) return { from: null };
  if (typeof v !== 'object' || Array.isArray(v)) return RECOVER_PARAM_HINT;
  const { epoch, offset } = v as Record<string, unknown>;
  if (typeof epoch !== 'string' || epoch.length === 0 || epoch.length > MAX_EPOCH_LENGTH) {
    return RECOVER_PARAM_HINT;
  }
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) return RECOVER_PARAM_HINT;
  return { from: { epoch, offset } };
}

/** The outcome a recovering join replies with and then acts on. */
export interface RecoveryOutcome {
  /** The join reply's `response`, as JSON text. */
  responseJson: string;
  /** Where the topic stood when recovery read it; live broadcasts at or below it are duplicates. Null when unknown. */
  top: StreamPosition | null;
  /** What to push after the reply, in order (empty unless recovered). */
  publications: SequencedPublication[];
  /** Gives back the node's recovery budget held by `publications`: call once they are sent or abandoned. */
  release: () => void;
}

const none = (): void => {};

/**
 * Runs recovery for a join (after the hub subscription is in place, so nothing after `top` can be
 * missed). Never rejects: an unreachable sequencer is `recovered: false, reason: "unavailable"`.
 */
export async function recoverForJoin(
  history: Pick<HistoryAccess, 'recover' | 'position'>,
  topic: string,
  req: RecoverRequest,
  logger: Logger,
): Promise<RecoveryOutcome> {
  try {
    if (req.from === null) {
      const top = await history.position(topic);
      return { responseJson: response(true, top), top, publications: [], release: none };
    }
    const result = await history.recover({ topic, epoch: req.from.epoch, offset: req.from.offset });
    const top = { epoch: result.epoch, offset: result.offset };
    return {
      responseJson: response(result.recovered, top, result.recovered ? undefined : result.reason),
      top,
      publications: result.publications,
      release: result.release,
    };
  } catch (err) {
    logger.warn({ err: (err as Error).message, topic }, 'recovery unavailable: answering recovered=false');
    return {
      responseJson: '{"recovered":false,"reason":"unavailable"}',
      top: null,
      publications: [],
      release: none,
    };
  }
}

function response(recovered: boolean, top: StreamPosition, reason?: string): string {
  return JSON.stringify(
    reason === undefined
      ? { recovered, epoch: top.epoch, offset: top.offset }
      : { recovered, epoch: top.epoch, offset: top.offset, reason },
  );
}

/**
 * The frame of one recovered publication, shaped exactly like its live broadcast to an opted-in
 * client of `serializer`; null when that serializer cannot carry it (binary to V1), as live.
 */
export function recoveredFrame(
  pub: SequencedPublication,
  serializer: Serializer,
  handleOut?: (payload: unknown) => unknown,
): Buffer | null {
  if (handleOut) return interceptedRecoveredFrame(pub, serializer, handleOut);
  let frames = framesOf.get(pub);
  if (!frames) framesOf.set(pub, (frames = new Map()));
  let frame = frames.get(serializer);
  if (frame === undefined) frames.set(serializer, (frame = encodeRecovered(pub, serializer)));
  return frame;
}

/**
 * Frames already built per publication and serializer. Every member of a room a deploy cut
 * recovers the same publications (the memory sequencer hands them the same objects), and the
 * frame has no per-client part: one frame is shared, as a live broadcast's is. Weak: it lives as
 * long as the publication object does.
 */
const framesOf = new WeakMap<SequencedPublication, Map<Serializer, Buffer | null>>();

function encodeRecovered(pub: SequencedPublication, serializer: Serializer): Buffer | null {
  if (pub.binary && typeof pub.payload === 'string') {
    const bytes = serializer.encodeBinaryBroadcast(pub.topic, pub.event, Buffer.from(pub.payload, 'base64'));
    return bytes && binaryFrame(bytes);
  }
  return textFrame(
    serializer.encode(null, positionRef(pub.epoch, pub.offset), pub.topic, pub.event, payloadJsonOf(pub)),
  );
}

/**
 * A recovered publication of an intercepted event, through the channel's handleOut as a live one
 * would be: null when dropped (or unparseable), the stored bytes when passed, a re-encoding when
 * rewritten.
 */
function interceptedRecoveredFrame(
  pub: SequencedPublication,
  serializer: Serializer,
  handleOut: (payload: unknown) => unknown,
): Buffer | null {
  const binary = pub.binary && typeof pub.payload === 'string';
  let value: unknown;
  try {
    value = binary ? Buffer.from(pub.payload as string, 'base64') : JSON.parse(payloadJsonOf(pub));
  } catch {
    return null;
  }
  const out = handleOut(value);
  if (out === null || out === undefined) return null;
  if (out === value) return recoveredFrame(pub, serializer);
  if (binary) return null;
  try {
    const json = JSON.stringify(out);
    return textFrame(serializer.encode(null, positionRef(pub.epoch, pub.offset), pub.topic, pub.event, json));
  } catch {
    return null;
  }
}

/** A live broadcast held back while a join recovers. */
export interface HeldFrame {
  frame: Buffer;
  epoch: string | undefined;
  offset: number | undefined;
}

/** True when a held live frame is not already covered by what recovery sent (or could have sent). */
export function isAfter(held: HeldFrame, top: StreamPosition | null): boolean {
  if (top === null || held.offset === undefined || held.epoch !== top.epoch) return true;
  return held.offset > top.offset;
}
