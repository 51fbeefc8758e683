/*
 * One relay's worker; see relay.h.  fork+exec with the socketpair on fd 3,
 * HELLO and CONFIG, then the stream's sequence headers and GOP cache, then
 * live media shared by reference within a byte budget.  A worker that
 * exits or falls silent is restarted with backoff; its exit code 78 (bad
 * config) is not.  Nothing here waits on a worker.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/ipc.h"
#include "common/ipc_ev.h"
#include "common/log.h"
#include "common/tag.h"
#include "common/util.h"
#include "common/wire.h"
#include "config/cfg.h"
#include "supervisor/db.h"
#include "supervisor/relay.h"
#include "supervisor/server.h"
#include "supervisor/source.h"
#include "supervisor/stream.h"

#define RELAY_CONNECT_TIMEOUT_MS	10000
#define RELAY_IO_TIMEOUT_MS		10000
/*
 * Media goes to a live worker in batches (SRS's merged writes): relay_batch
 * (100 ms unless set) after the first tag of a batch, or at once when
 * RELAY_BATCH_BYTES wait.  Every write wakes the worker, and one wake-up
 * per message (~77/s) was most of a copy relay's CPU; 100 ms is nothing to
 * a destination that buffers seconds.  The batches of a stream's relays
 * start with the same tag, so their timers fire in one wake-up of ours.
 * mirroring-worker saves two wake-ups per message (its reader thread and
 * its main thread).  A worker that has not said it is live (or is
 * holding), control messages (CONFIG, SOURCE, EOS) and a starting relay's
 * cache are written at once: the first byte at a destination is not held
 * back.
 */
#define RELAY_BATCH_BYTES		(256 * 1024)

static const char *const relay_states[] = {
	"starting", "connecting", "live", "backoff", "stopped", "stalled",
	"holding",
};

static void	relay_spawn(struct relay *);
static void	relay_flush(struct relay *);
static void	relay_flush_soon(struct relay *);
static void	relay_on_batch(evutil_socket_t, short, void *);
static void	relay_on_drained(struct bufferevent *, void *);
static void	relay_on_read(struct bufferevent *, void *);
static void	relay_on_event(struct bufferevent *, short, void *);
static void	relay_on_timer(evutil_socket_t, short, void *);
static void	relay_on_hold(evutil_socket_t, short, void *);

const char *
relay_worker_path(void)
{
	static char	 path[PATH_MAX];
	const char	*env;
	char		 self[PATH_MAX], *slash;
	ssize_t		 n;

	if (path[0] != '\0')
		return path;
	if ((env = getenv("MIRRORING_WORKER")) != NULL && *env != '\0') {
		snprintf(path, sizeof(path), "%s", env);
		return path;
	}
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0) {
		snprintf(path, sizeof(path), "mirroring-worker");
		return path;
	}
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) != NULL)
		*slash = '\0';
	snprintf(path, sizeof(path), "%.*s/mirroring-worker", PATH_MAX - 20,
	    self);
	if (access(path, X_OK) == 0)
		return path;
	snprintf(path, sizeof(path), "%.*s/../worker/mirroring-worker",
	    PATH_MAX - 30, self);
	return path;
}

/*
 * The lean worker: $MIRRORING_COPY_WORKER ("off": none), else
 * mirroring-copy beside the full worker.  NULL when there is none, so a
 * build or a test that names only the full worker still runs.
 */
static const char *
relay_copy_worker_path(void)
{
	static char	 path[PATH_MAX];
	static bool	 done;
	const char	*env, *full, *slash;

	if (done)
		return path[0] != '\0' ? path : NULL;
	done = true;
	if ((env = getenv("MIRRORING_COPY_WORKER")) != NULL && *env != '\0') {
		if (strcmp(env, "off") != 0)
			snprintf(path, sizeof(path), "%s", env);
		return path[0] != '\0' ? path : NULL;
	}
	full = relay_worker_path();
	if ((slash = strrchr(full, '/')) == NULL)
		return NULL;
	snprintf(path, sizeof(path), "%.*s/mirroring-copy",
	    (int)(slash - full), full);
	if (access(path, X_OK) != 0)
		path[0] = '\0';
	return path[0] != '\0' ? path : NULL;
}

/* A relay that must hold its destination with a slate when the publisher
 * goes (issue #7) needs mirroring-worker's encoders. */
bool
relay_use_copy_worker(const struct relay *r)
{
	bool	copy = r->prof == NULL || (r->prof->video.codec == NULL &&
		    r->prof->audio.codec == NULL);

	return copy && r->on_loss != IPC_LOSS_HOLD &&
	    strncmp(r->url, "rtmp://", 7) == 0 &&
	    relay_copy_worker_path() != NULL;
}

