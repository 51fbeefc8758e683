/*
 * The SQLite state behind db.h: opening (permissions, WAL, migrations),
 * the YAML -> keys sync, the CLI's edits of keys and relays, and the
 * supervisor's write queue.  Only this file includes sqlite3.h; callers
 * see plain structs and error strings.  Every value reaches SQL as a
 * bound parameter.
 */
#include <sys/queue.h>
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "config/cfg.h"
#include "schema/schema.h"
#include "supervisor/db.h"

#define DB_QUEUE_MAX	10000	/* queued writes kept while the db is busy */
#define DB_NAME_BUF	128	/* a key's name quoted in an error */

/* Extended codes (SQLITE_BUSY_RECOVERY, ...) count as busy too. */
#define DB_BUSY(rc)	(((rc) & 0xff) == SQLITE_BUSY)

enum db_op_type {
	DB_OP_START,
	DB_OP_END,
	DB_OP_TOUCH,
	DB_OP_RELAY,
};

struct db_op {
	enum db_op_type	 type;
	char		*id;		/* START, END: the session */
	char		*name;		/* START, TOUCH: the key's name */
	char		*text;		/* START: client address; END: reason */
	int64_t		 ts_s;
	int64_t		 bytes_in;	/* END */
	struct db_relay_session rs;	/* RELAY: name = relay, text = error */
	TAILQ_ENTRY(db_op) entry;
};

TAILQ_HEAD(db_ops, db_op);

struct db {
	sqlite3		*sq;
	struct db_ops	 ops;		/* oldest first */
	size_t		 nops;
	size_t		 ndropped;	/* since the last report by db_flush */
};

