/*
 * mirroring-copy: the worker for a copy relay to rtmp:// (see design.md).
 * One thread, one poll() loop over fd 3 (IPC from the supervisor) and the
 * destination socket; every socket is non-blocking and every wait has a
 * deadline, so STATUS goes out every second whatever the destination
 * does.  An FLV tag body is an RTMP message payload: MEDIA goes out as
 * it came, only its timestamp rebased per destination session (retime.c),
 * through the publish state machine of rtmp_pub.c.  Between fd 3 and the
 * socket sits one bounded queue (msgq.c) with the budget rule of
 * mirroring-worker.  Same contract toward the supervisor as
 * mirroring-worker (contract.c, report.c): exit 0 stream ended, 1 runtime
 * failure, 78 bad config.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/amf0.h"
#include "common/flv.h"
#include "common/ipc.h"
#include "common/ipc_msg.h"
#include "common/log.h"
#include "common/tag.h"
#include "common/util.h"
#include "common/wire.h"
#include "worker/contract.h"
#include "worker/msgq.h"
#include "worker/report.h"
#include "worker/resolve.h"
#include "worker/retime.h"
#include "worker/rtmp_pub.h"

#define COPY_TRACK_WAIT_MS	2000	/* for the second sequence header */
#define COPY_HEALTHY_MS		60000	/* live this long: backoff resets */
#define COPY_EOF_CLOSE_MS	500	/* flush budget when orphaned */
#define COPY_STALL_MS		2000	/* no write progress: stalled */
#define COPY_TICK_MS		100
#define COPY_RESOLVE_TICK_MS	10	/* polls a name lookup */
/* encoded ahead of the socket: a whole batch of the supervisor's
 * (relay_batch) goes out in one send() */
#define COPY_PUMP_BYTES		(256u * 1024)
#define COPY_RECV_BYTES		16384

enum copy_state {
	COPY_IDLE,		/* no session: waiting for the tracks */
	COPY_CONNECTING,	/* TCP, handshake, publish */
	COPY_LIVE,
	COPY_BACKOFF,
};

/* The stream's format, from the sequence headers as they are read. */
struct copy_fmt {
	const char	*codec[RETIME_NTRACKS];	/* static names */
	unsigned	 vcodec, width, height;
	unsigned	 acodec, rate_hz, channels;
};

/* The latest decoder configuration of a track, or the metadata. */
struct copy_hdr {
	uint8_t		*body;
	size_t		 len;
	unsigned	 gen;		/* bumps when it changes */
};

struct copy {
	struct worker_cfg	 cfg;
	struct report		 rep;
	struct rtmp_pub_url	 url;
	int			 fd;		/* IPC */
	struct msgq		 q;
	struct msgq_buf		 in;
	bool			 eos;
	const char		*eof_why;	/* set: fd 3 is gone */
	/* what the supervisor sent: seen when read, applied when taken
	 * from the queue (the headers in effect at the queue's head) */
	bool			 seen[RETIME_NTRACKS];
	struct copy_fmt		 fmt;
	uint64_t		 first_media_ms;
	struct copy_hdr		 hdr[RETIME_NTRACKS];
	struct copy_hdr		 meta;
	bool			 warned_bad;
	/* the destination session */
	enum copy_state		 state;
	int			 sock;		/* -1: none */
	/* connecting with no socket yet: res is still looking */
	struct resolve		 res;		/* the host's addresses */
	const struct addrinfo	*ai_next;	/* to try if this one fails */
	int			 ai_err;	/* the last address's error */
	bool			 tcp_pending;	/* connect in progress */
	struct rtmp_pub		 pub;
	struct retime		 rt;
	unsigned		 sent_gen[RETIME_NTRACKS];
	uint64_t		 deadline_ms;	/* connect, or EOS flush */
	uint64_t		 progress_ms;	/* last write progress */
	uint64_t		 backoff_until_ms;
	uint32_t		 backoff_ms;
	uint64_t		 live_since_ms;
	uint64_t		 sess_bytes;
	uint64_t		 bytes_prev;	/* earlier sessions */
	uint64_t		 missed;	/* media not sent: resume */
	uint64_t		 drops_seen;	/* of q.drops */
	unsigned		 attempts;
	bool			 closing;	/* EOS or EOF: flush, then stop */
};