static const char *
relay_state_name(uint8_t state)
{
	return state < sizeof(relay_states) / sizeof(*relay_states) ?
	    relay_states[state] : "unknown";
}

static char *
relay_strdup_or_null(const char *s, bool *oom)
{
	char	*p;

	if (s == NULL)
		return NULL;
	if ((p = strdup(s)) == NULL)
		*oom = true;
	return p;
}

struct relay *
relay_new(struct stream *st, const struct cfg_relay *cr)
{
	const struct cfg_stream	*cs = cfg_stream_find(st->srv->cfg, st->name);
	struct relay		*r;
	bool			 oom = false;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		goto oom;
	r->srv = st->srv;
	r->st = st;
	r->pid = -1;
	r->id = ++st->srv->next_relay;
	r->backoff_ms = RELAY_BACKOFF_MIN_MS;
	r->budget_bytes = relay_budget(st->srv, cr);
	r->stats_ms = util_mono_ms();	/* first stats line after a period */
	r->started_s = util_wall_s();
	if (stream_active(st) != NULL)
		snprintf(r->session_id, sizeof(r->session_id), "%s",
		    stream_active(st)->id);
	relay_set_loss(r, cr);
	if (cs != NULL) {
		r->slate_image = relay_strdup_or_null(cs->slate_image, &oom);
		r->slate_audio = relay_strdup_or_null(cs->slate_audio, &oom);
	}
	if (oom || (r->stream_name = strdup(st->name)) == NULL ||
	    (r->name = strdup(cr->name)) == NULL ||
	    (r->url = strdup(cr->url.value)) == NULL ||
	    (r->profile = strdup(cr->profile)) == NULL ||
	    (cr->prof != NULL && (r->prof = cfg_profile_dup(cr->prof)) ==
	    NULL) ||
	    (r->timer_ev = evtimer_new(st->srv->base, relay_on_timer, r)) ==
	    NULL ||
	    (r->hold_ev = evtimer_new(st->srv->base, relay_on_hold, r)) ==
	    NULL ||
	    (r->batch_ev = evtimer_new(st->srv->base, relay_on_batch, r)) ==
	    NULL) {
		relay_free(r);
		goto oom;
	}
	TAILQ_INSERT_TAIL(&st->relays, r, entry);
	relay_spawn(r);
	return r;
oom:
	log_error("relay.failed", "stream=%s relay=%s err=%s", st->name,
	    cr->name, "out of memory");
	return NULL;
}

size_t
relay_budget(const struct server *srv, const struct cfg_relay *cr)
{
	return cr->queue_bytes != 0 ? cr->queue_bytes :
	    srv->cfg->relay_queue_bytes;
}

void
relay_set_budget(struct relay *r, size_t budget_bytes)
{
	if (r->budget_bytes == budget_bytes)
		return;
	log_info("relay.queue", "stream=%s relay=%s queue_bytes=%zu "
	    "was=%zu", r->stream_name, r->name, budget_bytes,
	    r->budget_bytes);
	r->budget_bytes = budget_bytes;
}

void
relay_free(struct relay *r)
{
	if (r == NULL)
		return;
	if (r->pid > 0)
		kill(r->pid, SIGKILL);	/* reaped by the SIGCHLD loop */
	if (r->bev != NULL)
		bufferevent_free(r->bev);
	if (r->timer_ev != NULL)
		event_free(r->timer_ev);
	if (r->hold_ev != NULL)
		event_free(r->hold_ev);
	if (r->batch_ev != NULL)
		event_free(r->batch_ev);
	free(r->slate_image);
	free(r->slate_audio);
	if (r->url != NULL)
		explicit_bzero(r->url, strlen(r->url));
	free(r->url);
	free(r->profile);
	cfg_profile_free(r->prof);
	free(r->name);
	free(r->stream_name);
	free(r);
}

/* Schedules the next worker after one ended, backing off. */
static void
relay_schedule(struct relay *r, uint64_t now, unsigned *delay_ms)
{
	struct timeval	tv;
	uint32_t	jitter;
	unsigned	ms;

	if (now - r->spawned_ms >= RELAY_HEALTHY_MS)
		r->backoff_ms = RELAY_BACKOFF_MIN_MS;
	if (util_random(&jitter, sizeof(jitter)) == -1)
		jitter = 0;
	/* +-25 % so relays that failed together do not retry together */
	ms = r->backoff_ms * 3 / 4 + jitter % (r->backoff_ms / 2 + 1);
	r->backoff_ms = r->backoff_ms * 2 > RELAY_BACKOFF_MAX_MS ?
	    RELAY_BACKOFF_MAX_MS : r->backoff_ms * 2;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(r->timer_ev, &tv);
	*delay_ms = ms;
}

