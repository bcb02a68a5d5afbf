// Helpers for paymux's end-to-end tests: real paymuxd and paymux-sim processes against a fresh
// PostgreSQL database, driven over HTTP. Used by tests/e2e/*.test.mjs (node --test).
//
// Environment (scripts/test and tests/e2e/CMakeLists.txt set it):
//   PAYMUX_TEST_DATABASE_URL  admin URL of the test cluster (database "postgres")
//   PAYMUX_BUILD_DIR          build tree holding services/paymuxd/paymuxd and connectors/sandbox/paymux-sim
//   PAYMUX_SOURCE_DIR         source tree (config/, migrations/, schemas/)
// Every process is started by us, stopped by its own pid, and logs to $PAYMUX_BUILD_DIR/e2e-logs/.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const SOURCE_DIR = process.env.PAYMUX_SOURCE_DIR || path.resolve(here, '../..');
export const BUILD_DIR = process.env.PAYMUX_BUILD_DIR || path.join(SOURCE_DIR, 'build');
export const PAYMUXD = path.join(BUILD_DIR, 'services/paymuxd/paymuxd');
export const SIM = path.join(BUILD_DIR, 'connectors/sandbox/paymux-sim');
export const EXAMPLE_CONFIG = path.join(SOURCE_DIR, 'config/example.yaml');
export const LOG_DIR = path.join(BUILD_DIR, 'e2e-logs');

/**
 * require() for the pinned packages of tests/node/package.json. ESM `import` ignores NODE_PATH,
 * so packages are resolved from tests/node/node_modules explicitly.
 */
export const requirePackage = createRequire(path.join(SOURCE_DIR, 'tests/node/package.json'));

export function adminUrl() {
  const url = process.env.PAYMUX_TEST_DATABASE_URL;
  if (!url) {
    throw new Error('PAYMUX_TEST_DATABASE_URL is not set: run the e2e tests through scripts/test ' +
      '(or export PAYMUX_TEST_DATABASE_URL=$(scripts/pg admin-url))');
  }
  return url;
}

/** The same libpq URL with another database name (query string kept). */
export function withDatabase(url, name) {
  const scheme = url.indexOf('://');
  const slash = url.indexOf('/', scheme < 0 ? 0 : scheme + 3);
  const query = url.indexOf('?');
  const base = slash < 0 ? url : url.slice(0, slash);
  const rest = query < 0 ? '' : url.slice(query);
  return `${base}/${name}${rest}`;
}

export function randomHex(bytes = 8) {
  return randomBytes(bytes).toString('hex');
}

/** Unique, filesystem-safe label for log files of this test file run. */
const runLabel = `${path.basename(process.argv[1] || 'e2e', '.mjs')}-${process.pid}`;

function ensureLogDir() {
  fs.mkdirSync(LOG_DIR, { recursive: true });
  return LOG_DIR;
}

/** Every log file written by processes of this test file (for secret scans). */
export const logFiles = [];

export function newLogFile(name) {
  const file = path.join(ensureLogDir(), `${runLabel}-${name}.log`);
  logFiles.push(file);
  return file;
}

/**
 * Runs a command to completion (bounded by timeoutMs; killed after it). Resolves with
 * { code, signal, stdout, stderr, timedOut }. stdout and stderr are also appended to `log`.
 */
export function run(cmd, args, { env = {}, timeoutMs = 60000, log, input, secretStdout = false } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: { ...process.env, ...env },
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      cwd: SOURCE_DIR,
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    if (input !== undefined) child.stdin.end(input);
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (log) {
        // why: some commands print a secret on stdout by design (admin key create); the log keeps
        // only its size, so log scans see what the program logged, not what it was asked to print.
        const out = secretStdout ? `[${stdout.length} bytes withheld: secret output]\n` : stdout;
        fs.appendFileSync(log, `$ ${path.basename(cmd)} ${args.join(' ')}\n` +
          `--- stdout ---\n${out}--- stderr ---\n${stderr}--- exit ${code ?? signal} ---\n`);
      }
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/** psql -c SQL on url; resolves with the trimmed unaligned tuples output; throws on failure. */
export async function psql(url, sql) {
  const r = await run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-tA', '-d', url, '-c', sql],
    { timeoutMs: 30000 });
  if (r.code !== 0) throw new Error(`psql failed (${r.code ?? r.signal}): ${r.stderr.trim()}\n  SQL: ${sql}`);
  return r.stdout.trim();
}

/** psql(url, sql) as rows of column strings (for columns without | or newlines). */
export async function psqlRows(url, sql) {
  const out = await psql(url, sql);
  return out ? out.split('\n').map((line) => line.split('|')) : [];
}

