-- What each relay did during one publish: one row written when the relay
-- ends (publish over, relay removed, disabled or changed).  session_id is
-- the publish's row in sessions; not a foreign key, like sessions.key_name.
-- A supervisor killed with -9 writes no row for the relays it had.

CREATE TABLE relay_sessions (
	session_id	TEXT NOT NULL,
	relay		TEXT NOT NULL,
	started_at	INTEGER NOT NULL,		-- unix seconds
	ended_at	INTEGER NOT NULL,
	bytes_out	INTEGER NOT NULL,
	packets_out	INTEGER NOT NULL,
	dropped		INTEGER NOT NULL,		-- budget and worker drops
	reconnects	INTEGER NOT NULL,
	restarts	INTEGER NOT NULL,		-- workers after the first
	last_error	TEXT NOT NULL DEFAULT ''	-- masked
);

CREATE INDEX relay_sessions_session ON relay_sessions (session_id);