/* Adds one IPC message with a payload packed by the caller. */
static int
relay_add(struct relay *r, uint16_t type, const void *p, size_t n)
{
	if (ipc_ev_add(bufferevent_get_output(r->bev), type, r->id, p, n) ==
	    -1)
		return -1;
	relay_flush(r);
	return 0;
}

static struct ipc_str
relay_str(const char *s)
{
	return (struct ipc_str){ s, s != NULL ? strlen(s) : 0 };
}

/* The profile's settings for CONFIG; everything copied when p is NULL. */
static void
relay_profile(const struct cfg_profile *p, struct ipc_profile *w)
{
	const struct cfg_video	*v;
	const struct cfg_audio	*a;

	memset(w, 0, sizeof(*w));
	w->video_copy = w->audio_copy = 1;
	if (p == NULL)
		return;
	v = &p->video;
	a = &p->audio;
	if (v->codec != NULL) {
		w->video_copy = 0;
		w->vcodec = relay_str(v->codec);
		w->width = v->width;
		w->height = v->height;
		w->fps_num = v->fps_num;
		w->fps_den = v->fps_den;
		w->vbitrate_bps = v->bitrate_bps;
		w->maxrate_bps = v->maxrate_bps;
		w->bufsize_bps = v->bufsize_bps;
		w->keyint_ms = v->keyint_ms;
		w->keyint_frames = v->keyint_frames;
		w->preset = relay_str(v->preset);
		w->tune = relay_str(v->tune);
		w->vprofile = relay_str(v->profile);
		w->level = relay_str(v->level);
		w->pix_fmt = relay_str(v->pix_fmt);
	}
	if (a->codec != NULL) {
		w->audio_copy = 0;
		w->acodec = relay_str(a->codec);
		w->abitrate_bps = a->bitrate_bps;
		w->sample_rate = a->sample_rate;
		w->channels = a->channels;
	}
}