static enum retime_track
copy_track(uint8_t type)
{
	return type == TAG_AUDIO ? RETIME_AUDIO : RETIME_VIDEO;
}

/* Keeps a copy of body in h (a new generation when it differs). */
static void
copy_hdr_set(struct copy_hdr *h, const uint8_t *body, size_t len)
{
	uint8_t	*p;

	if (h->body != NULL && h->len == len && memcmp(h->body, body,
	    len) == 0)
		return;
	if ((p = malloc(len > 0 ? len : 1)) == NULL)
		fatal("worker.oom", "what=header");
	memcpy(p, body, len);
	free(h->body);
	h->body = p;
	h->len = len;
	h->gen++;
}

/* What a sequence header says of its track: the codec (for relay.live)
 * and, for H.264 and AAC, the format (for the metadata we make). */
static void
copy_format(struct copy *c, const struct ipc_media *m)
{
	struct copy_fmt		*f = &c->fmt;
	struct flv_video	 v;
	struct flv_audio	 a;
	struct flv_video_format	 vf;
	struct flv_audio_format	 af;

	if (m->type == TAG_VIDEO && flv_video_parse(m->data, m->len,
	    &v) == 0) {
		f->codec[RETIME_VIDEO] = flv_vcodec_name(v.codec);
		f->vcodec = v.codec;
		if (v.codec == FLV_VCODEC_AVC && flv_avc_config_parse(m->data +
		    v.payload_off, m->len - v.payload_off, &vf) == 0) {
			f->width = vf.width;
			f->height = vf.height;
		}
	} else if (m->type == TAG_AUDIO && flv_audio_parse(m->data, m->len,
	    &a) == 0) {
		f->codec[RETIME_AUDIO] = flv_acodec_name(a.codec);
		f->acodec = a.codec;
		f->rate_hz = a.rate_hz;
		f->channels = a.channels;
		if (a.codec == FLV_ACODEC_AAC && flv_aac_config_parse(m->data +
		    a.payload_off, m->len - a.payload_off, &af) == 0) {
			f->rate_hz = af.rate_hz;
			f->channels = af.channels;
		}
	}
}

/* onMetaData from the sequence headers, for a source that sent none (what
 * libavformat's flv muxer would write): ingest servers show it. */
static size_t
copy_meta_make(const struct copy *c, uint8_t *b, size_t cap)
{
	const struct copy_fmt	*f = &c->fmt;
	struct wire_w		 w;

	wire_w_init(&w, b, cap);
	amf0_put_string(&w, "onMetaData");
	amf0_put_ecma_begin(&w, (c->seen[RETIME_VIDEO] ? 3 : 0) +
	    (c->seen[RETIME_AUDIO] ? 3 : 0) + 1);
	if (c->seen[RETIME_VIDEO]) {
		amf0_put_prop_number(&w, "width", f->width);
		amf0_put_prop_number(&w, "height", f->height);
		amf0_put_prop_number(&w, "videocodecid", f->vcodec);
	}
	if (c->seen[RETIME_AUDIO]) {
		amf0_put_prop_number(&w, "audiosamplerate", f->rate_hz);
		amf0_put_key(&w, "stereo");
		amf0_put_bool(&w, f->channels > 1);
		amf0_put_prop_number(&w, "audiocodecid", f->acodec);
	}
	amf0_put_prop_string(&w, "encoder", "mirroring-copy");
	amf0_put_object_end(&w);
	return w.err ? 0 : w.off;
}

/* A video tag that carries a picture (not an end of sequence, not an
 * info frame): what mirroring-worker counts as a packet. */
static bool
copy_is_frame(const struct ipc_media *m)
{
	struct flv_video	v;

	return flv_video_parse(m->data, m->len, &v) == 0 && !v.end_of_seq &&
	    !v.info_frame;
}

static void
copy_count_drops(struct copy *c)
{
	uint64_t	n = c->q.drops - c->drops_seen;

	c->drops_seen += n;
	c->rep.packets_dropped += n;
	c->missed += n;
}

/* -- the socket ------------------------------------------------------ */

/* Sends what rtmp_pub has queued, as far as the socket takes it: 0, or
 * -1 with errno. */
