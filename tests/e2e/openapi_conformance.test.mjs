// Real answers of a real paymuxd (with paymux-sim) validated against schemas/openapi.yaml: every
// implemented route, its success statuses and its error statuses. A body that does not match the
// documented schema fails with Ajv's errors; a status the operation does not document fails too.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import fs from 'node:fs';
import path from 'node:path';

import {
  EXAMPLE_CONFIG, LOG_DIR, apiClient, collectionBody, eventually, freePort, payoutBody, psql, randomHex,
  run, startPaymuxd, startStack, waitHttp,
} from './lib.mjs';
import { OpenApi } from './openapi.mjs';

const openapi = new OpenApi();
const undocumentedFields = new Set();

describe('openapi conformance', { timeout: 240000 }, () => {
  let stack;
  let api;
  let key;
  const made = { collections: {}, payouts: {}, events: [] };

  /** Asserts the status, then that the answer conforms to the spec for that route and status. */
  function conforms(pathTemplate, method, res, status) {
    assert.equal(res.status, status, `${method} ${pathTemplate}: want ${status}, got ${res.status}: ${res.text}`);
    const { problems, undocumented } = openapi.check(pathTemplate, method, res);
    for (const u of undocumented) undocumentedFields.add(u.replace(/\/\d+(?=\/|$)/g, '/*'));
    if (problems.length) assert.fail(problems.join('\n\n'));
    return res.json;
  }

  async function expectError(pathTemplate, method, res, status, code) {
    const body = conforms(pathTemplate, method, res, status);
    assert.equal(body.error.code, code, res.text);
    return body;
  }

  before(async () => {
    stack = await startStack({ simArgs: ['--slow-ms', '1500'] });
    api = stack.api;
    key = stack.key;
  });

  after(async () => {
    await stack?.stop();
  });

  test('POST /v1/collections 201 in every outcome', async () => {
    const full = collectionBody('tok_success', {
      reference: 'oa-full',
      customer: { id: 'cus-7', email: 'a@example.com', name: 'Ada', country: 'DE' },
      description: 'Policy 42, November',
      metadata: { policy: '42' },
    });
    for (const [name, body] of [
      ['succeeded', full],
      ['failed', collectionBody('tok_decline', { reference: 'oa-decline' })],
      ['requires_action', collectionBody('tok_action', { reference: 'oa-action' })],
      ['processing', collectionBody('tok_async', { reference: 'oa-async' })],
      ['unknown', collectionBody('tok_unknown', { reference: 'oa-unknown' })],
      ['forced', collectionBody('tok_success', { reference: 'oa-forced', connector: 'sandbox-b', currency: 'GBP' })],
    ]) {
      const res = await api('POST', '/v1/collections', body, { key, idempotencyKey: `oa-${name}-${randomHex(4)}` });
      made.collections[name] = conforms('/v1/collections', 'POST', res, 201);
    }
    assert.equal(made.collections.succeeded.status, 'succeeded');
    assert.equal(made.collections.failed.status, 'failed');
    assert.equal(made.collections.requires_action.status, 'requires_action');

    // An idempotent replay conforms as well (Idempotent-Replayed: true).
    const idem = `oa-replay-${randomHex(4)}`;
    await api('POST', '/v1/collections', collectionBody('tok_success', { reference: 'oa-replay' }), { key, idempotencyKey: idem });
    const replay = await api('POST', '/v1/collections', collectionBody('tok_success', { reference: 'oa-replay' }), { key, idempotencyKey: idem });
    conforms('/v1/collections', 'POST', replay, 201);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
  });

  test('GET /v1/collections/{id} 200 and GET /v1/collections 200', async () => {
    for (const col of Object.values(made.collections)) {
      conforms('/v1/collections/{id}', 'GET', await api('GET', `/v1/collections/${col.id}`, null, { key }), 200);
    }
    const all = conforms('/v1/collections', 'GET', await api('GET', '/v1/collections?limit=100', null, { key }), 200);
    assert.ok(all.data.length >= Object.keys(made.collections).length);
    const page = conforms('/v1/collections', 'GET', await api('GET', '/v1/collections?limit=2', null, { key }), 200);
    assert.equal(page.has_more, true);
    conforms('/v1/collections', 'GET',
      await api('GET', `/v1/collections?limit=2&starting_after=${page.data[1].id}`, null, { key }), 200);
    const failed = conforms('/v1/collections', 'GET', await api('GET', '/v1/collections?status=failed', null, { key }), 200);
    assert.ok(failed.data.every((c) => c.status === 'failed'));
    conforms('/v1/collections', 'GET', await api('GET', '/v1/collections?reference=oa-full', null, { key }), 200);
    conforms('/v1/collections', 'GET', await api('GET', '/v1/collections?reference=none-such', null, { key }), 200);
  });

  test('POST /v1/payouts 201, GET /v1/payouts/{id} 200, GET /v1/payouts 200', async () => {
    for (const [name, body] of [
      ['paid', payoutBody('tok_success', { reference: 'oa-payout', metadata: { claim: '981' }, description: 'Claim 981' })],
      ['failed', payoutBody('tok_decline', { reference: 'oa-payout-decline' })],
      ['iban', {
        amount: 25000, currency: 'GBP', reference: 'oa-iban',
        beneficiary: { type: 'bank_account', name: 'Ada Lovelace', iban: 'GB33BUKB20201555555555' },
      }],
    ]) {
      const res = await api('POST', '/v1/payouts', body, { key, idempotencyKey: `oa-p-${name}-${randomHex(4)}` });
      made.payouts[name] = conforms('/v1/payouts', 'POST', res, 201);
    }
    for (const p of Object.values(made.payouts)) {
      conforms('/v1/payouts/{id}', 'GET', await api('GET', `/v1/payouts/${p.id}`, null, { key }), 200);
    }
    const list = conforms('/v1/payouts', 'GET', await api('GET', '/v1/payouts?limit=100', null, { key }), 200);
    assert.ok(list.data.length >= 3);
    conforms('/v1/payouts', 'GET', await api('GET', '/v1/payouts?status=paid&limit=1', null, { key }), 200);
  });

  test('GET /v1/events 200 (both orders, type filter) and GET /v1/events/{id} 200', async () => {
    // tok_async settles by webhook shortly; wait (bounded) so its later event exists too.
    const asyncId = made.collections.processing.id;
    for (let i = 0; i < 50; i++) {
      const r = await api('GET', `/v1/collections/${asyncId}`, null, { key });
      if (r.json?.status !== 'processing') break;
      await sleep(100);
    }
    const newest = conforms('/v1/events', 'GET', await api('GET', '/v1/events?limit=100', null, { key }), 200);
    assert.ok(newest.data.length >= 5, `events: ${newest.data.length}`);
    made.events = newest.data;
    const oldest = conforms('/v1/events', 'GET', await api('GET', '/v1/events?after_sequence=0&limit=3', null, { key }), 200);
    assert.equal(oldest.data[0].sequence, 1);
    conforms('/v1/events', 'GET', await api('GET', '/v1/events?type=collection.succeeded', null, { key }), 200);
    conforms('/v1/events', 'GET', await api('GET', `/v1/events?limit=1&starting_after=${newest.data[0].id}`, null, { key }), 200);
    const kinds = new Set();
    for (const ev of newest.data) {
      const key2 = `${ev.data.object.object}:${ev.type}`;
      if (kinds.has(key2)) continue;
      kinds.add(key2);
      conforms('/v1/events/{id}', 'GET', await api('GET', `/v1/events/${ev.id}`, null, { key }), 200);
    }
    assert.ok([...kinds].some((k) => k.startsWith('payout:')), `payout events seen: ${[...kinds]}`);
  });

  test('400: malformed JSON, missing, unknown and invalid fields, bad queries', async () => {
    const post = (p, body) => api('POST', p, body, { key });
    await expectError('/v1/collections', 'POST', await post('/v1/collections', '{"amount": 10'), 400, 'json_invalid');
    const { currency, ...noCurrency } = collectionBody();
    assert.ok(currency);
    const missing = await expectError('/v1/collections', 'POST', await post('/v1/collections', noCurrency), 400, 'parameter_missing');
    assert.equal(missing.error.param, 'currency');
    await expectError('/v1/collections', 'POST', await post('/v1/collections', { ...collectionBody(), surprise: 1 }), 400, 'parameter_unknown');
    await expectError('/v1/collections', 'POST', await post('/v1/collections', collectionBody('tok_success', { amount: 0 })), 400, 'parameter_invalid');
    await expectError('/v1/collections', 'POST', await post('/v1/collections', collectionBody('tok_success', { currency: 'ZZZ' })), 400, 'parameter_invalid');
    await expectError('/v1/payouts', 'POST', await post('/v1/payouts', { ...payoutBody(), beneficiary: undefined }), 400, 'parameter_missing');
    await expectError('/v1/collections', 'GET', await api('GET', '/v1/collections?limit=0', null, { key }), 400, 'parameter_invalid');
    await expectError('/v1/payouts', 'GET', await api('GET', '/v1/payouts?limit=101', null, { key }), 400, 'parameter_invalid');
    await expectError('/v1/events', 'GET', await api('GET', '/v1/events?after_sequence=abc', null, { key }), 400, 'parameter_invalid');
    await expectError('/v1/events', 'GET', await api('GET', '/v1/events?limit=x', null, { key }), 400, 'parameter_invalid');
  });

  test('401 on every authenticated route', async () => {
    const col = made.collections.succeeded.id;
    const pay = made.payouts.paid.id;
    const evt = made.events[0].id;
    const cases = [
      ['/v1/collections', 'POST', '/v1/collections', collectionBody()],
      ['/v1/collections', 'GET', '/v1/collections', null],
      ['/v1/collections/{id}', 'GET', `/v1/collections/${col}`, null],
      ['/v1/payouts', 'POST', '/v1/payouts', payoutBody()],
      ['/v1/payouts', 'GET', '/v1/payouts', null],
      ['/v1/payouts/{id}', 'GET', `/v1/payouts/${pay}`, null],
      ['/v1/events', 'GET', '/v1/events', null],
      ['/v1/events/{id}', 'GET', `/v1/events/${evt}`, null],
    ];
    for (const [tmpl, method, p, body] of cases) {
      await expectError(tmpl, method, await api(method, p, body, {}), 401, 'authentication_required');
      await expectError(tmpl, method, await api(method, p, body, { key: `pmx_test_${randomHex(16)}` }), 401, 'api_key_invalid');
    }
  });

  test('404 for unknown ids and another tenant\'s ids', async () => {
    await expectError('/v1/collections/{id}', 'GET', await api('GET', '/v1/collections/col_nonexistent0000', null, { key }), 404, 'resource_missing');
    await expectError('/v1/payouts/{id}', 'GET', await api('GET', '/v1/payouts/pay_nonexistent0000', null, { key }), 404, 'resource_missing');
    await expectError('/v1/events/{id}', 'GET', await api('GET', '/v1/events/evt_nonexistent0000', null, { key }), 404, 'resource_missing');
    // A collection id asked for as a payout.
    await expectError('/v1/payouts/{id}', 'GET', await api('GET', `/v1/payouts/${made.collections.succeeded.id}`, null, { key }), 404, 'resource_missing');
  });

  test('409 while the same Idempotency-Key is still running', async () => {
    const idem = `oa-409-${randomHex(4)}`;
    const body = collectionBody('tok_slow', { reference: 'oa-409' });
    const first = api('POST', '/v1/collections', body, { key, idempotencyKey: idem, timeoutMs: 30000 });
    await sleep(300);
    const second = await api('POST', '/v1/collections', body, { key, idempotencyKey: idem });
    await expectError('/v1/collections', 'POST', second, 409, 'idempotency_key_in_use');
    conforms('/v1/collections', 'POST', await first, 201);
  });

  test('413 over the body limit and 415 for a non-JSON body', async () => {
    const big = JSON.stringify({ ...collectionBody(), description: 'x'.repeat(70 * 1024) });
    await expectError('/v1/collections', 'POST', await api('POST', '/v1/collections', big, { key }), 413, 'body_too_large');
    const text = await api('POST', '/v1/collections', JSON.stringify(collectionBody()),
      { key, headers: { 'Content-Type': 'text/plain' } });
    await expectError('/v1/collections', 'POST', text, 415, 'content_type_unsupported');
    const form = await api('POST', '/v1/payouts', 'amount=1', { key, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    await expectError('/v1/payouts', 'POST', form, 415, 'content_type_unsupported');
  });

  test('422: Idempotency-Key reused with another body, and no route', async () => {
    const idem = `oa-422-${randomHex(4)}`;
    conforms('/v1/collections', 'POST', await api('POST', '/v1/collections', collectionBody('tok_success', { amount: 500 }), { key, idempotencyKey: idem }), 201);
    await expectError('/v1/collections', 'POST',
      await api('POST', '/v1/collections', collectionBody('tok_success', { amount: 501 }), { key, idempotencyKey: idem }), 422, 'idempotency_key_reused');
    // example.yaml routes collections in EUR, GBP and USD only; CHF is a known currency.
    await expectError('/v1/collections', 'POST',
      await api('POST', '/v1/collections', collectionBody('tok_success', { currency: 'CHF' }), { key }), 422, 'no_route');
    await expectError('/v1/payouts', 'POST',
      await api('POST', '/v1/payouts', payoutBody('tok_success', { currency: 'CHF' }), { key }), 422, 'no_route');
  });

  // todo while schemas/openapi.yaml lacks the code: ErrorCode has no `service_unavailable`, which
  // paymux answers (503, type api_error) when no database connection is free or PostgreSQL is
  // down. The test runs and shows its result; it does not fail the run until the spec agrees.
  test('503 with Retry-After when the database pool is exhausted', {
    todo: 'openapi.yaml ErrorCode lacks service_unavailable (paymux 503 answers)',
  }, async () => {
    // A second paymuxd with a single pool connection and a short acquire timeout.
    const config = path.join(LOG_DIR, `pool1-config-${process.pid}.yaml`);
    const text = fs.readFileSync(EXAMPLE_CONFIG, 'utf8');
    const small = text.replace(/^(\s*pool:\s*)\d+/m, '$11').replace(/^(\s*acquire_timeout_ms:\s*)\d+/m, '$1300');
    assert.notEqual(small, text);
    fs.writeFileSync(config, small);
    const port = await freePort();
    const proc = startPaymuxd({ ...stack, config }, port, { name: 'paymuxd-pool1' });
    const base = `http://127.0.0.1:${port}`;
    await waitHttp(`${base}/readyz`, { proc, timeoutMs: 60000 });
    const api1 = apiClient(base);
    try {
      // Hold an exclusive lock on api_keys for 3 s: the first request's authentication waits on it
      // while holding the only pool connection.
      const locker = run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', stack.db.url, '-c',
        'BEGIN; LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(3); COMMIT;'], { timeoutMs: 30000 });
      await eventually(async () => Number(await psql(stack.db.url,
        "SELECT count(*) FROM pg_locks WHERE relation = 'api_keys'::regclass AND granted AND mode = 'AccessExclusiveLock'")) === 1,
      { timeoutMs: 10000, what: 'the lock is taken' });
      const stuck = api1('GET', '/v1/collections', null, { key, timeoutMs: 15000 });
      await eventually(async () => Number(await psql(stack.db.url,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")) >= 1,
      { timeoutMs: 10000, what: 'the first request waits on the lock' });
      const started = Date.now();
      const busy = await api1('GET', '/v1/collections', null, { key, timeoutMs: 5000 });
      assert.ok(Date.now() - started < 2000, 'a busy pool answers within the acquire timeout + margin');
      assert.ok(busy.headers.get('retry-after'), 'Retry-After is set');
      await expectError('/v1/collections', 'GET', busy, 503, 'service_unavailable');
      assert.equal((await stuck).status, 200);
      assert.equal((await locker).code, 0);
    } finally {
      await proc.stop();
    }
  });

  test('the validator is not vacuous: wrong bodies, statuses and headers are caught', async () => {
    const res = await api('GET', `/v1/collections/${made.collections.succeeded.id}`, null, { key });
    const good = openapi.check('/v1/collections/{id}', 'GET', res);
    assert.deepEqual(good.problems, []);
    const mutate = (change) => {
      const json = structuredClone(res.json);
      change(json);
      return { ...res, json, text: JSON.stringify(json) };
    };
    for (const [what, change, want] of [
      ['amount as a string', (j) => { j.amount = '1000'; }, '/amount'],
      ['unknown status', (j) => { j.status = 'paid'; }, '/status'],
      ['missing id', (j) => { delete j.id; }, 'id'],
      ['bad timestamp', (j) => { j.created_at = 'yesterday'; }, '/created_at'],
      ['bad attempt', (j) => { j.attempts[0].latency_ms = -1; }, '/attempts/0/latency_ms'],
    ]) {
      const { problems } = openapi.check('/v1/collections/{id}', 'GET', mutate(change));
      assert.equal(problems.length, 1, `${what} must be caught`);
      assert.ok(problems[0].includes(want), `${what}: ${problems[0]}`);
    }
    const event = await api('GET', `/v1/events/${made.events[0].id}`, null, { key });
    const badEvent = structuredClone(event.json);
    badEvent.data.object.amount = -5;
    assert.equal(openapi.check('/v1/events/{id}', 'GET', { ...event, json: badEvent }).problems.length, 1,
      'a bad transaction inside an event must be caught');
    assert.equal(openapi.check('/v1/collections/{id}', 'GET', { ...res, status: 418 }).problems.length, 1,
      'an undocumented status must be caught');
    const noId = new Headers(res.headers);
    noId.delete('x-request-id');
    assert.equal(openapi.check('/v1/collections/{id}', 'GET', { ...res, headers: noId }).problems.length, 1,
      'a missing X-Request-Id must be caught');
  });

  test('GET /healthz 200 and GET /readyz 200', async () => {
    conforms('/healthz', 'GET', await api('GET', '/healthz'), 200);
    conforms('/readyz', 'GET', await api('GET', '/readyz'), 200);
  });

  test('report: response fields the spec does not document (informational)', (t) => {
    if (undocumentedFields.size === 0) {
      t.diagnostic('every response field is documented in schemas/openapi.yaml');
    }
    for (const f of [...undocumentedFields].sort()) t.diagnostic(`undocumented field: ${f}`);
  });
});