static int
relay_send_config(struct relay *r)
{
	struct ipc_config	c;
	uint8_t			buf[8192];
	int			n;

	memset(&c, 0, sizeof(c));
	c.stream = r->stream_name;
	c.stream_len = strlen(r->stream_name);
	c.relay = r->name;
	c.relay_len = strlen(r->name);
	c.url = r->url;
	c.url_len = strlen(r->url);
	c.profile = r->profile;
	c.profile_len = strlen(r->profile);
	c.connect_timeout_ms = RELAY_CONNECT_TIMEOUT_MS;
	c.io_timeout_ms = RELAY_IO_TIMEOUT_MS;
	c.backoff_min_ms = RELAY_BACKOFF_MIN_MS;
	c.backoff_max_ms = RELAY_BACKOFF_MAX_MS;
	c.log_level = (uint8_t)r->srv->cfg->log_level;
	c.log_format = (uint8_t)r->srv->cfg->log_format;
	relay_profile(r->prof, &c.prof);
	c.on_loss = r->on_loss;
	c.grace_ms = r->grace_ms;
	c.slate_image = relay_str(r->slate_image);
	c.slate_audio = relay_str(r->slate_audio);
	if ((n = ipc_hello_pack(buf, sizeof(buf), "supervisor")) == -1 ||
	    relay_add(r, IPC_HELLO, buf, (size_t)n) == -1 ||
	    (n = ipc_config_pack(buf, sizeof(buf), &c)) == -1 ||
	    relay_add(r, IPC_CONFIG, buf, (size_t)n) == -1)
		return -1;
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

/* A SOURCE message; grace_ms is what is left of a hold. */
static int
relay_send_source(struct relay *r, uint8_t what, const char *label)
{
	struct ipc_source	s;
	uint8_t			buf[128];
	int			n;

	if (r->bev == NULL || r->draining)
		return 0;
	s.what = what;
	s.grace_ms = (uint32_t)relay_hold_left_ms(r, util_mono_ms());
	s.label = relay_str(label);
	if ((n = ipc_source_pack(buf, sizeof(buf), &s)) == -1 ||
	    relay_add(r, IPC_SOURCE, buf, (size_t)n) == -1) {
		log_error("relay.ipc_failed", "stream=%s relay=%s err=%s",
		    r->stream_name, r->name, "out of memory");
		kill(r->pid, SIGKILL);
		return -1;
	}
	return 0;
}

/* The decoder configs and the GOP from the last keyframe, so the first
 * video frame the worker gets from src is a keyframe. */
static void
relay_send_cache(struct relay *r, const struct source *src)
{
	size_t	i;

	if (src->video_seq != NULL)
		relay_send(r, src->video_seq);
	if (src->audio_seq != NULL)
		relay_send(r, src->audio_seq);
	for (i = 0; i < src->ngop; i++)
		relay_send(r, src->gop[i]);
	if (r->bev != NULL)
		relay_flush(r);		/* a starting relay waits for it */
}

/* A new worker begins with the active source's cache; a held relay's with
 * the last decoder configs (its slate is built to match them), then
 * SOURCE LOST. */
static void
relay_send_start(struct relay *r)
{
	const struct source	*src = stream_active(r->st);

	if (src != NULL) {
		relay_send_cache(r, src);
		return;
	}
	if (!r->holding)
		return;
	if (r->st->held_vseq != NULL)
		relay_send(r, r->st->held_vseq);
	if (r->st->held_aseq != NULL)
		relay_send(r, r->st->held_aseq);
	(void)relay_send_source(r, IPC_SRC_LOST, "none");
}

uint8_t
relay_loss(const struct cfg_relay *cr)
{
	return cr->on_loss == CFG_LOSS_HOLD ? IPC_LOSS_HOLD : IPC_LOSS_END;
}

void
relay_set_loss(struct relay *r, const struct cfg_relay *cr)
{
	r->on_loss = relay_loss(cr);
	r->grace_ms = cr->grace_ms != 0 ? cr->grace_ms :
	    CFG_DEFAULT_GRACE_MS;
}

uint64_t
relay_hold_left_ms(const struct relay *r, uint64_t now)
{
	if (!r->holding || now >= r->hold_until_ms)
		return 0;
	return r->hold_until_ms - now;
}

void
relay_hold(struct relay *r)
{
	struct timeval	tv = { r->grace_ms / 1000, (r->grace_ms % 1000) * 1000 };

	r->holding = true;
	r->hold_until_ms = util_mono_ms() + r->grace_ms;
	evtimer_add(r->hold_ev, &tv);
	(void)relay_send_source(r, IPC_SRC_LOST, "none");
}

void
relay_source_new(struct relay *r, const struct source *src)
{
	if (r->holding) {
		evtimer_del(r->hold_ev);
		r->holding = false;
	}
	if (r->bev == NULL || r->draining)
		return;		/* a new worker starts from the cache */
	if (relay_send_source(r, IPC_SRC_NEW, source_label(src->role)) == -1)
		return;
	r->dropping = false;	/* the cache starts at a keyframe */
	relay_send_cache(r, src);
}

static void
relay_on_hold(evutil_socket_t fd, short what, void *arg)
{
	struct relay	*r = arg;

	r->holding = false;
	stream_hold_expired(r->st, r);	/* drains r */
}

/*
 * The child: only async-signal-safe calls between fork and exec (prctl
 * and getppid are plain system calls).  A worker exits by itself on EOF
 * of fd 3 when we die, closing its destination within 0.5 s.
 * PDEATHSIG (it survives execve) is the second line, for a worker stuck
 * where it does not look at fd 3; not for file: relays, where killing
 * the worker at once would cost the recording its trailer (an .mp4
 * without its index does not play).
 */
static void __attribute__((noreturn))
relay_exec(int fd, const char *path, char *const argv[], pid_t parent,
    bool deathsig)
{
	if (deathsig && (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 ||
	    getppid() != parent))
		_exit(127);		/* the parent died before prctl */
	if (fd == IPC_WORKER_FD) {
		if (fcntl(fd, F_SETFD, 0) == -1)
			_exit(127);
	} else if (dup2(fd, IPC_WORKER_FD) == -1)	/* clears CLOEXEC */
		_exit(127);
	execv(path, argv);
	_exit(127);
}

static void
relay_spawn(struct relay *r)
{
	bool		 lean = relay_use_copy_worker(r);
	const char	*path = lean ? relay_copy_worker_path() :
			    relay_worker_path();
	char		 queue[24];
	char		*argv[] = { lean ? "mirroring-copy" : "mirroring-worker",
			    "--stream",
			    r->stream_name, "--relay", r->name, "--queue-bytes",
			    queue, NULL };
	unsigned	 delay;
	int		 sv[2];
	pid_t		 pid, self = getpid();
	bool		 deathsig = strncmp(r->url, "file:", 5) != 0;

	/* the worker's own queue has the same budget as ours */
	snprintf(queue, sizeof(queue), "%zu", r->budget_bytes);
	r->attempts++;
	r->spawned_ms = r->status_ms = util_mono_ms();
	r->hello = false;
	r->dropping = false;
	r->prev_bytes_out += r->status.bytes_out;
	r->prev_packets_out += r->status.packets_out;
	r->prev_dropped += r->status.packets_dropped;
	r->prev_reconnects += r->status.reconnects;
	memset(&r->status, 0, sizeof(r->status));
	r->last_error[0] = '\0';
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("relay.spawn_failed", "stream=%s relay=%s",
		    r->stream_name, r->name);
		relay_schedule(r, r->spawned_ms, &delay);
		return;
	}
	if ((pid = fork()) == -1) {
		log_warn("relay.spawn_failed", "stream=%s relay=%s",
		    r->stream_name, r->name);
		close(sv[0]);
		close(sv[1]);
		relay_schedule(r, r->spawned_ms, &delay);
		return;
	}
	if (pid == 0)
		relay_exec(sv[1], path, argv, self, deathsig);
	close(sv[1]);
	r->pid = pid;
	evutil_make_socket_nonblocking(sv[0]);
	if ((r->bev = bufferevent_socket_new(r->srv->base, sv[0],
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		close(sv[0]);
		kill(pid, SIGKILL);	/* restarted when reaped */
		return;
	}
	bufferevent_setcb(r->bev, relay_on_read, relay_on_drained,
	    relay_on_event, r);
	bufferevent_enable(r->bev, EV_READ);	/* writes: relay_flush */
	log_info("relay.spawned", "stream=%s relay=%s worker_pid=%ld "
	    "attempt=%u queue_bytes=%zu worker=%s url=%s", r->stream_name,
	    r->name, (long)pid, r->attempts, r->budget_bytes,
	    lean ? "copy" : "full", MASK(r->url));
	if (relay_send_config(r) == -1) {
		kill(pid, SIGKILL);
		return;
	}
	relay_send_start(r);
}

void
relay_send(struct relay *r, struct tag *t)
{
	struct evbuffer	*out;
	uint8_t		 hdr[IPC_HDR_LEN + 6];
	struct wire_w	 w;

	if (r->bev == NULL || r->draining)
		return;
	out = bufferevent_get_output(r->bev);
	/* decoder configs are small and a restart needs them: always sent */
	if (!(t->flags & TAG_F_SEQHDR)) {
		/* under the budget any tag fits, so the queue may go past it
		 * by one: a keyframe larger than the budget would otherwise
		 * keep the relay dropping for ever */
		if (evbuffer_get_length(out) >= r->budget_bytes)
			r->dropping = true;
		else if (r->dropping && (t->flags & TAG_F_KEYFRAME))
			r->dropping = false;	/* resume cleanly */
		if (r->dropping) {
			r->dropped++;
			return;
		}
	}
	ipc_hdr_pack(hdr, IPC_MEDIA, 0, 6 + t->len, r->id);
	wire_w_init(&w, hdr + IPC_HDR_LEN, 6);
	wire_put_u8(&w, t->type);
	wire_put_u8(&w, t->flags);
	wire_put_le32(&w, t->ts_ms);
	tag_ref(t);			/* the evbuffer holds this reference */
	if (evbuffer_add(out, hdr, sizeof(hdr)) == -1 ||
	    evbuffer_add_reference(out, t->data, t->len, tag_unref_cb, t) ==
	    -1) {
		tag_unref(t);
		log_error("relay.ipc_failed", "stream=%s relay=%s err=%s",
		    r->stream_name, r->name, "out of memory");
		kill(r->pid, SIGKILL);	/* its stream is out of sync */
		return;
	}
	relay_flush_soon(r);
}

/* Writes now, or arms the batch timer: see RELAY_BATCH_BYTES. */
static void
relay_flush_soon(struct relay *r)
{
	uint32_t	ms = r->srv->cfg->relay_batch_ms;
	struct timeval	tv = { ms / 1000, (ms % 1000) * 1000 };

	if (ms == 0 || r->status.state != IPC_ST_LIVE ||
	    evbuffer_get_length(bufferevent_get_output(r->bev)) >=
	    RELAY_BATCH_BYTES)
		relay_flush(r);
	else if (!evtimer_pending(r->batch_ev, NULL))
		evtimer_add(r->batch_ev, &tv);
}

static void
relay_on_batch(evutil_socket_t fd, short what, void *arg)
{
	struct relay	*r = arg;

	if (r->bev != NULL)
		relay_flush(r);
}

/*
 * Writes what is queued now, and arms the write event only while a backlog
 * remains (rare: a worker reads all the time).  Letting
 * the bufferevent write each message would add and remove the write event,
 * two epoll_ctl calls, per message and relay.  A write error is left to the
 * bufferevent: it reports it to relay_on_event.
 */
static void
relay_flush(struct relay *r)
{
	struct evbuffer	*out = bufferevent_get_output(r->bev);
	int		 n;

	evtimer_del(r->batch_ev);	/* this write takes the batch along */
	if (bufferevent_get_enabled(r->bev) & EV_WRITE)
		return;			/* a backlog: libevent writes it */
	/* a socket bufferevent freezes its output's front: only it drains */
	evbuffer_unfreeze(out, 1);
	n = evbuffer_write(out, bufferevent_getfd(r->bev));
	evbuffer_freeze(out, 1);
	if ((n == -1 && errno != EAGAIN && errno != EINTR) ||
	    evbuffer_get_length(out) > 0)
		bufferevent_enable(r->bev, EV_WRITE);
}

/* The backlog is written: back to writing directly. */
static void
relay_on_drained(struct bufferevent *bev, void *arg)
{
	bufferevent_disable(bev, EV_WRITE);
}

static void
relay_on_status(struct relay *r, const struct ipc_status *s)
{
	uint8_t	old = r->status.state;
	size_t	n = s->last_error_len < IPC_STATUS_ERR_MAX ?
		    s->last_error_len : IPC_STATUS_ERR_MAX;

	memcpy(r->last_error, s->last_error, n);
	r->last_error[n] = '\0';
	r->status = *s;
	r->status.last_error = r->last_error;
	r->status_ms = util_mono_ms();
	if (old != s->state || r->status_ms - r->spawned_ms < 100)
		log_info("relay.state", "stream=%s relay=%s state=%s "
		    "reconnects=%u last_error=%s", r->stream_name, r->name,
		    relay_state_name(s->state), s->reconnects,
		    LQ(r->last_error));
}

/* One message from the worker; -1 with why to kill it. */
static int
relay_on_msg(struct relay *r, const struct ipc_hdr *h, const uint8_t *p,
    const char **why)
{
	struct ipc_hello	hello;
	struct ipc_status	st;

	switch (h->type) {
	case IPC_HELLO:
		if (ipc_hello_parse(p, h->len, &hello) == -1 ||
		    hello.version != IPC_VERSION) {
			*why = "HELLO of another version";
			return -1;
		}
		r->hello = true;
		return 0;
	case IPC_STATUS:
		if (!r->hello || ipc_status_parse(p, h->len, &st) == -1) {
			*why = "malformed STATUS";
			return -1;
		}
		relay_on_status(r, &st);
		return 0;
	default:
		*why = "unexpected message type";
		return -1;
	}
}

static void
relay_on_read(struct bufferevent *bev, void *arg)
{
	struct relay	*r = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	struct ipc_hdr	 h;
	const uint8_t	*p;
	const char	*why = NULL;
	int		 res;

	while ((res = ipc_ev_next(in, &h, &p, &why)) == 1) {
		if (relay_on_msg(r, &h, p, &why) == -1) {
			res = -1;
			break;
		}
		ipc_ev_drain(in, &h);
	}
	if (res == -1) {
		log_error("relay.ipc_rejected", "stream=%s relay=%s worker_pid=%ld "
		    "why=%s", r->stream_name, r->name, (long)r->pid, LQ(why));
		bufferevent_free(r->bev);
		r->bev = NULL;
		if (r->pid > 0)		/* not when called after the reap */
			kill(r->pid, SIGKILL);
	}
}

static void
relay_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct relay	*r = arg;

	/* the worker closed its end: it is exiting; SIGCHLD tells how */
	bufferevent_free(r->bev);
	r->bev = NULL;
}

static void
relay_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct relay	*r = arg;

	if (r->draining) {
		log_warnx("relay.kill", "stream=%s relay=%s worker_pid=%ld "
		    "reason=%s",
		    r->stream_name, r->name, (long)r->pid,
		    "no exit within the grace period after EOS");
		kill(r->pid, SIGKILL);
		return;
	}
	relay_spawn(r);
}

