// A stand-in app for health-check tests: answers 500 "down" while the file named by ?f= holds the bad
// version `v2`, and 200 "Welcome" otherwise, so a runbook that writes v2 breaks it and a rollback heals it.
import { createServer } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';

export async function startVersionApp(): Promise<{ url: string; port: number; stop(): void }> {
  const server = createServer((req, res) => {
    const f = new URL(req.url ?? '/', 'http://x').searchParams.get('f') ?? '';
    const bad = existsSync(f) && readFileSync(f, 'utf8') === 'v2';
    res.statusCode = bad ? 500 : 200;
    res.end(bad ? 'down' : 'Welcome');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, port, stop: () => server.close() };
}
