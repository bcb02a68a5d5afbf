// Shared by the chaos tests: explains requests that never got a final answer, from the
// database (read only), for the tests that every request is answered and settled.
import { attemptTrail, psqlRows, sqlString } from '../e2e/lib.mjs';

/**
 * One line per request of `entries` ({ reference, idem, attempts }): its answers, the state of
 * its Idempotency-Key and of its transaction, e.g.
 * "pg-51: 503x2 409x79; key running, locked 291 s more; transaction succeeded".
 */
export async function stuckRequests(stack, entries) {
  const out = [];
  for (const s of entries) {
    const [row] = await psqlRows(stack.db.url, 'SELECT k.state, ' +
      'coalesce(ceil(extract(epoch FROM k.locked_until - now()))::text, \'-\'), coalesce(t.status, \'none\') ' +
      'FROM idempotency_keys k LEFT JOIN transactions t ON t.id = k.transaction_id ' +
      `WHERE k.tenant_id = ${sqlString(stack.tenant)} AND k.key = ${sqlString(s.idem)}`);
    const key = row ? `key ${row[0]}, locked ${row[1]} s more; transaction ${row[2]}` : 'no key stored';
    out.push(`${s.reference}: ${attemptTrail(s.attempts)}; ${key}`);
  }
  return out;
}

/**
 * The tenant's transactions not in a final status, split into `known` (the sandbox provider
 * has the payment: webhook or janitor still to settle it) and `orphans` (stored, but the
 * provider never heard of it: only a retry or the janitor finishing it can settle it).
 */
export async function unsettledTransactions(stack) {
  const open = await psqlRows(stack.db.url, 'SELECT id FROM transactions WHERE tenant_id = ' +
    `${sqlString(stack.tenant)} AND status NOT IN ('succeeded', 'failed', 'canceled', 'paid', 'returned')`);
  const known = [];
  const orphans = [];
  for (const [id] of open) {
    const r = await fetch(`${stack.simUrl}/v1/payments?reference=${id}`,
      { headers: { Authorization: `Bearer ${stack.secrets.sandboxApiKey}` } });
    await r.arrayBuffer();
    (r.status === 404 ? orphans : known).push(id);
  }
  return { known, orphans };
}
