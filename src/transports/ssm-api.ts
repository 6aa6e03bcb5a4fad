// Calls to the SSM API for the ssm transport: every call counted and retried with exponential backoff and
// jitter on throttling, 5xx and network errors (bounded); plus the invocation-status mapping of issue 5.
import {
  CancelCommandCommand, DescribeInstanceInformationCommand, GetCommandInvocationCommand, ListCommandInvocationsCommand,
  SendCommandCommand, type SSMClient,
  type CancelCommandCommandInput, type CancelCommandCommandOutput, type DescribeInstanceInformationCommandInput,
  type DescribeInstanceInformationCommandOutput, type GetCommandInvocationCommandInput, type GetCommandInvocationCommandOutput,
  type ListCommandInvocationsCommandInput, type ListCommandInvocationsCommandOutput, type SendCommandCommandInput,
  type SendCommandCommandOutput,
} from '@aws-sdk/client-ssm';

/** Calls made with our own retry loop; the client itself is created with maxAttempts 1 so counts are exact. */
const OPS = {
  SendCommand: SendCommandCommand,
  ListCommandInvocations: ListCommandInvocationsCommand,
  GetCommandInvocation: GetCommandInvocationCommand,
  CancelCommand: CancelCommandCommand,
  DescribeInstanceInformation: DescribeInstanceInformationCommand,
} as const;

export type SsmOp = keyof typeof OPS;
type IO = {
  SendCommand: [SendCommandCommandInput, SendCommandCommandOutput];
  ListCommandInvocations: [ListCommandInvocationsCommandInput, ListCommandInvocationsCommandOutput];
  GetCommandInvocation: [GetCommandInvocationCommandInput, GetCommandInvocationCommandOutput];
  CancelCommand: [CancelCommandCommandInput, CancelCommandCommandOutput];
  DescribeInstanceInformation: [DescribeInstanceInformationCommandInput, DescribeInstanceInformationCommandOutput];
};
type Input<K extends SsmOp> = IO[K][0];
type Output<K extends SsmOp> = IO[K][1];

export type ApiSettings = {
  readonly client: SSMClient;
  readonly onApiCall?: (op: string) => void;
  /** Attempts per call on retryable errors (throttling, 5xx, network). */
  readonly attempts?: number;
  readonly backoffMinMs?: number;
  readonly backoffMaxMs?: number;
};

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => { clearTimeout(t); signal?.removeEventListener('abort', done); resolve(); };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

/** Exponential backoff with "equal jitter": half the step fixed, half random. */
export function backoff(attempt: number, minMs: number, maxMs: number): number {
  const step = Math.min(maxMs, minMs * 2 ** attempt);
  return step / 2 + Math.random() * (step / 2);
}

type AwsError = { name?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown; code?: string };

export function isRetryable(e: unknown): boolean {
  const err = e as AwsError;
  if (!err || typeof err !== 'object') return false;
  if (err.name === 'ThrottlingException' || err.name === 'TooManyUpdates' || err.$retryable) return true;
  const status = err.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return true;
  return ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'TimeoutError'].includes(err.code ?? err.name ?? '');
}

export class SsmApi {
  constructor(private readonly s: ApiSettings) {}

  async call<K extends SsmOp>(op: K, input: Input<K>): Promise<Output<K>> {
    const attempts = this.s.attempts ?? 10;
    for (let attempt = 0; ; attempt++) {
      this.s.onApiCall?.(op);
      try {
        const Ctor = OPS[op] as unknown as new (i: Input<K>) => Parameters<SSMClient['send']>[0];
        return (await this.s.client.send(new Ctor(input))) as Output<K>;
      } catch (e) {
        if (attempt + 1 >= attempts || !isRetryable(e)) throw e;
        await sleep(backoff(attempt, this.s.backoffMinMs ?? 100, this.s.backoffMaxMs ?? 5000));
      }
    }
  }
}

/** What one invocation's status means for us: still running, a value (exit code), or a transport failure. */
export type Mapped =
  | { readonly state: 'pending' }
  | { readonly state: 'done'; readonly code: number }
  | { readonly state: 'failed'; readonly kind: 'timeout' | 'unreachable'; readonly why: string };

const UNREACHABLE = new Set(['Undeliverable', 'DeliveryTimedOut', 'Terminated', 'InvalidPlatform', 'AccessDenied']);
const PENDING = new Set(['Pending', 'InProgress', 'Delayed', 'Cancelling']);

export function mapStatus(status: string | undefined, details: string | undefined, responseCode: number | undefined): Mapped {
  if (details && UNREACHABLE.has(details)) return { state: 'failed', kind: 'unreachable', why: `SSM status ${details}` };
  if (details === 'ExecutionTimedOut' || status === 'TimedOut') return { state: 'failed', kind: 'timeout', why: `SSM status ${details ?? status}` };
  if (status === 'Cancelled' || details === 'Cancelled') return { state: 'failed', kind: 'timeout', why: 'SSM command was cancelled' };
  if (status === 'Success' || status === 'Failed') return { state: 'done', code: responseCode ?? (status === 'Success' ? 0 : 1) };
  if (status === undefined || PENDING.has(status)) return { state: 'pending' };
  return { state: 'failed', kind: 'unreachable', why: `unknown SSM status ${status}/${details ?? ''}` };
}
