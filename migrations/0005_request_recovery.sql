-- What a worker or a retry needs to finish a request whose api process died after storing its
-- transaction (services/engine/payments.h, PaymentService::complete): the Idempotency-Key it
-- came with, to take over that key's lease and store the final answer under it.
ALTER TABLE transactions ADD COLUMN idempotency_key text;