/* Frees a draining relay once its worker is gone. */
static void
relay_gone(struct relay *r)
{
	struct server		*srv = r->srv;
	struct db_relay_session	 rs = {
		.relay = r->name,
		.last_error = r->last_error,
		.started_s = r->started_s,
		.ended_s = util_wall_s(),
		.bytes_out = (int64_t)(r->prev_bytes_out + r->status.bytes_out),
		.packets_out = (int64_t)(r->prev_packets_out +
		    r->status.packets_out),
		.dropped = (int64_t)(r->prev_dropped +
		    r->status.packets_dropped + r->dropped),
		.reconnects = r->prev_reconnects + r->status.reconnects,
		.restarts = r->attempts > 0 ? r->attempts - 1 : 0,
	};

	/* the worker's last STATUS is in: the relay's history row */
	db_relay_session(srv->db, r->session_id, &rs);
	TAILQ_REMOVE(&srv->draining, r, entry);
	relay_free(r);
	server_relay_gone(srv);
}

void
relay_drain(struct relay *r)
{
	struct timeval	tv = { RELAY_GRACE_MS / 1000, 0 };

	TAILQ_REMOVE(&r->st->relays, r, entry);
	TAILQ_INSERT_TAIL(&r->srv->draining, r, entry);
	r->st = NULL;
	r->draining = true;
	r->holding = false;
	evtimer_del(r->timer_ev);
	evtimer_del(r->hold_ev);
	if (r->pid <= 0) {		/* in backoff: nothing to wait for */
		relay_gone(r);
		return;
	}
	if (r->bev == NULL || relay_add(r, IPC_EOS, NULL, 0) == -1)
		kill(r->pid, SIGTERM);
	evtimer_add(r->timer_ev, &tv);
}

