-- Events are written unnumbered in the transaction that causes them and numbered afterwards by
-- the event publisher (services/store/event_publisher.h), which also fans them out to
-- subscriptions.
-- why: numbering inside the causing transaction made every write of a tenant wait for the
-- tenant row lock until commit, so one tenant could never commit two changes at once. The
-- publisher numbers a whole batch per transaction under one advisory lock, so `sequence` stays
-- gap-free per tenant and becomes visible in order, and writers never wait for each other.

ALTER TABLE events ALTER COLUMN sequence DROP NOT NULL;

-- Insertion order of unnumbered events: two events of one transaction (or of one payment, whose
-- row lock orders its writers) are numbered in the order they were written. Events numbered
-- before this migration keep position NULL; nothing reads it once they have a sequence.
CREATE SEQUENCE events_position_seq;
ALTER TABLE events ADD COLUMN position bigint;
ALTER TABLE events ALTER COLUMN position SET DEFAULT nextval('events_position_seq');
ALTER SEQUENCE events_position_seq OWNED BY events.position;
CREATE INDEX events_unpublished ON events (position) WHERE sequence IS NULL;
