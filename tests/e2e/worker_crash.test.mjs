// Issue 6, acceptance 4: `kill -9` of the delivery worker while deliveries are in flight, then a
// restart: every event still reaches the subscriber (at least once), each delivery verified
// with the official `standardwebhooks` package. Real processes: paymuxd serve (API),
// paymuxd work (dispatcher), paymux-sim, PostgreSQL, and a Node subscriber.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  BUILD_DIR, EXAMPLE_CONFIG, PAYMUXD, Proc, collectionBody, eventually, freePort, randomHex,
  startStack, waitHttp,
} from './lib.mjs';
import { startSubscriber } from './subscriber.mjs';

/** The example config with a short lease and retry schedule, so recovery fits in a test. */
function shortLeaseConfig() {
  let text = fs.readFileSync(EXAMPLE_CONFIG, 'utf8');
  const replace = (from, to) => {
    assert.ok(text.includes(from), `example.yaml no longer contains ${from}`);
    text = text.replace(from, to);
  };
  replace('retry_schedule_s: [0, 5, 300, 1800, 7200, 18000, 36000, 36000]',
    'retry_schedule_s: [0, 1, 1, 1, 1, 1, 1, 1, 1, 1]');
  replace('lease_s: 60', 'lease_s: 3');
  const deliveryTimeout = /(retry_schedule_s: \[0, 1, 1, 1, 1, 1, 1, 1, 1, 1\][^\n]*\n  timeout_ms: )15000/;
  assert.match(text, deliveryTimeout, 'example.yaml delivery section changed shape');
  text = text.replace(deliveryTimeout, (_, head) => `${head}2000`);
  const file = path.join(BUILD_DIR, 'e2e-logs', `worker-crash-${process.pid}.yaml`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

describe('delivery worker killed with SIGKILL', { timeout: 180000 }, () => {
  let stack;
  let subscriber;
  const workers = [];

  before(async () => {
    stack = await startStack({ config: shortLeaseConfig() });
    // Every delivery takes 400 ms to answer, so a good share is in flight at the kill.
    subscriber = await startSubscriber({ respond: async () => ({ status: 200, delayMs: 400 }) });
  });

  after(async () => {
    for (const w of workers) await w.stop().catch(() => {});
    await subscriber?.close();
    await stack?.stop();
  });

  async function startWorker(name) {
    const port = await freePort();
    const w = new Proc(name, PAYMUXD, ['work', '--config', stack.config],
      { env: { ...stack.env, PAYMUX_LISTEN: `127.0.0.1:${port}` } });
    workers.push(w);
    stack.procs.push(w);
    await waitHttp(`http://127.0.0.1:${port}/readyz`, { proc: w });
    return w;
  }

  it('delivers every event at least once after a crash and a restart', async () => {
    const sub = await stack.api('POST', '/v1/subscriptions',
      { url: subscriber.url('/crash'), description: 'crash test' }, { key: stack.key });
    assert.equal(sub.status, 201, sub.text);
    subscriber.setSecrets('/crash', [sub.json.secret]);

    const first = await startWorker('worker-1');
    const created = [];
    for (let i = 0; i < 30; i += 1) {
      const r = await stack.api('POST', '/v1/collections',
        collectionBody(i % 4 === 0 ? 'tok_decline' : 'tok_success', { amount: 100 + i }),
        { key: stack.key, idempotencyKey: `crash-${randomHex(6)}` });
      assert.equal(r.status, 201, r.text);
      created.push(r.json.id);
    }
    // Let some deliveries finish and others be claimed and in flight, then kill the worker.
    await eventually(() => subscriber.received('/crash').length >= 3,
      { timeoutMs: 20000, what: 'first deliveries' });
    first.signal('SIGKILL');
    const exit = await first.waitExit(5000);
    assert.equal(exit?.signal, 'SIGKILL');
    const beforeRestart = subscriber.deliveredCounts('/crash').size;

    await startWorker('worker-2');
    const events = [];
    for (let after = 0; ;) {
      const r = await stack.api('GET', `/v1/events?limit=100&after_sequence=${after}`, null,
        { key: stack.key });
      events.push(...r.json.data);
      if (!r.json.has_more) break;
      after = r.json.data.at(-1).sequence;
    }
    assert.equal(events.length, created.length, 'one event per collection');
    // Claims held by the killed worker come back when their 3 s lease expires.
    await eventually(() => {
      const counts = subscriber.deliveredCounts('/crash');
      return events.every((e) => counts.get(e.id) >= 1);
    }, { timeoutMs: 60000, intervalMs: 250, what: 'every event delivered after the restart' });

    assert.deepEqual(subscriber.failures(), [], 'every delivery verified with standardwebhooks');
    const counts = subscriber.deliveredCounts('/crash');
    const duplicates = [...counts.values()].filter((n) => n > 1).length;
    console.log(`delivered before the restart: ${beforeRestart}/${events.length}; ` +
      `redelivered after the crash (at-least-once): ${duplicates}`);
    for (const d of subscriber.received('/crash')) {
      assert.ok(events.some((e) => e.id === d.id), `delivery ${d.id} is an event of this tenant`);
      const stored = await stack.api('GET', `/v1/events/${d.id}`, null, { key: stack.key });
      assert.equal(d.body, stored.text, 'body byte-identical to GET /v1/events/{id}');
    }
  });
});
