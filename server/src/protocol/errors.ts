import { CloseCode } from './close-codes.js';

/** Stable codes of decoding failures; tests and logs rely on them, so never rename one. */
export type ProtocolErrorCode =
  | 'invalid_json'
  | 'not_array'
  | 'wrong_length'
  | 'invalid_join_ref'
  | 'invalid_ref'
  | 'invalid_topic'
  | 'invalid_event'
  | 'binary_too_short'
  | 'binary_unknown_kind'
  | 'binary_unexpected_kind'
  | 'binary_truncated'
  | 'binary_invalid_utf8'
  | 'field_too_long'
  | 'invalid_payload'
  | 'not_object'
  | 'missing_key';

/** A frame that is not a valid message of the connection's serializer. The connection is closed with `closeCode`. */
export class ProtocolError extends Error {
  readonly closeCode = CloseCode.malformedFrame;
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}
