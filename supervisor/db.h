/*
 * The SQLite state: stream keys, CLI relays and the publish history.
 * Only this file pair knows SQLite.  The CLI opens it with a busy
 * timeout and writes at once; the supervisor opens it with no busy
 * timeout and queues its writes (db_session_*, db_key_touch), flushed by
 * db_flush from a timer, so the event loop never waits on a lock held by
 * a CLI.
 */
#ifndef DB_H
#define DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cfg;
struct db;

#define DB_FILE		"mirroring.db"
#define DB_ERR_MAX	256

enum db_source {
	DB_SRC_FILE,		/* declared in the YAML; synced on start/reload */
	DB_SRC_CLI,		/* added with `mirroring key add` */
};

struct db_key {
	char		*name;		/* the stream's name */
	char		*key;		/* the secret; mask before showing */
	char		*note;		/* "" when none */
	bool		 enabled;
	enum db_source	 source;
	int64_t		 created_s;	/* unix seconds */
	int64_t		 last_active_s;	/* 0 = never */
};

/*
 * Opens (creating state_dir 0700 and the file 0600 when missing)
 * state_dir/mirroring.db, sets WAL and busy_timeout_ms, applies pending
 * migrations in one transaction.  NULL with err filled on failure.
 */
struct db	*db_open(const char *state_dir, int busy_timeout_ms,
		    char *err, size_t errlen);
/* The supervisor starts with a timeout (it may wait before it serves)
 * and sets 0 once it serves. */
void		 db_set_busy_timeout(struct db *, int busy_timeout_ms);
/* Flushes what it can of the write queue (waiting up to busy_timeout_ms
 * given here), then closes.  NULL is a no-op. */
void		 db_close(struct db *, int busy_timeout_ms);

/*
 * Makes the file-sourced keys match cfg->streams: adds new ones, updates
 * key and note, removes file keys no longer declared.  `enabled` follows
 * the YAML only when the key is new or its declared value changed since
 * the last sync, so `mirroring key disable` on a file key holds until the
 * YAML itself changes.  A CLI key with a name now declared in the YAML
 * becomes a file key.  One transaction.  0 or -1 with err.
 */
int		 db_sync_file_keys(struct db *, const struct cfg *,
		    char *err, size_t errlen);

/* All keys, by name.  *out is an array freed with db_keys_free. */
int		 db_keys_load(struct db *, struct db_key **out, size_t *n,
		    char *err, size_t errlen);
void		 db_keys_free(struct db_key *, size_t);

/* CLI edits; each 0, or -1 with err ("no key named x", "declared in
 * mirroring.yaml: change it there", "name taken", "key already used"). */
int		 db_key_add(struct db *, const char *name, const char *key,
		    const char *note, bool enabled, char *err, size_t errlen);
int		 db_key_set_enabled(struct db *, const char *name, bool,
		    char *err, size_t errlen);
int		 db_key_set_key(struct db *, const char *name, const char *key,
		    char *err, size_t errlen);
int		 db_key_rm(struct db *, const char *name, char *err,
		    size_t errlen);

/* A relay added with `mirroring relay add`; YAML relays are not here. */
struct db_relay {
	char		*stream;	/* a key's name */
	char		*name;
	char		*url;		/* may hold a destination key; mask */
	char		*profile;
	bool		 enabled;
	int64_t		 created_s;	/* unix seconds */
};

/* The CLI relays of stream (all when NULL), by stream then name.  *out
 * is an array freed with db_relays_free. */
int		 db_relays_load(struct db *, const char *stream,
		    struct db_relay **out, size_t *n, char *err,
		    size_t errlen);
void		 db_relays_free(struct db_relay *, size_t);
/* CLI edits; each 0, or -1 with err ("stream x has no key", "relay
 * exists", "no relay x on stream y"). */
int		 db_relay_add(struct db *, const char *stream, const char *name,
		    const char *url, const char *profile, bool enabled,
		    char *err, size_t errlen);
int		 db_relay_set_enabled(struct db *, const char *stream,
		    const char *name, bool, char *err, size_t errlen);
int		 db_relay_rm(struct db *, const char *stream, const char *name,
		    char *err, size_t errlen);

/* What one relay did during one publish (table relay_sessions). */
struct db_relay_session {
	char		*relay;
	char		*last_error;	/* masked; "" for none */
	int64_t		 started_s, ended_s;
	int64_t		 bytes_out, packets_out, dropped;
	int64_t		 reconnects, restarts;
};

/* One publish of the history, newest first. */
struct db_session {
	char		*id;
	char		*stream;	/* the key's name */
	char		*client;	/* address:port */
	char		*end_reason;	/* "" while live or unknown */
	int64_t		 started_s;	/* unix seconds */
	int64_t		 ended_s;	/* 0 while live */
	int64_t		 bytes_in;
	struct db_relay_session *relays;	/* oldest first */
	size_t		 nrelays;
};

/* The last limit publishes of stream (all when NULL), newest first; *out
 * is freed with db_sessions_free. */
int		 db_sessions_list(struct db *, const char *stream,
		    unsigned limit, struct db_session **out, size_t *n,
		    char *err, size_t errlen);
void		 db_sessions_free(struct db_session *, size_t);
/* A profile added with `mirroring profile add`: spec is its settings as
 * a YAML flow mapping, parsed with cfg_profile_parse_spec. */
struct db_profile {
	char		*name;
	char		*spec;
};

/* By name; *out is an array freed with db_profiles_free. */
int		 db_profiles_load(struct db *, struct db_profile **out,
		    size_t *n, char *err, size_t errlen);
void		 db_profiles_free(struct db_profile *, size_t);
/* 0, or -1 with err ("profile exists"; for rm "no profile named x",
 * "profile x is used by relay s/r"). */
int		 db_profile_add(struct db *, const char *name,
		    const char *spec, char *err, size_t errlen);
int		 db_profile_rm(struct db *, const char *name, char *err,
		    size_t errlen);

/* PRAGMA data_version: changes when another connection commits. */
int64_t		 db_data_version(struct db *);

/* Publish history, queued (never blocks).  id is the caller's unique
 * session id (text).  Times are unix seconds. */
void		 db_session_start(struct db *, const char *id,
		    const char *key_name, const char *client_addr,
		    int64_t start_s);
void		 db_session_end(struct db *, const char *id, int64_t end_s,
		    uint64_t bytes_in, const char *reason);
void		 db_key_touch(struct db *, const char *key_name, int64_t ts_s);
/* Queues the row of relay rs of publish session_id (strings copied). */
void		 db_relay_session(struct db *, const char *session_id,
		    const struct db_relay_session *rs);
/* Marks sessions left open by a crash as ended ("supervisor restarted"). */
int		 db_sessions_recover(struct db *, int64_t now_s, char *err,
		    size_t errlen);
/* Writes queued operations until one is busy; returns how many remain,
 * or -1 (err) when one failed for another reason (it is dropped). */
int		 db_flush(struct db *, char *err, size_t errlen);

#endif