static int
copy_flush(struct copy *c, uint64_t now)
{
	const uint8_t	*p;
	size_t		 n;
	ssize_t		 r;

	while ((n = rtmp_pub_pending(&c->pub, &p)) > 0) {
		r = send(c->sock, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r > 0) {
			rtmp_pub_sent(&c->pub, (size_t)r);
			c->sess_bytes += (uint64_t)r;
			c->progress_ms = now;
			continue;
		}
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		return -1;
	}
	c->progress_ms = now;
	return 0;
}

static void
copy_close_sock(struct copy *c)
{
	if (c->sock != -1)
		close(c->sock);
	c->sock = -1;
	c->tcp_pending = false;
	resolve_clear(&c->res);
	c->ai_next = NULL;
	rtmp_pub_clear(&c->pub);
	c->bytes_prev += c->sess_bytes;
	c->sess_bytes = 0;
	c->rep.bytes_out = c->bytes_prev;
}

/* -- failures and backoff ------------------------------------------- */

/*
 * A network problem (unreachable, reset, timeout) is retried from
 * backoff_min; a destination that answered and said no while we opened
 * the session (an error onStatus, _error, a closed or broken handshake)
 * is retried after backoff_max: retrying fast is pointless.
 */
static void
copy_fail(struct copy *c, uint8_t cls, const char *what, const char *why,
    uint64_t now)
{
	char		msg[IPC_STATUS_ERR_MAX + 1];
	uint32_t	delay;
	bool		healthy = c->state == COPY_LIVE &&
			    now - c->live_since_ms >= COPY_HEALTHY_MS;

	copy_close_sock(c);
	if (c->eof_why != NULL || c->eos) {
		c->state = COPY_IDLE;	/* not a failure: we are stopping */
		return;
	}
	snprintf(msg, sizeof(msg), "%s: %s", what, why);
	c->state = COPY_BACKOFF;
	delay = contract_failed(&c->rep, &c->cfg, &c->backoff_ms, healthy,
	    cls, msg, now);
	c->backoff_until_ms = now + delay;
}

static void
copy_fail_errno(struct copy *c, const char *what, int err, uint64_t now)
{
	copy_fail(c, IPC_ERR_NETWORK, what, strerror(err), now);
}

/* The session could not be opened, or broke: rtmp_pub's reason. */
static void
copy_fail_pub(struct copy *c, uint64_t now)
{
	bool	opening = c->state == COPY_CONNECTING;

	copy_fail(c, opening ? IPC_ERR_REFUSED : IPC_ERR_NETWORK,
	    opening ? "connect" : "write", c->pub.why, now);
}

/* -- sending --------------------------------------------------------- */

/* Queues one message for the destination: 0, or -1 (too large for an
 * RTMP message, or out of memory: dropped). */
static int
copy_send(struct copy *c, uint8_t type, uint32_t ts, const uint8_t *p,
    size_t n)
{
	if (rtmp_pub_media(&c->pub, type, ts, p, n) == -1) {
		log_warnx("relay.media_skipped", "stream=%s relay=%s type=%u "
		    "len=%zu why=\"cannot queue it as an RTMP message\"",
		    c->cfg.stream, c->cfg.relay, type, n);
		c->rep.packets_dropped++;
		return -1;
	}
	return 0;
}

/* The track headers that changed since this session sent them. */
static void
copy_send_hdrs(struct copy *c, uint32_t ts)
{
	int	t;

	for (t = 0; t < RETIME_NTRACKS; t++) {
		if (c->hdr[t].body == NULL || c->sent_gen[t] == c->hdr[t].gen)
			continue;
		copy_send(c, t == RETIME_VIDEO ? TAG_VIDEO : TAG_AUDIO, ts,
		    c->hdr[t].body, c->hdr[t].len);
		c->sent_gen[t] = c->hdr[t].gen;
	}
}

/* One queued MEDIA: sent when live, else its headers kept and the rest
 * counted as missed. */
