// What the hook and webhook test servers share: reading a request signed as docs/hooks.md says.
import type { IncomingMessage } from 'node:http';
import { verifyHook } from '../../src/channels/hooks/signature.js';

/** Reads the body (keeping at most `maxBytes`) and checks its x-switchboard-signature with `secret`. */
export function readSigned(
  req: IncomingMessage,
  secret: string,
  maxBytes = 1024 * 1024,
): Promise<{ text: string; signatureOk: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= maxBytes) chunks.push(c);
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const signatureOk = verifyHook(
        secret,
        {
          signature: req.headers['x-switchboard-signature'] as string | undefined,
          timestamp: req.headers['x-switchboard-timestamp'] as string | undefined,
        },
        text,
      );
      resolve({ text, signatureOk });
    });
  });
}
