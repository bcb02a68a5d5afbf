// Provider webhooks end to end with the providers' OFFICIAL libraries as the signing peer:
// `stripe` (generateTestHeaderString) and `@adyen/api-library` (hmacValidator). Also: two
// paymuxd processes on one database receive the same provider events concurrently, and each is
// applied exactly once. Real processes: paymuxd, paymux-sim (sandbox, stripe, adyen), PostgreSQL.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import {
  Proc, SIM, collectionBody, eventually, freePort, randomHex, requirePackage, startPaymuxd,
  startStack, waitHttp, apiClient,
} from './lib.mjs';

const Stripe = requirePackage('stripe');
const { hmacValidator: HmacValidator } = requirePackage('@adyen/api-library');

const stripeSecret = `whsec_${randomHex(16)}`;
const adyenKey = randomHex(32).toUpperCase();
let stack;
let stripeUrl;
let adyenUrl;
let paypalUrl;
const gcSecret = `gc_${randomHex(16)}`;

async function startSim(provider, port, extraArgs = []) {
  const proc = new Proc(`sim-${provider}`, SIM,
    ['--provider', provider, '--listen', `127.0.0.1:${port}`, ...extraArgs]);
  stack.procs.push(proc);
  await waitHttp(`http://127.0.0.1:${port}/health`, { proc });
  return `http://127.0.0.1:${port}`;
}

before(async () => {
  const stripePort = await freePort();
  const adyenPort = await freePort([stripePort]);
  const paypalPort = await freePort([stripePort, adyenPort]);
  const gcPort = await freePort([stripePort, adyenPort, paypalPort]);
  stack = await startStack({
    simArgs: ['--async-ms', '600000'],
    env: {
      PAYMUX_STRIPE_URL: `http://127.0.0.1:${stripePort}`,
      PAYMUX_ADYEN_URL: `http://127.0.0.1:${adyenPort}`,
      STRIPE_WEBHOOK_SECRET: stripeSecret,
      ADYEN_HMAC_KEY: adyenKey,
      PAYMUX_PAYPAL_URL: `http://127.0.0.1:${paypalPort}`,
      PAYMUX_GOCARDLESS_URL: `http://127.0.0.1:${gcPort}`,
      GOCARDLESS_WEBHOOK_SECRET: gcSecret,
    },
  });
  // Provider simulators answer the API calls; webhooks are signed here by the official libraries.
  stripeUrl = await startSim('stripe', stripePort, ['--async-ms', '600000']);
  adyenUrl = await startSim('adyen', adyenPort, ['--async-ms', '600000']);
  // PayPal signs its webhooks itself (RSA, certificate served by the simulator) and sends them
  // to paymux; GoCardless batches are signed below with the provider's HMAC scheme.
  paypalUrl = await startSim('paypal', paypalPort, ['--webhook-url', `${stack.baseUrl}/webhooks/paypal-main`]);
  await startSim('gocardless', gcPort, ['--async-ms', '600000']);
});

after(async () => {
  await stack?.stop();
});

async function createCollection(body) {
  const r = await stack.api('POST', '/v1/collections', body, { key: stack.key });
  assert.equal(r.status, 201, r.text);
  return r.json;
}

async function statusOf(id) {
  return (await stack.api('GET', `/v1/collections/${id}`, null, { key: stack.key })).json.status;
}

