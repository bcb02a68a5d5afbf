-- Rows written on every request no longer reference tenants by foreign key.
-- why: a foreign key check takes FOR KEY SHARE on the referenced row. Every insert into these
-- tables references its tenant's row, so concurrent requests of one tenant kept turning that
-- one row's lock into a growing MultiXact; maintaining and reading it doubled PostgreSQL's
-- CPU per payment in the benchmark (bench/run). tenant_id here always comes from an
-- authenticated API key (api_keys keeps its foreign key), and tenants are never deleted.
ALTER TABLE transactions DROP CONSTRAINT transactions_tenant_id_fkey;
ALTER TABLE events DROP CONSTRAINT events_tenant_id_fkey;
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_tenant_id_fkey;
