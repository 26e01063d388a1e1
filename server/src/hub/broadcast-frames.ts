import type { Serializer } from '../protocol/serializer.js';
import { metrics } from '../telemetry/metrics.js';
import type { Subscriber } from './hub.js';

/**
 * The frames of one broadcast, encoded lazily and at most once per (serializer, with position):
 * every subscriber that speaks the same serializer gets the same Buffer. `encode` returns null when
 * the serializer cannot carry the broadcast (binary to V1); that is cached too.
 *
 * Subscribers that intercept the event (channel `handleOut`) get the payload parsed once per
 * broadcast (shared by all of them); one that returns it unchanged gets the shared frame, one that
 * rewrites it gets a frame encoded for it alone.
 */
export class BroadcastFrames {
  /** Index `serializer.id * 2 + (with position ? 1 : 0)`; at most 2 per serializer. */
  private readonly frames: (Buffer | null | undefined)[] = [];
  private parsed: { value: unknown } | null = null;

  constructor(
    private readonly encode: (serializer: Serializer, ref: string | null) => Buffer | null,
    /** The ref slot of subscribers that asked for positions; null when there is none to give. */
    private readonly positionRef: string | null,
    /** The payload as a value, for handleOut (called at most once). */
    private readonly value: () => unknown,
    /** Encodes a rewritten payload; null when the payload cannot be rewritten (binary). */
    private readonly rewrite: ((serializer: Serializer, ref: string | null, value: unknown) => Buffer) | null,
  ) {}

  frameFor(serializer: Serializer, positioned: boolean): Buffer | null {
    const withRef = positioned && this.positionRef !== null;
    const i = serializer.id * 2 + (withRef ? 1 : 0);
    let frame = this.frames[i];
    if (frame === undefined) {
      frame = this.encode(serializer, withRef ? this.positionRef : null);
      this.frames[i] = frame;
    }
    return frame;
  }

  /**
   * The frame `sub` gets after its handleOut: `shared` when it returns the payload unchanged,
   * a frame of its own when it rewrites it, null when it drops it (or the rewrite cannot be encoded).
   */
  intercepted(
    sub: Subscriber,
    topic: string,
    event: string,
    serializer: Serializer,
    positioned: boolean,
    shared: Buffer,
  ): Buffer | null {
    let parsed = this.parsed;
    if (parsed === null) {
      try {
        parsed = { value: this.value() };
      } catch {
        parsed = { value: undefined };
      }
      this.parsed = parsed;
    }
    const out = sub.handleOut!(topic, event, parsed.value);
    if (out === null || out === undefined) return null;
    if (out === parsed.value) return shared;
    if (this.rewrite === null) return null;
    const withRef = positioned && this.positionRef !== null;
    try {
      return this.rewrite(serializer, withRef ? this.positionRef : null, out);
    } catch {
      // A rewrite JSON cannot encode (a BigInt, a cycle): a handler failure, dropped for this subscriber.
      metrics.channelHandlerErrors.labels('handle_out').inc();
      return null;
    }
  }
}
