// SSM emulator: an HTTP server on 127.0.0.1 speaking AWS JSON 1.1 (X-Amz-Target: AmazonSSM.*) for the operations
// the ssm transport uses. Requests must be SigV4-signed with the dummy key; faults (throttling, 5xx) are scriptable.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Fleet, type FleetLimits, type Instance, type InstanceSpec } from './fleet.ts';
import { handlers, ApiError } from './operations.ts';
import { verifySigV4, type Credentials } from './sigv4.ts';

export const DUMMY_CREDENTIALS: Credentials = { accessKeyId: 'AKIDEMULATOR00000000', secretAccessKey: 'emulator-secret-key-not-real' };

export type ThrottleOpts = {
  /** Fail every Nth request (counted from this call). */
  every?: number;
  /** Fail every request for the next `forMs` milliseconds (a storm). */
  forMs?: number;
  /** 400 ThrottlingException (default) or a 5xx InternalServerError. */
  status?: 400 | 500 | 503;
  /** Only these operations (default: all). */
  ops?: string[];
};

export type SsmEmulatorOpts = Partial<FleetLimits> & {
  /** A number of plain online instances, or their specs. */
  instances: number | InstanceSpec[];
  credentials?: Credentials;
  throttle?: ThrottleOpts;
  /** Largest accepted SendCommand Parameters (JSON bytes); bigger gets a ValidationException. */
  maxDocumentBytes?: number;
};

export type SsmEmulator = {
  readonly endpoint: string;
  readonly instances: readonly Instance[];
  /** Requests received per operation (throttled ones included), plus `throttled` and `badSignature`. */
  readonly calls: Record<string, number>;
  readonly fleet: Fleet;
  setThrottle(t: ThrottleOpts | undefined): void;
  resetCalls(): void;
  stop(): Promise<void>;
};

type Fault = { readonly kind: 'throttle'; readonly status: number } | undefined;

function faultPlan(): { set(t: ThrottleOpts | undefined): void; next(op: string): Fault } {
  let t: ThrottleOpts | undefined;
  let n = 0;
  let until = 0;
  return {
    set(next) {
      t = next;
      n = 0;
      until = next?.forMs ? Date.now() + next.forMs : 0;
    },
    next(op) {
      if (!t || (t.ops && !t.ops.includes(op))) return undefined;
      n++;
      const hit = (t.every && n % t.every === 0) || (until && Date.now() < until);
      return hit ? { kind: 'throttle', status: t.status ?? 400 } : undefined;
    },
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': Math.random().toString(16).slice(2) });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, type: string, message: string): void {
  res.setHeader('x-amzn-errortype', type);
  send(res, status, { __type: type, message });
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startSsmEmulator(opts: SsmEmulatorOpts): Promise<SsmEmulator> {
  const root = mkdtempSync(join(tmpdir(), 'ssm-emulator-'));
  const specs = typeof opts.instances === 'number' ? Array.from({ length: opts.instances }, () => ({})) : opts.instances;
  const fleet = new Fleet(root, specs, {
    latencyMs: opts.latencyMs ?? 20, deliveryTimeoutMs: opts.deliveryTimeoutMs ?? 300, outputLimit: opts.outputLimit ?? 24_000,
    errorLimit: opts.errorLimit ?? 8_000, detailLimit: opts.detailLimit ?? 2_500, concurrency: opts.concurrency ?? 16,
  });
  const creds = opts.credentials ?? DUMMY_CREDENTIALS;
  const calls: Record<string, number> = {};
  const faults = faultPlan();
  faults.set(opts.throttle);
  const ctx = { fleet, maxDocumentBytes: opts.maxDocumentBytes ?? 64 * 1024 };
  const count = (k: string): void => { calls[k] = (calls[k] ?? 0) + 1; };

  const server = createServer((req, res) => {
    void readBody(req).then((body) => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const op = target.startsWith('AmazonSSM.') ? target.slice('AmazonSSM.'.length) : '';
      const bad = verifySigV4(req.method ?? 'POST', (req.url ?? '/').split('?')[0]!, req.headers, body, creds);
      if (bad) {
        count('badSignature');
        return sendError(res, 400, 'InvalidSignatureException', bad);
      }
      const handler = handlers[op];
      if (!handler) return sendError(res, 400, 'UnknownOperationException', `unknown operation ${target}`);
      count(op);
      const fault = faults.next(op);
      if (fault) {
        count('throttled');
        return fault.status === 400 ? sendError(res, 400, 'ThrottlingException', 'Rate exceeded')
          : sendError(res, fault.status, 'InternalServerError', 'injected server error');
      }
      try {
        send(res, 200, handler(ctx, JSON.parse(body.toString() || '{}')));
      } catch (e) {
        if (e instanceof ApiError) return sendError(res, 400, e.type, e.message);
        sendError(res, 500, 'InternalServerError', (e as Error).message);
      }
    }, () => sendError(res, 400, 'SerializationException', 'cannot read body'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    endpoint: `http://127.0.0.1:${port}`, instances: [...fleet.instances.values()], calls, fleet,
    setThrottle: (t) => faults.set(t),
    resetCalls: () => { for (const k of Object.keys(calls)) delete calls[k]; },
    async stop() {
      fleet.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(root, { recursive: true, force: true });
    },
  };
}
