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
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "config/cfg.h"
#include "supervisor/control.h"
#include "supervisor/daemon.h"
#include "supervisor/db.h"
#include "supervisor/http.h"
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

size_t
server_stream_count(const struct server *srv)
{
	const struct stream	*st;
	size_t			 n = 0;

	TAILQ_FOREACH(st, &srv->streams, entry)
		n++;
	return n;
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

/* A backup publisher whose key is no longer the stream's backup key. */
static void
server_backup_check(struct server *srv, struct stream *st)
{
	const struct cfg_stream	*cs = cfg_stream_find(srv->cfg, st->name);
	struct source		*b = st->src[SOURCE_BACKUP];

	if (b == NULL || (cs != NULL && cs->backup_key.value != NULL &&
	    strcmp(cs->backup_key.value, b->key) == 0))
		return;
	session_close(b->session, "backup key changed", false);
}

void
server_keys_changed(struct server *srv)
{
	const struct key_entry	*ke;
	struct stream		*st, *next;
	struct source		*p;
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
		p = st->src[SOURCE_PRIMARY];
		if (ke == NULL || !ke->enabled) {
			/* held relays and the backup end too: the stream may
			 * not publish at all */
			stream_close(st, ke == NULL ? "key removed" :
			    "key disabled");
			continue;
		}
		if (p != NULL && strcmp(ke->key, p->key) != 0) {
			why = "key changed";
			/* a switch to the backup, a hold, or the end of the
			 * stream; next stays valid */
			session_close(p->session, why, false);
		}
	}
	for (st = TAILQ_FIRST(&srv->streams); st != NULL; st = next) {
		next = TAILQ_NEXT(st, entry);
		server_backup_check(srv, st);
	}
	if (server_relays_load(srv, err, sizeof(err)) == -1) {
		log_error("relays.load_failed", "err=%s", LQ(err));
		return;
	}
	for (st = TAILQ_FIRST(&srv->streams); st != NULL; st = next) {
		next = TAILQ_NEXT(st, entry);
		stream_relays_apply(st);	/* may free a held stream */
	}
}

/* What the config parser found odd but accepted (a missing slate file). */
static void
server_cfg_warnings(const struct cfg *cfg)
{
	size_t	i;

	for (i = 0; i < cfg->nwarnings; i++)
		log_warnx("config.warning", "msg=%s", LQ(cfg->warnings[i]));
}

/* One line on the supervisor itself: who, how long, where. */
static void
server_status_head(struct server *srv, struct evbuffer *out, uint64_t now)
{
	const struct stream	*st;
	const struct relay	*r;
	uint64_t		 up = (now - srv->started_ms) / 1000;
	unsigned		 nst = 0, nrl = 0, nlive = 0;

	TAILQ_FOREACH(st, &srv->streams, entry) {
		nst++;
		TAILQ_FOREACH(r, &st->relays, entry) {
			nrl++;
			nlive += r->pid > 0 && r->status.state == IPC_ST_LIVE;
		}
	}
	evbuffer_add_printf(out, "mirroring pid %ld, up %llu:%02llu:%02llu, "
	    "rtmp %s:%u, http %s; %u live stream%s, relays %u/%u live\n\n",
	    (long)getpid(), (unsigned long long)(up / 3600),
	    (unsigned long long)(up / 60 % 60), (unsigned long long)(up % 60),
	    srv->cfg->listen_host, srv->cfg->listen_port,
	    srv->cfg->http != NULL ? srv->cfg->http : "off", nst,
	    nst == 1 ? "" : "s", nlive, nrl);
}

void
server_count_publish(struct server *srv, const char *name)
{
	struct server_count	*v;
	size_t			 i;

	for (i = 0; i < srv->npublishes; i++)
		if (strcmp(srv->publishes[i].name, name) == 0) {
			srv->publishes[i].n++;
			return;
		}
	if ((v = reallocarray(srv->publishes, srv->npublishes + 1,
	    sizeof(*v))) == NULL)
		return;			/* a metric less, nothing else */
	srv->publishes = v;
	if ((v[i].name = strdup(name)) == NULL)
		return;
	v[i].n = 1;
	srv->npublishes++;
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
	server_status_head(srv, out, now);
	if (TAILQ_EMPTY(&srv->streams)) {
		evbuffer_add_printf(out, "no live streams\n");
		return;
	}
	evbuffer_add_printf(out, "%-16s %-21s %9s  %-26s%-20s%13s\n",
	    "STREAM", "CLIENT", "UPTIME", "VIDEO", "AUDIO", "INGEST");
	TAILQ_FOREACH(st, &srv->streams, entry)
		stream_status(st, out, false, now);
}

/* One stream.stats line per live stream every RELAY_STATS_MS, so a log
 * pipeline sees the ingest as it sees each relay (relay.stats). */
