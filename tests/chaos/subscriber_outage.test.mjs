// Issue 9, chaos 3: the subscriber endpoint goes away while events keep being produced. First
// it refuses connections (its listener is closed), then it answers 503 with Retry-After, then it
// is healthy again: the whole backlog drains, every delivery verified with `standardwebhooks`,
// nothing given up. Real processes: paymuxd serve (API), paymuxd work (dispatcher), paymux-sim,
// PostgreSQL, and a Node subscriber.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  allEvents, collectionBody, eventually, logFiles, paymuxd, payoutBody, randomHex, startStack,
  startWorker, writeConfig, assertNoSecretsInLogs,
} from '../e2e/lib.mjs';
import { startSubscriber } from '../e2e/subscriber.mjs';

const RETRY_AFTER_S = 2;

/** Short delivery retries (one a second, 25 attempts) and lease, so an outage fits in a test. */
function outageConfig() {
  return writeConfig('subscriber-outage', [
    ['retry_schedule_s: [0, 5, 300, 1800, 7200, 18000, 36000, 36000]',
      `retry_schedule_s: [0${', 1'.repeat(24)}]`],
    ['  timeout_ms: 15000\n  concurrency:', '  timeout_ms: 2000\n  concurrency:'],
    ['lease_s: 60', 'lease_s: 3'],
  ]);
}

/** Every delivery attempt of a subscription (GET /v1/subscriptions/{id}/deliveries), oldest first. */
async function allAttempts(api, key, subscriptionId) {
  const out = [];
  let cursor = '';
  for (;;) {
    const r = await api('GET', `/v1/subscriptions/${subscriptionId}/deliveries?limit=100` +
      (cursor ? `&starting_after=${cursor}` : ''), null, { key });
    assert.equal(r.status, 200, r.text);
    out.push(...r.json.data);
    if (!r.json.has_more || r.json.data.length === 0) return out.reverse();
    cursor = r.json.data.at(-1).id;
  }
}

/** Groups attempts by event id. */
function byEvent(attempts) {
  const m = new Map();
  for (const a of attempts) {
    if (!m.has(a.event_id)) m.set(a.event_id, []);
    m.get(a.event_id).push(a);
  }
  return m;
}

