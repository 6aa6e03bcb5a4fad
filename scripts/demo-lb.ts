// The demo's load balancer: round-robins requests over the app instances, like the team's ALB in
// front of the web hosts, and sets X-Forwarded-Proto. Used by `npm run demo` and the end-to-end tests.
import { createServer, request, type Server } from 'node:http';

export type LoadBalancer = { url: string; port: number; stop(): Promise<void> };

export async function startLoadBalancer(backends: readonly number[], port = 0): Promise<LoadBalancer> {
  let next = 0;
  const server: Server = createServer((req, res) => {
    const target = backends[next++ % backends.length]!;
    const up = request({ host: '127.0.0.1', port: target, path: req.url, method: req.method,
      headers: { ...req.headers, 'x-forwarded-proto': 'https', 'x-forwarded-for': req.socket.remoteAddress ?? '' } }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => { res.statusCode = 502; res.end(`bad gateway: 127.0.0.1:${target} is down`); });
    req.pipe(up);
  });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, '127.0.0.1', () => resolve()); });
  const actual = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${actual}`, port: actual,
    stop: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
