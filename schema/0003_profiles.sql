-- Transcoding profiles added with `mirroring profile add`: a name and its
-- settings as written on the command line, a YAML flow mapping such as
-- { video: { codec: libx264, height: 480 }, audio: copy }, parsed by
-- config/ like an entry of the YAML's profiles: section (from: presets
-- included).  YAML profiles and the presets are never copied here; a name
-- the YAML or a preset uses is refused, so a relay's profile means one
-- thing.  Only CLI relays (the relays table) may name these.

CREATE TABLE profiles (
	name		TEXT PRIMARY KEY NOT NULL,
	spec		TEXT NOT NULL,
	created_at	INTEGER NOT NULL		-- unix seconds
);
