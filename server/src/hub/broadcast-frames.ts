import type { Serializer } from '../protocol/serializer.js';

/**
 * The frames of one broadcast, encoded lazily and at most once per (serializer, with position):
 * every subscriber that speaks the same serializer gets the same Buffer. `encode` returns null when
 * the serializer cannot carry the broadcast (binary to V1); that is cached too.
 */
export class BroadcastFrames {
  /** Index `serializer.id * 2 + (with position ? 1 : 0)`; at most 2 per serializer. */
  private readonly frames: (Buffer | null | undefined)[] = [];

  constructor(
    private readonly encode: (serializer: Serializer, ref: string | null) => Buffer | null,
    /** The ref slot of subscribers that asked for positions; null when there is none to give. */
    private readonly positionRef: string | null,
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
}
