-- Events are written unnumbered and numbered by the publisher a few milliseconds later (0003).
-- The two indexes on `sequence` took an entry for the NULL first and another once numbered;
-- every query that uses them reads numbered events only (`sequence` compared to a cursor, or
-- `sequence IS NOT NULL`), so they index numbered events only: two index writes fewer per event.
-- Builds both indexes under a write lock on events: on a large table, run it in a quiet period.
ALTER TABLE events DROP CONSTRAINT events_tenant_id_sequence_key;
CREATE UNIQUE INDEX events_tenant_sequence ON events (tenant_id, sequence)
  WHERE sequence IS NOT NULL;
DROP INDEX events_type;
CREATE INDEX events_type ON events (tenant_id, type, sequence) WHERE sequence IS NOT NULL;
