/*
 * The supervisor's root; see server.h.  Wires the listener, control
 * socket, signals and the one-second tick, and applies key changes to
 * live streams.  Start-up failures are fatal; after that nothing is.
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "config/cfg.h"
#include "supervisor/control.h"
#include "supervisor/db.h"
#include "supervisor/profile_check.h"
#include "supervisor/ingest.h"
#include "supervisor/server.h"
#include "supervisor/session.h"
#include "supervisor/stream.h"

#define SERVER_TICK_MS		1000
#define SERVER_DB_START_MS	5000	/* wait for a CLI's lock at start */
#define SERVER_DB_CLOSE_MS	2000	/* flush history rows at exit */

struct stream *
server_stream_find(struct server *srv, const char *name)
{
	struct stream	*st;

	TAILQ_FOREACH(st, &srv->streams, entry)
		if (strcmp(st->name, name) == 0)
			return st;
	return NULL;
}

const struct cfg_profile *
server_profile_find(const struct server *srv, const char *name)
{
	const struct cfg_profile	*p;
	size_t				 i;

	if ((p = cfg_profile_find(srv->cfg, name)) != NULL)
		return p;
	for (i = 0; i < srv->nprofiles; i++)
		if (strcmp(srv->profiles[i].name, name) == 0)
			return &srv->profiles[i];
	return NULL;
}

static void
server_profiles_free(struct cfg_profile *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		cfg_profile_clear(&v[i]);
	free(v);
}

/* Replaces the CLI profiles; one that no longer parses is logged and
 * left out (its relays are skipped, not relayed as copy). */
static int
server_profiles_load(struct server *srv, char *err, size_t errlen)
{
	struct db_profile	*d;
	struct cfg_profile	*v;
	struct cfg_err		 cerr;
	size_t			 i, n, nv = 0;

	if (db_profiles_load(srv->db, &d, &n, err, errlen) == -1)
		return -1;
	if ((v = calloc(n + 1, sizeof(*v))) == NULL) {
		db_profiles_free(d, n);
		snprintf(err, errlen, "profiles: out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (cfg_profile_parse_spec(d[i].name, d[i].spec, &v[nv],
		    &cerr) == 0)
			nv++;
		else
			log_warnx("profile.rejected", "profile=%s err=%s",
			    d[i].name, LQ(cerr.msg));
	}
	db_profiles_free(d, n);
	server_profiles_free(srv->profiles, srv->nprofiles);
	srv->profiles = v;
	srv->nprofiles = nv;
	return 0;
}

/* Replaces the CLI relay table; on failure the old one stays. */
static int
server_relays_load(struct server *srv, char *err, size_t errlen)
{
	struct db_relay	*v;
	size_t		 n;

	if (server_profiles_load(srv, err, errlen) == -1 ||
	    db_relays_load(srv->db, NULL, &v, &n, err, errlen) == -1)
		return -1;
	db_relays_free(srv->relays, srv->nrelays);
	srv->relays = v;
	srv->nrelays = n;
	return 0;
}

void
server_keys_changed(struct server *srv)
{
	const struct key_entry	*ke;
	struct stream		*st, *next;
	char			 err[DB_ERR_MAX];
	const char		*why;

	if (keys_load(&srv->keys, srv->db, err, sizeof(err)) == -1) {
		log_error("keys.load_failed", "err=%s", LQ(err));
		return;
	}
	srv->db_version = db_data_version(srv->db);
	log_info("keys.loaded", "keys=%zu", srv->keys.n);
	for (st = TAILQ_FIRST(&srv->streams); st != NULL; st = next) {
		next = TAILQ_NEXT(st, entry);
		ke = keys_find(&srv->keys, st->name);
		if (ke == NULL)
			why = "key removed";
		else if (!ke->enabled)
			why = "key disabled";
		else if (strcmp(ke->key, st->key) != 0)
			why = "key changed";
		else
			continue;
		/* ends the stream too; next stays valid */
		session_close(st->session, why, false);
	}
	if (server_relays_load(srv, err, sizeof(err)) == -1) {
		log_error("relays.load_failed", "err=%s", LQ(err));
		return;
	}
	TAILQ_FOREACH(st, &srv->streams, entry)
		stream_relays_apply(st);
}

