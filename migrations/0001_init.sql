-- paymux data model (DESIGN.md). Money is integer minor units + ISO 4217 code.

CREATE TABLE tenants (
  id             text PRIMARY KEY,
  name           text NOT NULL,
  -- why: the per-tenant event counter lives on the tenant row; taking its row lock last in a
  -- transaction makes sequences gap-free and commit-ordered per tenant.
  event_sequence bigint NOT NULL DEFAULT 0,
  created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
  id         text PRIMARY KEY,
  tenant_id  text NOT NULL REFERENCES tenants(id),
  prefix     text NOT NULL,
  key_hash   bytea NOT NULL,
  mode       text NOT NULL CHECK (mode IN ('test', 'live')),
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);
CREATE INDEX api_keys_prefix ON api_keys (prefix);

CREATE TABLE transactions (
  id              text PRIMARY KEY,
  tenant_id       text NOT NULL REFERENCES tenants(id),
  kind            text NOT NULL CHECK (kind IN ('collect', 'payout')),
  status          text NOT NULL,
  amount_minor    bigint NOT NULL CHECK (amount_minor > 0),
  currency        text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  reference       text NOT NULL,
  description     text,
  connector_id    text,
  provider_ref    text,
  failure_code    text,
  failure_message text,
  next_action_url text,
  party           jsonb NOT NULL DEFAULT '{}',
  metadata        jsonb NOT NULL DEFAULT '{}',
  version         integer NOT NULL DEFAULT 1,
  created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  next_check_at   timestamptz,
  check_count     integer NOT NULL DEFAULT 0,
  UNIQUE (connector_id, provider_ref)
);
CREATE INDEX transactions_list ON transactions (tenant_id, kind, created_at DESC, id DESC);
CREATE INDEX transactions_reference ON transactions (tenant_id, kind, reference);
CREATE INDEX transactions_due_check ON transactions (next_check_at)
  WHERE status IN ('pending', 'processing', 'requires_action', 'in_transit');

CREATE TABLE attempts (
  id             bigserial PRIMARY KEY,
  transaction_id text NOT NULL REFERENCES transactions(id),
  connector_id   text NOT NULL,
  outcome        text NOT NULL,
  error_code     text,
  http_status    integer,
  latency_ms     integer NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX attempts_transaction ON attempts (transaction_id, id);

CREATE TABLE idempotency_keys (
  tenant_id       text NOT NULL REFERENCES tenants(id),
  key             text NOT NULL,
  request_hash    text NOT NULL,
  state           text NOT NULL CHECK (state IN ('running', 'done')),
  locked_until    timestamptz,
  response_status integer,
  response_body   text,
  transaction_id  text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  expires_at      timestamptz NOT NULL DEFAULT now() + interval '24 hours',
  PRIMARY KEY (tenant_id, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

CREATE TABLE events (
  id             text PRIMARY KEY,
  tenant_id      text NOT NULL REFERENCES tenants(id),
  sequence       bigint NOT NULL,
  type           text NOT NULL,
  transaction_id text REFERENCES transactions(id),
  body           text NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, sequence)
);
CREATE INDEX events_type ON events (tenant_id, type, sequence);

CREATE TABLE provider_events (
  id                bigserial PRIMARY KEY,
  connector_id      text NOT NULL,
  provider_event_id text NOT NULL,
  event_type        text,
  provider_ref      text,
  transaction_id    text REFERENCES transactions(id),
  status            text,
  outcome           text NOT NULL CHECK (outcome IN
                      ('received', 'applied', 'duplicate', 'stale', 'unmatched', 'discrepancy', 'ignored')),
  raw_body          text NOT NULL,
  headers           jsonb NOT NULL DEFAULT '{}',
  received_at       timestamptz NOT NULL DEFAULT now(),
  processed_at      timestamptz,
  next_retry_at     timestamptz,
  UNIQUE (connector_id, provider_event_id)
);
CREATE INDEX provider_events_transaction ON provider_events (transaction_id);
CREATE INDEX provider_events_unmatched ON provider_events (next_retry_at) WHERE outcome = 'unmatched';

CREATE TABLE discrepancies (
  id                bigserial PRIMARY KEY,
  transaction_id    text REFERENCES transactions(id),
  provider_event_id bigint REFERENCES provider_events(id),
  kind              text NOT NULL,
  detail            text NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  resolved_at       timestamptz,
  resolution_note   text
);

CREATE TABLE subscriptions (
  id          text PRIMARY KEY,
  tenant_id   text NOT NULL REFERENCES tenants(id),
  url         text NOT NULL,
  event_types text[] NOT NULL DEFAULT '{}',
  description text,
  enabled     boolean NOT NULL DEFAULT true,
  secrets     jsonb NOT NULL DEFAULT '[]',
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  deleted_at  timestamptz
);
CREATE INDEX subscriptions_tenant ON subscriptions (tenant_id) WHERE deleted_at IS NULL;

CREATE TABLE deliveries (
  id              bigserial PRIMARY KEY,
  subscription_id text NOT NULL REFERENCES subscriptions(id),
  event_id        text NOT NULL REFERENCES events(id),
  state           text NOT NULL CHECK (state IN ('pending', 'delivered', 'failed', 'canceled')),
  attempt_count   integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  leased_until    timestamptz,
  last_status     integer,
  last_error      text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  delivered_at    timestamptz,
  UNIQUE (subscription_id, event_id)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';

CREATE TABLE delivery_attempts (
  id            bigserial PRIMARY KEY,
  delivery_id   bigint NOT NULL REFERENCES deliveries(id),
  attempted_at  timestamptz NOT NULL DEFAULT now(),
  status_code   integer,
  latency_ms    integer,
  response_body text,
  error         text
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, id);