static void
copy_media(struct copy *c, const struct ipc_media *m, bool live)
{
	enum retime_track	t = copy_track(m->type);
	enum retime_res		res;
	uint32_t		ts;

	if (m->type == TAG_SCRIPT) {
		copy_hdr_set(&c->meta, m->data, m->len);
		if (live)
			copy_send(c, TAG_SCRIPT, retime_now(&c->rt), m->data,
			    m->len);
		return;
	}
	if (m->flags & TAG_F_SEQHDR) {
		copy_hdr_set(&c->hdr[t], m->data, m->len);
		/* a new source's headers wait for its keyframe */
		if (live && !c->rt.switching)
			copy_send_hdrs(c, retime_now(&c->rt));
		return;
	}
	if (!live) {
		c->rep.packets_dropped++;
		c->missed++;
		return;
	}
	res = retime_media(&c->rt, t, (m->flags & TAG_F_KEYFRAME) != 0,
	    m->ts_ms, &ts);
	if (res == RETIME_DROP) {
		c->rep.packets_dropped++;
		return;
	}
	if (res == RETIME_JOINED) {
		log_info("relay.source_joined", "stream=%s relay=%s ts=%u",
		    c->cfg.stream, c->cfg.relay, ts);
		copy_send_hdrs(c, ts);
	}
	if (copy_send(c, m->type, ts, m->data, m->len) == -1 ||
	    (t == RETIME_VIDEO && !copy_is_frame(m)))
		return;		/* dropped, or passed on but not a packet */
	c->rep.packets_out++;
	if (t == RETIME_VIDEO)
		c->rep.frames_out++;
}

/* One item taken from the queue. */
static void
copy_item(struct copy *c, const struct msgq_item *it, bool live)
{
	struct ipc_media	m;
	struct ipc_source	s;

	if (it->type == IPC_SOURCE) {
		if (ipc_source_parse(it->data, it->len, &s) == 0 &&
		    s.what == IPC_SRC_NEW && live)
			retime_switch(&c->rt);
		return;
	}
	if (ipc_media_parse(it->data, it->len, &m) == 0)
		copy_media(c, &m, live);
}

/* Encodes queued items while the socket keeps up. */
static void
copy_pump(struct copy *c)
{
	struct msgq_item	*it;
	const uint8_t		*p;

	while (rtmp_pub_pending(&c->pub, &p) < COPY_PUMP_BYTES &&
	    (it = msgq_pop(&c->q)) != NULL) {
		copy_item(c, it, true);
		free(it);
	}
}

/* Sends the queue while the socket takes it all: 0, or -1 with errno.
 * What the socket did not take is sent when it is writable. */
static int
copy_send_queued(struct copy *c, uint64_t now)
{
	const uint8_t	*p;

	do {
		copy_pump(c);
		if (copy_flush(c, now) == -1)
			return -1;
	} while (c->q.head != NULL && rtmp_pub_pending(&c->pub, &p) == 0);
	return 0;
}

/* Not live: what comes is missed, but the headers are kept. */
static void
copy_discard(struct copy *c)
{
	struct msgq_item	*it;

	while ((it = msgq_pop(&c->q)) != NULL) {
		copy_item(c, it, false);
		free(it);
	}
}

/* -- the session ----------------------------------------------------- */

/* The attempt's name lookup is still out: copy_try_addr makes a socket as
 * soon as it answers, or fails the attempt. */
static bool
copy_resolving(const struct copy *c)
{
	return c->state == COPY_CONNECTING && c->sock == -1;
}

static bool
copy_ready(const struct copy *c, uint64_t now)
{
	bool	v = c->seen[RETIME_VIDEO], a = c->seen[RETIME_AUDIO];

	if (v && a)
		return true;
	return (v || a) && now - c->first_media_ms >= COPY_TRACK_WAIT_MS;
}

/*
 * Connects to the next of the host's addresses (in getaddrinfo's order),
 * going on to the one after while connect fails at once; the last
 * failure fails the attempt.  All within the attempt's deadline.
 */
