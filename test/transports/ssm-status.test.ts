// The SSM invocation status table (issue 5), including statuses the emulator never produces (Terminated),
// and which API errors are retried.
import { describe, expect, it } from 'vitest';
import { backoff, isRetryable, mapStatus } from '../../src/transports/ssm-api.ts';

describe('SSM status mapping', () => {
  it.each([
    ['Success', 'Success', 0, { state: 'done', code: 0 }],
    ['Failed', 'Failed', 3, { state: 'done', code: 3 }],
    ['TimedOut', 'ExecutionTimedOut', -1, { state: 'failed', kind: 'timeout' }],
    ['Failed', 'ExecutionTimedOut', -1, { state: 'failed', kind: 'timeout' }],
    ['TimedOut', undefined, -1, { state: 'failed', kind: 'timeout' }],
    ['Cancelled', 'Cancelled', -1, { state: 'failed', kind: 'timeout' }],
    ['Failed', 'Undeliverable', -1, { state: 'failed', kind: 'unreachable' }],
    ['TimedOut', 'DeliveryTimedOut', -1, { state: 'failed', kind: 'unreachable' }],
    ['Failed', 'Terminated', -1, { state: 'failed', kind: 'unreachable' }],
    ['InProgress', 'InProgress', -1, { state: 'pending' }],
    ['Pending', 'Pending', -1, { state: 'pending' }],
    ['Delayed', 'Delayed', -1, { state: 'pending' }],
    ['Cancelling', 'Cancelling', -1, { state: 'pending' }],
  ] as const)('%s / %s', (status, details, code, want) => {
    expect(mapStatus(status, details, code)).toMatchObject(want);
  });

  it('retries throttling, 5xx and dropped connections, not client errors', () => {
    expect(isRetryable({ name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } })).toBe(true);
    expect(isRetryable({ name: 'InternalServerError', $metadata: { httpStatusCode: 500 } })).toBe(true);
    expect(isRetryable({ name: 'Error', code: 'ECONNRESET' })).toBe(true);
    expect(isRetryable({ name: 'InvalidInstanceId', $metadata: { httpStatusCode: 400 } })).toBe(false);
    expect(isRetryable({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } })).toBe(false);
  });

  it('backs off exponentially with jitter, capped', () => {
    const waits = Array.from({ length: 200 }, () => backoff(3, 100, 5000));
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(400);
    expect(Math.max(...waits)).toBeLessThanOrEqual(800);
    expect(new Set(waits.map((w) => Math.round(w))).size).toBeGreaterThan(10);
    expect(backoff(20, 100, 5000)).toBeLessThanOrEqual(5000);
  });
});
