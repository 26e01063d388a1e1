/**
 * Publishes to one Switchboard topic through `POST /api/broadcast` (docs/api.md), the way a backend
 * does, over one keep-alive connection, one request at a time so the topic's order is kept (the
 * server sequences a publication before it answers 202). Workload D publishes this way because a
 * drain closes WebSockets, not a backend's HTTP calls.
 */
import { Agent, request } from 'node:http';

/** Publications waiting for their turn; past this the publisher is hopelessly behind and says so. */
const MAX_QUEUED = 100_000;

export class ApiPublisher {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });
  private readonly queue: string[] = [];
  private sending = false;
  /** Requests the server did not answer with 202 (status or error message, counted). */
  readonly failures = new Map<string, number>();

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly token: string,
    private readonly topic: string,
  ) {}

  /** Queues one publication of `payloadJson` (a JSON object literal) as event "bench". */
  send(payloadJson: string): void {
    if (this.queue.length >= MAX_QUEUED) {
      this.fail(`more than ${MAX_QUEUED} publications queued`);
      return;
    }
    this.queue.push(`{"topic":${JSON.stringify(this.topic)},"event":"bench","payload":${payloadJson}}`);
    if (!this.sending) void this.drain();
  }

  close(): void {
    this.agent.destroy();
  }

  private fail(why: string): void {
    const seen = this.failures.get(why) ?? 0;
    // The first of each kind goes to stderr (the orchestrator's log): the subscribers will count the loss.
    if (seen === 0) process.stderr.write(`api publisher on ${this.topic}: ${why}\n`);
    this.failures.set(why, seen + 1);
  }

  private async drain(): Promise<void> {
    this.sending = true;
    for (let body = this.queue.shift(); body !== undefined; body = this.queue.shift()) {
      const status = await this.post(body).catch((err: Error) => err.message);
      if (status !== 202) this.fail(String(status));
    }
    this.sending = false;
  }

  private post(body: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.host,
          port: this.port,
          method: 'POST',
          path: '/api/broadcast',
          agent: this.agent,
          headers: {
            authorization: `Bearer ${this.token}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }
}