static void	db_errf(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static void
db_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Reports SQLite's message for the last failure on this connection. */
static int
db_fail(struct db *db, const char *what, char *err, size_t errlen)
{
	db_errf(err, errlen, "%s: %s", what, sqlite3_errmsg(db->sq));
	return -1;
}

/*
 * Prepares sql and binds ?1, ?2, ... from the arguments as fmt says:
 * 's' a const char * (NULL binds NULL), 'i' an int64_t.  Strings are
 * bound without a copy, so they must outlive the statement.  Returns an
 * SQLite code; *stp is NULL unless SQLITE_OK.
 */
static int
db_vprepare(struct db *db, sqlite3_stmt **stp, const char *sql,
    const char *fmt, va_list ap)
{
	const char	*s;
	int		 rc, i;

	if ((rc = sqlite3_prepare_v2(db->sq, sql, -1, stp, NULL)) != SQLITE_OK)
		return rc;
	for (i = 0; rc == SQLITE_OK && fmt[i] != '\0'; i++) {
		switch (fmt[i]) {
		case 's':
			s = va_arg(ap, const char *);
			rc = s == NULL ? sqlite3_bind_null(*stp, i + 1) :
			    sqlite3_bind_text(*stp, i + 1, s, -1,
			    SQLITE_STATIC);
			break;
		case 'i':
			rc = sqlite3_bind_int64(*stp, i + 1,
			    va_arg(ap, int64_t));
			break;
		default:
			rc = SQLITE_MISUSE;
			break;
		}
	}
	if (rc != SQLITE_OK) {
		sqlite3_finalize(*stp);
		*stp = NULL;
	}
	return rc;
}

static int
db_prepare(struct db *db, sqlite3_stmt **stp, const char *sql,
    const char *fmt, ...)
{
	va_list	ap;
	int	rc;

	va_start(ap, fmt);
	rc = db_vprepare(db, stp, sql, fmt, ap);
	va_end(ap);
	return rc;
}

/* Runs one statement to its end.  SQLITE_OK or the failing code; the
 * message stays readable with sqlite3_errmsg (finalize keeps it). */
static int
db_run(struct db *db, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt	*st;
	va_list		 ap;
	int		 rc;

	va_start(ap, fmt);
	rc = db_vprepare(db, &st, sql, fmt, ap);
	va_end(ap);
	if (rc != SQLITE_OK)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		continue;
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/*
 * Runs a query and copies the first column of its first row into buf.
 * SQLITE_ROW when there was one, SQLITE_DONE when none, else the error.
 */
static int
db_query_text(struct db *db, char *buf, size_t len, const char *sql,
    const char *fmt, ...)
{
	sqlite3_stmt		*st;
	const unsigned char	*s;
	va_list			 ap;
	int			 rc;

	va_start(ap, fmt);
	rc = db_vprepare(db, &st, sql, fmt, ap);
	va_end(ap);
	if (rc != SQLITE_OK)
		return rc;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		s = sqlite3_column_text(st, 0);
		snprintf(buf, len, "%s", s != NULL ? (const char *)s : "");
	}
	sqlite3_finalize(st);
	return rc;
}

static int
db_begin(struct db *db, char *err, size_t errlen)
{
	/* IMMEDIATE takes the write lock now, so a transaction never fails
	 * half-way on a lock another writer took after our first read. */
	if (sqlite3_exec(db->sq, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return db_fail(db, "begin", err, errlen);
	return 0;
}

static int
db_commit(struct db *db, char *err, size_t errlen)
{
	if (sqlite3_exec(db->sq, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(db, "commit", err, errlen);
	return 0;
}

/* Ends a failed transaction; err was filled before, as this overwrites
 * SQLite's message. */
static void
db_rollback(struct db *db)
{
	if (!sqlite3_get_autocommit(db->sq))
		sqlite3_exec(db->sq, "ROLLBACK", NULL, NULL, NULL);
}

/* Creates the state directory itself, never its parents. */
static int
db_mkdir(const char *dir, char *err, size_t errlen)
{
	struct stat	sb;

	if (mkdir(dir, 0700) == 0)
		return 0;
	if (errno == ENOENT) {
		db_errf(err, errlen, "state_dir %s: parent directory does "
		    "not exist", dir);
		return -1;
	}
	if (errno == EEXIST) {
		if (stat(dir, &sb) == -1)
			goto fail;
		if (S_ISDIR(sb.st_mode))
			return 0;
		errno = ENOTDIR;
	}
fail:
	db_errf(err, errlen, "state_dir %s: %s", dir, strerror(errno));
	return -1;
}

/*
 * Takes group and other bits off the database and its -wal and -shm
 * files when they exist.  SQLite creates -wal and -shm with the
 * database's mode, so a 0600 database keeps them 0600 too.
 */
static int
db_tighten(const char *path, char *err, size_t errlen)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	struct stat	 sb;
	char		 p[PATH_MAX];
	size_t		 i;

	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
		if (stat(p, &sb) == -1) {
			if (errno == ENOENT)
				continue;
			db_errf(err, errlen, "%s: %s", p, strerror(errno));
			return -1;
		}
		if ((sb.st_mode & 077) != 0 &&
		    chmod(p, sb.st_mode & 0700) == -1) {
			db_errf(err, errlen, "chmod %s: %s", p,
			    strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int
db_pragmas(struct db *db, int busy_timeout_ms, char *err, size_t errlen)
{
	char	mode[16];
	int	rc;

	sqlite3_busy_timeout(db->sq, busy_timeout_ms);
	rc = db_query_text(db, mode, sizeof(mode), "PRAGMA journal_mode = WAL",
	    "");
	if (rc != SQLITE_ROW)
		return db_fail(db, "journal_mode", err, errlen);
	if (strcmp(mode, "wal") != 0) {
		db_errf(err, errlen, "journal_mode: cannot use WAL (got %s)",
		    mode);
		return -1;
	}
	if (sqlite3_exec(db->sq, "PRAGMA synchronous = NORMAL; "
	    "PRAGMA foreign_keys = ON", NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(db, "pragma", err, errlen);
	return 0;
}

static int
db_user_version(struct db *db, int *out, char *err, size_t errlen)
{
	sqlite3_stmt	*st;

	if (db_prepare(db, &st, "PRAGMA user_version", "") != SQLITE_OK)
		return db_fail(db, "user_version", err, errlen);
	if (sqlite3_step(st) != SQLITE_ROW) {
		db_fail(db, "user_version", err, errlen);
		sqlite3_finalize(st);
		return -1;
	}
	*out = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return 0;
}

static int
db_check_version(int have, int latest, char *err, size_t errlen)
{
	if (have > latest) {
		db_errf(err, errlen, "database schema %d is newer than this "
		    "mirroring (%d)", have, latest);
		return -1;
	}
	if (have < 0) {
		db_errf(err, errlen, "database schema %d is unknown", have);
		return -1;
	}
	return 0;
}

/*
 * Applies the migrations past PRAGMA user_version in one transaction.
 * The version is read again under the write lock: a CLI and the
 * supervisor may open a new database at the same time.
 */
static int
db_migrate(struct db *db, char *err, size_t errlen)
{
	const int	 latest = (int)schema_nmigrations;
	char		 sql[64];
	int		 have;

	if (db_user_version(db, &have, err, errlen) == -1 ||
	    db_check_version(have, latest, err, errlen) == -1)
		return -1;
	if (have == latest)
		return 0;
	if (db_begin(db, err, errlen) == -1)
		return -1;
	if (db_user_version(db, &have, err, errlen) == -1 ||
	    db_check_version(have, latest, err, errlen) == -1)
		goto fail;
	for (; have < latest; have++) {
		if (sqlite3_exec(db->sq, schema_migrations[have].sql, NULL,
		    NULL, NULL) != SQLITE_OK) {
			db_fail(db, schema_migrations[have].name, err, errlen);
			goto fail;
		}
	}
	/* PRAGMA takes no parameters; the number is our own constant. */
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", latest);
	if (sqlite3_exec(db->sq, sql, NULL, NULL, NULL) != SQLITE_OK) {
		db_fail(db, "user_version", err, errlen);
		goto fail;
	}
	if (db_commit(db, err, errlen) == -1)
		goto fail;
	return 0;
fail:
	db_rollback(db);
	return -1;
}

struct db *
db_open(const char *state_dir, int busy_timeout_ms, char *err,
    size_t errlen)
{
	struct db	*db;
	char		 path[PATH_MAX];
	mode_t		 mask;
	int		 rc;

	if (db_mkdir(state_dir, err, errlen) == -1)
		return NULL;
	/* Room for the -wal and -shm names db_tighten builds. */
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", state_dir,
	    DB_FILE) >= sizeof(path) - 4) {
		db_errf(err, errlen, "state_dir %s: path too long", state_dir);
		return NULL;
	}
	if ((db = calloc(1, sizeof(*db))) == NULL) {
		db_errf(err, errlen, "%s", strerror(errno));
		return NULL;
	}
	TAILQ_INIT(&db->ops);
	mask = umask(077);
	rc = sqlite3_open_v2(path, &db->sq, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	umask(mask);
	if (rc != SQLITE_OK) {
		db_errf(err, errlen, "%s: %s", path, db->sq != NULL ?
		    sqlite3_errmsg(db->sq) : sqlite3_errstr(rc));
		goto fail;
	}
	if (db_tighten(path, err, errlen) == -1 ||
	    db_pragmas(db, busy_timeout_ms, err, errlen) == -1 ||
	    db_migrate(db, err, errlen) == -1)
		goto fail;
	return db;
fail:
	sqlite3_close(db->sq);
	free(db);
	return NULL;
}

static void
db_op_free(struct db_op *op)
{
	free(op->id);
	free(op->name);
	free(op->text);
	free(op);
}

static void
db_op_remove(struct db *db, struct db_op *op)
{
	TAILQ_REMOVE(&db->ops, op, entry);
	db->nops--;
	db_op_free(op);
}

void
db_set_busy_timeout(struct db *db, int busy_timeout_ms)
{
	sqlite3_busy_timeout(db->sq, busy_timeout_ms);
}

void
db_close(struct db *db, int busy_timeout_ms)
{
	struct db_op	*op;

	if (db == NULL)
		return;
	sqlite3_busy_timeout(db->sq, busy_timeout_ms);
	db_flush(db, NULL, 0);
	while ((op = TAILQ_FIRST(&db->ops)) != NULL)
		db_op_remove(db, op);
	sqlite3_close(db->sq);
	free(db);
}

static bool
db_cfg_declares(const struct cfg *cfg, const char *name)
{
	size_t	i;

	for (i = 0; i < cfg->nstreams; i++)
		if (strcmp(cfg->streams[i].name, name) == 0)
			return true;
	return false;
}

/* A CLI key the YAML does not take over must not share s's value. */
static int
db_sync_check_cli(struct db *db, const struct cfg *cfg,
    const struct cfg_stream *s, char *err, size_t errlen)
{
	sqlite3_stmt	*st;
	const char	*other;
	int		 rc;

	if (db_prepare(db, &st, "SELECT name FROM keys "
	    "WHERE key = ?1 AND source = 'cli' AND name <> ?2", "ss",
	    s->key.value, s->name) != SQLITE_OK)
		return db_fail(db, "sync", err, errlen);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		other = (const char *)sqlite3_column_text(st, 0);
		if (other != NULL && !db_cfg_declares(cfg, other)) {
			db_errf(err, errlen, "stream %s has the same key as "
			    "the CLI key %s", s->name, other);
			sqlite3_finalize(st);
			return -1;
		}
	}
	if (rc != SQLITE_DONE)
		db_fail(db, "sync", err, errlen);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * Refuses a sync that would give two keys the same value: two declared
 * streams, or a declared stream and a CLI key the YAML does not take
 * over.  Names both, never the key.
 */
static int
db_sync_check(struct db *db, const struct cfg *cfg, char *err,
    size_t errlen)
{
	const struct cfg_stream	*s, *t;
	size_t			 i, j;

	for (i = 0; i < cfg->nstreams; i++) {
		s = &cfg->streams[i];
		if (s->key.value == NULL) {
			db_errf(err, errlen, "stream %s has no key", s->name);
			return -1;
		}
		for (j = 0; j < i; j++) {
			t = &cfg->streams[j];
			if (strcmp(s->key.value, t->key.value) == 0) {
				db_errf(err, errlen, "streams %s and %s have "
				    "the same key", t->name, s->name);
				return -1;
			}
		}
	}
	for (i = 0; i < cfg->nstreams; i++)
		if (db_sync_check_cli(db, cfg, &cfg->streams[i], err,
		    errlen) == -1)
			return -1;
	return 0;
}

/* Deletes the file keys the YAML no longer declares. */
static int
db_sync_delete(struct db *db, const struct cfg *cfg, char *err,
    size_t errlen)
{
	sqlite3_stmt	 *st;
	const char	 *name;
	char		**gone = NULL, **tmp;
	size_t		  n = 0, i;
	int		  rc, ret = -1;

	/* Collected first: changing a table while a SELECT walks it is
	 * undefined in SQLite. */
	if (db_prepare(db, &st, "SELECT name FROM keys WHERE source = 'file'",
	    "") != SQLITE_OK)
		return db_fail(db, "sync", err, errlen);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		name = (const char *)sqlite3_column_text(st, 0);
		if (name == NULL || db_cfg_declares(cfg, name))
			continue;
		if ((tmp = reallocarray(gone, n + 1, sizeof(*gone))) == NULL)
			break;
		gone = tmp;
		if ((gone[n] = strdup(name)) == NULL)
			break;
		n++;
	}
	if (rc == SQLITE_ROW)
		db_errf(err, errlen, "sync: %s", strerror(ENOMEM));
	else if (rc != SQLITE_DONE)
		db_fail(db, "sync", err, errlen);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		goto out;
	for (i = 0; i < n; i++) {
		if (db_run(db, "DELETE FROM keys WHERE name = ?1", "s",
		    gone[i]) != SQLITE_OK) {
			db_fail(db, "sync", err, errlen);
			goto out;
		}
	}
	ret = 0;
out:
	for (i = 0; i < n; i++)
		free(gone[i]);
	free(gone);
	return ret;
}

/*
 * Writes one declared stream.  `enabled` takes the YAML's value only
 * when file_enabled (the value of the last sync; NULL for a new row or a
 * CLI key) differs from it, so a CLI disable holds across syncs.
 */
static int
db_sync_upsert(struct db *db, const struct cfg_stream *s, int64_t now,
    char *err, size_t errlen)
{
	static const char	sql[] =
	    "INSERT INTO keys (name, key, note, enabled, source, "
	    "    file_enabled, created_at) "
	    "VALUES (?1, ?2, ?3, ?4, 'file', ?4, ?5) "
	    "ON CONFLICT (name) DO UPDATE SET "
	    "    key = excluded.key, note = excluded.note, "
	    "    enabled = CASE WHEN file_enabled IS excluded.file_enabled "
	    "        THEN enabled ELSE excluded.enabled END, "
	    "    source = 'file', file_enabled = excluded.file_enabled "
	    /* An unchanged row is not rewritten: the supervisor reloads
	     * its keys when data_version moves, and every CLI run syncs. */
	    "WHERE key <> excluded.key OR note <> excluded.note OR "
	    "    source <> 'file' OR "
	    "    file_enabled IS NOT excluded.file_enabled";

	if (db_run(db, sql, "sssii", s->name, s->key.value,
	    s->note != NULL ? s->note : "", (int64_t)s->enabled, now) !=
	    SQLITE_OK) {
		db_errf(err, errlen, "sync: stream %s: %s", s->name,
		    sqlite3_errmsg(db->sq));
		return -1;
	}
	return 0;
}

int
db_sync_file_keys(struct db *db, const struct cfg *cfg, char *err,
    size_t errlen)
{
	const struct cfg_stream	*s;
	int64_t			 now = (int64_t)time(NULL);
	size_t			 i;

	if (db_begin(db, err, errlen) == -1)
		return -1;
	if (db_sync_check(db, cfg, err, errlen) == -1 ||
	    db_sync_delete(db, cfg, err, errlen) == -1)
		goto fail;
	/*
	 * UNIQUE(key) holds after each statement, so two streams swapping
	 * keys would collide half-way.  Rows whose key changes first take a
	 * placeholder no real key starts with (\x01 + name, unique).
	 */
	for (i = 0; i < cfg->nstreams; i++) {
		s = &cfg->streams[i];
		if (db_run(db, "UPDATE keys SET key = char(1) || name "
		    "WHERE name = ?1 AND key <> ?2", "ss", s->name,
		    s->key.value) != SQLITE_OK) {
			db_fail(db, "sync", err, errlen);
			goto fail;
		}
	}
	for (i = 0; i < cfg->nstreams; i++)
		if (db_sync_upsert(db, &cfg->streams[i], now, err,
		    errlen) == -1)
			goto fail;
	if (db_commit(db, err, errlen) == -1)
		goto fail;
	return 0;
fail:
	db_rollback(db);
	return -1;
}

static int
db_key_fill(struct db_key *k, sqlite3_stmt *st)
{
	const char	*s;

	memset(k, 0, sizeof(*k));
	s = (const char *)sqlite3_column_text(st, 0);
	k->name = strdup(s != NULL ? s : "");
	s = (const char *)sqlite3_column_text(st, 1);
	k->key = strdup(s != NULL ? s : "");
	s = (const char *)sqlite3_column_text(st, 2);
	k->note = strdup(s != NULL ? s : "");
	k->enabled = sqlite3_column_int(st, 3) != 0;
	s = (const char *)sqlite3_column_text(st, 4);
	k->source = s != NULL && strcmp(s, "cli") == 0 ? DB_SRC_CLI :
	    DB_SRC_FILE;
	k->created_s = sqlite3_column_int64(st, 5);
	k->last_active_s = sqlite3_column_int64(st, 6);
	return k->name == NULL || k->key == NULL || k->note == NULL ? -1 : 0;
}

int
db_keys_load(struct db *db, struct db_key **out, size_t *n, char *err,
    size_t errlen)
{
	sqlite3_stmt	*st;
	struct db_key	*keys = NULL, *tmp;
	size_t		 nkeys = 0, cap = 0;
	int		 rc;

	if (db_prepare(db, &st, "SELECT name, key, note, enabled, source, "
	    "created_at, coalesce(last_active_at, 0) FROM keys ORDER BY name",
	    "") != SQLITE_OK)
		return db_fail(db, "keys", err, errlen);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (nkeys == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			if ((tmp = reallocarray(keys, cap,
			    sizeof(*keys))) == NULL)
				goto oom;
			keys = tmp;
		}
		if (db_key_fill(&keys[nkeys++], st) == -1)
			goto oom;
	}
	if (rc != SQLITE_DONE) {
		db_fail(db, "keys", err, errlen);
		goto fail;
	}
	sqlite3_finalize(st);
	*out = keys;
	*n = nkeys;
	return 0;
oom:
	db_errf(err, errlen, "keys: %s", strerror(ENOMEM));
fail:
	sqlite3_finalize(st);
	db_keys_free(keys, nkeys);
	return -1;
}

void
db_keys_free(struct db_key *keys, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(keys[i].name);
		free(keys[i].key);
		free(keys[i].note);
	}
	free(keys);
}

/*
 * The checks shared by the CLI edits, inside their transaction: the key
 * named name exists (when must_exist) and is a CLI key (when cli_only;
 * verb says what to do in the YAML instead), and no other key holds the
 * value key (when key is not NULL).
 */
static int
db_key_check(struct db *db, const char *name, bool must_exist,
    bool cli_only, const char *verb, const char *key, char *err,
    size_t errlen)
{
	char	src[8], other[DB_NAME_BUF];
	int	rc;

	rc = db_query_text(db, src, sizeof(src),
	    "SELECT source FROM keys WHERE name = ?1", "s", name);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(db, name, err, errlen);
	if (rc == SQLITE_DONE && must_exist) {
		db_errf(err, errlen, "no key named %s", name);
		return -1;
	}
	if (rc == SQLITE_ROW && !must_exist) {
		if (strcmp(src, "file") == 0)
			db_errf(err, errlen, "%s is declared in the config "
			    "file", name);
		else
			db_errf(err, errlen, "a key named %s already exists",
			    name);
		return -1;
	}
	if (rc == SQLITE_ROW && cli_only && strcmp(src, "file") == 0) {
		db_errf(err, errlen, "%s is declared in the config file; %s "
		    "it there", name, verb);
		return -1;
	}
	if (key == NULL)
		return 0;
	rc = db_query_text(db, other, sizeof(other),
	    "SELECT name FROM keys WHERE key = ?1 AND name <> ?2", "ss",
	    key, name);
	if (rc == SQLITE_ROW) {
		db_errf(err, errlen, "that key is already used by %s", other);
		return -1;
	}
	if (rc != SQLITE_DONE)
		return db_fail(db, name, err, errlen);
	return 0;
}

int
db_key_add(struct db *db, const char *name, const char *key,
    const char *note, bool enabled, char *err, size_t errlen)
{
	if (db_begin(db, err, errlen) == -1)
		return -1;
	if (db_key_check(db, name, false, false, NULL, key, err,
	    errlen) == -1)
		goto fail;
	if (db_run(db, "INSERT INTO keys (name, key, note, enabled, source, "
	    "created_at) VALUES (?1, ?2, ?3, ?4, 'cli', ?5)", "sssii", name,
	    key, note != NULL ? note : "", (int64_t)enabled,
	    (int64_t)time(NULL)) != SQLITE_OK) {
		db_fail(db, name, err, errlen);
		goto fail;
	}
	if (db_commit(db, err, errlen) == -1)
		goto fail;
	return 0;
fail:
	db_rollback(db);
	return -1;
}

int
db_key_set_enabled(struct db *db, const char *name, bool enabled,
    char *err, size_t errlen)
{
	if (db_run(db, "UPDATE keys SET enabled = ?2 WHERE name = ?1", "si",
	    name, (int64_t)enabled) != SQLITE_OK)
		return db_fail(db, name, err, errlen);
	if (sqlite3_changes(db->sq) == 0) {
		db_errf(err, errlen, "no key named %s", name);
		return -1;
	}
	return 0;
}

int
db_key_set_key(struct db *db, const char *name, const char *key,
    char *err, size_t errlen)
{
	if (db_begin(db, err, errlen) == -1)
		return -1;
	if (db_key_check(db, name, true, true, "change its key", key, err,
	    errlen) == -1)
		goto fail;
	if (db_run(db, "UPDATE keys SET key = ?2 WHERE name = ?1", "ss",
	    name, key) != SQLITE_OK) {
		db_fail(db, name, err, errlen);
		goto fail;
	}
	if (db_commit(db, err, errlen) == -1)
		goto fail;
	return 0;
fail:
	db_rollback(db);
	return -1;
}

int
db_key_rm(struct db *db, const char *name, char *err, size_t errlen)
{
	if (db_begin(db, err, errlen) == -1)
		return -1;
	if (db_key_check(db, name, true, true, "remove", NULL, err,
	    errlen) == -1)
		goto fail;
	if (db_run(db, "DELETE FROM keys WHERE name = ?1", "s", name) !=
	    SQLITE_OK) {
		db_fail(db, name, err, errlen);
		goto fail;
	}
	if (db_commit(db, err, errlen) == -1)
		goto fail;
	return 0;
fail:
	db_rollback(db);
	return -1;
}

static int
db_relay_fill(struct db_relay *r, sqlite3_stmt *st)
{
	const char	*s;

	memset(r, 0, sizeof(*r));
	s = (const char *)sqlite3_column_text(st, 0);
	r->stream = strdup(s != NULL ? s : "");
	s = (const char *)sqlite3_column_text(st, 1);
	r->name = strdup(s != NULL ? s : "");
	s = (const char *)sqlite3_column_text(st, 2);
	r->url = strdup(s != NULL ? s : "");
	s = (const char *)sqlite3_column_text(st, 3);
	r->profile = strdup(s != NULL ? s : "");
	r->enabled = sqlite3_column_int(st, 4) != 0;
	r->created_s = sqlite3_column_int64(st, 5);
	return r->stream == NULL || r->name == NULL || r->url == NULL ||
	    r->profile == NULL ? -1 : 0;
}

int
db_relays_load(struct db *db, const char *stream, struct db_relay **out,
    size_t *n, char *err, size_t errlen)
{
	sqlite3_stmt	*st;
	struct db_relay	*relays = NULL, *tmp;
	size_t		 nrelays = 0, cap = 0;
	int		 rc;

	/* ?1 IS NULL: one statement for one stream or all of them. */
	if (db_prepare(db, &st, "SELECT stream, name, url, profile, enabled, "
	    "created_at FROM relays WHERE ?1 IS NULL OR stream = ?1 "
	    "ORDER BY stream, name", "s", stream) != SQLITE_OK)
		return db_fail(db, "relays", err, errlen);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (nrelays == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			if ((tmp = reallocarray(relays, cap,
			    sizeof(*relays))) == NULL)
				goto oom;
			relays = tmp;
		}
		if (db_relay_fill(&relays[nrelays++], st) == -1)
			goto oom;
	}
	if (rc != SQLITE_DONE) {
		db_fail(db, "relays", err, errlen);
		goto fail;
	}
	sqlite3_finalize(st);
	*out = relays;
	*n = nrelays;
	return 0;
oom:
	db_errf(err, errlen, "relays: %s", strerror(ENOMEM));
fail:
	sqlite3_finalize(st);
	db_relays_free(relays, nrelays);
	return -1;
}

void
db_relays_free(struct db_relay *relays, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(relays[i].stream);
		free(relays[i].name);
		free(relays[i].url);
		free(relays[i].profile);
	}
	free(relays);
}

static int
db_session_fill(struct db_session *v, sqlite3_stmt *st)
{
	const char	*s[4];
	int		 i;

	memset(v, 0, sizeof(*v));
	for (i = 0; i < 4; i++)
		if ((s[i] = (const char *)sqlite3_column_text(st, i)) == NULL)
			s[i] = "";
	v->id = strdup(s[0]);
	v->stream = strdup(s[1]);
	v->client = strdup(s[2]);
	v->end_reason = strdup(s[3]);
	v->started_s = sqlite3_column_int64(st, 4);
	v->ended_s = sqlite3_column_int64(st, 5);	/* NULL reads 0 */
	v->bytes_in = sqlite3_column_int64(st, 6);
	return v->id == NULL || v->stream == NULL || v->client == NULL ||
	    v->end_reason == NULL ? -1 : 0;
}

/* The relay rows of publish s, oldest first, into s->relays. */
static int
db_relay_sessions_load(struct db *db, struct db_session *s, char *err,
    size_t errlen)
{
	sqlite3_stmt		*st;
	struct db_relay_session	*r, *tmp;
	size_t			 cap = 0;
	int			 rc;

	if (db_prepare(db, &st, "SELECT relay, last_error, started_at, "
	    "ended_at, bytes_out, packets_out, dropped, reconnects, restarts "
	    "FROM relay_sessions WHERE session_id = ?1 ORDER BY rowid", "s",
	    s->id) != SQLITE_OK)
		return db_fail(db, "relay sessions", err, errlen);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (s->nrelays == cap) {
			cap = cap == 0 ? 4 : cap * 2;
			if ((tmp = reallocarray(s->relays, cap,
			    sizeof(*tmp))) == NULL)
				break;
			s->relays = tmp;
		}
		r = &s->relays[s->nrelays];
		r->relay = strdup((const char *)sqlite3_column_text(st, 0));
		r->last_error = strdup((const char *)sqlite3_column_text(st,
		    1));
		r->started_s = sqlite3_column_int64(st, 2);
		r->ended_s = sqlite3_column_int64(st, 3);
		r->bytes_out = sqlite3_column_int64(st, 4);
		r->packets_out = sqlite3_column_int64(st, 5);
		r->dropped = sqlite3_column_int64(st, 6);
		r->reconnects = sqlite3_column_int64(st, 7);
		r->restarts = sqlite3_column_int64(st, 8);
		s->nrelays++;
		if (r->relay == NULL || r->last_error == NULL)
			break;
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW) {
		db_errf(err, errlen, "relay sessions: %s", strerror(ENOMEM));
		return -1;
	}
	return rc == SQLITE_DONE ? 0 : db_fail(db, "relay sessions", err,
	    errlen);
}

int
db_sessions_list(struct db *db, const char *stream, unsigned limit,
    struct db_session **out, size_t *n, char *err, size_t errlen)
{
	sqlite3_stmt		*st;
	struct db_session	*v = NULL, *tmp;
	size_t			 nv = 0, cap = 0, i;
	int			 rc;

	if (db_prepare(db, &st, "SELECT id, key_name, client_addr, "
	    "end_reason, started_at, ended_at, bytes_in FROM sessions "
	    "WHERE ?1 IS NULL OR key_name = ?1 "
	    "ORDER BY started_at DESC, rowid DESC LIMIT ?2", "si", stream,
	    (int64_t)limit) != SQLITE_OK)
		return db_fail(db, "sessions", err, errlen);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (nv == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			if ((tmp = reallocarray(v, cap, sizeof(*v))) == NULL)
				goto oom;
			v = tmp;
		}
		if (db_session_fill(&v[nv++], st) == -1)
			goto oom;
	}
	if (rc != SQLITE_DONE) {
		db_fail(db, "sessions", err, errlen);
		goto fail;
	}
	sqlite3_finalize(st);
	for (i = 0; i < nv; i++)
		if (db_relay_sessions_load(db, &v[i], err, errlen) == -1) {
			db_sessions_free(v, nv);
			return -1;
		}
	*out = v;
	*n = nv;
	return 0;
oom:
	db_errf(err, errlen, "sessions: %s", strerror(ENOMEM));
fail:
	sqlite3_finalize(st);
	db_sessions_free(v, nv);
	return -1;
}

void
db_sessions_free(struct db_session *v, size_t n)
{
	size_t	i, j;

	for (i = 0; i < n; i++) {
		free(v[i].id);
		free(v[i].stream);
		free(v[i].client);
		free(v[i].end_reason);
		for (j = 0; j < v[i].nrelays; j++) {
			free(v[i].relays[j].relay);
			free(v[i].relays[j].last_error);
		}
		free(v[i].relays);
	}
	free(v);
}

int
db_relay_add(struct db *db, const char *stream, const char *name,
    const char *url, const char *profile, bool enabled, char *err,
    size_t errlen)
{
	char	buf[8];
	int	rc;

	if (db_begin(db, err, errlen) == -1)
		return -1;
	rc = db_query_text(db, buf, sizeof(buf),
	    "SELECT 1 FROM keys WHERE name = ?1", "s", stream);
	if (rc == SQLITE_DONE)
		db_errf(err, errlen, "stream %s has no key", stream);
	if (rc != SQLITE_ROW) {
		if (rc != SQLITE_DONE)
			db_fail(db, stream, err, errlen);
		goto fail;
	}
	rc = db_query_text(db, buf, sizeof(buf), "SELECT 1 FROM relays "
	    "WHERE stream = ?1 AND name = ?2", "ss", stream, name);
	if (rc == SQLITE_ROW)
		db_errf(err, errlen, "relay exists");
	if (rc != SQLITE_DONE) {
		if (rc != SQLITE_ROW)
			db_fail(db, name, err, errlen);
		goto fail;
	}
	if (db_run(db, "INSERT INTO relays (stream, name, url, profile, "
	    "enabled, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", "ssssii",
	    stream, name, url, profile != NULL ? profile : "copy",
	    (int64_t)enabled, (int64_t)time(NULL)) != SQLITE_OK) {
		db_fail(db, name, err, errlen);
		goto fail;
	}
	if (db_commit(db, err, errlen) == -1)
		goto fail;
	return 0;
fail:
	db_rollback(db);
	return -1;
}

int
db_relay_set_enabled(struct db *db, const char *stream, const char *name,
    bool enabled, char *err, size_t errlen)
{
	if (db_run(db, "UPDATE relays SET enabled = ?3 "
	    "WHERE stream = ?1 AND name = ?2", "ssi", stream, name,
	    (int64_t)enabled) != SQLITE_OK)
		return db_fail(db, name, err, errlen);
	if (sqlite3_changes(db->sq) == 0) {
		db_errf(err, errlen, "no relay named %s on stream %s", name,
		    stream);
		return -1;
	}
	return 0;
}

int
db_relay_rm(struct db *db, const char *stream, const char *name, char *err,
    size_t errlen)
{
	if (db_run(db, "DELETE FROM relays WHERE stream = ?1 AND name = ?2",
	    "ss", stream, name) != SQLITE_OK)
		return db_fail(db, name, err, errlen);
	if (sqlite3_changes(db->sq) == 0) {
		db_errf(err, errlen, "no relay named %s on stream %s", name,
		    stream);
		return -1;
	}
	return 0;
}

int64_t
db_data_version(struct db *db)
{
	sqlite3_stmt	*st;
	int64_t		 v = -1;

	if (db_prepare(db, &st, "PRAGMA data_version", "") != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/*
 * Makes room for one more op: drops the oldest touch (the next touch of
 * that key repairs it), else the oldest op.  Counted for db_flush.
 */
static void
db_queue_shed(struct db *db)
{
	struct db_op	*op;

	TAILQ_FOREACH(op, &db->ops, entry)
		if (op->type == DB_OP_TOUCH)
			break;
	if (op == NULL)
		op = TAILQ_FIRST(&db->ops);
	db_op_remove(db, op);
	db->ndropped++;
}

/* Queues op, or frees it and counts a drop when a copy failed. */
static void
db_queue_add(struct db *db, struct db_op *op, bool copied)
{
	if (!copied) {
		db_op_free(op);
		db->ndropped++;
		return;
	}
	if (db->nops >= DB_QUEUE_MAX)
		db_queue_shed(db);
	TAILQ_INSERT_TAIL(&db->ops, op, entry);
	db->nops++;
}

void
db_session_start(struct db *db, const char *id, const char *key_name,
    const char *client_addr, int64_t start_s)
{
	struct db_op	*op;

	if ((op = calloc(1, sizeof(*op))) == NULL) {
		db->ndropped++;
		return;
	}
	op->type = DB_OP_START;
	op->ts_s = start_s;
	op->id = strdup(id);
	op->name = strdup(key_name);
	op->text = strdup(client_addr != NULL ? client_addr : "");
	db_queue_add(db, op, op->id != NULL && op->name != NULL &&
	    op->text != NULL);
}

void
db_session_end(struct db *db, const char *id, int64_t end_s,
    uint64_t bytes_in, const char *reason)
{
	struct db_op	*op;

	if ((op = calloc(1, sizeof(*op))) == NULL) {
		db->ndropped++;
		return;
	}
	op->type = DB_OP_END;
	op->ts_s = end_s;
	op->bytes_in = bytes_in > INT64_MAX ? INT64_MAX : (int64_t)bytes_in;
	op->id = strdup(id);
	op->text = reason != NULL ? strdup(reason) : NULL;
	db_queue_add(db, op, op->id != NULL &&
	    (reason == NULL || op->text != NULL));
}

void
db_key_touch(struct db *db, const char *key_name, int64_t ts_s)
{
	struct db_op	*op;

	/* Touches only raise last_active_at, so one per key is enough. */
	TAILQ_FOREACH_REVERSE(op, &db->ops, db_ops, entry) {
		if (op->type == DB_OP_TOUCH &&
		    strcmp(op->name, key_name) == 0) {
			if (ts_s > op->ts_s)
				op->ts_s = ts_s;
			return;
		}
	}
	if ((op = calloc(1, sizeof(*op))) == NULL) {
		db->ndropped++;
		return;
	}
	op->type = DB_OP_TOUCH;
	op->ts_s = ts_s;
	op->name = strdup(key_name);
	db_queue_add(db, op, op->name != NULL);
}

void
db_relay_session(struct db *db, const char *session_id,
    const struct db_relay_session *rs)
{
	struct db_op	*op;

	if ((op = calloc(1, sizeof(*op))) == NULL) {
		db->ndropped++;
		return;
	}
	op->type = DB_OP_RELAY;
	op->rs = *rs;
	op->id = strdup(session_id);
	op->name = strdup(rs->relay);
	op->text = strdup(rs->last_error != NULL ? rs->last_error : "");
	db_queue_add(db, op, op->id != NULL && op->name != NULL &&
	    op->text != NULL);
}

int
db_sessions_recover(struct db *db, int64_t now_s, char *err, size_t errlen)
{
	if (db_run(db, "UPDATE sessions SET ended_at = ?1, "
	    "end_reason = 'supervisor restarted' WHERE ended_at IS NULL", "i",
	    now_s) != SQLITE_OK)
		return db_fail(db, "recover sessions", err, errlen);
	return 0;
}

/* Runs one queued op; an SQLite code. */
static int
db_op_run(struct db *db, const struct db_op *op)
{
	switch (op->type) {
	case DB_OP_START:
		return db_run(db, "INSERT INTO sessions (id, key_name, "
		    "started_at, client_addr) VALUES (?1, ?2, ?3, ?4)", "ssis",
		    op->id, op->name, op->ts_s, op->text);
	case DB_OP_END:
		return db_run(db, "UPDATE sessions SET ended_at = ?2, "
		    "bytes_in = ?3, end_reason = ?4 WHERE id = ?1", "siis",
		    op->id, op->ts_s, op->bytes_in, op->text);
	case DB_OP_TOUCH:
		return db_run(db, "UPDATE keys SET last_active_at = "
		    "max(coalesce(last_active_at, 0), ?2) WHERE name = ?1",
		    "si", op->name, op->ts_s);
	case DB_OP_RELAY:
		return db_run(db, "INSERT INTO relay_sessions (session_id, "
		    "relay, started_at, ended_at, bytes_out, packets_out, "
		    "dropped, reconnects, restarts, last_error) VALUES (?1, "
		    "?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)", "ssiiiiiiis",
		    op->id, op->name, op->rs.started_s, op->rs.ended_s,
		    op->rs.bytes_out, op->rs.packets_out, op->rs.dropped,
		    op->rs.reconnects, op->rs.restarts, op->text);
	}
	return SQLITE_MISUSE;
}

static const char *
db_op_what(const struct db_op *op)
{
	switch (op->type) {
	case DB_OP_START:
		return "session start";
	case DB_OP_END:
		return "session end";
	case DB_OP_TOUCH:
		return "key touch";
	case DB_OP_RELAY:
		return "relay session";
	}
	return "?";
}

/*
 * One transaction for the whole queue.  An op failing for a reason other
 * than a lock is dropped (its error reported) and the rest committed;
 * SQLite rolling the transaction back on its own (disk full, I/O) keeps
 * the others queued.  Ops leave the queue only once committed.
 */
int
db_flush(struct db *db, char *err, size_t errlen)
{
	struct db_op	*op, *next;
	bool		 failed = false;
	int		 rc;

	if (!TAILQ_EMPTY(&db->ops)) {
		rc = sqlite3_exec(db->sq, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		if (DB_BUSY(rc))
			return (int)db->nops;
		if (rc != SQLITE_OK)
			return db_fail(db, "flush", err, errlen);
	}
	for (op = TAILQ_FIRST(&db->ops); op != NULL; op = next) {
		next = TAILQ_NEXT(op, entry);
		rc = db_op_run(db, op);
		if (DB_BUSY(rc)) {
			db_rollback(db);
			return (int)db->nops;
		}
		if (rc == SQLITE_OK)
			continue;
		if (!failed)
			db_errf(err, errlen, "flush: %s: %s", db_op_what(op),
			    sqlite3_errmsg(db->sq));
		failed = true;
		db_op_remove(db, op);
		if (sqlite3_get_autocommit(db->sq))
			return -1;
	}
	if (!sqlite3_get_autocommit(db->sq)) {
		rc = sqlite3_exec(db->sq, "COMMIT", NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			if (!DB_BUSY(rc))
				db_fail(db, "flush: commit", err, errlen);
			db_rollback(db);
			return DB_BUSY(rc) ? (int)db->nops : -1;
		}
		while ((op = TAILQ_FIRST(&db->ops)) != NULL)
			db_op_remove(db, op);
	}
	if (failed)
		return -1;
	if (db->ndropped > 0) {
		db_errf(err, errlen, "flush: write queue full or out of "
		    "memory: %zu writes dropped", db->ndropped);
		db->ndropped = 0;
		return -1;
	}
	return 0;
}

/* Profiles added with `mirroring profile add` (0003_profiles.sql). */

int
db_profiles_load(struct db *db, struct db_profile **out, size_t *n,
    char *err, size_t errlen)
{
	sqlite3_stmt		*st;
	struct db_profile	*v = NULL, *tmp;
	const char		*a, *b;
	size_t			 nv = 0, cap = 0;
	int			 rc;

	if (db_prepare(db, &st, "SELECT name, spec FROM profiles ORDER BY "
	    "name", "") != SQLITE_OK)
		return db_fail(db, "profiles", err, errlen);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (nv == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			if ((tmp = reallocarray(v, cap, sizeof(*v))) == NULL)
				goto oom;
			v = tmp;
		}
		a = (const char *)sqlite3_column_text(st, 0);
		b = (const char *)sqlite3_column_text(st, 1);
		v[nv].name = strdup(a != NULL ? a : "");
		v[nv].spec = strdup(b != NULL ? b : "");
		if (v[nv++].name == NULL || v[nv - 1].spec == NULL)
			goto oom;
	}
	if (rc != SQLITE_DONE) {
		db_fail(db, "profiles", err, errlen);
		goto fail;
	}
	sqlite3_finalize(st);
	*out = v;
	*n = nv;
	return 0;
oom:
	db_errf(err, errlen, "profiles: %s", strerror(ENOMEM));
fail:
	sqlite3_finalize(st);
	db_profiles_free(v, nv);
	return -1;
}

void
db_profiles_free(struct db_profile *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].spec);
	}
	free(v);
}

