// Issue 9, chaos 1: `kill -9` of `paymuxd serve` and `paymuxd work` processes at random
// (seeded) moments during mixed load, each restarted on its port. Load: collections that settle
// at once or later by the simulator's signed webhook (tok_async), declines, payouts, duplicated
// provider webhooks sent to both api processes, and a subscriber receiving every event. Clients
// retry with the same Idempotency-Key on connection errors, 5xx and 409, like a real client.
// Afterwards, everything restarted and settled, from the database AND the API:
//   every request that got a 2xx is stored (once); each transaction's events are exactly its
//   applied transitions; `sequence` is gap-free 1..N; every event reached the subscriber at
//   least once (by webhook-id, signature verified); no provider event was applied twice.
// PAYMUX_CHAOS_SEED=N repeats a run's kill schedule (the seed is printed).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  allEvents, countBy, apiClient, collectionBody, eventually, freePort, logFiles, paymuxd, payoutBody,
  postWithRetry, psql, psqlRows, randomHex, seededRandom, sqlString, startPaymuxd, startStack, startWorker,
  waitHttp, waitPortFree, fastSettlingConfig, assertNoSecretsInLogs,
} from '../e2e/lib.mjs';
import { startSubscriber } from '../e2e/subscriber.mjs';
import { stuckRequests, unsettledTransactions } from './stuck.mjs';

const KILLS = 8; // half of them serve, half work
const CLIENTS = 4;

const SEED = Number(process.env.PAYMUX_CHAOS_SEED) || (randomBytes(4).readUInt32LE(0) || 1);

/** Janitor polls, delivery retries and leases in seconds, so the run settles within the test. */
function chaosConfig() {
  return fastSettlingConfig('kill9', [1, 1, 2, 3, 5]);
}

// Request scenarios, chosen by request number; `final` is the status each must end in.
const SCENARIOS = [
  { path: '/v1/collections', token: 'tok_success', final: 'succeeded' },
  { path: '/v1/collections', token: 'tok_async', final: 'succeeded' },
  { path: '/v1/collections', token: 'tok_success', final: 'succeeded' },
  { path: '/v1/collections', token: 'tok_decline', final: 'failed' },
  { path: '/v1/collections', token: 'tok_async', final: 'succeeded' },
  { path: '/v1/payouts', token: 'tok_success', final: 'paid' },
  { path: '/v1/collections', token: 'tok_success', final: 'succeeded' },
  { path: '/v1/payouts', token: 'tok_async', final: 'paid' },
];
const FINAL = new Set(['succeeded', 'failed', 'canceled', 'paid', 'returned']);

