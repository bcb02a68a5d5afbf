// A subscriber endpoint for the e2e tests: receives paymux's deliveries and verifies EVERY one
// with the official `standardwebhooks` package (`new Webhook(secret).verify(body, headers)`),
// and also with `svix`'s verifier (which accepts the unbranded webhook-* headers).
//
// As a module:   const sub = await startSubscriber();  sub.setSecrets('/all', [secret]);
//                ... sub.received('/all') ...           await sub.close();
// As a process:  node tests/e2e/subscriber.mjs --port 9000 --secret whsec_...   (one JSON line
//                per delivery on stdout)
//
// A delivery that does not verify with every secret the subscriber holds for its path is
// answered 400 (so paymux retries it) and recorded in failures().
import http from 'node:http';
import { fileURLToPath } from 'node:url';

import { requirePackage } from './lib.mjs';

const { Webhook } = requirePackage('standardwebhooks');
const svix = requirePackage('svix');

function tryVerify(fn) {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts the subscriber on host:port (0 = ephemeral). `respond(delivery)` may return
 * { status, headers, delayMs } to answer otherwise than 200 (for failure scenarios).
 */
export async function startSubscriber({ host = '127.0.0.1', port = 0, respond } = {}) {
  const secretsByPath = new Map(); // path -> [whsec_...]
  const deliveries = [];
  const failures = [];

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      // why: verify the raw bytes exactly as sent; a re-serialised body would not verify.
      const body = Buffer.concat(chunks).toString('utf8');
      const path = (req.url || '/').split('?')[0];
      const secrets = secretsByPath.get(path) ?? secretsByPath.get('*') ?? [];
      const headers = req.headers; // lower-case names
      const verifiedBy = secrets.map((s) => tryVerify(() => new Webhook(s).verify(body, headers)));
      const svixBy = secrets.map((s) => tryVerify(() => new svix.Webhook(s).verify(body, headers)));
      let type = null;
      try {
        type = JSON.parse(body).type ?? null;
      } catch { /* recorded as not verified below */ }
      const d = {
        path,
        method: req.method,
        id: headers['webhook-id'],
        timestamp: headers['webhook-timestamp'],
        signatures: (headers['webhook-signature'] || '').split(' ').filter(Boolean).length,
        contentType: headers['content-type'],
        userAgent: headers['user-agent'],
        type,
        body,
        verifiedBy,
        svixBy,
        verified: secrets.length > 0 && verifiedBy.every(Boolean),
        receivedAt: Date.now(),
      };
      let answer = d.verified ? { status: 200 } : { status: 400 };
      if (d.verified && respond) answer = (await respond(d)) ?? answer;
      if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
      d.answered = answer.status;
      deliveries.push(d);
      if (!d.verified) failures.push(d);
      res.writeHead(answer.status, { 'content-type': 'text/plain', ...(answer.headers || {}) });
      res.end(d.verified ? 'ok' : 'signature verification failed');
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, resolve);
  });
  const actualPort = server.address().port;

  return {
    port: actualPort,
    url: (path = '/hook') => `http://${host}:${actualPort}${path}`,
    /** The secrets a verifier at `path` holds ('*' = any path); each must verify every delivery. */
    setSecrets(path, secrets) {
      secretsByPath.set(path, [...secrets]);
    },
    received(path) {
      return deliveries.filter((d) => path === undefined || d.path === path);
    },
    failures: () => [...failures],
    /** webhook-id -> number of deliveries answered 2xx at `path`. */
    deliveredCounts(path) {
      const counts = new Map();
      for (const d of deliveries) {
        if ((path === undefined || d.path === path) && d.answered >= 200 && d.answered < 300) {
          counts.set(d.id, (counts.get(d.id) ?? 0) + 1);
        }
      }
      return counts;
    },
    /**
     * Stops listening (new connections are refused, open ones dropped) until resume(), which
     * listens on the same port again; what was received so far is kept.
     */
    pause: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections?.();
    }),
    async resume({ timeoutMs = 10000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        try {
          await new Promise((resolve, reject) => {
            server.once('error', reject);
            server.listen({ host, port: actualPort }, () => {
              server.off('error', reject);
              resolve();
            });
          });
          return;
        } catch (err) {
          if (err.code !== 'EADDRINUSE' || Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    },
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      if (!server.listening) {
        resolve();
        return;
      }
      server.close(() => resolve());
    }),
  };
}

// Standalone: node tests/e2e/subscriber.mjs --port N --secret whsec_... [--secret ...]
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const secrets = [];
  let port = 0;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--port') port = Number(args[++i]);
    else if (args[i] === '--secret') secrets.push(args[++i]);
  }
  const sub = await startSubscriber({ port });
  sub.setSecrets('*', secrets);
  process.stderr.write(`subscriber listening on ${sub.url('/')}\n`);
  const timer = setInterval(() => {}, 1 << 30);
  let printed = 0;
  setInterval(() => {
    for (const d of sub.received().slice(printed)) {
      process.stdout.write(`${JSON.stringify({ id: d.id, type: d.type, verified: d.verified, svix: d.svixBy.every(Boolean) })}\n`);
    }
    printed = sub.received().length;
  }, 100);
  process.on('SIGTERM', async () => {
    clearInterval(timer);
    await sub.close();
    process.exit(0);
  });
}
