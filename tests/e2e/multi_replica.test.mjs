// Issue 8, acceptance 1 and 2: several paymuxd processes on one database.
//  1. Two `serve` and two `work` processes under concurrent collections, payouts, duplicated
//     provider webhooks and subscriber deliveries: every provider event applied once, every
//     event delivered once (no crash in this run), sequences gap-free per tenant.
//  2. Rolling restart of both api processes while a client keeps creating collections through
//     both: every request ends 201 (retrying with its Idempotency-Key), none lost or doubled.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  BUILD_DIR, EXAMPLE_CONFIG, PAYMUXD, Proc, apiClient, collectionBody, eventually, freePort,
  payoutBody, randomHex, startPaymuxd, startStack, waitHttp,
} from './lib.mjs';
import { startSubscriber } from './subscriber.mjs';

function quickRetryConfig() {
  const text = fs.readFileSync(EXAMPLE_CONFIG, 'utf8')
    .replace('retry_schedule_s: [0, 5, 300, 1800, 7200, 18000, 36000, 36000]',
      'retry_schedule_s: [0, 1, 1, 1, 1, 1, 1, 1, 1, 1]');
  const file = path.join(BUILD_DIR, 'e2e-logs', `multi-replica-${process.pid}.yaml`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

async function allEvents(api, key) {
  const out = [];
  for (let after = 0; ;) {
    const r = await api('GET', `/v1/events?limit=100&after_sequence=${after}`, null, { key });
    assert.equal(r.status, 200, r.text);
    out.push(...r.json.data);
    if (!r.json.has_more) return out;
    after = r.json.data.at(-1).sequence;
  }
}

/** POST with the same Idempotency-Key until a final answer (what a careful client does). */
async function postUntilFinal(api, pathName, body, key, idem) {
  for (let attempt = 0; attempt < 600; attempt += 1) {
    try {
      const r = await api('POST', pathName, body, { key, idempotencyKey: idem, timeoutMs: 10000 });
      if (r.status !== 503 && r.status !== 409) return r;
    } catch { /* connection refused or reset while the process restarts: retry */ }
    await sleep(50);
  }
  throw new Error(`no final answer for ${idem}`);
}

describe('two serve and two work processes on one database', { timeout: 240000 }, () => {
  let stack;
  let subscriber;
  let api2;
  let port2;

  before(async () => {
    stack = await startStack({ config: quickRetryConfig() });
    port2 = await freePort();
    const serve2 = startPaymuxd(stack, port2, { name: 'paymuxd-2' });
    await waitHttp(`http://127.0.0.1:${port2}/readyz`, { proc: serve2, timeoutMs: 60000 });
    api2 = apiClient(`http://127.0.0.1:${port2}`);
    for (const name of ['worker-1', 'worker-2']) {
      const port = await freePort();
      const w = new Proc(name, PAYMUXD, ['work', '--config', stack.config],
        { env: { ...stack.env, PAYMUX_LISTEN: `127.0.0.1:${port}` } });
      stack.procs.push(w);
      await waitHttp(`http://127.0.0.1:${port}/readyz`, { proc: w });
    }
    subscriber = await startSubscriber();
  });

  after(async () => {
    await subscriber?.close();
    await stack?.stop();
  });

  it('applies every provider event once and delivers every event once, gap-free', async () => {
    const sub = await stack.api('POST', '/v1/subscriptions',
      { url: subscriber.url('/all'), description: 'multi-replica' }, { key: stack.key });
    assert.equal(sub.status, 201, sub.text);
    subscriber.setSecrets('/all', [sub.json.secret]);

    const apis = [stack.api, api2];
    const jobs = [];
    for (let i = 0; i < 40; i += 1) {
      const token = ['tok_success', 'tok_decline', 'tok_async', 'tok_async'][i % 4];
      jobs.push(postUntilFinal(apis[i % 2], '/v1/collections', collectionBody(token, { amount: 100 + i }),
        stack.key, `mr-c-${i}-${randomHex(4)}`));
    }
    for (let i = 0; i < 12; i += 1) {
      jobs.push(postUntilFinal(apis[i % 2], '/v1/payouts', payoutBody('tok_success', { amount: 500 + i }),
        stack.key, `mr-p-${i}-${randomHex(4)}`));
    }
    const created = (await Promise.all(jobs)).map((r) => {
      assert.equal(r.status, 201, r.text);
      return r.json;
    });
    // The simulator settles tok_async collections by webhook to the first api; send each of
    // those webhooks again to both apis at once (duplicates, concurrently).
    const asyncOnes = created.filter((c) => c.object === 'collection' && c.status === 'processing');
    assert.ok(asyncOnes.length >= 10);
    const resend = [];
    for (const c of asyncOnes) {
      const hook = await (await fetch(`${stack.simUrl}/sim/webhooks`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ payment_id: c.provider_reference, status: 'succeeded', deliver: 'false',
          event_id: `evt_dup_${c.id}` }),
      })).json();
      for (const api of [stack.api, api2, stack.api, api2]) {
        resend.push(api('POST', '/webhooks/sandbox-a', hook.body, { headers: { 'Sandbox-Signature': hook.signature } }));
      }
    }
    for (const r of await Promise.all(resend)) assert.equal(r.status, 200, r.text);
    await eventually(async () => {
      const states = await Promise.all(asyncOnes.map((c) =>
        stack.api('GET', `/v1/collections/${c.id}`, null, { key: stack.key })));
      return states.every((s) => s.json.status === 'succeeded');
    }, { timeoutMs: 20000, what: 'async collections settled' });

    const events = await allEvents(stack.api, stack.key);
    events.forEach((e, i) => assert.equal(e.sequence, i + 1, 'sequence gap-free per tenant'));
    for (const c of asyncOnes) {
      const mine = events.filter((e) => e.data.object.id === c.id && e.type === 'collection.succeeded');
      assert.equal(mine.length, 1, `${c.id}: one succeeded event`);
    }
    await eventually(() => {
      const counts = subscriber.deliveredCounts('/all');
      return events.every((e) => counts.get(e.id) >= 1);
    }, { timeoutMs: 30000, intervalMs: 250, what: 'every event delivered' });
    await sleep(1500); // anything sent twice would arrive by now
    const counts = subscriber.deliveredCounts('/all');
    const twice = [...counts.entries()].filter(([, n]) => n > 1);
    assert.deepEqual(twice, [], 'no event delivered twice without a crash');
    assert.deepEqual(subscriber.failures(), []);
  });

  it('survives a rolling restart of both api processes without losing or doubling a request', async () => {
    const urls = [stack.baseUrl, `http://127.0.0.1:${port2}`];
    const clients = urls.map((u) => apiClient(u));
    let stop = false;
    const sent = []; // { idem, reference, response }
    const loop = (async () => {
      for (let i = 0; !stop && i < 400; i += 1) {
        const idem = `roll-${i}-${randomHex(4)}`;
        const reference = `roll-${i}`;
        const r = await postUntilFinal(clients[i % 2], '/v1/collections',
          collectionBody('tok_success', { amount: 1000 + i, reference }), stack.key, idem);
        sent.push({ idem, reference, response: r });
      }
    })();
    // Restart each api in turn: SIGTERM (drains in-flight requests), then a new process on the
    // same port.
    for (const [index, name] of [[0, 'paymuxd'], [1, 'paymuxd-2']]) {
      await sleep(700);
      const proc = [...stack.procs].reverse().find((p) => p.name === name && p.running);
      proc.signal('SIGTERM');
      const exit = await proc.waitExit(30000);
      assert.equal(exit?.code, 0, `${name} exits 0 after draining`);
      const next = startPaymuxd(stack, new URL(urls[index]).port, { name });
      await waitHttp(`${urls[index]}/readyz`, { proc: next, timeoutMs: 60000 });
    }
    await sleep(700);
    stop = true;
    await loop;

    assert.ok(sent.length >= 20, `only ${sent.length} requests were made`);
    for (const s of sent) assert.equal(s.response.status, 201, `${s.idem}: ${s.response.text}`);
    const ids = new Set(sent.map((s) => s.response.json.id));
    assert.equal(ids.size, sent.length, 'one transaction per request');
    // Nothing extra was stored: exactly one transaction per reference.
    for (const s of sent) {
      const r = await stack.api('GET', `/v1/collections?reference=${s.reference}&limit=5`, null,
        { key: stack.key });
      assert.equal(r.json.data.length, 1, `${s.reference} stored once`);
    }
    console.log(`rolling restart: ${sent.length} collections, all 201, none lost or doubled`);
  });
});