describe(`kill -9 of serve and work under mixed load (seed ${SEED})`, { timeout: 170000 }, () => {
  let stack;
  let subscriber;
  let signingSecret = '';
  const roles = new Map(); // name -> { kind: 'serve'|'work', port, proc }
  const kills = [];
  const sent = []; // { i, reference, scenario, idem, response, attempts }
  const dups = []; // { txId, eventId, acks }
  let orphans = []; // stored transactions the provider never heard of (must stay empty)

  before(async () => {
    console.log(`chaos seed ${SEED} (PAYMUX_CHAOS_SEED=${SEED} repeats this kill schedule)`);
    // why: tok_async outcomes come 700 ms after the payment, so a duplicated webhook sent right
    // after the 201 arrives before the simulator's own one, and one sent 1.2 s later after it.
    stack = await startStack({ config: chaosConfig(), simArgs: ['--async-ms', '700'] });
    roles.set('serve-a', { kind: 'serve', port: Number(new URL(stack.baseUrl).port), proc: stack.paymuxd });
    const portB = await freePort([roles.get('serve-a').port]);
    const serveB = startPaymuxd(stack, portB, { name: 'serve-b' });
    await waitHttp(`http://127.0.0.1:${portB}/readyz`, { proc: serveB, timeoutMs: 60000 });
    roles.set('serve-b', { kind: 'serve', port: portB, proc: serveB });
    for (const name of ['work-1', 'work-2']) {
      const w = await startWorker(stack, { name });
      roles.set(name, { kind: 'work', port: w.port, proc: w });
    }
    subscriber = await startSubscriber();
  });

  after(async () => {
    await subscriber?.close();
    await stack?.stop(); // every process ever started, by its own pid
  });

  /** kill -9 one process, then start its replacement on the same port. */
  async function killAndRestart(name, downMs, t0) {
    const role = roles.get(name);
    const old = role.proc;
    assert.ok(old.running, `${name} runs before its kill:\n${old.tail()}`);
    old.signal('SIGKILL');
    const exit = await old.waitExit(10000);
    assert.equal(exit?.signal, 'SIGKILL', `${name} died of the kill`);
    const killedAt = Date.now() - t0;
    await sleep(downMs);
    await waitPortFree(role.port);
    if (role.kind === 'serve') {
      role.proc = startPaymuxd(stack, role.port, { name });
      await waitHttp(`http://127.0.0.1:${role.port}/readyz`, { proc: role.proc, timeoutMs: 60000 });
    } else {
      role.proc = await startWorker(stack, { name, port: role.port });
    }
    kills.push({ name, pid: old.pid, at: killedAt, downMs: Date.now() - t0 - killedAt, newPid: role.proc.pid });
  }

  it('loses nothing and applies nothing twice', async () => {
    const { key } = stack;
    const apis = ['serve-a', 'serve-b'].map((n) => apiClient(`http://127.0.0.1:${roles.get(n).port}`));
    const sub = await apis[0]('POST', '/v1/subscriptions',
      { url: subscriber.url('/chaos'), description: 'chaos kill -9' }, { key });
    assert.equal(sub.status, 201, sub.text);
    signingSecret = sub.json.secret;
    subscriber.setSecrets('/chaos', [signingSecret]);

    const rnd = seededRandom(SEED);
    let stopLoad = false;
    let giveUpAt = Infinity;
    let n = 0;
    const clients = Array.from({ length: CLIENTS }, async () => {
      while (!stopLoad) {
        const i = n++;
        const scenario = SCENARIOS[i % SCENARIOS.length];
        const entry = { i, reference: `k9-${i}`, scenario, idem: `k9-${i}-${randomHex(4)}`, response: null, attempts: [] };
        sent.push(entry);
        const body = scenario.path === '/v1/collections'
          ? collectionBody(scenario.token, { amount: 100 + i, reference: entry.reference })
          // why: the simulator sends every webhook to /webhooks/sandbox-a; payouts would be
          // split over sandbox-a and sandbox-b, whose webhooks then never match.
          : payoutBody(scenario.token, { amount: 100 + i, reference: entry.reference, connector: 'sandbox-a' });
        // why: the first attempt alternates between the api processes, retries rotate.
        const order = i % 2 ? [apis[1], apis[0]] : apis;
        const r = await postWithRetry(order, scenario.path, body,
          { key, idempotencyKey: entry.idem, deadline: () => giveUpAt, attemptTimeoutMs: 10000, attempts: entry.attempts });
        entry.response = r.response;
        if (r.response?.status === 201 && scenario.token === 'tok_async' &&
            r.response.json.provider_reference && dups.length < 60) {
          duplicate(r.response.json);
        }
        await sleep(10);
      }
    });
    // The provider sends some webhooks again, three times to the two api processes, each
    // retried until acknowledged: half at once (before the simulator's own webhook, racing the
    // janitor), half 1.2 s after the 201, when the simulator's own one has arrived.
    const dupTasks = [];
    function duplicate(tx) {
      const eventId = `evt_dup_${tx.id}`;
      const dup = { txId: tx.id, eventId, acks: 0 };
      dups.push(dup);
      const delayMs = dups.length % 2 ? 0 : 1200;
      dupTasks.push((async () => {
        await sleep(delayMs);
        const hook = await (await fetch(`${stack.simUrl}/sim/webhooks`, {
          method: 'POST', headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ payment_id: tx.provider_reference, status: tx.object === 'payout' ? 'paid' : 'succeeded',
            deliver: 'false', event_id: eventId }),
        })).json();
        await Promise.all([0, 1, 0].map(async (which) => {
          const until = Date.now() + 30000;
          while (Date.now() < Math.min(giveUpAt, until)) {
            let r = null;
            try {
              r = await apis[which]('POST', '/webhooks/sandbox-a', hook.body,
                { headers: { 'Sandbox-Signature': hook.signature }, timeoutMs: 10000 });
            } catch { /* connection refused or reset while the process restarts: retry */ }
            if (r && r.status >= 200 && r.status < 300) {
              dup.acks += 1;
              return;
            }
            assert.ok(!r || r.status >= 500, `provider webhook answered ${r?.status}: ${r?.text}`);
            await sleep(100);
          }
        }));
      })());
    }

    // The chaos driver: kill -9 at random moments, half serve, half work, each restarted.
    const t0 = Date.now();
    try {
      await eventually(() => sent.filter((s) => s.response?.status === 201).length >= 10,
        { timeoutMs: 20000, what: 'load running' });
      const plan = Array.from({ length: KILLS }, (_, k) => (k % 2 ? 'serve' : 'work'));
      for (let k = plan.length - 1; k > 0; k -= 1) {
        const j = Math.floor(rnd() * (k + 1));
        [plan[k], plan[j]] = [plan[j], plan[k]];
      }
      for (const kind of plan) {
        await sleep(300 + Math.floor(rnd() * 900));
        const name = kind === 'serve' ? (rnd() < 0.5 ? 'serve-a' : 'serve-b') : (rnd() < 0.5 ? 'work-1' : 'work-2');
        await killAndRestart(name, Math.floor(rnd() * 600), t0);
      }
      await sleep(500);
    } finally {
      stopLoad = true;
      giveUpAt = Date.now() + 6000;
      await Promise.all(clients);
      await Promise.all(dupTasks);
    }
    const chaosMs = Date.now() - t0;
    for (const k of kills) {
      console.log(`kill -9 ${k.name} (pid ${k.pid}) at +${k.at} ms; back as pid ${k.newPid} after ${k.downMs} ms`);
    }
    for (const [name, role] of roles) assert.ok(role.proc.running, `${name} runs at the end:\n${role.proc.tail()}`);
    assert.equal(kills.length, KILLS);

    const acked = sent.filter((s) => s.response && s.response.status >= 200 && s.response.status < 300);
    const unanswered = sent.filter((s) => !s.response);
    for (const s of sent) {
      if (s.response) assert.equal(s.response.status, 201, `${s.reference}: ${s.response.status} ${s.response.text}`);
    }
    const attempts = sent.flatMap((s) => s.attempts);
    console.log(`${sent.length} requests in ${chaosMs} ms: ${acked.length} acknowledged, ${unanswered.length} ` +
      `without a final answer (last: ${JSON.stringify(countBy(unanswered, (s) => s.attempts.at(-1)?.status ?? s.attempts.at(-1)?.error))}); ` +
      `attempts ${JSON.stringify(countBy(attempts, (a) => a.status ?? a.error))}; ` +
      `${dups.length} provider webhooks sent 3 times each`);
    assert.ok(acked.length >= 50, `only ${acked.length} requests were acknowledged`);
    for (const a of attempts) {
      assert.ok(a.status === null || [201, 409, 503].includes(a.status),
        `an attempt answered ${a.status}: ${JSON.stringify(a.json)}`);
    }

    // --- Settled: every stored transaction reaches the final status its scenario leads to;
    // one whose api process died before calling the provider is finished by the client's
    // retry (or the janitor), checked by the test below.
    const tenant = sqlString(stack.tenant);
    await eventually(async () => {
      const u = await unsettledTransactions(stack);
      orphans = u.orphans;
      return u.known.length === 0;
    }, { timeoutMs: 30000, intervalMs: 250, what: 'every transaction the provider knows in a final status' });
    await eventually(async () => {
      const left = await psql(stack.db.url, "SELECT count(*) FROM provider_events WHERE outcome IN ('received', 'unmatched')");
      return left === '0';
    }, { timeoutMs: 20000, intervalMs: 250, what: 'every provider event processed' });

    // --- Requests: every acknowledged one is stored, each request at most once, nothing else.
    const txRows = await psqlRows(stack.db.url, 'SELECT id, reference, kind, status, amount_minor FROM transactions ' +
      `WHERE tenant_id = ${tenant}`);
    const byReference = new Map();
    for (const [id, reference, kind, status, amount] of txRows) {
      assert.ok(!byReference.has(reference), `${reference} stored twice (${byReference.get(reference)?.id}, ${id})`);
      byReference.set(reference, { id, kind, status, amount: Number(amount) });
    }
    const bySentReference = new Map(sent.map((s) => [s.reference, s]));
    for (const [reference, tx] of byReference) {
      const s = bySentReference.get(reference);
      assert.ok(s, `a transaction nobody asked for: ${reference}`);
      assert.equal(tx.kind, s.scenario.path === '/v1/payouts' ? 'payout' : 'collect');
      assert.equal(tx.amount, 100 + s.i);
      if (!orphans.includes(tx.id)) {
        assert.equal(tx.status, s.scenario.final, `${reference} (${s.scenario.token}) ended ${tx.status}`);
      }
    }
    const referenceOf = new Map([...byReference].map(([reference, tx]) => [tx.id, reference]));
    for (const id of orphans) {
      const s = bySentReference.get(referenceOf.get(id));
      assert.ok(!acked.includes(s), `${s.reference} was acknowledged, but its payment never reached the provider`);
    }
    for (const s of acked) {
      const tx = byReference.get(s.reference);
      assert.ok(tx, `${s.reference} got ${s.response.status} (${s.response.json.id}) but is not in the database`);
      assert.equal(tx.id, s.response.json.id, `${s.reference}: the acknowledged id is the stored one`);
      const got = await apis[s.i % 2]('GET', `${s.scenario.path}/${tx.id}`, null, { key });
      assert.equal(got.status, 200, got.text);
      assert.equal(got.json.status, tx.status);
      const listed = await apis[0]('GET', `${s.scenario.path}?reference=${s.reference}&limit=5`, null, { key });
      assert.deepEqual(listed.json.data.map((t) => t.id), [tx.id], `${s.reference}: listed once`);
    }

    // --- Events: exactly one per applied transition, gap-free, the same in the API and the table.
    const txById = new Map([...byReference.values()].map((t) => [t.id, t]));
    let events = [];
    await eventually(async () => {
      events = await allEvents(apis[1], key);
      const finals = new Set(events.filter((e) => FINAL.has(e.data.object.status)).map((e) => e.data.object.id));
      return [...txById.keys()].every((id) => finals.has(id) || orphans.includes(id));
    }, { timeoutMs: 15000, what: 'a final event for every transaction' });
    events.forEach((e, idx) => assert.equal(e.sequence, idx + 1, `sequence gap-free at ${e.id}`));
    const eventRows = await psqlRows(stack.db.url, 'SELECT id, sequence, type, transaction_id FROM events ' +
      `WHERE tenant_id = ${tenant} ORDER BY sequence`);
    assert.deepEqual(eventRows.map(([id, seq, type, txId]) => [id, Number(seq), type, txId]),
      events.map((e) => [e.id, e.sequence, e.type, e.data.object.id]), 'GET /v1/events is the events table');
    const chains = new Map();
    for (const e of events) {
      const tx = txById.get(e.data.object.id);
      assert.ok(tx, `${e.id} is about an unknown transaction`);
      const object = tx.kind === 'payout' ? 'payout' : 'collection';
      assert.equal(e.type, `${object}.${e.data.object.status}`, `${e.id}: type matches the status it reports`);
      if (!chains.has(tx.id)) chains.set(tx.id, []);
      chains.get(tx.id).push(e);
    }
    for (const [id, tx] of txById) {
      // The events of one transaction chain: each starts where the previous one ended, from
      // pending to the status stored now, no status twice.
      const chain = chains.get(id) ?? [];
      let status = 'pending';
      for (const e of chain) {
        assert.equal(e.data.previous_status, status, `${id}: ${chain.map((x) => x.type)} is not one transition each`);
        status = e.data.object.status;
      }
      assert.equal(status, tx.status, `${id}: the last event reports the stored status`);
      assert.equal(new Set(chain.map((e) => e.type)).size, chain.length, `${id}: an event type twice: ${chain.map((x) => x.type)}`);
    }
    const successes = [...txById.values()].filter((t) => t.status === 'succeeded').length;
    assert.equal(events.filter((e) => e.type === 'collection.succeeded').length, successes,
      'one collection.succeeded per succeeded collection');

    // --- Provider events: stored once, each applied one is one transition (one event).
    const dupeRows = await psql(stack.db.url, 'SELECT connector_id, provider_event_id FROM provider_events ' +
      'GROUP BY 1, 2 HAVING count(*) > 1');
    assert.equal(dupeRows, '', 'a provider event stored twice');
    const applied = await psqlRows(stack.db.url, "SELECT transaction_id, status FROM provider_events WHERE outcome = 'applied'");
    const appliedPairs = new Set();
    for (const [txId, status] of applied) {
      const pair = `${txId} ${status}`;
      assert.ok(!appliedPairs.has(pair), `two provider events applied the same transition: ${pair}`);
      appliedPairs.add(pair);
      assert.ok((chains.get(txId) ?? []).some((e) => e.data.object.status === status),
        `provider event applied to ${txId} (${status}) has no event`);
    }
    const outcomes = Object.fromEntries(await psqlRows(stack.db.url,
      'SELECT outcome, count(*) FROM provider_events GROUP BY 1 ORDER BY 1'));
    for (const d of dups.filter((x) => x.acks > 0)) {
      const stored = await psqlRows(stack.db.url, 'SELECT outcome FROM provider_events WHERE connector_id = ' +
        `'sandbox-a' AND provider_event_id = ${sqlString(d.eventId)}`);
      assert.equal(stored.length, 1, `${d.eventId} acknowledged ${d.acks} times, stored ${stored.length} times`);
      assert.ok(['applied', 'stale'].includes(stored[0][0]), `${d.eventId}: ${stored[0][0]}`);
      d.outcome = stored[0][0];
    }
    assert.ok(dups.some((d) => d.acks === 3), 'some duplicated webhook was acknowledged by every send');
    const disc = await paymuxd(['admin', 'discrepancies'], { env: { PAYMUX_DATABASE_URL: stack.db.url } });
    assert.equal(disc.code, 0, disc.stderr);
    assert.equal(disc.stdout.trim().split('\n').length, 1, `no discrepancy:\n${disc.stdout}`);

    // --- Deliveries: every event reached the subscriber at least once, signature verified.
    await eventually(() => {
      const counts = subscriber.deliveredCounts('/chaos');
      return events.every((e) => counts.get(e.id) >= 1);
    }, { timeoutMs: 30000, intervalMs: 250, what: 'every event delivered' });
    assert.deepEqual(subscriber.failures().map((d) => d.id), [], 'every delivery verifies');
    const byEventId = new Map(events.map((e) => [e.id, e]));
    for (const d of subscriber.received('/chaos')) {
      assert.ok(byEventId.has(d.id), `delivered ${d.id}, which is not an event of this tenant`);
    }
    const counts = subscriber.deliveredCounts('/chaos');
    const twice = [...counts.values()].filter((c) => c > 1).length;
    console.log(`${txById.size} transactions (${orphans.length} never sent to the provider, still pending), ` +
      `${events.length} events (gap-free), provider events ` +
      `${JSON.stringify(outcomes)} (the duplicated ones: ${JSON.stringify(countBy(dups, (d) => d.outcome))}), ` +
      `${twice} events delivered more than once (at-least-once after kills)`);
  });

  // Found by this suite (issue 9) and fixed: a transaction stored by an api process that died
  // before calling the provider stayed pending for ever, and a retry of its request was answered
  // 409 idempotency_key_in_use for the 300 s lease. Leases are now 4 s, renewed while the
  // request lives, and a retry (or the janitor) finishes the stored transaction
  // (tests/integration/recovery_test.cc).
  it('settles every transaction and answers every retried request', async () => {
    assert.deepEqual(orphans, [], 'transactions the provider never saw, still pending');
    assert.deepEqual(await stuckRequests(stack, sent.filter((s) => !s.response)), [],
      'requests without a final answer');
  });

  it('keeps secrets out of every log', () => {
    assertNoSecretsInLogs(logFiles, [stack.secrets.webhookSecret, stack.secrets.sandboxApiKey,
      stack.secrets.secretsKey, stack.key.slice(16), signingSecret.slice(6)]);
  });
});

