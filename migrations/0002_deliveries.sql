-- Subscriptions and deliveries (issue 6): what the dispatcher and the subscriptions API need
-- beyond 0001.

-- why: "every attempt failing for disable_after_s" is measured from the first failure after the
-- last success; one timestamp per subscription answers it without scanning attempts.
ALTER TABLE subscriptions
  ADD COLUMN failing_since   timestamptz,
  ADD COLUMN disabled_reason text;
CREATE INDEX subscriptions_list ON subscriptions (tenant_id, created_at DESC, id DESC)
  WHERE deleted_at IS NULL;

-- why: a worker whose lease expired (it looked dead) must not overwrite the outcome recorded by
-- the worker that claimed the delivery after it; each claim gets its own token.
ALTER TABLE deliveries ADD COLUMN lease_token text;
CREATE INDEX deliveries_subscription ON deliveries (subscription_id, state);
CREATE INDEX deliveries_event ON deliveries (event_id);

-- Public attempt ids (dla_..., random like every public id), the attempt number, when the next
-- attempt was scheduled, and the subscription for newest-first listing.
ALTER TABLE delivery_attempts
  ADD COLUMN public_id       text,
  ADD COLUMN subscription_id text REFERENCES subscriptions(id),
  ADD COLUMN attempt         integer,
  ADD COLUMN next_retry_at   timestamptz;
CREATE UNIQUE INDEX delivery_attempts_public_id ON delivery_attempts (public_id);
CREATE INDEX delivery_attempts_subscription ON delivery_attempts (subscription_id, id DESC);
