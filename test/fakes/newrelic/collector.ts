// A New Relic agent collector fake on 127.0.0.1 over TLS (a throwaway self-signed certificate from
// openssl; the agent process trusts it through NODE_EXTRA_CA_CERTS). It answers the handshake
// (preconnect, connect) and records every custom event the agent sends at harvest or shutdown.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, inflateSync } from 'node:zlib';

export type CustomEvent = { type: string; attributes: Record<string, unknown> };

export type CollectorFake = {
  port: number;
  /** PEM file to pass as NODE_EXTRA_CA_CERTS to the agent's process. */
  caFile: string;
  /** Collector methods in the order they were called (preconnect, connect, custom_event_data, shutdown ...). */
  methods: string[];
  events: CustomEvent[];
  stop(): Promise<void>;
};

function selfSigned(dir: string): { key: string; cert: string } {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
  return { key, cert };
}

function decode(raw: Buffer, encoding: string | undefined): unknown {
  const text = encoding === 'gzip' ? gunzipSync(raw) : encoding === 'deflate' ? inflateSync(raw) : raw;
  return JSON.parse(text.toString('utf8') || 'null');
}

/** custom_event_data payload: [runId, [[{ type, timestamp }, { ...attributes }], ...]] (a metadata object may come second). */
function customEvents(payload: unknown): CustomEvent[] {
  const list = Array.isArray(payload) ? ((payload.find((p, i) => i > 0 && Array.isArray(p)) ?? []) as unknown[]) : [];
  return list.filter(Array.isArray).map((e) => ({ type: String((e[0] as { type?: string }).type), attributes: (e[1] ?? {}) as Record<string, unknown> }));
}

export async function startCollectorFake(): Promise<CollectorFake> {
  const dir = mkdtempSync(join(tmpdir(), 'nr-collector-'));
  const { key, cert } = selfSigned(dir);
  const methods: string[] = [];
  const events: CustomEvent[] = [];
  let port = 0;
  const server: Server = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const method = new URL(req.url ?? '/', 'https://127.0.0.1').searchParams.get('method') ?? '?';
    methods.push(method);
    let value: unknown = null;
    if (method === 'preconnect') value = { redirect_host: `127.0.0.1:${port}` };
    if (method === 'connect') value = { agent_run_id: 'fake-run-1', collect_custom_events: true, data_report_period: 60 };
    if (method === 'custom_event_data') events.push(...customEvents(decode(Buffer.concat(chunks), req.headers['content-encoding'] as string | undefined)));
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ return_value: value }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
  return {
    port, caFile: cert, methods, events,
    stop: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
