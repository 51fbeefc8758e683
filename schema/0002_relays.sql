-- Relays added with `mirroring relay add`.  YAML relays stay in the YAML
-- and are never copied here.  stream is a key's name; not a foreign key,
-- so a stream key leaving the YAML for a while does not take its CLI
-- relays with it.

CREATE TABLE relays (
	stream		TEXT NOT NULL,
	name		TEXT NOT NULL,
	-- url may hold a destination key: mask it for display.
	url		TEXT NOT NULL,
	profile		TEXT NOT NULL DEFAULT 'copy',
	enabled		INTEGER NOT NULL CHECK (enabled IN (0, 1)),
	created_at	INTEGER NOT NULL,		-- unix seconds
	PRIMARY KEY (stream, name)
);