static void
server_stream_stats(struct server *srv, uint64_t now)
{
	const struct stream	*st;
	const struct source	*src;
	double			 kbps, fps;

	if (now - srv->stats_ms < RELAY_STATS_MS)
		return;
	srv->stats_ms = now;
	TAILQ_FOREACH(st, &srv->streams, entry) {
		if ((src = stream_active(st)) == NULL)
			continue;	/* held: the relays' lines say it */
		source_rates(src, &kbps, &fps);
		log_info("stream.stats", "stream=%s conn=%llu uptime_s=%llu "
		    "kbps=%.0f fps=%.1f bytes_in=%llu video_frames=%llu "
		    "audio_frames=%llu bad_tags=%llu source=%s", st->name,
		    (unsigned long long)src->conn,
		    (unsigned long long)((now - src->started_ms) / 1000), kbps,
		    fps, (unsigned long long)src->bytes_in,
		    (unsigned long long)src->video_frames,
		    (unsigned long long)src->audio_frames,
		    (unsigned long long)src->bad_tags,
		    source_label(src->role));
	}
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
	server_stream_stats(srv, now);
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
void
server_stop(struct server *srv, const char *why)
{
	struct session	*s, *next;
	struct timeval	 grace = { RELAY_GRACE_MS / 1000 + 1, 0 };

	if (srv->stopping)
		return;
	srv->stopping = true;
	log_info("supervisor.stopping", "reason=%s", LQ(why));
	daemon_notify("STOPPING=1");
	ingest_close(srv);
	http_free(srv->http);
	srv->http = NULL;
	for (s = TAILQ_FIRST(&srv->sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		session_close(s, "server stopping", false);
	}
	while (!TAILQ_EMPTY(&srv->streams))	/* held ones */
		stream_close(TAILQ_FIRST(&srv->streams), "server stopping");
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

static bool
server_str_eq(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

/* Takes over what a reload cannot change now; the running values stay. */
static int
server_reload_keep(struct server *srv, struct cfg *nc)
{
	if (strcmp(nc->listen_host, srv->cfg->listen_host) != 0 ||
	    nc->listen_port != srv->cfg->listen_port ||
	    strcmp(nc->state_dir, srv->cfg->state_dir) != 0 ||
	    (nc->log_file != NULL && !server_str_eq(nc->log_file,
	    srv->cfg->log_file)))
		log_warnx("config.restart_needed", "what=%s",
		    "listen/state_dir/log.file changes apply at the next "
		    "start");
	free(nc->listen_host);
	free(nc->state_dir);
	free(nc->log_file);
	nc->listen_host = strdup(srv->cfg->listen_host);
	nc->listen_port = srv->cfg->listen_port;
	nc->state_dir = strdup(srv->cfg->state_dir);
	nc->log_file = srv->cfg->log_file != NULL ?
	    strdup(srv->cfg->log_file) : NULL;
	return nc->listen_host == NULL || nc->state_dir == NULL ||
	    (srv->cfg->log_file != NULL && nc->log_file == NULL) ? -1 : 0;
}

int
server_reload(struct server *srv, char *err, size_t errlen)
{
	struct cfg	*nc;
	struct cfg_err	 cerr;
	struct http	*nh = NULL;
	bool		 rebind;

	if (srv->stopping) {
		snprintf(err, errlen, "stopping");
		return -1;
	}
	daemon_notify("RELOADING=1");
	if (profile_check_load(srv->cfg->path, &nc, &cerr) == -1) {
		snprintf(err, errlen, "%s", cerr.msg);
		goto fail;
	}
	if (server_reload_keep(srv, nc) == -1) {
		snprintf(err, errlen, "out of memory");
		goto fail_cfg;
	}
	/* a new http: address is bound before anything else changes, so
	 * a port in use rejects the whole reload */
	rebind = !server_str_eq(nc->http, srv->cfg->http);
	if (rebind && nc->http != NULL &&
	    (nh = http_new(srv, nc->http, err, errlen)) == NULL)
		goto fail_cfg;
	if (db_sync_file_keys(srv->db, nc, err, errlen) == -1) {
		http_free(nh);
		goto fail_cfg;
	}
	if (rebind) {
		http_free(srv->http);
		srv->http = nh;
	}
	cfg_free(srv->cfg);
	srv->cfg = nc;
	/* a rotated log file gets a new one; the old fds stay on failure */
	if (nc->log_file != NULL && daemon_log_redirect(nc->log_file, err,
	    errlen) == -1)
		log_warnx("log.reopen_failed", "err=%s", LQ(err));
	log_set_level(nc->log_level);
	log_info("config.reloaded", "path=%s streams=%zu", LQ(nc->path),
	    nc->nstreams);
	server_cfg_warnings(nc);
	server_keys_changed(srv);	/* and relays */
	daemon_notify("READY=1");
	return 0;
fail_cfg:
	cfg_free(nc);
fail:
	log_error("config.rejected", "err=%s", LQ(err));
	daemon_notify("READY=1");
	return -1;
}

static void
server_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct server	*srv = arg;

	if (sig == SIGCHLD)
		server_reap(srv);
	else if (sig == SIGHUP) {
		char	err[CFG_ERR_MAX];

		(void)server_reload(srv, err, sizeof(err));	/* logged */
	}
	else
		server_stop(srv, sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

/* Everything up to serving: 0, or -1 with err (nothing served yet). */
static int
server_start(struct server *srv, char *err, size_t errlen)
{
	static const int sigs[4] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };
	struct timeval	 tick = { SERVER_TICK_MS / 1000, 0 };
	char		 why[DB_ERR_MAX];
	int		 i;

	/* first, so a second supervisor touches nothing of the first's */
	if ((srv->pid_fd = daemon_pidfile_lock(srv->cfg->state_dir, err,
	    errlen)) == -1)
		return -1;
	if ((srv->base = event_base_new()) == NULL) {
		snprintf(err, errlen, "event_base_new failed");
		return -1;
	}
	/* a CLI may hold the write lock for a moment: wait for it here,
	 * before serving, and never after */
	if ((srv->db = db_open(srv->cfg->state_dir, SERVER_DB_START_MS, why,
	    sizeof(why))) == NULL ||
	    db_sync_file_keys(srv->db, srv->cfg, why, sizeof(why)) == -1 ||
	    db_sessions_recover(srv->db, util_wall_s(), why, sizeof(why)) ==
	    -1 || keys_load(&srv->keys, srv->db, why, sizeof(why)) == -1 ||
	    server_relays_load(srv, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "state_dir %s: %s", srv->cfg->state_dir,
		    why);
		return -1;
	}
	db_set_busy_timeout(srv->db, 0);
	srv->db_version = db_data_version(srv->db);
	if ((srv->control = control_new(srv, srv->cfg->state_dir, err,
	    errlen)) == NULL ||
	    ingest_listen(srv, srv->cfg->listen_host, srv->cfg->listen_port,
	    err, errlen) == -1)
		return -1;
	if (srv->cfg->http != NULL && (srv->http = http_new(srv,
	    srv->cfg->http, err, errlen)) == NULL)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < 4; i++)
		if ((srv->sig_ev[i] = evsignal_new(srv->base, sigs[i],
		    server_on_signal, srv)) == NULL ||
		    evsignal_add(srv->sig_ev[i], NULL) == -1) {
			snprintf(err, errlen, "signal setup failed");
			return -1;
		}
	if ((srv->tick_ev = event_new(srv->base, -1, EV_PERSIST,
	    server_on_tick, srv)) == NULL || evtimer_add(srv->tick_ev,
	    &tick) == -1) {
		snprintf(err, errlen, "timer setup failed");
		return -1;
	}
	return 0;
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
	while (!TAILQ_EMPTY(&srv->streams))
		stream_close(TAILQ_FIRST(&srv->streams), "server stopping");
	while (!TAILQ_EMPTY(&srv->draining)) {
		struct relay *r = TAILQ_FIRST(&srv->draining);

		TAILQ_REMOVE(&srv->draining, r, entry);
		relay_free(r);		/* SIGKILLs a straggler */
	}
	ingest_close(srv);
	http_free(srv->http);
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
	for (i = 0; i < (int)srv->npublishes; i++)
		free(srv->publishes[i].name);
	free(srv->publishes);
	server_profiles_free(srv->profiles, srv->nprofiles);
	if (srv->base != NULL)
		event_base_free(srv->base);
	/* last: a waiting `mirroring stop` returns once this is released */
	daemon_pidfile_release(srv->pid_fd, srv->cfg->state_dir);
	cfg_free(srv->cfg);
}

int
server_run(struct cfg *cfg, int ready_fd)
{
	struct server	srv;
	char		err[CFG_ERR_MAX];

	memset(&srv, 0, sizeof(srv));
	srv.cfg = cfg;
	srv.pid_fd = -1;
	srv.ready_fd = ready_fd;
	srv.started_ms = srv.stats_ms = util_mono_ms();
	TAILQ_INIT(&srv.sessions);
	TAILQ_INIT(&srv.streams);
	TAILQ_INIT(&srv.draining);
	if (server_start(&srv, err, sizeof(err)) == -1) {
		log_error("supervisor.failed", "err=%s", LQ(err));
		/* the pid lock is free by the time start returns */
		server_free(&srv);
		daemon_ready(ready_fd, err);
		return 1;
	}
	log_info("supervisor.listening", "addr=%s:%u app=%s state_dir=%s "
	    "keys=%zu worker=%s http=%s pid=%ld", cfg->listen_host,
	    cfg->listen_port, cfg->app, LQ(cfg->state_dir), srv.keys.n,
	    LQ(relay_worker_path()), cfg->http != NULL ? cfg->http : "off",
	    (long)getpid());
	server_cfg_warnings(cfg);
	daemon_ready(ready_fd, NULL);
	daemon_notify("READY=1");
	event_base_dispatch(srv.base);
	server_free(&srv);
	log_info("supervisor.stopped", "%s", "");
	return 0;
}
