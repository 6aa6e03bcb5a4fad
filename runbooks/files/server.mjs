// The demo web app: a login form and a signed session cookie, like the team's ASP.NET Core app.
// Runtime 6 and later protect session cookies with a persisted key ring (ASP.NET Core data
// protection): without DATA_PROTECTION_KEYS pointing at a writable directory, login fails with
// 500 — the same outage the team had after the .NET 5 -> 6 upgrade without the infrastructure step.
import { createHmac, randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';

const runtime = process.env.DOTNET_RUNTIME_VERSION ?? '5.0.0';
const major = Number(runtime.split('.')[0]);
const port = Number(process.env.APP_PORT ?? 8080);
const keyDir = process.env.DATA_PROTECTION_KEYS;

/** Runtime 5 keeps an in-memory key; runtime 6+ needs the persisted key ring directory. */
function sessionKey() {
  if (major < 6) return (sessionKey.memory ??= randomBytes(32));
  if (!keyDir) throw new Error('data protection: no key ring configured (DATA_PROTECTION_KEYS is not set)');
  accessSync(keyDir, constants.W_OK);
  const file = join(keyDir, 'key-ring.bin');
  if (!existsSync(file)) writeFileSync(file, randomBytes(32), { mode: 0o600 });
  return readFileSync(file);
}

function sign(user) {
  const mac = createHmac('sha256', sessionKey()).update(user).digest('base64url');
  return `${user}.${mac}`;
}

const page = (body) => `<!doctype html><title>demo app</title><body>${body}</body>`;

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/health') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ status: 'ok', runtime }));
    return;
  }
  if (url.pathname === '/login' && req.method === 'POST') {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const user = new URLSearchParams(body).get('user') ?? 'anonymous';
      try {
        res.setHeader('set-cookie', `session=${sign(user)}; HttpOnly; Path=/`);
        res.end(page(`Welcome ${user.replace(/[<>&]/g, '')} (runtime ${runtime})`));
      } catch (e) {
        res.statusCode = 500;
        res.end(page(`Login failed: ${e.message}`));
      }
    });
    return;
  }
  if (url.pathname === '/login') {
    res.end(page('<form method=post><input name=user><input name=password type=password><button>Log in</button></form>'));
    return;
  }
  res.statusCode = 404;
  res.end(page('not found'));
});

server.listen(port, '127.0.0.1', () => console.log(`demo app on 127.0.0.1:${port}, runtime ${runtime}`));
