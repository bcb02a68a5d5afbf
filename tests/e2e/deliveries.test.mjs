// Subscription deliveries end to end (issue 6): real `paymuxd serve --all` (API + dispatcher) and
// paymux-sim processes, and a Node subscriber that verifies every delivery with the official
// `standardwebhooks` package and with `svix`'s verifier.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  PAYMUXD, Proc, SOURCE_DIR, assertNoSecretsInLogs, collectionBody, eventually, logFiles, paymuxd,
  payoutBody, startStack, waitHttp,
} from './lib.mjs';
import { OpenApi } from './openapi.mjs';
import { startSubscriber } from './subscriber.mjs';

/** Every event of the tenant, oldest first (catch-up paging). */
async function allEvents(api, key) {
  const out = [];
  let after = 0;
  for (;;) {
    const r = await api('GET', `/v1/events?limit=100&after_sequence=${after}`, null, { key });
    assert.equal(r.status, 200, r.text);
    out.push(...r.json.data);
    if (!r.json.has_more || r.json.data.length === 0) return out;
    after = r.json.data.at(-1).sequence;
  }
}

describe('deliveries', { timeout: 240000 }, () => {
  let stack;
  let subscriber;
  let api;
  let key;
  const subs = {}; // name -> { id, secret }

  before(async () => {
    stack = await startStack();
    // why: startStack runs `serve` (API only); deliveries need the worker too, in the same
    // process as `serve --all` runs it for local use.
    const port = new URL(stack.baseUrl).port;
    await stack.paymuxd.stop();
    const all = new Proc('paymuxd-all', PAYMUXD, ['serve', '--config', stack.config, '--all'],
      { env: { ...stack.env, PAYMUX_LISTEN: `127.0.0.1:${port}` } });
    stack.procs.push(all);
    stack.paymuxd = all;
    await waitHttp(`${stack.baseUrl}/readyz`, { proc: all, timeoutMs: 60000 });
    ({ api, key } = stack);
    subscriber = await startSubscriber();
  });

  after(async () => {
    await subscriber?.close();
    await stack?.stop();
  });

  async function subscribe(name, path, eventTypes) {
    const body = { url: subscriber.url(path), description: `e2e ${name}` };
    if (eventTypes) body.event_types = eventTypes;
    const r = await api('POST', '/v1/subscriptions', body, { key });
    assert.equal(r.status, 201, r.text);
    assert.match(r.json.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    subs[name] = { id: r.json.id, secret: r.json.secret, path };
    subscriber.setSecrets(path, [r.json.secret]);
    return subs[name];
  }

  test('every event of a batch reaches its subscriptions, each delivery verified', async () => {
    await subscribe('all', '/all');
    await subscribe('failed', '/failed', ['collection.failed', 'payout.failed']);

    const tokens = ['tok_success', 'tok_decline', 'tok_async', 'tok_action', 'tok_success'];
    const created = [];
    for (let i = 0; i < 15; i++) {
      const r = await api('POST', '/v1/collections',
        collectionBody(tokens[i % tokens.length], { reference: `e2e-dlv-${i}` }), { key });
      assert.equal(r.status, 201, r.text);
      created.push(r.json.id);
    }
    for (let i = 0; i < 8; i++) {
      const r = await api('POST', '/v1/payouts',
        payoutBody(i % 4 === 3 ? 'tok_decline' : 'tok_success', { reference: `e2e-po-${i}` }), { key });
      assert.equal(r.status, 201, r.text);
      created.push(r.json.id);
    }

    // Wait until every event that exists has arrived at /all and the event log stopped growing
    // (asynchronous outcomes arrive by provider webhook a little later).
    let events = [];
    let stableSince = 0;
    let lastCount = -1;
    await eventually(async () => {
      events = await allEvents(api, key);
      if (events.length !== lastCount) {
        lastCount = events.length;
        stableSince = Date.now();
      }
      const got = subscriber.deliveredCounts('/all');
      return events.length > 0 && events.every((e) => got.has(e.id)) && Date.now() - stableSince > 1500;
    }, { timeoutMs: 60000, intervalMs: 250, what: 'every event delivered to /all' });

    assert.deepEqual(subscriber.failures().map((d) => d.id), [], 'every delivery verifies');
    const byId = new Map(events.map((e) => [e.id, e]));
    const received = subscriber.received('/all');
    assert.equal(received.length, events.length, 'one delivery per event, no duplicates');
    for (const d of received) {
      assert.ok(byId.has(d.id), `unknown webhook-id ${d.id}`);
      assert.equal(d.method, 'POST');
      assert.equal(d.contentType, 'application/json');
      assert.match(d.userAgent, /^paymux\/\d+\.\d+\.\d+$/);
      assert.equal(d.signatures, 1);
      assert.ok(d.verified, `standardwebhooks verifies ${d.id}`);
      assert.ok(d.svixBy.every(Boolean), `svix verifies ${d.id}`);
      assert.ok(Math.abs(Number(d.timestamp) * 1000 - d.receivedAt) < 10000);
      // Byte for byte the event the events API serves.
      const one = await api('GET', `/v1/events/${d.id}`, null, { key });
      assert.equal(one.status, 200);
      assert.equal(d.body, one.text);
    }
    const types = new Set(received.map((d) => d.type));
    for (const t of ['collection.succeeded', 'collection.failed', 'collection.requires_action']) {
      assert.ok(types.has(t), `saw ${t}: ${[...types]}`);
    }
    assert.ok([...types].some((t) => t.startsWith('payout.')), `saw payout events: ${[...types]}`);

    const failedEvents = events.filter((e) => e.type === 'collection.failed' || e.type === 'payout.failed');
    await eventually(() => subscriber.deliveredCounts('/failed').size === failedEvents.length,
      { timeoutMs: 10000, what: 'filtered deliveries' });
    assert.deepEqual([...subscriber.deliveredCounts('/failed').keys()].sort(),
      failedEvents.map((e) => e.id).sort());
    const version = (pkg) => JSON.parse(fs.readFileSync(
      path.join(SOURCE_DIR, 'tests/node/node_modules', pkg, 'package.json'), 'utf8')).version;
    console.log(`delivered ${received.length} events to /all and ${failedEvents.length} to /failed; ` +
      `every one verified by standardwebhooks ${version('standardwebhooks')} and svix ${version('svix')}`);
  });

  test('during a rotation a verifier with only the old secret and one with only the new both verify', async () => {
    const { id, secret: oldSecret } = subs.all;
    const r = await api('POST', `/v1/subscriptions/${id}/rotate_secret`, null, { key });
    assert.equal(r.status, 200, r.text);
    const newSecret = r.json.secret;
    assert.notEqual(newSecret, oldSecret);
    // Two independent verifiers on the same endpoint: each must accept every delivery.
    subscriber.setSecrets('/all', [oldSecret, newSecret]);
    const before = subscriber.received('/all').length;
    const c = await api('POST', '/v1/collections', collectionBody('tok_success', { reference: 'e2e-rot' }), { key });
    assert.equal(c.status, 201);
    await eventually(() => subscriber.received('/all').length > before, { what: 'delivery after rotation' });
    const d = subscriber.received('/all').at(-1);
    assert.equal(d.signatures, 2);
    assert.deepEqual(d.verifiedBy, [true, true], 'old-secret verifier and new-secret verifier');
    assert.deepEqual(d.svixBy, [true, true]);
    assert.deepEqual(subscriber.failures(), []);
  });

  test('attempts API, admin deliveries and admin redeliver', async () => {
    const { id } = subs.all;
    const r = await api('GET', `/v1/subscriptions/${id}/deliveries?limit=5`, null, { key });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.data.length, 5);
    assert.equal(r.json.has_more, true);
    for (const a of r.json.data) {
      assert.match(a.id, /^dla_/);
      assert.equal(a.object, 'delivery_attempt');
      assert.equal(a.status_code, 200);
      assert.equal(a.error, null);
      assert.equal(a.next_retry_at, null);
      assert.ok(a.latency_ms >= 0);
    }
    const page2 = await api('GET', `/v1/subscriptions/${id}/deliveries?limit=5&starting_after=${r.json.data.at(-1).id}`,
      null, { key });
    assert.equal(page2.status, 200);
    assert.ok(!page2.json.data.some((a) => r.json.data.some((b) => b.id === a.id)));

    const env = { PAYMUX_DATABASE_URL: stack.db.url };
    const list = await paymuxd(['admin', 'deliveries', '--subscription', id], { env });
    assert.equal(list.code, 0, list.stderr);
    const lines = list.stdout.trim().split('\n');
    assert.match(lines[0], /^id\tevent\ttype\tstate/);
    assert.ok(lines.length > 10);
    assert.ok(lines.slice(1).every((l) => l.split('\t')[3] === 'delivered'), list.stdout);
    const failedOnly = await paymuxd(['admin', 'deliveries', '--subscription', id, '--failed'], { env });
    assert.equal(failedOnly.stdout.trim().split('\n').length, 1, failedOnly.stdout);

    const eventId = lines[1].split('\t')[1];
    const redo = await paymuxd(['admin', 'redeliver', eventId], { env });
    assert.equal(redo.code, 0, redo.stderr);
    assert.ok(Number(redo.stdout.trim()) >= 1);
    await eventually(() => subscriber.deliveredCounts('/all').get(eventId) === 2,
      { what: 'redelivered event' });
    const missing = await paymuxd(['admin', 'redeliver', 'evt_nope'], { env });
    assert.notEqual(missing.code, 0);
  });

  test('a subscriber that answers 500 then recovers gets everything; 410 disables', async () => {
    let down = true;
    const flaky = await startSubscriber({ respond: () => (down ? { status: 500 } : { status: 200 }) });
    const gone = await startSubscriber({ respond: () => ({ status: 410 }) });
    try {
      const a = await api('POST', '/v1/subscriptions', { url: flaky.url('/f') }, { key });
      const g = await api('POST', '/v1/subscriptions', { url: gone.url('/g') }, { key });
      flaky.setSecrets('/f', [a.json.secret]);
      gone.setSecrets('/g', [g.json.secret]);
      const c = await api('POST', '/v1/collections', collectionBody('tok_success', { reference: 'e2e-flaky' }), { key });
      assert.equal(c.status, 201);
      await eventually(() => flaky.received('/f').length >= 1, { what: 'first (failing) attempt' });
      await eventually(async () => (await api('GET', `/v1/subscriptions/${g.json.id}`, null, { key })).json.enabled === false,
        { what: '410 disables the subscription' });
      down = false;
      // The example schedule retries after 5 s (with jitter).
      await eventually(() => flaky.deliveredCounts('/f').size === 1, { timeoutMs: 15000, what: 'retry delivered' });
      // The subscriber has the request before the worker has recorded its answer.
      let attempts;
      await eventually(async () => {
        attempts = await api('GET', `/v1/subscriptions/${a.json.id}/deliveries`, null, { key });
        return attempts.json.data.length >= 2;
      }, { what: 'the successful attempt recorded' });
      const codes = attempts.json.data.map((x) => x.status_code);
      assert.deepEqual(codes, [200, 500]);
      assert.equal(attempts.json.data[1].error, 'HTTP 500');
      assert.deepEqual(flaky.failures(), []);
    } finally {
      await flaky.close();
      await gone.close();
    }
  });

  test('metrics expose the delivery series', async () => {
    const m = await fetch(`${stack.baseUrl}/metrics`).then((r) => r.text());
    for (const series of ['paymux_deliveries_total{result="delivered"}', 'paymux_delivery_attempt_duration_seconds_count',
      'paymux_delivery_queue_depth', 'paymux_delivery_oldest_due_age_seconds',
      'paymux_subscriptions_disabled_total{reason="gone"} 1']) {
      assert.ok(m.includes(series), `missing ${series}`);
    }
  });

  test('every subscription route answers as schemas/openapi.yaml documents', async () => {
    const openapi = new OpenApi();
    const problems = [];
    const undocumented = [];
    const check = (template, method, res) => {
      const r = openapi.check(template, method, res);
      problems.push(...r.problems);
      undocumented.push(...r.undocumented);
      return res;
    };
    const idem = `e2e-sub-${Date.now()}`;
    const body = { url: subscriber.url('/oas'), event_types: ['payout.paid'], description: 'oas' };
    const created = check('/v1/subscriptions', 'POST',
      await api('POST', '/v1/subscriptions', body, { key, idempotencyKey: idem }));
    assert.equal(created.status, 201, created.text);
    const replay = check('/v1/subscriptions', 'POST',
      await api('POST', '/v1/subscriptions', body, { key, idempotencyKey: idem }));
    assert.equal(replay.text, created.text);
    const id = created.json.id;
    check('/v1/subscriptions', 'POST', await api('POST', '/v1/subscriptions', { url: 'ftp://x' }, { key }));
    const reused = check('/v1/subscriptions', 'POST',
      await api('POST', '/v1/subscriptions', { ...body, description: 'other' }, { key, idempotencyKey: idem }));
    assert.equal(reused.status, 422);
    check('/v1/subscriptions', 'GET', await api('GET', '/v1/subscriptions?limit=2', null, { key }));
    check('/v1/subscriptions', 'GET', await api('GET', '/v1/subscriptions?limit=0', null, { key }));
    check('/v1/subscriptions/{id}', 'GET', await api('GET', `/v1/subscriptions/${id}`, null, { key }));
    check('/v1/subscriptions/{id}', 'GET', await api('GET', '/v1/subscriptions/sub_missing', null, { key }));
    check('/v1/subscriptions/{id}', 'PATCH', await api('PATCH', `/v1/subscriptions/${id}`, { enabled: false }, { key }));
    check('/v1/subscriptions/{id}', 'PATCH', await api('PATCH', `/v1/subscriptions/${id}`, {}, { key }));
    check('/v1/subscriptions/{id}/rotate_secret', 'POST',
      await api('POST', `/v1/subscriptions/${id}/rotate_secret`, null, { key }));
    check('/v1/subscriptions/{id}/recover', 'POST',
      await api('POST', `/v1/subscriptions/${id}/recover`, { since: '2020-01-01T00:00:00Z' }, { key }));
    check('/v1/subscriptions/{id}/recover', 'POST',
      await api('POST', `/v1/subscriptions/${id}/recover`, { since: 'soon' }, { key }));
    check('/v1/subscriptions/{id}/deliveries', 'GET',
      await api('GET', `/v1/subscriptions/${subs.all.id}/deliveries?limit=3`, null, { key }));
    check('/v1/subscriptions/{id}', 'DELETE', await api('DELETE', `/v1/subscriptions/${id}`, null, { key }));
    check('/v1/subscriptions/{id}', 'DELETE', await api('DELETE', `/v1/subscriptions/${id}`, null, { key }));
    assert.deepEqual(problems, []);
    if (undocumented.length) console.log(`fields beyond the schema (allowed): ${[...new Set(undocumented)].join('; ')}`);
  });

  test('no subscription secret or encryption key appears in any log', async () => {
    await sleep(200);
    assertNoSecretsInLogs(logFiles,
      [stack.secrets.secretsKey, ...Object.values(subs).map((s) => s.secret.slice(6))]);
  });
});
