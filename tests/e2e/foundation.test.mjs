// Foundation end to end: real paymuxd and paymux-sim processes, keys from the admin CLI, the
// payments API over HTTP, graceful shutdown, config validation, and no secret in any log.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  EXAMPLE_CONFIG, LOG_DIR, apiClient, collectionBody, createKey, eventually, freePort, logFiles,
  paymuxd, psql, randomHex, sqlString, startPaymuxd, startStack, waitHttp,
} from './lib.mjs';

const SLOW_MS = 1500;

describe('foundation', { timeout: 240000 }, () => {
  let stack;
  // Values that must never show up in a log: filled as the test goes.
  const bogusKey = `pmx_test_${randomHex(16)}`;

  before(async () => {
    stack = await startStack({ simArgs: ['--slow-ms', String(SLOW_MS)] });
  });

  after(async () => {
    await stack?.stop();
  });

  test('a collection through real processes, read back, and its event listed', async () => {
    const { api, key } = stack;
    const idem = `e2e-${randomHex(8)}`;
    const created = await api('POST', '/v1/collections', collectionBody('tok_success', { reference: 'e2e-found-1' }),
      { key, idempotencyKey: idem });
    assert.equal(created.status, 201, created.text);
    const col = created.json;
    assert.match(col.id, /^col_/);
    assert.equal(col.object, 'collection');
    assert.equal(col.status, 'succeeded');
    assert.equal(col.amount, 1000);
    assert.equal(col.currency, 'EUR');
    assert.equal(col.connector, 'sandbox-a');
    assert.ok(created.headers.get('x-request-id'));

    const replay = await api('POST', '/v1/collections', collectionBody('tok_success', { reference: 'e2e-found-1' }),
      { key, idempotencyKey: idem });
    assert.equal(replay.status, 201);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.equal(replay.text, created.text, 'an idempotent replay is byte for byte the first answer');

    const fetched = await api('GET', `/v1/collections/${col.id}`, null, { key });
    assert.equal(fetched.status, 200, fetched.text);
    assert.equal(fetched.json.id, col.id);
    assert.equal(fetched.json.status, 'succeeded');

    const events = await api('GET', '/v1/events?limit=100', null, { key });
    assert.equal(events.status, 200, events.text);
    assert.equal(events.json.object, 'list');
    const mine = events.json.data.filter((e) => e.data?.object?.id === col.id);
    assert.equal(mine.length, 1, `exactly one event for ${col.id}: ${events.text}`);
    assert.equal(mine[0].type, 'collection.succeeded');
    const one = await api('GET', `/v1/events/${mine[0].id}`, null, { key });
    assert.equal(one.status, 200, one.text);
    assert.equal(one.json.data.object.id, col.id);
  });

  test('an async collection is settled by the simulator\'s signed webhook', async () => {
    const { api, key } = stack;
    const created = await api('POST', '/v1/collections', collectionBody('tok_async', { reference: 'e2e-async' }), { key });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.status, 'processing');
    const settled = await eventually(async () => {
      const r = await api('GET', `/v1/collections/${created.json.id}`, null, { key });
      return r.json?.status === 'succeeded' ? r.json : null;
    }, { timeoutMs: 15000, what: `collection ${created.json.id} succeeded by webhook` });
    assert.equal(settled.status, 'succeeded');
  });

  test('a revoked key answers 401 at once; unknown keys too', async () => {
    const { api, db, tenant } = stack;
    const spare = await createKey(db.url, tenant);
    assert.notEqual(spare.key, stack.key);
    const ok = await api('GET', '/v1/collections?limit=1', null, { key: spare.key });
    assert.equal(ok.status, 200, ok.text);

    const revoke = await paymuxd(['admin', 'key', 'revoke', spare.id], { env: { PAYMUX_DATABASE_URL: db.url } });
    assert.equal(revoke.code, 0, revoke.stderr);
    assert.notEqual(await psql(db.url, `SELECT revoked_at FROM api_keys WHERE id = ${sqlString(spare.id)}`), '');

    const denied = await api('GET', '/v1/collections?limit=1', null, { key: spare.key });
    assert.equal(denied.status, 401, denied.text);
    assert.equal(denied.json.error.type, 'authentication_error');
    assert.equal(denied.json.error.code, 'api_key_invalid');
    const post = await api('POST', '/v1/collections', collectionBody(), { key: spare.key });
    assert.equal(post.status, 401, post.text);

    const again = await paymuxd(['admin', 'key', 'revoke', spare.id], { env: { PAYMUX_DATABASE_URL: db.url } });
    assert.notEqual(again.code, 0, 'revoking a revoked key is an error');

    const bogus = await api('GET', '/v1/collections', null, { key: bogusKey });
    assert.equal(bogus.status, 401);
    assert.equal(bogus.json.error.code, 'api_key_invalid');
    const missing = await api('GET', '/v1/collections', null, {});
    assert.equal(missing.status, 401);
    assert.equal(missing.json.error.code, 'authentication_required');
    // The tenant's own key still works.
    assert.equal((await api('GET', '/v1/collections?limit=1', null, { key: stack.key })).status, 200);
  });

  test('SIGTERM drains: the in-flight request completes and paymuxd exits 0', async () => {
    // A second paymuxd on the same database and simulator, logging at debug level.
    const debugConfig = path.join(LOG_DIR, `debug-config-${process.pid}.yaml`);
    fs.writeFileSync(debugConfig, fs.readFileSync(EXAMPLE_CONFIG, 'utf8').replace(/^(\s*level:\s*)info\b/m, '$1debug'));
    const port = await freePort();
    const drainStack = { ...stack, config: debugConfig, procs: stack.procs };
    const proc = startPaymuxd(drainStack, port, { name: 'paymuxd-drain' });
    const base = `http://127.0.0.1:${port}`;
    await waitHttp(`${base}/readyz`, { proc, timeoutMs: 60000 });
    const api = apiClient(base);

    const started = Date.now();
    const inflight = api('POST', '/v1/collections', collectionBody('tok_slow', { reference: 'e2e-drain' }),
      { key: stack.key, idempotencyKey: `drain-${randomHex(6)}`, timeoutMs: 30000 });
    await sleep(300);
    assert.ok(proc.running, `paymuxd exited early:\n${proc.tail()}`);
    const signalledAt = Date.now();
    proc.signal('SIGTERM');

    // While draining, readiness is withdrawn (the listener is still open for in-flight work).
    await sleep(150);
    let readyDuringDrain = null;
    try {
      readyDuringDrain = await api('GET', '/readyz', null, { timeoutMs: 1000 });
    } catch (err) {
      readyDuringDrain = { error: err.cause?.code || err.message };
    }

    const res = await inflight;
    const answeredAt = Date.now();
    assert.equal(res.status, 201, res.text);
    assert.equal(res.json.status, 'succeeded');
    assert.ok(answeredAt - started >= SLOW_MS - 100, 'the slow scenario really was slow');

    const exit = await proc.waitExit(25000); // example.yaml: shutdown_grace_ms 20000
    assert.ok(exit, `paymuxd did not exit within the grace period:\n${proc.tail()}`);
    assert.equal(exit.signal, null, `paymuxd died by signal ${exit.signal}`);
    assert.equal(exit.code, 0, proc.tail());
    assert.ok(exit.at >= answeredAt - 50, 'paymuxd exited before answering the in-flight request');
    assert.ok(exit.at - signalledAt < 20000, 'exit within the 20 s grace period');
    assert.match(proc.output(), /shutting down/);

    assert.equal(readyDuringDrain?.status, 503,
      `/readyz during the drain: ${JSON.stringify(readyDuringDrain?.json ?? readyDuringDrain)}`);

    // The original paymuxd is unaffected and the collection is stored.
    const stored = await stack.api('GET', `/v1/collections/${res.json.id}`, null, { key: stack.key });
    assert.equal(stored.status, 200);
    assert.equal(stored.json.status, 'succeeded');
  });

  test('check-config accepts config/example.yaml and locates an unknown key', async () => {
    const env = { PAYMUX_DATABASE_URL: stack.db.url };
    const good = await paymuxd(['check-config', EXAMPLE_CONFIG], { env });
    assert.equal(good.code, 0, good.stderr + good.stdout);
    assert.match(good.stdout, /ok/);

    const lines = fs.readFileSync(EXAMPLE_CONFIG, 'utf8').split('\n');
    const poolLine = lines.findIndex((l) => /^ {2}pool:\s*\d+/.test(l));
    assert.ok(poolLine >= 0, 'example.yaml has database.pool');
    lines.splice(poolLine + 1, 0, '  pool_sizee: 4');
    const broken = path.join(LOG_DIR, `broken-config-${process.pid}.yaml`);
    fs.writeFileSync(broken, lines.join('\n'));
    const bad = await paymuxd(['check-config', broken], { env });
    assert.equal(bad.code, 1, bad.stderr + bad.stdout);
    const expected = `${broken}:${poolLine + 2}:3: database.pool_sizee: unknown key`;
    assert.ok((bad.stderr + bad.stdout).includes(expected),
      `want "${expected}" in:\n${bad.stderr}${bad.stdout}`);
  });

  test('no secret appears in any log', async () => {
    // Stop everything first so every line is flushed; after() then only drops the database.
    for (const p of [...stack.procs].reverse()) await p.stop();
    const secrets = {
      SANDBOX_WEBHOOK_SECRET: stack.secrets.webhookSecret,
      SANDBOX_API_KEY: stack.secrets.sandboxApiKey,
      PAYMUX_SECRETS_KEY: stack.secrets.secretsKey,
      'the API key': stack.key,
      'the API key secret part': stack.key.slice(16),
      'a presented unknown key': bogusKey,
    };
    const paymuxdLogs = logFiles.filter((f) => /paymuxd/.test(path.basename(f)));
    assert.ok(paymuxdLogs.length >= 3, `paymuxd logs: ${paymuxdLogs}`);
    let scanned = 0;
    for (const file of logFiles) {
      const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
      scanned += text.length;
      const isSim = /paymux-sim/.test(path.basename(file));
      for (const [what, value] of Object.entries(secrets)) {
        // The simulator is the provider: it holds the sandbox credentials, but never a paymux key.
        if (isSim && (what === 'SANDBOX_WEBHOOK_SECRET' || what === 'SANDBOX_API_KEY')) continue;
        assert.ok(!text.includes(value), `${what} appears in ${file}`);
      }
    }
    assert.ok(scanned > 500, 'the logs were written');
    // The logs are JSON lines with request entries: the scan looked at real logging.
    assert.match(fs.readFileSync(stack.paymuxd.log, 'utf8'), /"msg":"request"/);
  });
});