void
server_status(struct server *srv, struct evbuffer *out, bool json)
{
	struct stream	*st;
	uint64_t	 now = util_mono_ms();
	bool		 first = true;

	if (json) {
		evbuffer_add_printf(out, "{\"streams\":[");
		TAILQ_FOREACH(st, &srv->streams, entry) {
			if (!first)
				evbuffer_add_printf(out, ",");
			stream_status(st, out, true, now);
			first = false;
		}
		evbuffer_add_printf(out, "]}\n");
		return;
	}
	if (TAILQ_EMPTY(&srv->streams)) {
		evbuffer_add_printf(out, "no live streams\n");
		return;
	}
	evbuffer_add_printf(out, "%-16s %-21s %9s  %-26s%-20s%13s\n",
	    "STREAM", "CLIENT", "UPTIME", "VIDEO", "AUDIO", "INGEST");
	TAILQ_FOREACH(st, &srv->streams, entry)
		stream_status(st, out, false, now);
}

static void
server_on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct server	*srv = arg;
	struct stream	*st;
	char		 err[DB_ERR_MAX];
	uint64_t	 now = util_mono_ms();

	if (db_flush(srv->db, err, sizeof(err)) == -1)
		log_error("db.write_failed", "err=%s", LQ(err));
	/* a CLI that could not reach us still changed the database */
	if (db_data_version(srv->db) != srv->db_version)
		server_keys_changed(srv);
	TAILQ_FOREACH(st, &srv->streams, entry)
		stream_tick(st, now);
}

void
server_relay_gone(struct server *srv)
{
	if (srv->stopping && TAILQ_EMPTY(&srv->draining))
		event_base_loopexit(srv->base, NULL);
}

static void
server_on_stop_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct server	*srv = arg;

	log_warnx("supervisor.stop_timeout", "workers_left=%s",
	    TAILQ_EMPTY(&srv->draining) ? "0" : "some");
	event_base_loopexit(srv->base, NULL);
}

/* Publishers are closed, so every worker gets EOS and may flush and close
 * its destination; the loop ends when the last has exited, or after the
 * grace period (server_free kills stragglers). */
static void
server_stop(struct server *srv, const char *why)
{
	struct session	*s, *next;
	struct timeval	 grace = { RELAY_GRACE_MS / 1000 + 1, 0 };

	if (srv->stopping)
		return;
	srv->stopping = true;
	log_info("supervisor.stopping", "reason=%s", why);
	ingest_close(srv);
	for (s = TAILQ_FIRST(&srv->sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		session_close(s, "server stopping", false);
	}
	if (TAILQ_EMPTY(&srv->draining) || (srv->stop_ev = evtimer_new(
	    srv->base, server_on_stop_timeout, srv)) == NULL ||
	    evtimer_add(srv->stop_ev, &grace) == -1)
		event_base_loopexit(srv->base, NULL);
}

/* SIGCHLD: reap every exited child; ours are relay workers. */
static void
server_reap(struct server *srv)
{
	pid_t	pid;
	int	wstatus;

	while ((pid = waitpid(-1, &wstatus, WNOHANG)) > 0)
		if (!relay_reap(srv, pid, wstatus))
			log_debug("supervisor.reaped", "pid=%ld", (long)pid);
}

/* SIGHUP: a new config is parsed whole and then swapped in; an invalid
 * one leaves everything as it was. */
static void
server_reload(struct server *srv)
{
	struct cfg	*nc;
	struct cfg_err	 cerr;
	char		 err[DB_ERR_MAX];

	if (profile_check_load(srv->cfg->path, &nc, &cerr) == -1) {
		log_error("config.rejected", "err=%s", LQ(cerr.msg));
		return;
	}
	if (strcmp(nc->listen_host, srv->cfg->listen_host) != 0 ||
	    nc->listen_port != srv->cfg->listen_port ||
	    strcmp(nc->state_dir, srv->cfg->state_dir) != 0)
		log_warnx("config.restart_needed", "what=%s",
		    "listen/state_dir changes apply at the next start");
	if (db_sync_file_keys(srv->db, nc, err, sizeof(err)) == -1) {
		log_error("config.rejected", "err=%s", LQ(err));
		cfg_free(nc);
		return;
	}
	free(nc->listen_host);
	free(nc->state_dir);
	nc->listen_host = strdup(srv->cfg->listen_host);
	nc->listen_port = srv->cfg->listen_port;
	nc->state_dir = strdup(srv->cfg->state_dir);
	if (nc->listen_host == NULL || nc->state_dir == NULL) {
		log_error("config.rejected", "err=%s", "out of memory");
		cfg_free(nc);
		return;
	}
	cfg_free(srv->cfg);
	srv->cfg = nc;
	log_set_level(nc->log_level);
	log_info("config.reloaded", "path=%s streams=%zu", LQ(nc->path),
	    nc->nstreams);
	server_keys_changed(srv);	/* and relays */
}

static void
server_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct server	*srv = arg;

	if (sig == SIGCHLD)
		server_reap(srv);
	else if (sig == SIGHUP)
		server_reload(srv);
	else
		server_stop(srv, sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

/* Everything up to serving; a failure here ends the process. */
static void
server_start(struct server *srv)
{
	static const int sigs[4] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };
	struct timeval	 tick = { SERVER_TICK_MS / 1000, 0 };
	char		 err[DB_ERR_MAX];
	int		 i;

	if ((srv->base = event_base_new()) == NULL)
		fatalx("supervisor.failed", "err=%s", "event_base_new");
	/* a CLI may hold the write lock for a moment: wait for it here,
	 * before serving, and never after */
	if ((srv->db = db_open(srv->cfg->state_dir, SERVER_DB_START_MS, err,
	    sizeof(err))) == NULL ||
	    db_sync_file_keys(srv->db, srv->cfg, err, sizeof(err)) == -1 ||
	    db_sessions_recover(srv->db, util_wall_s(), err, sizeof(err)) ==
	    -1 || keys_load(&srv->keys, srv->db, err, sizeof(err)) == -1 ||
	    server_relays_load(srv, err, sizeof(err)) == -1)
		fatalx("supervisor.failed", "state_dir=%s err=%s",
		    LQ(srv->cfg->state_dir), LQ(err));
	db_set_busy_timeout(srv->db, 0);
	srv->db_version = db_data_version(srv->db);
	if ((srv->control = control_new(srv, srv->cfg->state_dir, err,
	    sizeof(err))) == NULL ||
	    ingest_listen(srv, srv->cfg->listen_host, srv->cfg->listen_port,
	    err, sizeof(err)) == -1)
		fatalx("supervisor.failed", "err=%s", LQ(err));
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < 4; i++)
		if ((srv->sig_ev[i] = evsignal_new(srv->base, sigs[i],
		    server_on_signal, srv)) == NULL ||
		    evsignal_add(srv->sig_ev[i], NULL) == -1)
			fatalx("supervisor.failed", "err=%s", "signal setup");
	if ((srv->tick_ev = event_new(srv->base, -1, EV_PERSIST,
	    server_on_tick, srv)) == NULL || evtimer_add(srv->tick_ev,
	    &tick) == -1)
		fatalx("supervisor.failed", "err=%s", "timer setup");
}