static void
copy_try_addr(struct copy *c, uint64_t now)
{
	const struct addrinfo	*ai;
	int			 one = 1;

	while ((ai = c->ai_next) != NULL) {
		c->ai_next = ai->ai_next;
		if (c->sock != -1)
			close(c->sock);
		c->sock = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (c->sock == -1) {
			c->ai_err = errno;
			continue;
		}
		/* commands and small frames go out at once, not after an
		 * ACK */
		(void)setsockopt(c->sock, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		if (connect(c->sock, ai->ai_addr, ai->ai_addrlen) == 0 ||
		    errno == EINPROGRESS) {
			c->tcp_pending = true;
			return;
		}
		c->ai_err = errno;
	}
	copy_fail_errno(c, "connect", c->ai_err, now);
}

/* The name lookup of this attempt: on to connect when it answers. */
static void
copy_resolve_step(struct copy *c, uint64_t now)
{
	const struct addrinfo	*ai;
	char			 why[512];	/* copy_fail cuts it */

	switch (resolve_poll(&c->res, now, &ai, why, sizeof(why))) {
	case 0:
		return;
	case -1:
		copy_fail(c, IPC_ERR_NETWORK, "connect", why, now);
		return;
	}
	c->ai_next = ai;
	c->ai_err = EHOSTUNREACH;
	copy_try_addr(c, now);
}

static void
copy_connect(struct copy *c, uint64_t now)
{
	char	why[512];

	c->attempts++;
	log_info("relay.connecting", "stream=%s relay=%s url=%s attempt=%u",
	    c->cfg.stream, c->cfg.relay, MASK(c->cfg.url), c->attempts);
	report_state(&c->rep, IPC_ST_CONNECTING, now);
	c->state = COPY_CONNECTING;
	c->deadline_ms = now + c->cfg.connect_timeout_ms;
	/* a host name is looked up off the loop (resolve.c): a resolver
	 * that does not answer costs this attempt, not our STATUS */
	if (resolve_start(&c->res, c->url.host, c->url.port,
	    c->cfg.connect_timeout_ms, now, why, sizeof(why)) == -1) {
		copy_fail(c, IPC_ERR_NETWORK, "connect", why, now);
		return;
	}
	copy_resolve_step(c, now);	/* an address is answered at once */
}

/* TCP is up: the RTMP handshake starts. */
static void
copy_on_connected(struct copy *c, uint64_t now)
{
	uint8_t		rnd[RTMP_HS_SIZE - 8];
	socklen_t	sl = sizeof(int);
	int		err = 0;

	if (getsockopt(c->sock, SOL_SOCKET, SO_ERROR, &err, &sl) == -1)
		err = errno;
	if (err != 0) {
		c->tcp_pending = false;
		c->ai_err = err;
		copy_try_addr(c, now);	/* the next address, if any */
		return;
	}
	c->tcp_pending = false;
	if (util_random(rnd, sizeof(rnd)) == -1)
		memset(rnd, 0x5a, sizeof(rnd));
	rtmp_pub_init(&c->pub, &c->url, (uint32_t)now, rnd);
	if (copy_flush(c, now) == -1)
		copy_fail_errno(c, "connect", errno, now);
}

static void
copy_on_live(struct copy *c, uint64_t now)
{
	uint8_t	meta[512];
	size_t	n;
	int	t;

	c->state = COPY_LIVE;
	c->live_since_ms = c->progress_ms = now;
	c->rep.error_class = IPC_ERR_NONE;
	retime_start(&c->rt, c->seen[RETIME_VIDEO], c->missed > 0 ||
	    c->attempts > 1);
	for (t = 0; t < RETIME_NTRACKS; t++)
		c->sent_gen[t] = 0;
	if (c->meta.body != NULL)
		copy_send(c, TAG_SCRIPT, 0, c->meta.body, c->meta.len);
	else if ((n = copy_meta_make(c, meta, sizeof(meta))) > 0)
		copy_send(c, TAG_SCRIPT, 0, meta, n);
	copy_send_hdrs(c, 0);
	log_info("relay.live", "stream=%s relay=%s url=%s attempt=%u "
	    "video=%s audio=%s writer=copy", c->cfg.stream, c->cfg.relay,
	    MASK(c->cfg.url), c->attempts,
	    c->fmt.codec[RETIME_VIDEO] != NULL ? c->fmt.codec[RETIME_VIDEO] :
	    "none", c->fmt.codec[RETIME_AUDIO] != NULL ?
	    c->fmt.codec[RETIME_AUDIO] : "none");
	report_state(&c->rep, IPC_ST_LIVE, now);
}

/* What the server sent. */
static void
copy_on_readable(struct copy *c, uint64_t now)
{
	uint8_t		b[COPY_RECV_BYTES];
	ssize_t		r;

	for (;;) {
		r = recv(c->sock, b, sizeof(b), MSG_DONTWAIT);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (r == -1) {
			copy_fail_errno(c, c->state == COPY_LIVE ? "write" :
			    "connect", errno, now);
			return;
		}
		if (r == 0) {
			copy_fail(c, c->state == COPY_LIVE ? IPC_ERR_NETWORK :
			    IPC_ERR_REFUSED, c->state == COPY_LIVE ? "write" :
			    "connect", "server closed the connection", now);
			return;
		}
		if (rtmp_pub_feed(&c->pub, b, (size_t)r) == -1) {
			copy_fail_pub(c, now);
			return;
		}
	}
	if (c->state == COPY_CONNECTING && c->pub.state == RTMP_PUB_LIVE)
		copy_on_live(c, now);
}

/* A destination that stopped reading: stalled after 2 s, failed after
 * the io timeout. */
static void
copy_check_stall(struct copy *c, uint64_t now)
{
	const uint8_t	*p;
	uint64_t	 blocked = now - c->progress_ms;

	if (rtmp_pub_pending(&c->pub, &p) == 0)
		blocked = 0;
	if (blocked >= COPY_STALL_MS && c->rep.state == IPC_ST_LIVE) {
		log_warnx("relay.stalled", "stream=%s relay=%s "
		    "blocked_ms=%llu", c->cfg.stream, c->cfg.relay,
		    (unsigned long long)blocked);
		report_state(&c->rep, IPC_ST_STALLED, now);
	} else if (blocked < COPY_STALL_MS && c->rep.state == IPC_ST_STALLED)
		report_state(&c->rep, IPC_ST_LIVE, now);
	if (blocked >= c->cfg.io_timeout_ms && !c->closing) {
		char	why[64];

		snprintf(why, sizeof(why), "timed out after %u ms",
		    c->cfg.io_timeout_ms);
		copy_fail(c, IPC_ERR_NETWORK, "write", why, now);
	}
}

/* -- IPC --------------------------------------------------------------- */

/* What a MEDIA from fd 3 tells before it is queued: 0 and the parsed
 * *out, or -1 (rejected, counted). */
static int
copy_on_media(struct copy *c, const uint8_t *p, uint32_t len, uint64_t now,
    struct ipc_media *out)
{
	struct ipc_media	m;

	if (ipc_media_parse(p, len, &m) == -1) {
		if (!c->warned_bad)
			log_warnx("relay.media_rejected", "stream=%s relay=%s "
			    "why=\"short MEDIA payload\"", c->cfg.stream,
			    c->cfg.relay);
		c->warned_bad = true;
		c->rep.packets_dropped++;
		return -1;
	}
	if (m.type != TAG_SCRIPT && c->first_media_ms == 0)
		c->first_media_ms = now;
	if (m.flags & TAG_F_SEQHDR) {
		c->seen[copy_track(m.type)] = true;
		copy_format(c, &m);
	}
	*out = m;
	return 0;
}

struct copy_take {
	struct copy	*c;
	uint64_t	 now;
};

/*
 * A MEDIA goes from the read buffer straight into RTMP chunks when the
 * queue would only pass it through (msgq_would_pass), the session is live
 * and the socket keeps up.  That is the steady state, and it saves a
 * malloc and a copy of every message.
 */
static bool
copy_take_now(void *arg, uint16_t type, const uint8_t *p, uint32_t len)
{
	struct copy_take	*t = arg;
	struct copy		*c = t->c;
	struct ipc_media	 m;
	const uint8_t		*q;

	if (type != IPC_MEDIA || c->state != COPY_LIVE || c->closing ||
	    !msgq_would_pass(&c->q) ||
	    rtmp_pub_pending(&c->pub, &q) >= COPY_PUMP_BYTES)
		return false;
	if (copy_on_media(c, p, len, t->now, &m) == 0)
		copy_media(c, &m, true);
	return true;
}

static void
copy_on_ipc(struct copy *c, struct msgq_item *it, uint64_t now)
{
	struct ipc_source	s;
	struct ipc_media	m;

	switch (it->type) {
	case IPC_MEDIA:
		if (copy_on_media(c, it->data, it->len, now, &m) == -1)
			break;
		msgq_push(&c->q, it);
		return;
	case IPC_SOURCE:
		if (ipc_source_parse(it->data, it->len, &s) == -1 ||
		    s.what != IPC_SRC_NEW) {
			/* the supervisor holds such relays in mirroring-worker */
			log_warnx("relay.source_ignored", "stream=%s relay=%s "
			    "why=\"not a SOURCE NEW\"", c->cfg.stream,
			    c->cfg.relay);
			break;
		}
		log_info("relay.source", "stream=%s relay=%s what=new "
		    "label=%.*s", c->cfg.stream, c->cfg.relay,
		    (int)s.label.len, s.label.p);
		msgq_push(&c->q, it);
		return;
	case IPC_EOS:
		c->eos = true;
		break;
	default:
		log_warnx("relay.ipc_unexpected", "stream=%s relay=%s type=%s",
		    c->cfg.stream, c->cfg.relay, ipc_type_name(it->type));
		break;
	}
	free(it);
}

static void
copy_read_ipc(struct copy *c, uint64_t now)
{
	struct msgq_item	*list, *it;
	struct copy_take	 t = { c, now };
	const char		*why = NULL;
	int			 rc;

	if (msgq_buf_fill(&c->in, c->fd, &why) == -1) {
		c->eof_why = why;
		return;
	}
	rc = msgq_buf_split(&c->in, &list, copy_take_now, &t, &why);
	while ((it = list) != NULL) {
		list = it->next;
		copy_on_ipc(c, it, now);
	}
	if (rc == -1)
		c->eof_why = why;
}

/* -- the loop ---------------------------------------------------------- */

static int
copy_stop(struct copy *c, const char *why)
{
	copy_close_sock(c);
	return contract_stopped(&c->rep, &c->cfg, why, c->eof_why == NULL);
}

/*
 * The stream ended (EOS) or the supervisor went away (EOF): a live
 * session sends what is queued within the io timeout (0.5 s when
 * orphaned), then FCUnpublish and deleteStream, then closes.  Returns
 * true when the worker may stop.
 */
static bool
copy_closing(struct copy *c, uint64_t now)
{
	const uint8_t	*p;

	if (c->state != COPY_LIVE)
		return true;
	if (!c->closing) {
		c->closing = true;
		c->deadline_ms = now + (c->eof_why == NULL ?
		    c->cfg.io_timeout_ms : COPY_EOF_CLOSE_MS);
	}
	if (c->q.head == NULL && rtmp_pub_pending(&c->pub, &p) == 0) {
		rtmp_pub_unpublish(&c->pub);
		(void)copy_flush(c, now);	/* best effort */
		shutdown(c->sock, SHUT_WR);
		return true;
	}
	if (now >= c->deadline_ms) {
		log_warnx("relay.failed", "stream=%s relay=%s url=%s "
		    "err=\"flush timed out\" what=trailer", c->cfg.stream,
		    c->cfg.relay, MASK(c->cfg.url));
		return true;
	}
	return false;
}

/* The next thing to wait for, in ms from now.  A live session with
 * nothing unsent waits only for media and the next STATUS: the ticks of
 * the other states (deadlines, stall checks) would wake an idle relay
 * ten times a second for nothing. */
static int
copy_timeout(const struct copy *c, uint64_t now)
{
	const uint8_t	*p;
	uint64_t	 until = now + COPY_TICK_MS;

	if (c->state == COPY_LIVE && !c->closing && c->q.head == NULL &&
	    rtmp_pub_pending(&c->pub, &p) == 0)
		until = report_due(&c->rep);

	if (c->state == COPY_BACKOFF && c->backoff_until_ms < until)
		until = c->backoff_until_ms;
	if (copy_resolving(c) && now + COPY_RESOLVE_TICK_MS < until)
		until = now + COPY_RESOLVE_TICK_MS;
	return until > now ? (int)(until - now) : 0;
}

/* Moves the session on after the I/O of one wake-up. */
static void
copy_step(struct copy *c, uint64_t now)
{
	switch (c->state) {
	case COPY_BACKOFF:
		copy_discard(c);
		if (now < c->backoff_until_ms)
			break;
		c->state = COPY_IDLE;
		/* FALLTHROUGH */
	case COPY_IDLE:
		if (!c->eos && c->eof_why == NULL && copy_ready(c, now))
			copy_connect(c, now);
		break;
	case COPY_CONNECTING:
		if (copy_resolving(c))
			copy_resolve_step(c, now);	/* its own deadline */
		else if (!c->tcp_pending && copy_flush(c, now) == -1)
			copy_fail_errno(c, "connect", errno, now);
		else if (now >= c->deadline_ms) {
			char	why[64];

			snprintf(why, sizeof(why), "timed out after %u ms",
			    c->cfg.connect_timeout_ms);
			copy_fail(c, IPC_ERR_NETWORK, "connect", why, now);
		}
		break;
	case COPY_LIVE:
		if (copy_send_queued(c, now) == -1) {
			copy_fail_errno(c, "write", errno, now);
			break;
		}
		copy_check_stall(c, now);
		break;
	}
}

static int
copy_run(struct copy *c)
{
	struct pollfd	 pfd[2];
	const uint8_t	*p;
	uint64_t	 now;
	nfds_t		 n, ipc, sock;

	for (;;) {
		now = util_mono_ms();
		n = 0;
		ipc = sock = 2;		/* not polled */
		if (c->eof_why == NULL) {
			ipc = n++;
			pfd[ipc] = (struct pollfd){ .fd = c->fd,
			    .events = POLLIN };
		}
		if (c->sock != -1) {
			sock = n++;
			pfd[sock] = (struct pollfd){ .fd = c->sock,
			    .events = POLLIN };
			if (c->tcp_pending ||
			    rtmp_pub_pending(&c->pub, &p) > 0)
				pfd[sock].events |= POLLOUT;
		}
		if (poll(pfd, n, copy_timeout(c, now)) == -1 &&
		    errno != EINTR)
			fatal("worker.poll", "what=loop");
		now = util_mono_ms();
		if (ipc < 2 && (pfd[ipc].revents & (POLLIN | POLLHUP |
		    POLLERR)))
			copy_read_ipc(c, now);
		if (sock < 2 && c->sock != -1 && pfd[sock].revents != 0) {
			if (c->tcp_pending)
				copy_on_connected(c, now);
			else
				copy_on_readable(c, now);
		}
		copy_step(c, now);
		copy_count_drops(c);
		c->rep.bytes_out = c->bytes_prev + c->sess_bytes;
		if ((c->eos || c->eof_why != NULL) && copy_closing(c, now))
			return copy_stop(c, c->eof_why != NULL ? c->eof_why :
			    "eos");
		report_tick(&c->rep, now);
		if (c->rep.broken) {
			c->eof_why = "status write failed";
			return copy_stop(c, c->eof_why);
		}
	}
}

/* CONFIG: a copy profile and an rtmp://host[:port]/app/name url. */
static int
copy_check_config(void *arg, const struct ipc_config *cf)
{
	struct copy	*c = arg;

	if (!cf->prof.video_copy || !cf->prof.audio_copy)
		return contract_config_error(&c->rep, &c->cfg,
		    "mirroring-copy does not transcode");
	if (rtmp_pub_url_parse(&c->url, c->cfg.url) == -1)
		return contract_config_error(&c->rep, &c->cfg,
		    "not rtmp://host[:port]/app/name");
	return 0;
}

int
main(int argc, char **argv)
{
	static struct copy	 C;
	struct copy		*c = &C;
	int			 rc, t;

	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("mirroring-copy: copy relays to rtmp://, IPC version "
		    "%d, no libav\n", IPC_VERSION);
		return 0;
	}
	log_init("worker", LOGL_INFO, LOG_FMT_LOGFMT);
	signal(SIGPIPE, SIG_IGN);
	c->fd = IPC_WORKER_FD;
	c->sock = -1;
	msgq_init(&c->q, msgq_budget_arg(argc, argv));
	if (fcntl(c->fd, F_SETFD, FD_CLOEXEC) == -1) {
		log_warn("worker.no_ipc", "fd=%d", c->fd);
		return WORKER_EX_FAIL;
	}
	report_init(&c->rep, c->fd, util_mono_ms());
	if ((rc = contract_handshake(c->fd, &c->rep, &c->cfg,
	    copy_check_config, c)) != 0)
		return rc;
	log_info("relay.started", "stream=%s relay=%s url=%s profile=%s "
	    "worker=copy", c->cfg.stream, c->cfg.relay, MASK(c->cfg.url),
	    c->cfg.profile);
	report_send(&c->rep, util_mono_ms());
	rc = copy_run(c);
	msgq_clear(&c->q);
	msgq_buf_clear(&c->in);
	for (t = 0; t < RETIME_NTRACKS; t++)
		free(c->hdr[t].body);
	free(c->meta.body);
	contract_cfg_clear(&c->cfg);
	return rc;
}