describe('Stripe webhooks signed by the official stripe library', () => {
  const stripe = new Stripe('sk_test_unused');
  let collection;
  let payload;

  before(async () => {
    collection = await createCollection(collectionBody('tok_async', { currency: 'GBP', amount: 4200 }));
    assert.equal(collection.connector, 'stripe-eu');
    assert.equal(collection.status, 'processing');
    payload = JSON.stringify({
      id: `evt_${randomHex(12)}`,
      object: 'event',
      api_version: '2024-06-20',
      created: Math.floor(Date.now() / 1000),
      type: 'payment_intent.succeeded',
      data: {
        object: {
          id: collection.provider_reference,
          object: 'payment_intent',
          amount: 4200,
          currency: 'gbp',
          status: 'succeeded',
          metadata: { paymux_id: collection.id },
        },
      },
    });
  });

  it('rejects an altered copy with 401 and changes nothing', async () => {
    const header = stripe.webhooks.generateTestHeaderString({ payload, secret: stripeSecret });
    const altered = payload.replace('"amount":4200', '"amount":4201');
    const r = await stack.api('POST', '/webhooks/stripe-eu', altered,
      { headers: { 'Stripe-Signature': header } });
    assert.equal(r.status, 401, r.text);
    assert.equal(await statusOf(collection.id), 'processing');
  });

  it('rejects a signature older than the tolerance with 401', async () => {
    const header = stripe.webhooks.generateTestHeaderString({
      payload, secret: stripeSecret, timestamp: Math.floor(Date.now() / 1000) - 3600,
    });
    const r = await stack.api('POST', '/webhooks/stripe-eu', payload,
      { headers: { 'Stripe-Signature': header } });
    assert.equal(r.status, 401, r.text);
  });

  it('rejects a signature made with another secret with 401', async () => {
    const header = stripe.webhooks.generateTestHeaderString({ payload, secret: 'whsec_other' });
    const r = await stack.api('POST', '/webhooks/stripe-eu', payload,
      { headers: { 'Stripe-Signature': header } });
    assert.equal(r.status, 401, r.text);
  });

  it('accepts the genuine event, applies it once, and acknowledges a replay', async () => {
    const header = stripe.webhooks.generateTestHeaderString({ payload, secret: stripeSecret });
    for (let i = 0; i < 2; i += 1) {
      const r = await stack.api('POST', '/webhooks/stripe-eu', payload,
        { headers: { 'Stripe-Signature': header } });
      assert.equal(r.status, 200, r.text);
    }
    assert.equal(await statusOf(collection.id), 'succeeded');
    const events = await stack.api('GET', '/v1/events?limit=100&type=collection.succeeded', null,
      { key: stack.key });
    const mine = events.json.data.filter((e) => e.data.object.id === collection.id);
    assert.equal(mine.length, 1);
  });
});

describe('Adyen notifications signed by the official @adyen/api-library', () => {
  const validator = new HmacValidator();
  let collection;
  let item;

  function body(notificationItem) {
    return JSON.stringify({ live: 'false', notificationItems: [{ NotificationRequestItem: notificationItem }] });
  }

  before(async () => {
    collection = await createCollection(collectionBody('tok_async', { currency: 'USD', amount: 1500 }));
    assert.equal(collection.connector, 'adyen-eu');
    assert.equal(collection.status, 'processing');
    item = {
      pspReference: collection.provider_reference,
      merchantAccountCode: 'PaymuxLocal',
      merchantReference: collection.id,
      amount: { value: 1500, currency: 'USD' },
      eventCode: 'AUTHORISATION',
      success: 'true',
      eventDate: new Date().toISOString(),
    };
    item.additionalData = { hmacSignature: validator.calculateHmac(item, adyenKey) };
    assert.ok(validator.validateHMAC(item, adyenKey), 'the library verifies its own signature');
  });

  it('rejects an altered copy with 401', async () => {
    const altered = { ...item, amount: { value: 1, currency: 'USD' } };
    const r = await stack.api('POST', '/webhooks/adyen-eu', body(altered));
    assert.equal(r.status, 401, r.text);
    assert.equal(await statusOf(collection.id), 'processing');
  });

  it('accepts the genuine notification with [accepted] and settles the collection', async () => {
    const r = await stack.api('POST', '/webhooks/adyen-eu', body(item));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.text, '[accepted]');
    assert.equal(await statusOf(collection.id), 'succeeded');
  });
});

describe('two paymuxd processes on one database', () => {
  it('apply each provider event exactly once when both receive it concurrently', async () => {
    const port2 = await freePort();
    const second = startPaymuxd(stack, port2, { name: 'paymuxd-2' });
    await waitHttp(`http://127.0.0.1:${port2}/readyz`, { proc: second, timeoutMs: 60000 });
    const api2 = apiClient(`http://127.0.0.1:${port2}`);
    const created = [];
    for (let i = 0; i < 12; i += 1) {
      created.push(await createCollection(collectionBody('tok_async', { amount: 700 + i })));
    }
    const hooks = [];
    for (const c of created) {
      const r = await fetch(`${stack.simUrl}/sim/webhooks`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ payment_id: c.provider_reference, status: 'succeeded', deliver: 'false' }),
      });
      hooks.push(await r.json());
    }
    const sends = [];
    for (const h of hooks) {
      for (const api of [stack.api, api2, stack.api, api2]) {
        sends.push(api('POST', '/webhooks/sandbox-a', h.body,
          { headers: { 'Sandbox-Signature': h.signature } }));
      }
    }
    const results = await Promise.all(sends);
    assert.deepEqual([...new Set(results.map((r) => r.status))], [200]);
    for (const c of created) {
      assert.equal(await statusOf(c.id), 'succeeded');
    }
    const events = await eventually(async () => {
      const r = await stack.api('GET', '/v1/events?limit=100&type=collection.succeeded', null,
        { key: stack.key });
      return r.json;
    }, { what: 'events list' });
    for (const c of created) {
      const n = events.data.filter((e) => e.data.object.id === c.id).length;
      assert.equal(n, 1, `collection ${c.id} has ${n} succeeded events`);
    }
  });
});