static void
server_free(struct server *srv)
{
	int	i;

	while (!TAILQ_EMPTY(&srv->sessions)) {
		session_close(TAILQ_FIRST(&srv->sessions), "server stopping",
		    false);
		session_free(TAILQ_FIRST(&srv->sessions));
	}
	while (!TAILQ_EMPTY(&srv->draining)) {
		struct relay *r = TAILQ_FIRST(&srv->draining);

		TAILQ_REMOVE(&srv->draining, r, entry);
		relay_free(r);		/* SIGKILLs a straggler */
	}
	ingest_close(srv);
	control_free(srv->control);
	if (srv->stop_ev != NULL)
		event_free(srv->stop_ev);
	for (i = 0; i < 4; i++)
		if (srv->sig_ev[i] != NULL)
			event_free(srv->sig_ev[i]);
	if (srv->tick_ev != NULL)
		event_free(srv->tick_ev);
	db_close(srv->db, SERVER_DB_CLOSE_MS);
	keys_clear(&srv->keys);
	db_relays_free(srv->relays, srv->nrelays);
	server_profiles_free(srv->profiles, srv->nprofiles);
	cfg_free(srv->cfg);
	event_base_free(srv->base);
}

/* Parsed and validated, but not acted on yet: say so instead of
 * pretending. */
static void
server_warn_unsupported(const struct cfg *cfg)
{
	if (cfg->http != NULL)
		log_warnx("config.unsupported", "key=http addr=%s reason=%s",
		    LQ(cfg->http), LQ("the HTTP status server is not built "
		    "yet (issue #5)"));
}

int
server_run(struct cfg *cfg)
{
	struct server	srv;

	memset(&srv, 0, sizeof(srv));
	srv.cfg = cfg;
	TAILQ_INIT(&srv.sessions);
	TAILQ_INIT(&srv.streams);
	TAILQ_INIT(&srv.draining);
	server_start(&srv);
	log_info("supervisor.listening", "addr=%s:%u app=%s state_dir=%s "
	    "keys=%zu worker=%s", cfg->listen_host, cfg->listen_port, cfg->app,
	    LQ(cfg->state_dir), srv.keys.n, LQ(relay_worker_path()));
	server_warn_unsupported(cfg);
	event_base_dispatch(srv.base);
	server_free(&srv);
	log_info("supervisor.stopped", "%s", "");
	return 0;
}
