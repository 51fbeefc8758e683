-- Stream keys and the publish history.  Keys come from the YAML (source
-- 'file', rewritten by every sync) or from `mirroring key add` ('cli').

CREATE TABLE keys (
	name		TEXT PRIMARY KEY,
	key		TEXT NOT NULL UNIQUE,
	note		TEXT NOT NULL DEFAULT '',
	enabled		INTEGER NOT NULL CHECK (enabled IN (0, 1)),
	source		TEXT NOT NULL CHECK (source IN ('file', 'cli')),
	-- What the YAML declared for `enabled` at the last sync, NULL for CLI
	-- keys: the YAML overrides `enabled` only when this changes.
	file_enabled	INTEGER CHECK (file_enabled IN (0, 1)),
	created_at	INTEGER NOT NULL,		-- unix seconds
	last_active_at	INTEGER				-- NULL = never
);

-- One row per publish.  key_name is not a foreign key: the history
-- outlives a removed key.
CREATE TABLE sessions (
	id		TEXT PRIMARY KEY,
	key_name	TEXT NOT NULL,
	started_at	INTEGER NOT NULL,
	ended_at	INTEGER,			-- NULL while live
	client_addr	TEXT NOT NULL,
	bytes_in	INTEGER NOT NULL DEFAULT 0,
	end_reason	TEXT
);

CREATE INDEX sessions_key_started ON sessions (key_name, started_at);