/*
 * SIGCHLD can come before the worker's last STATUS (state stopped) was
 * read: take what is still in the socket so the final state is not lost.
 */
static void
relay_read_rest(struct relay *r)
{
	struct evbuffer	*in;
	int		 n;

	if (r->bev == NULL)
		return;
	in = bufferevent_get_input(r->bev);
	do
		n = evbuffer_read(in, bufferevent_getfd(r->bev), 65536);
	while (n > 0 && evbuffer_get_length(in) < 4u * 1024 * 1024);
	relay_on_read(r->bev, r);
}

static void
relay_on_exit(struct relay *r, int wstatus)
{
	char		 how[64];
	unsigned	 delay;
	int		 code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;

	if (WIFSIGNALED(wstatus))
		snprintf(how, sizeof(how), "signal=%d", WTERMSIG(wstatus));
	else
		snprintf(how, sizeof(how), "code=%d", code);
	snprintf(how + strlen(how), sizeof(how) - strlen(how),
	    " worker_pid=%ld", (long)r->pid);
	r->pid = -1;
	relay_read_rest(r);
	if (r->bev != NULL) {
		bufferevent_free(r->bev);
		r->bev = NULL;
	}
	if (r->draining) {
		log_info("relay.exited", "stream=%s relay=%s %s", r->stream_name,
		    r->name, how);
		relay_gone(r);
		return;
	}
	if (code == RELAY_EX_CONFIG) {
		log_error("relay.exited", "stream=%s relay=%s %s reason=%s",
		    r->stream_name, r->name, how, LQ("bad relay config: not "
		    "restarted until the config changes"));
		r->status.state = IPC_ST_STOPPED;
		return;
	}
	relay_schedule(r, util_mono_ms(), &delay);
	log_warnx("relay.exited", "stream=%s relay=%s %s restart_in_ms=%u "
	    "last_error=%s", r->stream_name, r->name, how, delay,
	    LQ(r->last_error));
}

