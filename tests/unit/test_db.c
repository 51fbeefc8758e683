/*
 * supervisor/db.c against real SQLite files in a temporary directory:
 * permissions, migrations, the YAML sync rules, CLI edits, and the write
 * queue, including a flush while another connection holds the lock.
 */
#include <sys/stat.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "config/cfg.h"
#include "schema/schema.h"
#include "supervisor/db.h"
#include "tap.h"

static char	tmp[64];		/* the mkdtemp directory */
static char	dir[128];		/* tmp/state, the state_dir */
static char	dbpath[192];		/* dir/mirroring.db */

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	return remove(path);
}

static mode_t
file_mode(const char *path)
{
	struct stat	sb;

	return stat(path, &sb) == -1 ? (mode_t)-1 : sb.st_mode & 07777;
}

static long
elapsed_ms(const struct timespec *t0)
{
	struct timespec	t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 +
	    (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* A second connection, as the CLI or an operator would hold. */
static sqlite3 *
raw_open(void)
{
	sqlite3	*sq = NULL;

	if (sqlite3_open(dbpath, &sq) != SQLITE_OK) {
		printf("# raw open: %s\n", sqlite3_errmsg(sq));
		exit(1);
	}
	return sq;
}

static long long
raw_int(sqlite3 *sq, const char *sql)
{
	sqlite3_stmt	*st;
	long long	 v = -1;

	if (sqlite3_prepare_v2(sq, sql, -1, &st, NULL) != SQLITE_OK)
		return -2;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static char *
raw_text(sqlite3 *sq, const char *sql)
{
	static char	 buf[256];
	sqlite3_stmt	*st;
	const char	*s;

	snprintf(buf, sizeof(buf), "(no row)");
	if (sqlite3_prepare_v2(sq, sql, -1, &st, NULL) != SQLITE_OK)
		return buf;
	if (sqlite3_step(st) == SQLITE_ROW) {
		s = (const char *)sqlite3_column_text(st, 0);
		snprintf(buf, sizeof(buf), "%s", s != NULL ? s : "(null)");
	}
	sqlite3_finalize(st);
	return buf;
}

/* A hand-built configuration of up to four streams. */
struct tcfg {
	struct cfg		cfg;
	struct cfg_stream	st[4];
};

static void
tcfg_add(struct tcfg *t, const char *name, const char *key, const char *note,
    bool enabled)
{
	struct cfg_stream	*s = &t->st[t->cfg.nstreams++];

	memset(s, 0, sizeof(*s));
	s->name = (char *)name;
	s->key.value = (char *)key;
	s->key.origin = (char *)"inline";
	s->note = (char *)note;
	s->enabled = enabled;
	t->cfg.streams = t->st;
	t->cfg.path = (char *)"mirroring.yaml";
}

/* Looks name up through db_keys_load; false when absent. */
static bool
get_key(struct db *db, const char *name, struct db_key *out)
{
	struct db_key	*keys;
	size_t		 n, i;
	char		 err[DB_ERR_MAX];
	bool		 found = false;

	if (db_keys_load(db, &keys, &n, err, sizeof(err)) == -1) {
		printf("# keys_load: %s\n", err);
		return false;
	}
	for (i = 0; i < n; i++) {
		if (strcmp(keys[i].name, name) != 0)
			continue;
		*out = keys[i];
		out->name = strdup(keys[i].name);
		out->key = strdup(keys[i].key);
		out->note = strdup(keys[i].note);
		found = true;
	}
	db_keys_free(keys, n);
	return found;
}

static void
key_clear(struct db_key *k)
{
	free(k->name);
	free(k->key);
	free(k->note);
	memset(k, 0, sizeof(*k));
}

static int
do_sync(struct db *db, struct tcfg *t, char *err)
{
	return db_sync_file_keys(db, &t->cfg, err, DB_ERR_MAX);
}

static void
test_open(void)
{
	struct db	*db;
	sqlite3		*sq;
	struct tcfg	 t = { 0 };
	char		 err[DB_ERR_MAX], path[256];

	db = db_open(dir, 0, err, sizeof(err));
	ok(db != NULL, "open creates state_dir and database");
	if (db == NULL) {
		printf("# %s\n", err);
		exit(1);
	}
	is_int(file_mode(dir), 0700, "state_dir is 0700");
	is_int(file_mode(dbpath), 0600, "database is 0600");
	tcfg_add(&t, "studio", "studio-key-1", NULL, true);
	is_int(do_sync(db, &t, err), 0, "a first write");
	snprintf(path, sizeof(path), "%s-wal", dbpath);
	is_int(file_mode(path), 0600, "-wal is 0600");
	snprintf(path, sizeof(path), "%s-shm", dbpath);
	is_int(file_mode(path), 0600, "-shm is 0600");
	sq = raw_open();
	is_str(raw_text(sq, "PRAGMA journal_mode"), "wal", "journal is WAL");
	is_int(raw_int(sq, "PRAGMA user_version"),
	    (long long)schema_nmigrations, "user_version is the last migration");
	sqlite3_close(sq);
	db_close(db, 1000);

	snprintf(path, sizeof(path), "%s/none/state", tmp);
	ok(db_open(path, 0, err, sizeof(err)) == NULL &&
	    strstr(err, "parent") != NULL, "missing parent refused: %s", err);
}

static void
test_reopen(void)
{
	struct db	*db;
	struct db_key	 k;
	sqlite3		*sq;
	char		 err[DB_ERR_MAX], want[128];

	chmod(dbpath, 0644);
	db = db_open(dir, 0, err, sizeof(err));
	ok(db != NULL, "reopen (migrations already applied)");
	if (db == NULL)
		exit(1);
	is_int(file_mode(dbpath), 0600, "a loose database mode is tightened");
	ok(get_key(db, "studio", &k), "rows survive a reopen");
	key_clear(&k);
	db_close(db, 1000);

	sq = raw_open();
	sqlite3_exec(sq, "PRAGMA user_version = 99", NULL, NULL, NULL);
	sqlite3_close(sq);
	snprintf(want, sizeof(want), "database schema 99 is newer than this "
	    "mirroring (%zu)", schema_nmigrations);
	db = db_open(dir, 0, err, sizeof(err));
	ok(db == NULL, "a newer schema is refused");
	is_str(err, want, "newer schema message");
	db_close(db, 0);
	/* Back to the latest version, whatever it is now. */
	snprintf(want, sizeof(want), "PRAGMA user_version = %zu",
	    schema_nmigrations);
	sq = raw_open();
	sqlite3_exec(sq, want, NULL, NULL, NULL);
	sqlite3_close(sq);
}

static void
test_sync(struct db *db)
{
	struct tcfg	 t = { 0 };
	struct db_key	 k;
	sqlite3		*sq;
	long long	 dv;
	char		 err[DB_ERR_MAX];

	tcfg_add(&t, "studio", "studio-key-1", "main room", true);
	tcfg_add(&t, "lab", "lab-key-0001", NULL, false);
	is_int(do_sync(db, &t, err), 0, "sync two streams");
	ok(get_key(db, "lab", &k) && !k.enabled && k.source == DB_SRC_FILE &&
	    strcmp(k.note, "") == 0, "new file key: enabled per YAML (no)");
	key_clear(&k);
	ok(get_key(db, "studio", &k) && k.enabled &&
	    strcmp(k.note, "main room") == 0 && k.last_active_s == 0,
	    "new file key: enabled per YAML (yes), note kept");
	key_clear(&k);

	sq = raw_open();
	dv = raw_int(sq, "PRAGMA data_version");
	is_int(do_sync(db, &t, err), 0, "sync the same YAML");
	is_int(raw_int(sq, "PRAGMA data_version"), dv,
	    "an unchanged sync writes nothing");
	sqlite3_close(sq);

	is_int(db_key_set_enabled(db, "studio", false, err, sizeof(err)), 0,
	    "CLI disables a file key");
	is_int(do_sync(db, &t, err), 0, "sync the same YAML");
	ok(get_key(db, "studio", &k) && !k.enabled,
	    "the CLI disable survives an unchanged YAML");
	key_clear(&k);

	t.st[0].enabled = false;
	is_int(do_sync(db, &t, err), 0, "YAML now says disabled");
	t.st[0].enabled = true;
	t.st[0].key.value = (char *)"studio-key-2";
	is_int(do_sync(db, &t, err), 0, "YAML says enabled again, new key");
	ok(get_key(db, "studio", &k) && k.enabled &&
	    strcmp(k.key, "studio-key-2") == 0,
	    "a changed YAML value wins, key updated");
	key_clear(&k);

	is_int(db_key_add(db, "backup", "backup-key-1", "spare", true, err,
	    sizeof(err)), 0, "add a CLI key");
	is_int(db_key_add(db, "later", "later-key-01", "", false, err,
	    sizeof(err)), 0, "add another CLI key");
	t.cfg.nstreams = 1;			/* lab removed from the YAML */
	tcfg_add(&t, "later", "later-key-02", NULL, true);
	is_int(do_sync(db, &t, err), 0, "sync: lab gone, later declared");
	ok(!get_key(db, "lab", &k), "a removed file key is deleted");
	ok(get_key(db, "backup", &k) && k.source == DB_SRC_CLI && k.enabled &&
	    strcmp(k.key, "backup-key-1") == 0 &&
	    strcmp(k.note, "spare") == 0, "a CLI key is untouched");
	key_clear(&k);
	ok(get_key(db, "later", &k) && k.source == DB_SRC_FILE && k.enabled &&
	    strcmp(k.key, "later-key-02") == 0,
	    "a CLI name declared in the YAML becomes a file key");
	key_clear(&k);

	t.st[0].key.value = (char *)"later-key-02";
	t.st[1].key.value = (char *)"studio-key-2";
	is_int(do_sync(db, &t, err), 0, "two file keys swap their values");
	ok(get_key(db, "studio", &k) && strcmp(k.key, "later-key-02") == 0,
	    "swapped value in place");
	key_clear(&k);

	t.st[0].key.value = (char *)"backup-key-1";
	ok(do_sync(db, &t, err) == -1 && strstr(err, "studio") != NULL &&
	    strstr(err, "backup") != NULL &&
	    strstr(err, "backup-key-1") == NULL,
	    "a file key equal to a CLI key is refused, naming both: %s", err);
	t.st[0].key.value = (char *)"same-key-0001";
	t.st[1].key.value = (char *)"same-key-0001";
	ok(do_sync(db, &t, err) == -1 && strstr(err, "studio") != NULL &&
	    strstr(err, "later") != NULL, "two equal YAML keys: %s", err);
	ok(get_key(db, "studio", &k) && strcmp(k.key, "later-key-02") == 0,
	    "a refused sync changes nothing");
	key_clear(&k);
}

static void
test_edits(struct db *db)
{
	struct db_key	k;
	char		err[DB_ERR_MAX];

	is_int(db_key_add(db, "backup", "other-key-01", "", true, err,
	    sizeof(err)), -1, "add: name taken");
	is_str(err, "a key named backup already exists", "name taken message");
	is_int(db_key_add(db, "studio", "other-key-01", "", true, err,
	    sizeof(err)), -1, "add: name of a file key");
	is_int(db_key_add(db, "extra", "backup-key-1", "", true, err,
	    sizeof(err)), -1, "add: key already used");
	is_str(err, "that key is already used by backup", "key used message");

	is_int(db_key_set_enabled(db, "nope", true, err, sizeof(err)), -1,
	    "enable: unknown name");
	is_str(err, "no key named nope", "unknown name message");
	is_int(db_key_rm(db, "studio", err, sizeof(err)), -1, "rm: file key");
	is_str(err, "studio is declared in the config file; remove it there",
	    "rm file key message");
	is_int(db_key_rm(db, "nope", err, sizeof(err)), -1, "rm: unknown");
	is_int(db_key_set_key(db, "studio", "new-key-0001", err, sizeof(err)),
	    -1, "regen: file key");
	is_int(db_key_set_key(db, "nope", "new-key-0001", err, sizeof(err)),
	    -1, "regen: unknown");
	is_int(db_key_set_key(db, "backup", "later-key-02", err, sizeof(err)),
	    -1, "regen: value used by another key");

	is_int(db_key_set_key(db, "backup", "new-key-0001", err, sizeof(err)),
	    0, "regen a CLI key");
	ok(get_key(db, "backup", &k) && strcmp(k.key, "new-key-0001") == 0,
	    "new key stored");
	key_clear(&k);
	is_int(db_key_set_enabled(db, "backup", false, err, sizeof(err)), 0,
	    "disable a CLI key");
	ok(get_key(db, "backup", &k) && !k.enabled, "disabled");
	key_clear(&k);
	is_int(db_key_rm(db, "backup", err, sizeof(err)), 0, "rm a CLI key");
	ok(!get_key(db, "backup", &k), "gone");
}

static void
test_queue(struct db *db)
{
	struct db_key	 k;
	sqlite3		*sq;
	char		 err[DB_ERR_MAX];
	int64_t		 dv;

	sq = raw_open();
	dv = db_data_version(db);
	ok(dv >= 0, "data_version readable");
	db_session_start(db, "s1", "studio", "192.0.2.7:50000", 1000);
	db_key_touch(db, "studio", 1000);
	db_key_touch(db, "studio", 1005);
	db_session_end(db, "s1", 1010, 123456, "publisher left");
	db_session_start(db, "s2", "studio", "192.0.2.8:50001", 1020);
	is_int(raw_int(sq, "SELECT count(*) FROM sessions"), 0,
	    "nothing written before a flush");
	is_int(db_flush(db, err, sizeof(err)), 0, "flush writes everything");
	is_int(raw_int(sq, "SELECT bytes_in FROM sessions WHERE id = 's1' "
	    "AND ended_at = 1010 AND end_reason = 'publisher left'"), 123456,
	    "session s1 ended");
	is_int(raw_int(sq, "SELECT count(*) FROM sessions WHERE id = 's2' "
	    "AND ended_at IS NULL AND started_at = 1020"), 1, "s2 still open");
	ok(get_key(db, "studio", &k) && k.last_active_s == 1005,
	    "touches coalesce to the latest");
	key_clear(&k);
	is_int(db_flush(db, err, sizeof(err)), 0, "an empty flush");

	sqlite3_exec(sq, "UPDATE keys SET note = 'x' WHERE name = 'later'",
	    NULL, NULL, NULL);
	ok(db_data_version(db) != dv, "data_version moves after another "
	    "connection commits");

	is_int(db_sessions_recover(db, 2000, err, sizeof(err)), 0, "recover");
	is_str(raw_text(sq, "SELECT end_reason || ' ' || ended_at FROM "
	    "sessions WHERE id = 's2'"), "supervisor restarted 2000",
	    "an open session is marked ended");
	is_str(raw_text(sq, "SELECT end_reason FROM sessions WHERE "
	    "id = 's1'"), "publisher left", "an ended one is untouched");

	db_session_start(db, "s2", "studio", "x", 3000);
	db_session_start(db, "s3", "studio", "x", 3000);
	ok(db_flush(db, err, sizeof(err)) == -1 && strstr(err, "session "
	    "start") != NULL, "a failing op is reported: %s", err);
	is_int(raw_int(sq, "SELECT count(*) FROM sessions WHERE id = 's3'"), 1,
	    "the others are still written");
	is_int(db_flush(db, err, sizeof(err)), 0, "the failed op was dropped");
	sqlite3_close(sq);
}

static void
test_busy(struct db *db)
{
	struct timespec	 t0;
	sqlite3		*sq;
	char		 err[DB_ERR_MAX];
	long		 ms;
	int		 n;

	sq = raw_open();
	is_int(sqlite3_exec(sq, "BEGIN IMMEDIATE", NULL, NULL, NULL),
	    SQLITE_OK, "another connection takes the write lock");
	db_session_start(db, "b1", "studio", "x", 4000);
	db_session_end(db, "b1", 4001, 10, "done");
	db_key_touch(db, "studio", 4001);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	n = db_flush(db, err, sizeof(err));
	ms = elapsed_ms(&t0);
	is_int(n, 3, "a busy flush returns what is still queued");
	ok(ms < 100, "and does not wait (%ld ms)", ms);
	is_int(sqlite3_exec(sq, "COMMIT", NULL, NULL, NULL), SQLITE_OK,
	    "the lock is released");
	is_int(db_flush(db, err, sizeof(err)), 0, "the next flush succeeds");
	is_int(raw_int(sq, "SELECT ended_at FROM sessions WHERE id = 'b1'"),
	    4001, "queued writes kept their order");
	sqlite3_close(sq);
}

static void
test_overflow(struct db *db)
{
	struct db_key	 k;
	sqlite3		*sq;
	char		 err[DB_ERR_MAX], id[32];
	int		 i;

	/* 10000 is db.c's DB_QUEUE_MAX. */
	db_key_touch(db, "studio", 9000);
	for (i = 0; i < 10000; i++) {
		snprintf(id, sizeof(id), "o%d", i);
		db_session_start(db, id, "studio", "x", 5000);
	}
	ok(db_flush(db, err, sizeof(err)) == -1 &&
	    strstr(err, "1 writes dropped") != NULL,
	    "a full queue reports its drops: %s", err);
	sq = raw_open();
	is_int(raw_int(sq, "SELECT count(*) FROM sessions WHERE id LIKE 'o%'"),
	    10000, "the touch went first, every session kept");
	sqlite3_close(sq);
	ok(get_key(db, "studio", &k) && k.last_active_s == 4001,
	    "the dropped touch is not written");
	key_clear(&k);
}

/* CLI relays: add, list (one stream or all, ordered), enable, rm, and
 * the refusals: no such stream key, a taken name, unknown relays. */
static void
test_relays(struct db *db)
{
	struct db_relay	*r;
	size_t		 n;
	char		 err[DB_ERR_MAX];

	is_int(db_key_add(db, "relayed", "relayed-key-1", "", true, err,
	    sizeof(err)), 0, "relays: a stream key to hang them off");
	is_int(db_relay_add(db, "ghost", "twitch", "rtmp://h/app/k", "copy",
	    true, err, sizeof(err)), -1, "relay add: stream without a key");
	is_str(err, "stream ghost has no key", "no key message");
	is_int(db_relay_add(db, "relayed", "yt", "rtmp://h/live2/yt-secret",
	    "copy", true, err, sizeof(err)), 0, "relay add yt");
	is_int(db_relay_add(db, "relayed", "twitch",
	    "rtmps://h/app/tw-secret", NULL, false, err, sizeof(err)), 0,
	    "relay add twitch, disabled, default profile");
	is_int(db_relay_add(db, "studio", "rec", "file:/tmp/x.mkv", "copy",
	    true, err, sizeof(err)), 0, "relay add on a file key");
	is_int(db_relay_add(db, "relayed", "yt", "rtmp://other/app/k", "copy",
	    true, err, sizeof(err)), -1, "relay add: name taken");
	is_str(err, "relay exists", "name taken message");

	is_int(db_relays_load(db, NULL, &r, &n, err, sizeof(err)), 0,
	    "relays load all");
	is_int((int)n, 3, "three relays");
	if (n == 3) {
		ok(strcmp(r[0].stream, "relayed") == 0 &&
		    strcmp(r[0].name, "twitch") == 0 &&
		    strcmp(r[1].name, "yt") == 0 &&
		    strcmp(r[2].stream, "studio") == 0, "ordered by stream, "
		    "name: %s/%s %s/%s %s/%s", r[0].stream, r[0].name,
		    r[1].stream, r[1].name, r[2].stream, r[2].name);
		ok(!r[0].enabled && r[1].enabled, "enabled as added");
		is_str(r[0].profile, "copy", "default profile");
		is_str(r[0].url, "rtmps://h/app/tw-secret", "url stored");
		ok(r[0].created_s > 0, "created_at set");
	}
	db_relays_free(r, n);
	is_int(db_relays_load(db, "studio", &r, &n, err, sizeof(err)), 0,
	    "relays load one stream");
	ok(n == 1 && strcmp(r[0].name, "rec") == 0, "only studio's relay");
	db_relays_free(r, n);
	is_int(db_relays_load(db, "nope", &r, &n, err, sizeof(err)), 0,
	    "relays load of an unknown stream");
	is_int((int)n, 0, "none");
	db_relays_free(r, n);

	is_int(db_relay_set_enabled(db, "relayed", "twitch", true, err,
	    sizeof(err)), 0, "relay enable");
	is_int(db_relays_load(db, "relayed", &r, &n, err, sizeof(err)), 0,
	    "relays load after enable");
	ok(n == 2 && r[0].enabled, "twitch enabled");
	db_relays_free(r, n);
	is_int(db_relay_set_enabled(db, "relayed", "nope", true, err,
	    sizeof(err)), -1, "relay enable: unknown");
	is_str(err, "no relay named nope on stream relayed",
	    "unknown relay message");
	is_int(db_relay_rm(db, "relayed", "yt", err, sizeof(err)), 0,
	    "relay rm");
	is_int(db_relay_rm(db, "relayed", "yt", err, sizeof(err)), -1,
	    "relay rm again");
	is_int(db_relays_load(db, "relayed", &r, &n, err, sizeof(err)), 0,
	    "relays load after rm");
	ok(n == 1 && strcmp(r[0].name, "twitch") == 0, "yt gone");
	db_relays_free(r, n);
	db_relays_free(NULL, 0);
}

int
main(void)
{
	struct db	*db;
	char		 err[DB_ERR_MAX];

	snprintf(tmp, sizeof(tmp), "/tmp/test_db.XXXXXX");
	if (mkdtemp(tmp) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s/state", tmp);
	snprintf(dbpath, sizeof(dbpath), "%s/%s", dir, DB_FILE);

	test_open();
	test_reopen();
	if ((db = db_open(dir, 0, err, sizeof(err))) == NULL) {
		printf("# open: %s\n", err);
		return 1;
	}
	test_sync(db);
	test_edits(db);
	test_relays(db);
	test_queue(db);
	test_busy(db);
	test_overflow(db);
	db_close(db, 1000);
	db_close(NULL, 0);

	nftw(tmp, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