describe('PayPal: order, approval webhook, capture', () => {
  it('settles the collection as succeeded after the payer approves', async () => {
    const c = await createCollection({
      amount: 2599, currency: 'EUR', reference: 'paypal-e2e', payment_method: { type: 'paypal', token: 'tok_success' },
    });
    assert.equal(c.connector, 'paypal-main');
    assert.equal(c.status, 'requires_action');
    assert.match(c.next_action.url, /checkoutnow/);
    const approve = await fetch(`${paypalUrl}/sim/approve`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ order_id: c.provider_reference }),
    });
    assert.equal(approve.status, 200);
    // The simulator sends CHECKOUT.ORDER.APPROVED (RSA-signed); paymux verifies it with the
    // certificate it fetches, captures the order, and settles on the capture's status.
    await eventually(async () => (await statusOf(c.id)) === 'succeeded',
      { timeoutMs: 15000, what: 'PayPal collection succeeded' });
    const events = await stack.api('GET', '/v1/events?limit=100', null, { key: stack.key });
    const types = events.json.data.filter((e) => e.data.object.id === c.id).map((e) => e.type);
    // requires_action, then processing (approved), then succeeded (captured): one event each.
    assert.deepEqual(types.sort(), ['collection.processing', 'collection.requires_action', 'collection.succeeded']);
  });
});

describe('GoCardless batched webhooks', () => {
  function signed(events) {
    const body = JSON.stringify({ events });
    return { body, signature: createHmac('sha256', gcSecret).update(body).digest('hex') };
  }
  function event(id, action, c) {
    return {
      id, created_at: new Date().toISOString(), resource_type: 'payments', action,
      links: { payment: c.provider_reference }, details: { origin: 'gocardless', cause: action },
      resource_metadata: { paymux_id: c.id },
    };
  }

  it('applies the new event of a batch and ignores the one already seen', async () => {
    const c = await createCollection({
      amount: 5000, currency: 'EUR', reference: 'gc-e2e', payment_method: { type: 'sepa_debit', mandate: 'tok_success' },
    });
    assert.equal(c.connector, 'gocardless-eu');
    const a = event(`EV${randomHex(6)}`, 'confirmed', c);
    const first = signed([a]);
    let r = await stack.api('POST', '/webhooks/gocardless-eu', first.body,
      { headers: { 'Webhook-Signature': first.signature } });
    assert.equal(r.status, 200, r.text);
    assert.equal(await statusOf(c.id), 'succeeded');
    // A redelivery of A together with a new chargeback B: only B changes anything.
    const batch = signed([a, event(`EV${randomHex(6)}`, 'charged_back', c)]);
    r = await stack.api('POST', '/webhooks/gocardless-eu', batch.body,
      { headers: { 'Webhook-Signature': batch.signature } });
    assert.equal(r.status, 200, r.text);
    assert.equal(await statusOf(c.id), 'failed');
    const tampered = signed([event(`EV${randomHex(6)}`, 'paid_out', c)]);
    r = await stack.api('POST', '/webhooks/gocardless-eu', tampered.body.replace('paid_out', 'confirmed'),
      { headers: { 'Webhook-Signature': tampered.signature } });
    assert.equal(r.status, 401, r.text);
    const events = await stack.api('GET', '/v1/events?limit=100', null, { key: stack.key });
    const types = events.json.data.filter((e) => e.data.object.id === c.id).map((e) => e.type).sort();
    assert.deepEqual(types, ['collection.failed', 'collection.processing', 'collection.succeeded']);
    const tx = (await stack.api('GET', `/v1/collections/${c.id}`, null, { key: stack.key })).json;
    assert.equal(tx.provider_events.count, 2);
    assert.equal(tx.failure.code, 'charged_back');
  });
});