/* Finds the relay of pid among live streams and draining relays. */
bool
relay_reap(struct server *srv, pid_t pid, int wstatus)
{
	struct stream	*st;
	struct relay	*r;

	TAILQ_FOREACH(r, &srv->draining, entry)
		if (r->pid == pid) {
			relay_on_exit(r, wstatus);
			return true;
		}
	TAILQ_FOREACH(st, &srv->streams, entry)
		TAILQ_FOREACH(r, &st->relays, entry)
			if (r->pid == pid) {
				relay_on_exit(r, wstatus);
				return true;
			}
	return false;
}

void
relay_tick(struct relay *r, uint64_t now)
{
	uint64_t	silent_ms = r->hello ? RELAY_SILENT_MS : RELAY_START_MS;

	if (r->pid > 0 && now - r->status_ms > silent_ms) {
		log_warnx("relay.kill", "stream=%s relay=%s worker_pid=%ld "
		    "reason=\"%s for %llu s\"",
		    r->stream_name, r->name, (long)r->pid, r->hello ?
		    "no status" : "no hello", (unsigned long long)silent_ms /
		    1000);
		kill(r->pid, SIGKILL);
		r->status_ms = now;	/* one kill per silence */
	}
	if (now - r->stats_ms >= RELAY_STATS_MS) {
		r->stats_ms = now;
		log_info("relay.stats", "stream=%s relay=%s state=%s kbps=%u "
		    "fps=%.1f bytes_out=%llu packets_out=%llu dropped=%llu "
		    "reconnects=%u restarts=%u speed=%.2f frames_dropped=%llu "
		    "frames_duped=%llu", r->stream_name, r->name,
		    r->pid > 0 ? relay_state_name(r->status.state) : "down",
		    r->status.kbps, r->status.fps_x100 / 100.0,
		    (unsigned long long)r->status.bytes_out,
		    (unsigned long long)r->status.packets_out,
		    (unsigned long long)(r->dropped +
		    r->status.packets_dropped), r->status.reconnects,
		    r->attempts - 1, r->status.speed_x100 / 100.0,
		    (unsigned long long)r->status.frames_dropped,
		    (unsigned long long)r->status.frames_duped);
	}
}