/** SQL string literal. */
export function sqlString(value) {
  return `'${String(value).replaceAll("'", "''")}'`;
}

/** A fresh empty database; drop() removes it (WITH (FORCE)). */
export async function createDatabase(prefix = 'paymux_e2e') {
  const name = `${prefix}_${randomHex(6)}`;
  const admin = adminUrl();
  await psql(admin, `CREATE DATABASE "${name}"`);
  let dropped = false;
  return {
    name,
    url: withDatabase(admin, name),
    async drop() {
      if (dropped) return;
      dropped = true;
      await psql(admin, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

/** Runs paymuxd with args (a one-shot subcommand); its output goes to the `paymuxd-cli` log. */
export function paymuxd(args, { env = {}, timeoutMs = 60000, secretStdout = false } = {}) {
  return run(PAYMUXD, args, { env, timeoutMs, log: cliLog(), secretStdout });
}

let cliLogFile;
function cliLog() {
  cliLogFile ??= newLogFile('paymuxd-cli');
  return cliLogFile;
}

function mustSucceed(r, what) {
  if (r.code !== 0) {
    throw new Error(`${what} failed (exit ${r.code ?? r.signal}${r.timedOut ? ', timed out' : ''}):\n` +
      `${r.stderr}${r.stdout}`);
  }
  return r;
}

export async function migrate(databaseUrl, extraArgs = []) {
  return mustSucceed(await paymuxd(['migrate', '--database-url', databaseUrl, ...extraArgs]),
    'paymuxd migrate');
}

/** `paymuxd admin tenant create`: the tenant id (its whole stdout). */
export async function createTenant(databaseUrl, name = 'e2e tenant') {
  const r = mustSucceed(await paymuxd(['admin', 'tenant', 'create', '--name', name],
    { env: { PAYMUX_DATABASE_URL: databaseUrl } }), 'paymuxd admin tenant create');
  const id = r.stdout.trim();
  if (!/^\S+$/.test(id)) throw new Error(`unexpected tenant create output: ${JSON.stringify(r.stdout)}`);
  return id;
}

/** `paymuxd admin key create`: { key, id } (the id looked up in api_keys by the key's prefix). */
export async function createKey(databaseUrl, tenantId) {
  const r = mustSucceed(await paymuxd(['admin', 'key', 'create', '--tenant', tenantId],
    { env: { PAYMUX_DATABASE_URL: databaseUrl }, secretStdout: true }), 'paymuxd admin key create');
  const key = r.stdout.trim();
  if (!/^pmx_(test|live)_\S+$/.test(key)) {
    throw new Error(`unexpected key create output (${key.length} characters)`);
  }
  // why: key create prints only the key; the id is the row of this tenant whose lookup prefix
  // (the key's first 16 characters) matches.
  const id = await psql(databaseUrl, `SELECT id FROM api_keys WHERE tenant_id = ${sqlString(tenantId)} ` +
    `AND prefix = ${sqlString(key.slice(0, 16))}`);
  if (!id || id.includes('\n')) throw new Error(`cannot find the id of the new key (got ${JSON.stringify(id)})`);
  return { key, id };
}

/** A free TCP port on 127.0.0.1 (bind-tested), not in `exclude`. */
export async function freePort(exclude = []) {
  for (let i = 0; i < 50; i++) {
    const port = await new Promise((resolve, reject) => {
      const srv = net.createServer();
      srv.unref();
      srv.on('error', reject);
      srv.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
        const { port: p } = srv.address();
        srv.close(() => resolve(p));
      });
    });
    if (!exclude.includes(port)) return port;
  }
  throw new Error('no free port found');
}

// Children still running when this process ends (a failure, a timeout, ctest's kill) are killed
// by their own pid, so no paymuxd or simulator outlives its test file.
const live = new Set();
process.on('exit', () => {
  for (const p of live) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch { /* already gone */ }
  }
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1)));
}

/**
 * A long-running child process with stdout+stderr in a log file under e2e-logs/.
 * stop() sends SIGTERM to its own pid, then SIGKILL after graceMs.
 */
