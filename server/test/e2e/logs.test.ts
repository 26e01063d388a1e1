// The real server's log output: JSON lines correlated with traces (trace_id/span_id of the active
// span, the same ids the OTLP receiver gets) and free of credentials, for a refused upgrade that
// carries a token in the query, a bearer header and the token subprotocol.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  signToken,
  startOtlpReceiver,
  startSwitchboard,
  testSecrets,
  type OtlpReceiver,
  type SwitchboardProcess,
} from '../../../testkit/src/index.js';
import { waitFor } from '../support/wait.js';
import { upgradeStatus } from '../support/upgrade.js';

interface LogLine {
  level: number;
  msg: string;
  node: string;
  trace_id?: string;
  span_id?: string;
  req?: { url: string; headers: Record<string, string> };
}

describe('logs: trace correlation and redaction', () => {
  let receiver: OtlpReceiver;
  let sb: SwitchboardProcess;

  before(async () => {
    receiver = await startOtlpReceiver();
    sb = await startSwitchboard({
      NODE_ID: 'logs-node',
      LOG_LEVEL: 'debug',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '100',
      DRAIN_WINDOW_MS: '500',
    });
  });
  after(async () => {
    await sb?.stop();
    await receiver?.close();
  });

  const lines = (): LogLine[] =>
    sb
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as LogLine);

  test('a refused upgrade is logged with its trace ids and without any token or secret', async () => {
    // A token signed with another secret: well-formed, so it would be recognisable in the output.
    const queryToken = await signToken(
      { sub: 'mallory', join: ['room:*'] },
      'not-the-server-secret-0123456789',
    );
    const protocolToken = await signToken({ sub: 'trudy' }, 'another-wrong-secret-0123456789');
    const protocolB64 = Buffer.from(protocolToken).toString('base64url');
    const status = await upgradeStatus(`${sb.httpUrl}/socket/websocket?vsn=2.0.0&token=${queryToken}`, {
      authorization: `Bearer ${testSecrets.apiToken}`,
      'sec-websocket-protocol': `phoenix, base64url.bearer.phx.${protocolB64}`,
    });
    assert.equal(status, 401);

    const refused = await waitFor('the refused upgrade in the log', () =>
      lines().find((l) => l.msg === 'upgrade refused: unauthorized'),
    );
    assert.equal(refused.node, 'logs-node');
    assert.match(refused.req?.url ?? '', /^\/socket\/websocket\?vsn=2\.0\.0&token=\[redacted\]$/);
    assert.equal(refused.req?.headers.authorization, '[redacted]');
    assert.equal(refused.req?.headers['sec-websocket-protocol'], '[redacted]');

    // Correlation: the ids on the line are those of the exported connect span.
    assert.match(refused.trace_id ?? '', /^[0-9a-f]{32}$/);
    assert.match(refused.span_id ?? '', /^[0-9a-f]{16}$/);
    const span = await waitFor('the unauthorized connect span at the receiver', () =>
      receiver.spans.find(
        (s) => s.name === 'connect' && s.attributes['switchboard.connect.result'] === 'unauthorized',
      ),
    );
    assert.equal(span.traceId, refused.trace_id);
    assert.equal(span.spanId, refused.span_id);
    // Lines outside any operation have no trace ids.
    const listening = lines().find((l) => l.msg.startsWith('switchboard listening'));
    assert.ok(listening, 'the start-up line is there');
    assert.equal(listening.trace_id, undefined);

    const output = sb.output();
    for (const [what, value] of [
      ['query token', queryToken],
      ['subprotocol token', protocolB64],
      ['subprotocol token (decoded)', protocolToken],
      ['API_TOKEN', testSecrets.apiToken],
      ['JWT_SECRET', testSecrets.jwtSecret],
    ] as const) {
      assert.ok(!output.includes(value), `the log output holds the ${what}`);
    }
  });
});