/* A held relay is "holding" from SOURCE LOST on, whatever the worker
 * says as long as it is up with its destination. */
const char *
relay_state(const struct relay *r)
{
	if (r->pid <= 0)
		return "down";
	if (r->holding && (r->status.state == IPC_ST_LIVE ||
	    r->status.state == IPC_ST_STALLED))
		return relay_state_name(IPC_ST_HOLDING);
	return relay_state_name(r->status.state);
}

void
relay_status(const struct relay *r, struct evbuffer *out, bool json)
{
	char		err[LOG_QMAX];
	const char	*state = relay_state(r);
	uint64_t	hold = relay_hold_left_ms(r, util_mono_ms());
	size_t		i, o = 0;

	if (!json) {
		evbuffer_add_printf(out, "  relay %-12s %-10s %6u kbit/s  "
		    "dropped %llu  reconnects %u  restarts %u%s%s\n", r->name,
		    state, r->status.kbps, (unsigned long long)(r->dropped +
		    r->status.packets_dropped), r->status.reconnects,
		    r->attempts - 1, r->last_error[0] ? "  " : "",
		    r->last_error);
		if (r->holding)
			evbuffer_add_printf(out, "        hold_left %llu:%02llu "
			    "(no publisher: slate)\n",
			    (unsigned long long)(hold / 60000),
			    (unsigned long long)(hold / 1000 % 60));
		if (r->prof != NULL)
			evbuffer_add_printf(out, "        profile %s  speed "
			    "%.2fx  frames dropped %llu  duplicated %llu\n",
			    r->profile, r->status.speed_x100 / 100.0,
			    (unsigned long long)r->status.frames_dropped,
			    (unsigned long long)r->status.frames_duped);
		return;
	}
	/* last_error is masked by the worker; escape it for JSON */
	for (i = 0; r->last_error[i] != '\0' && o + 7 < sizeof(err); i++) {
		unsigned char c = (unsigned char)r->last_error[i];

		if (c == '"' || c == '\\')
			err[o++] = '\\', err[o++] = (char)c;
		else if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(err + o, sizeof(err) - o,
			    "\\u%04x", c);
		else
			err[o++] = (char)c;
	}
	err[o] = '\0';
	evbuffer_add_printf(out, "{\"name\":\"%s\",\"state\":\"%s\","
	    "\"kbps\":%u,\"fps\":%.1f,\"bytes_out\":%llu,\"packets_out\":%llu,"
	    "\"dropped\":%llu,\"reconnects\":%u,\"restarts\":%u,\"pid\":%ld,"
	    "\"last_error\":\"%s\",\"profile\":\"%s\",\"speed\":%.2f,"
	    "\"frames_dropped\":%llu,\"frames_duped\":%llu,\"holding\":%s,"
	    "\"hold_left_ms\":%llu}", r->name, state,
	    r->status.kbps, r->status.fps_x100 / 100.0,
	    (unsigned long long)r->status.bytes_out,
	    (unsigned long long)r->status.packets_out,
	    (unsigned long long)(r->dropped + r->status.packets_dropped),
	    r->status.reconnects, r->attempts - 1, (long)r->pid, err,
	    r->profile, r->status.speed_x100 / 100.0,
	    (unsigned long long)r->status.frames_dropped,
	    (unsigned long long)r->status.frames_duped,
	    r->holding ? "true" : "false", (unsigned long long)hold);
}