int
db_profile_add(struct db *db, const char *name, const char *spec, char *err,
    size_t errlen)
{
	char	buf[8];
	int	rc;

	if (db_begin(db, err, errlen) == -1)
		return -1;
	rc = db_query_text(db, buf, sizeof(buf), "SELECT 1 FROM profiles "
	    "WHERE name = ?1", "s", name);
	if (rc == SQLITE_ROW)
		db_errf(err, errlen, "profile exists");
	if (rc != SQLITE_DONE) {
		if (rc != SQLITE_ROW)
			db_fail(db, name, err, errlen);
		goto fail;
	}
	if (db_run(db, "INSERT INTO profiles (name, spec, created_at) VALUES "
	    "(?1, ?2, ?3)", "ssi", name, spec, (int64_t)time(NULL)) !=
	    SQLITE_OK) {
		db_fail(db, name, err, errlen);
		goto fail;
	}
	if (db_commit(db, err, errlen) == -1)
		goto fail;
	return 0;
fail:
	db_rollback(db);
	return -1;
}

int
db_profile_rm(struct db *db, const char *name, char *err, size_t errlen)
{
	char	buf[2 * 64 + 2];
	int	rc;

	if (db_begin(db, err, errlen) == -1)
		return -1;
	rc = db_query_text(db, buf, sizeof(buf), "SELECT stream || '/' || name "
	    "FROM relays WHERE profile = ?1 ORDER BY stream, name", "s", name);
	if (rc == SQLITE_ROW)
		db_errf(err, errlen, "profile %s is used by relay %s", name,
		    buf);
	if (rc != SQLITE_DONE) {
		if (rc != SQLITE_ROW)
			db_fail(db, name, err, errlen);
		goto fail;
	}
	if (db_run(db, "DELETE FROM profiles WHERE name = ?1", "s", name) !=
	    SQLITE_OK) {
		db_fail(db, name, err, errlen);
		goto fail;
	}
	if (sqlite3_changes(db->sq) == 0) {
		db_errf(err, errlen, "no profile named %s", name);
		goto fail;
	}
	if (db_commit(db, err, errlen) == -1)
		goto fail;
	return 0;
fail:
	db_rollback(db);
	return -1;
}