describe('subscriber endpoint down, then answering 503, then up', { timeout: 120000 }, () => {
  let stack;
  let subscriber;
  let mode = 'ok'; // 'unavailable': verified deliveries are answered 503 with Retry-After
  let signingSecret = '';

  before(async () => {
    stack = await startStack({ config: outageConfig() });
    subscriber = await startSubscriber({
      respond: () => (mode === 'unavailable'
        ? { status: 503, headers: { 'Retry-After': String(RETRY_AFTER_S) } }
        : undefined),
    });
    await startWorker(stack, { name: 'worker' });
  });

  after(async () => {
    await subscriber?.close();
    await stack?.stop();
  });

  it('drains the whole backlog once the endpoint is back', async () => {
    const { api, key } = stack;
    const sub = await api('POST', '/v1/subscriptions',
      { url: subscriber.url('/outage'), description: 'chaos outage' }, { key });
    assert.equal(sub.status, 201, sub.text);
    subscriber.setSecrets('/outage', [sub.json.secret]);
    signingSecret = sub.json.secret;

    // Warm-up: the path works before the outage.
    const warm = await api('POST', '/v1/collections', collectionBody('tok_success', { reference: 'warm' }),
      { key, idempotencyKey: `warm-${randomHex(6)}` });
    assert.equal(warm.status, 201, warm.text);
    await eventually(() => subscriber.deliveredCounts('/outage').size === 1,
      { timeoutMs: 15000, what: 'warm-up delivery' });

    // 1. The endpoint refuses connections while events are produced.
    await subscriber.pause();
    const scenarios = [
      ['/v1/collections', 'tok_success', 'collection.succeeded'],
      ['/v1/collections', 'tok_decline', 'collection.failed'],
      ['/v1/collections', 'tok_async', 'collection.succeeded'],
      ['/v1/payouts', 'tok_success', 'payout.paid'],
    ];
    const created = []; // { id, finalType }
    for (let i = 0; i < 32; i += 1) {
      const [pathName, token, finalType] = scenarios[i % scenarios.length];
      const body = pathName === '/v1/collections'
        ? collectionBody(token, { amount: 100 + i, reference: `outage-${i}` })
        : payoutBody(token, { amount: 100 + i, reference: `outage-${i}`, connector: 'sandbox-a' });
      const r = await api('POST', pathName, body, { key, idempotencyKey: `outage-${i}-${randomHex(4)}` });
      assert.equal(r.status, 201, r.text);
      created.push({ id: r.json.id, finalType });
    }
    // Wait until every outcome has its event (tok_async ones settle by provider webhook; an
    // event may become visible a little after the request that caused it).
    let events = [];
    await eventually(async () => {
      events = await allEvents(api, key);
      return created.every((c) => events.some((e) => e.data.object.id === c.id && e.type === c.finalType));
    }, { timeoutMs: 20000, intervalMs: 200, what: 'every backlog event in GET /v1/events' });
    const backlog = events.filter((e) => e.data.object.id !== warm.json.id);
    assert.ok(backlog.length >= created.length, `${backlog.length} backlog events`);

    // Every backlog event is tried at least three times against the closed port.
    await eventually(async () => {
      const attempts = byEvent(await allAttempts(api, key, sub.json.id));
      return backlog.every((e) => (attempts.get(e.id) ?? [])
        .filter((a) => a.status_code === null && a.error).length >= 3);
    }, { timeoutMs: 30000, intervalMs: 250, what: 'three refused attempts per backlog event' });
    assert.equal(subscriber.received('/outage').length, 1, 'nothing arrived while the port was closed');

    // 2. The endpoint is back but answers 503 with Retry-After.
    mode = 'unavailable';
    await subscriber.resume();
    await eventually(() => {
      const got = subscriber.received('/outage');
      return backlog.every((e) => got.some((d) => d.id === e.id && d.answered === 503));
    }, { timeoutMs: 30000, intervalMs: 100, what: 'a 503 answer to every backlog event' });

    // 3. Healthy again: everything drains.
    mode = 'ok';
    await eventually(() => {
      const counts = subscriber.deliveredCounts('/outage');
      return backlog.every((e) => counts.get(e.id) >= 1);
    }, { timeoutMs: 30000, intervalMs: 200, what: 'every backlog event delivered after the outage' });

    assert.deepEqual(subscriber.failures().map((d) => d.id), [], 'every delivery verifies');
    const received = subscriber.received('/outage');
    for (const e of backlog) {
      const mine = received.filter((d) => d.id === e.id);
      // Retry-After is honoured: the attempt after a 503 comes no sooner than it asks.
      for (let i = 0; i + 1 < mine.length; i += 1) {
        if (mine[i].answered !== 503) continue;
        const gap = mine[i + 1].receivedAt - mine[i].receivedAt;
        assert.ok(gap >= RETRY_AFTER_S * 1000 - 100, `${e.id}: retried ${gap} ms after a 503 with Retry-After: ${RETRY_AFTER_S}`);
      }
      const ok = mine.find((d) => d.answered === 200);
      const stored = await api('GET', `/v1/events/${e.id}`, null, { key });
      assert.equal(ok.body, stored.text, `${e.id}: delivered body byte-identical to GET /v1/events/{id}`);
    }

    // The record agrees: each event's last attempt succeeded, the subscription is still
    // enabled, and nothing is left failed (operator's view: paymuxd admin deliveries --failed).
    await eventually(async () => {
      const attempts = byEvent(await allAttempts(api, key, sub.json.id));
      return backlog.every((e) => attempts.get(e.id)?.at(-1)?.status_code === 200);
    }, { timeoutMs: 10000, what: 'every last attempt recorded as 200' });
    const attempts = byEvent(await allAttempts(api, key, sub.json.id));
    for (const e of backlog) {
      const codes = attempts.get(e.id).map((a) => a.status_code);
      assert.equal(codes[0], null, `${e.id}: first attempt hit the closed port`);
      assert.ok(codes.includes(503), `${e.id}: a 503 attempt is recorded (${codes})`);
    }
    const s = await api('GET', `/v1/subscriptions/${sub.json.id}`, null, { key });
    assert.equal(s.status, 200, s.text);
    assert.equal(s.json.enabled, true, 'an outage of seconds does not disable the subscription');
    const failed = await paymuxd(['admin', 'deliveries', '--subscription', sub.json.id, '--failed'],
      { env: { PAYMUX_DATABASE_URL: stack.db.url } });
    assert.equal(failed.code, 0, failed.stderr);
    assert.equal(failed.stdout.trim().split('\n').length, 1, `no failed delivery:\n${failed.stdout}`);

    const redelivered = [...subscriber.deliveredCounts('/outage').values()].filter((n) => n > 1).length;
    console.log(`backlog of ${backlog.length} events: refused, then 503, then all delivered ` +
      `(${received.length} requests received, ${redelivered} delivered more than once)`);
  });

  it('keeps secrets out of every log', () => {
    assertNoSecretsInLogs(logFiles, [stack.secrets.webhookSecret, stack.secrets.sandboxApiKey,
      stack.secrets.secretsKey, stack.key.slice(16), signingSecret.slice(6)]);
  });
});