export class Proc {
  constructor(name, cmd, args, { env = {} } = {}) {
    this.name = name;
    this.log = newLogFile(name);
    const fd = fs.openSync(this.log, 'w');
    this.child = spawn(cmd, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', fd, fd],
      cwd: SOURCE_DIR,
    });
    fs.closeSync(fd);
    this.pid = this.child.pid;
    this.exit = null; // { code, signal, at } once exited
    if (this.pid) live.add(this);
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exit = { code, signal, at: Date.now() };
        live.delete(this);
        resolve(this.exit);
      });
      this.child.on('error', (err) => {
        this.exit = { code: null, signal: null, error: err, at: Date.now() };
        live.delete(this);
        resolve(this.exit);
      });
    });
  }

  get running() {
    return this.exit === null;
  }

  output() {
    try {
      return fs.readFileSync(this.log, 'utf8');
    } catch {
      return '';
    }
  }

  tail(lines = 40) {
    return this.output().split('\n').slice(-lines).join('\n');
  }

  signal(sig) {
    if (this.running && this.pid) process.kill(this.pid, sig);
  }

  /** Resolves with the exit (or null if it did not exit within timeoutMs). */
  async waitExit(timeoutMs) {
    let timer;
    const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve(null), timeoutMs); });
    const r = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    return r;
  }

  async stop(graceMs = 10000) {
    if (!this.running) return this.exit;
    try {
      this.signal('SIGTERM');
    } catch { /* already gone */ }
    const r = await this.waitExit(graceMs);
    if (r) return r;
    try {
      this.signal('SIGKILL');
    } catch { /* already gone */ }
    await this.waitExit(5000);
    return { ...this.exit, killed: true };
  }
}

/** Waits until GET url answers 2xx; fails early if proc exits. */
export async function waitHttp(url, { timeoutMs = 30000, proc } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (proc && !proc.running) {
      throw new Error(`${proc.name} exited (${JSON.stringify(proc.exit)}) before ${url} answered:\n${proc.tail()}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err.cause?.code || err.message;
    }
    await sleep(100);
  }
  throw new Error(`${url} did not answer 2xx within ${timeoutMs} ms (last: ${last})` +
    (proc ? `\n${proc.name} log:\n${proc.tail()}` : ''));
}

/**
 * An api(method, path, body, {key, idempotencyKey, headers, timeoutMs, raw}) helper for one base
 * URL. body: an object (sent as JSON) or a string (sent as is). Resolves with
 * { status, headers, text, json } (json null when the body is not JSON); never throws on 4xx/5xx.
 */
export function apiClient(baseUrl) {
  return async function api(method, urlPath, body, opts = {}) {
    const { key, idempotencyKey, headers = {}, timeoutMs = 20000 } = opts;
    const h = { ...headers };
    if (key) h.Authorization = `Bearer ${key}`;
    if (idempotencyKey) h['Idempotency-Key'] = idempotencyKey;
    let payload;
    if (body !== undefined && body !== null) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) {
        h['Content-Type'] = 'application/json';
      }
    }
    const res = await fetch(baseUrl + urlPath, {
      method,
      headers: h,
      body: payload,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch { /* not JSON */ }
    return { status: res.status, headers: res.headers, text, json };
  };
}

export function collectionBody(token = 'tok_success', { amount = 1000, currency = 'EUR', reference = 'order-42', ...extra } = {}) {
  return { amount, currency, reference, payment_method: { type: 'card', token }, ...extra };
}

export function payoutBody(scenario = 'tok_success', { amount = 25000, currency = 'EUR', reference = 'claim-981', ...extra } = {}) {
  return {
    amount, currency, reference,
    beneficiary: { type: 'provider_account', account_id: scenario, name: 'Ada Lovelace' },
    ...extra,
  };
}

/** Secret values given to the processes of a stack; logs must never contain them. */
export function newSecrets() {
  return {
    webhookSecret: `whsec_${randomBytes(24).toString('base64')}`,
    sandboxApiKey: `sk_e2e_${randomHex(16)}`,
    secretsKey: randomBytes(32).toString('base64'),
  };
}

/**
 * A whole paymux deployment for one test file: fresh database (migrated), paymux-sim, paymuxd
 * serve with config/example.yaml, a tenant and an API key.
 *   const stack = await startStack({ simArgs: ['--slow-ms', '1500'] });
 *   ... stack.api('POST', '/v1/collections', body, { key: stack.key }) ...
 *   await stack.stop();   // in after(): stops processes by pid, drops the database
 */
export async function startStack({ simArgs = [], config = EXAMPLE_CONFIG, env = {} } = {}) {
  for (const bin of [PAYMUXD, SIM]) {
    if (!fs.existsSync(bin)) throw new Error(`${bin} is not built (PAYMUX_BUILD_DIR=${BUILD_DIR})`);
  }
  const stack = {
    procs: [],
    db: null,
    secrets: newSecrets(),
    async stop() {
      const errors = [];
      for (const p of [...this.procs].reverse()) {
        try {
          await p.stop();
        } catch (err) {
          errors.push(err);
        }
      }
      try {
        await this.db?.drop();
      } catch (err) {
        errors.push(err);
      }
      if (errors.length) throw errors[0];
    },
  };
  try {
    stack.db = await createDatabase();
    await migrate(stack.db.url);
    const simPort = await freePort();
    const apiPort = await freePort([simPort]);
    stack.simUrl = `http://127.0.0.1:${simPort}`;
    stack.baseUrl = `http://127.0.0.1:${apiPort}`;
    stack.sim = new Proc('paymux-sim', SIM, ['--listen', `127.0.0.1:${simPort}`,
      '--webhook-url', `${stack.baseUrl}/webhooks/sandbox-a`,
      '--api-key', stack.secrets.sandboxApiKey, ...simArgs],
    { env: { SANDBOX_WEBHOOK_SECRET: stack.secrets.webhookSecret } });
    stack.procs.push(stack.sim);
    await waitHttp(`${stack.simUrl}/health`, { proc: stack.sim });

    stack.env = {
      PAYMUX_LISTEN: `127.0.0.1:${apiPort}`,
      PAYMUX_DATABASE_URL: stack.db.url,
      PAYMUX_SANDBOX_URL: stack.simUrl,
      SANDBOX_WEBHOOK_SECRET: stack.secrets.webhookSecret,
      SANDBOX_API_KEY: stack.secrets.sandboxApiKey,
      PAYMUX_SECRETS_KEY: stack.secrets.secretsKey,
      ...env,
    };
    stack.config = config;
    stack.paymuxd = startPaymuxd(stack, apiPort);
    await waitHttp(`${stack.baseUrl}/readyz`, { proc: stack.paymuxd, timeoutMs: 60000 });
    stack.api = apiClient(stack.baseUrl);
    stack.tenant = await createTenant(stack.db.url);
    const k = await createKey(stack.db.url, stack.tenant);
    stack.key = k.key;
    stack.keyId = k.id;
    return stack;
  } catch (err) {
    await stack.stop().catch(() => {});
    throw err;
  }
}

/** Starts (another) paymuxd serve for the stack on apiPort; the stack stops it too. */
export function startPaymuxd(stack, apiPort, { name = 'paymuxd', env = {} } = {}) {
  const p = new Proc(name, PAYMUXD, ['serve', '--config', stack.config],
    { env: { ...stack.env, PAYMUX_LISTEN: `127.0.0.1:${apiPort}`, ...env } });
  stack.procs.push(p);
  return p;
}

/** Polls fn() until it returns a truthy value (returned) or timeoutMs passes (throws). */
export async function eventually(fn, { timeoutMs = 10000, intervalMs = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last;
    await sleep(intervalMs);
  }
  throw new Error(`${what} not reached within ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
}

/**
 * Writes a copy of `base` (config/example.yaml) with each [from, to] of `replacements` applied
 * (from: a string or a RegExp; each must match, so a changed example fails loudly) and returns
 * its path under e2e-logs/.
 */
export function writeConfig(name, replacements, { base = EXAMPLE_CONFIG } = {}) {
  let text = fs.readFileSync(base, 'utf8');
  for (const [from, to] of replacements) {
    const found = typeof from === 'string' ? text.includes(from) : from.test(text);
    if (!found) throw new Error(`${path.basename(base)} no longer contains ${from}`);
    text = text.replace(from, to);
  }
  const file = path.join(ensureLogDir(), `${runLabel}-${name}.yaml`);
  fs.writeFileSync(file, text);
  return file;
}

/**
 * config/example.yaml with the janitor, delivery retries and leases in seconds, so that what a
 * chaos test leaves unsettled settles within the test; `janitorSchedule` is its schedule_s.
 */
export function fastSettlingConfig(name, janitorSchedule) {
  return writeConfig(name, [
    ['schedule_s: [300, 3600, 86400]', `schedule_s: [${janitorSchedule.join(', ')}]`],
    ['interval_ms: 1000', 'interval_ms: 200'],
    ['retry_schedule_s: [0, 5, 300, 1800, 7200, 18000, 36000, 36000]',
      `retry_schedule_s: [0${', 1'.repeat(30)}]`],
    ['  timeout_ms: 15000\n  concurrency:', '  timeout_ms: 2000\n  concurrency:'],
    ['lease_s: 60', 'lease_s: 3'],
  ]);
}

/** Asserts that no log file contains any of `needles` (secrets; empty ones are skipped). */
export function assertNoSecretsInLogs(files, needles) {
  const secrets = needles.filter(Boolean);
  for (const file of files) {
    if (!fs.existsSync(file)) continue;
    const text = fs.readFileSync(file, 'utf8');
    for (const secret of secrets) {
      if (text.includes(secret)) throw new assert.AssertionError({ message: `${file} leaks a secret` });
    }
  }
}

/** Every event of the tenant, oldest first (GET /v1/events?after_sequence= catch-up paging). */
export async function allEvents(api, key) {
  const out = [];
  for (let after = 0; ;) {
    const r = await api('GET', `/v1/events?limit=100&after_sequence=${after}`, null, { key });
    if (r.status !== 200) throw new Error(`GET /v1/events answered ${r.status}: ${r.text}`);
    out.push(...r.json.data);
    if (!r.json.has_more || r.json.data.length === 0) return out;
    after = r.json.data.at(-1).sequence;
  }
}

/** Whether 127.0.0.1:port can be bound right now (bind-tested, then released). */
export function portIsFree(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ host: '127.0.0.1', port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** Waits until 127.0.0.1:port can be bound (a killed process's port before its restart). */
export async function waitPortFree(port, { timeoutMs = 15000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  while (!(await portIsFree(port))) {
    if (Date.now() > deadline) throw new Error(`port ${port} is still taken after ${timeoutMs} ms`);
    await sleep(100);
  }
}

/**
 * Starts `paymuxd work` for the stack (its /healthz, /readyz and /metrics on `port`, a free one
 * when omitted) and waits until it is ready. The stack stops it too. The process gets .port.
 */
export async function startWorker(stack, { name = 'worker', port, env = {} } = {}) {
  const p = port ?? await freePort();
  const w = new Proc(name, PAYMUXD, ['work', '--config', stack.config],
    { env: { ...stack.env, PAYMUX_LISTEN: `127.0.0.1:${p}`, ...env } });
  w.port = p;
  stack.procs.push(w);
  await waitHttp(`http://127.0.0.1:${p}/readyz`, { proc: w, timeoutMs: 60000 });
  return w;
}

/**
 * A seeded pseudo-random generator (mulberry32): returns () => a float in [0, 1). The same seed
 * gives the same sequence, so a chaos run can be repeated from the seed it prints.
 */
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * POSTs like a careful client: on a connection error, a timeout, a 5xx or a 409 it sends the same
 * request again with the same Idempotency-Key (after Retry-After, at most maxRetryAfterMs, else
 * retryMs),
 * rotating through `apis` (one per paymuxd, like a load balancer), until another answer or until
 * deadline (epoch ms, or a function returning it, read before each retry). Resolves with
 * { response (the final answer, or null), attempts }; each attempt, also pushed to the
 * `attempts` array passed in as it ends (a live view), is { at, ms, status, retryAfter, json,
 * error } (error: the connection error code, or 'timeout').
 */
export async function postWithRetry(apis, urlPath, body, {
  key, idempotencyKey, deadline, attemptTimeoutMs = 10000, retryMs = 100, maxRetryAfterMs = 1000,
  attempts = [],
} = {}) {
  for (let i = 0; ; i += 1) {
    const api = apis[i % apis.length];
    const at = Date.now();
    let r = null;
    let error = null;
    try {
      r = await api('POST', urlPath, body, { key, idempotencyKey, timeoutMs: attemptTimeoutMs });
    } catch (err) {
      error = err.name === 'TimeoutError' ? 'timeout' : (err.cause?.code || err.message);
    }
    const retryAfter = r?.headers.get('retry-after') ?? null;
    attempts.push({ at, ms: Date.now() - at, status: r?.status ?? null, retryAfter, json: r?.json ?? null, error });
    const final = r && r.status < 500 && r.status !== 409;
    if (final) return { response: r, attempts };
    const wait = retryAfter !== null ? Math.min(Number(retryAfter) * 1000 || retryMs, maxRetryAfterMs) : retryMs;
    if (Date.now() + wait > (typeof deadline === 'function' ? deadline() : deadline)) {
      return { response: null, attempts };
    }
    await sleep(wait);
  }
}

/** Counts items by keyOf(item): { key: count }. */
export function countBy(items, keyOf) {
  const out = {};
  for (const item of items) {
    const k = String(keyOf(item));
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

/** The answers of postWithRetry attempts as a short trail: "ECONNRESET 409x18 201". */
export function attemptTrail(attempts) {
  const parts = [];
  for (const a of attempts) {
    const what = String(a.status ?? a.error);
    const last = parts.at(-1);
    if (last && last.what === what) last.n += 1;
    else parts.push({ what, n: 1 });
  }
  return parts.map((p) => (p.n > 1 ? `${p.what}x${p.n}` : p.what)).join(' ');
}
