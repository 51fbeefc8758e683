/*
 * mirroring-worker: one process per relay (see design.md).  A blocking
 * pipeline with deadlines: the main thread pops IPC messages, turns MEDIA
 * into packets (input.c) and writes them to the destination (output.c),
 * reconnecting with backoff.  A reader thread (reader.c) keeps draining
 * fd 3 into a bounded queue meanwhile, so EOS and EOF are seen while a
 * connect or write blocks; the libav interrupt callback checks them, the
 * deadline, and sends STATUS (report.c) every second.  SOURCE messages
 * go to hold.c (slate hold, source switches), whose slate frames the
 * loop sends on time between messages.
 * Exit codes: 0 stream ended (EOS), 1 runtime failure, 78 bad config.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>

#include "common/ipc.h"
#include "common/ipc_msg.h"
#include "common/log.h"
#include "common/util.h"
#include "worker/contract.h"
#include "worker/hold.h"
#include "worker/input.h"
#include "worker/output.h"
#include "worker/reader.h"
#include "worker/report.h"
#include "worker/resolve.h"
#include "worker/worker.h"
#include "worker/xcode.h"

#define WORKER_TRACK_WAIT_MS	2000	/* for the second sequence header */
#define WORKER_HEALTHY_MS	60000	/* live this long: backoff resets */
#define WORKER_RESOLVE_TICK_MS	10	/* polls a name lookup */
#define WORKER_EOF_CLOSE_MS	500	/* trailer budget when orphaned */

#define WORKER_STALL_MS	2000	/* a write blocked this long: stalled */

struct worker {
	struct worker_cfg	 cfg;
	struct input		 in;
	struct output		 out;
	struct report		 rep;
	struct xcode		*xc;		/* NULL: profile copy */
	struct hold		 hold;		/* slate and switches */
	int			 exit_code;	/* set: leave the loop */
	int			 fd;
	size_t			 queue_bytes;	/* the reader's budget */
	bool			 live;
	bool			 connecting;	/* EOS aborts the connect */
	bool			 closing;	/* only the deadline counts */
	bool			 timed_out;	/* the deadline fired */
	uint64_t		 write_start_ms; /* 0 unless writing */
	bool			 in_backoff;
	uint64_t		 backoff_until_ms;
	uint32_t		 backoff_ms;	/* the next delay */
	uint64_t		 live_since_ms;
	uint64_t		 bytes_prev;	/* earlier sessions */
	uint64_t		 packets_missed; /* came while not live */
	uint64_t		 queue_drops;	/* the reader's, counted */
	unsigned		 attempts;
	char			 av_msg[256];	/* last libav error line */
};

static struct worker	 W;	/* the av_log callback has no opaque */

static int
worker_version(void)
{
	printf("mirroring-worker: libavformat %s, libavcodec %s, "
	    "libavutil %s, libswscale %s, libswresample %s\n",
	    AV_STRINGIFY(LIBAVFORMAT_VERSION),
	    AV_STRINGIFY(LIBAVCODEC_VERSION),
	    AV_STRINGIFY(LIBAVUTIL_VERSION),
	    AV_STRINGIFY(LIBSWSCALE_VERSION),
	    AV_STRINGIFY(LIBSWRESAMPLE_VERSION));
	return avformat_version() == LIBAVFORMAT_VERSION_INT &&
	    swscale_version() > 0 && swresample_version() > 0 &&
	    avcodec_version() > 0 ? 0 : 1;
}

static void __attribute__((format(printf, 3, 0)))
worker_on_av_log(void *avcl, int level, const char *fmt, va_list ap)
{
	char	buf[sizeof(W.av_msg)];
	size_t	n;

	if (level > AV_LOG_ERROR && !log_enabled(LOGL_DEBUG))
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (n == 0)
		return;
	contract_scrub(&W.cfg, buf);
	if (level <= AV_LOG_ERROR)
		memcpy(W.av_msg, buf, n + 1);
	if (level <= AV_LOG_VERBOSE)
		log_debug("libav.log", "level=%d msg=%s", level, LQ(buf));
}

/* The reader's queue drops since the last call go into STATUS. */
static void
worker_count_drops(struct worker *w)
{
	uint64_t	n = reader_drops() - w->queue_drops;

	w->queue_drops += n;
	w->rep.packets_dropped += n;
	w->packets_missed += n;
}

static int
worker_on_interrupt(void *arg)
{
	struct worker	*w = arg;
	uint64_t	 now = util_mono_ms();

	if (!w->closing) {
		/* a destination that stopped reading: say so while it lasts */
		if (w->write_start_ms != 0 && now - w->write_start_ms >=
		    WORKER_STALL_MS && (w->rep.state == IPC_ST_LIVE ||
		    w->rep.state == IPC_ST_HOLDING)) {
			log_warnx("relay.stalled", "stream=%s relay=%s "
			    "blocked_ms=%llu", w->cfg.stream, w->cfg.relay,
			    (unsigned long long)(now - w->write_start_ms));
			report_state(&w->rep, IPC_ST_STALLED, now);
		}
		w->rep.bytes_out = w->bytes_prev + (uint64_t)output_bytes(&w->out);
		worker_count_drops(w);	/* they pile up while we block */
		report_tick(&w->rep, now);
		if (reader_eof(NULL) || (w->connecting && reader_eos()))
			return 1;
	}
	if (now >= w->out.deadline_ms) {
		w->timed_out = true;
		return 1;
	}
	return 0;
}

/* The transcoding hooks: xcode.c does the work, these wire it in. */
static int
worker_xcode_config(struct worker *w, const struct ipc_config *c)
{
	char	why[XCODE_WHY_MAX];

	if (xcode_new(&c->prof, &w->xc, why, sizeof(why)) == -1)
		return contract_config_error(&w->rep, &w->cfg, why);
	return 0;
}

/* Before a session opens: the encoders, whose parameters its streams
 * take.  -1 when they cannot be opened (a config error: exit_code set). */
static int
worker_xcode_prepare(struct worker *w)
{
	const AVOutputFormat	*of = output_format(w->cfg.url);
	char			 why[XCODE_WHY_MAX];
	int			 t;

	if (w->xc == NULL)
		return 0;
	if (of == NULL || xcode_prepare(w->xc, &w->in, of, why,
	    sizeof(why)) < 0) {
		w->exit_code = contract_config_error(&w->rep, &w->cfg,
		    of == NULL ?
		    "no muxer for this url" : why);
		return -1;
	}
	for (t = 0; t < INPUT_NTRACKS; t++)
		output_set_encoder(&w->out, t, xcode_encoder(w->xc, t));
	return 0;
}

static void
worker_xcode_report(struct worker *w, uint64_t now)
{
	struct xcode_stats	s;

	if (w->xc == NULL)
		return;
	xcode_stats(w->xc, now, &s);
	w->rep.speed_x100 = s.speed_x100;
	w->rep.frames_dropped = s.frames_dropped;
	w->rep.frames_duped = s.frames_duped;
	if (xcode_behind(w->xc))
		log_warnx("relay.xcode_behind", "stream=%s relay=%s "
		    "speed=%.2f frames_dropped=%llu why=\"the encoder cannot "
		    "keep up: dropping frames\"", w->cfg.stream, w->cfg.relay,
		    s.speed_x100 / 100.0,
		    (unsigned long long)s.frames_dropped);
}

/* CONFIG's url and profile, as this worker supports them. */
static int
worker_check_config(void *arg, const struct ipc_config *c)
{
	struct worker	*w = arg;

	if (output_url_kind(w->cfg.url) == -1)
		return contract_config_error(&w->rep, &w->cfg,
		    "unsupported url scheme");
	if (worker_xcode_config(w, c) != 0)
		return WORKER_EX_CONFIG;
	hold_init(&w->hold, &w->cfg, c, w->xc, output_format(w->cfg.url));
	return 0;
}

static bool
worker_net_err(int err)
{
	switch (err) {
	case AVERROR(ECONNREFUSED):
	case AVERROR(ETIMEDOUT):
	case AVERROR(ECONNRESET):
	case AVERROR(ECONNABORTED):
	case AVERROR(EPIPE):
	case AVERROR(EHOSTUNREACH):
	case AVERROR(EHOSTDOWN):
	case AVERROR(ENETUNREACH):
	case AVERROR(ENETDOWN):
	case AVERROR(EIO):		/* tcp.c: name resolution failed */
	case AVERROR(EAGAIN):
	case AVERROR_EXIT:
		return true;
	default:
		return false;
	}
}

/*
 * A network problem (unreachable, reset, timeout) is retried from
 * backoff_min; anything else while opening means the destination answered
 * and said no (RTMP onStatus error, _error to connect/publish, a closed
 * handshake): retrying fast is pointless.
 */
static uint8_t
worker_classify(const struct worker *w, int err, bool opening)
{
	if (output_url_kind(w->cfg.url) == OUTPUT_FILE)
		return opening ? IPC_ERR_CONFIG : IPC_ERR_NETWORK;
	if (w->timed_out || worker_net_err(err) || !opening)
		return IPC_ERR_NETWORK;
	return IPC_ERR_REFUSED;
}

/* The attempt or the session failed: backoff, then the next attempt.
 * msg is scrubbed of secrets in place. */
static void
worker_fail_msg(struct worker *w, uint8_t cls, char *msg, uint64_t now)
{
	uint32_t	delay;

	delay = contract_failed(&w->rep, &w->cfg, &w->backoff_ms, w->live &&
	    now - w->live_since_ms >= WORKER_HEALTHY_MS, cls, msg, now);
	w->live = false;
	w->in_backoff = true;
	w->backoff_until_ms = now + delay;
}

static void
worker_fail(struct worker *w, int err, bool opening, uint64_t now)
{
	char		 msg[IPC_STATUS_ERR_MAX + sizeof(W.av_msg)];
	int64_t		 n;

	w->closing = true;
	output_close(&w->out, false, 1000, &n);
	w->bytes_prev += (uint64_t)n;
	w->closing = false;
	if (reader_eof(NULL) || (opening && reader_eos()))
		return;		/* not a failure: we are stopping */
	if (w->timed_out)
		snprintf(msg, sizeof(msg), "%s timed out after %u ms",
		    opening ? "connect" : "write", opening ?
		    w->cfg.connect_timeout_ms : w->cfg.io_timeout_ms);
	else
		snprintf(msg, sizeof(msg), "%s: %s%s%s",
		    opening ? "connect" : "write", av_err2str(err),
		    w->av_msg[0] != '\0' ? ": " : "", w->av_msg);
	worker_fail_msg(w, worker_classify(w, err, opening), msg, now);
}

/*
 * Looks the destination's host up before libav does, off this thread
 * (resolve.c): libav's lookup blocks with no interrupt callback, so a
 * resolver that does not answer would silence our STATUS until the
 * supervisor killed us.  Here it fails the attempt at the connect
 * deadline, reporting all along.  libav then looks the name up again,
 * answered by then from the resolver's cache.  0: go on and connect; -1:
 * not now (failed, or we are stopping).
 */
static int
worker_resolve(struct worker *w, uint64_t now)
{
	const struct timespec	 tick = { 0, WORKER_RESOLVE_TICK_MS * 1000000L };
	struct resolve		 res = { 0 };
	const struct addrinfo	*ai;
	char			 host[256], port[16], why[512];
	int			 p = -1, rc = -1;

	if (output_url_kind(w->cfg.url) == OUTPUT_FILE)
		return 0;
	host[0] = '\0';
	av_url_split(NULL, 0, NULL, 0, host, sizeof(host), &p, NULL, 0,
	    w->cfg.url);
	if (host[0] == '\0')
		return 0;	/* libav says what is wrong with the URL */
	snprintf(port, sizeof(port), "%d", p > 0 ? p : 0);
	if (resolve_start(&res, host, port, w->cfg.connect_timeout_ms, now,
	    why, sizeof(why)) == 0)
		while ((rc = resolve_poll(&res, util_mono_ms(), &ai, why,
		    sizeof(why))) == 0) {
			if (reader_eof(NULL) || reader_eos())
				break;		/* stopping */
			worker_count_drops(w);	/* they pile up meanwhile */
			report_tick(&w->rep, util_mono_ms());
			nanosleep(&tick, NULL);
		}
	resolve_clear(&res);
	if (rc == 1)
		return 0;
	if (rc == -1) {
		char	msg[sizeof(why) + 16];

		snprintf(msg, sizeof(msg), "connect: %s", why);
		worker_fail_msg(w, IPC_ERR_NETWORK, msg, util_mono_ms());
	}
	return -1;
}

/* What the session sends on track t: "h264", "opus", or "none". */
static const char *
worker_out_codec(const struct worker *w, int t)
{
	if (w->out.idx[t] < 0 || w->out.oc == NULL)
		return "none";
	return avcodec_get_name(w->out.oc->streams[w->out.idx[t]]->codecpar->
	    codec_id);
}

static void
worker_connect(struct worker *w, uint64_t now)
{
	int	ret;

	if (w->in_backoff) {
		if (now < w->backoff_until_ms)
			return;
		w->in_backoff = false;
	}
	if (reader_eos() ||
	    !input_ready(&w->in, now, WORKER_TRACK_WAIT_MS))
		return;
	w->attempts++;
	log_info("relay.connecting", "stream=%s relay=%s url=%s attempt=%u",
	    w->cfg.stream, w->cfg.relay, MASK(w->cfg.url), w->attempts);
	report_state(&w->rep, IPC_ST_CONNECTING, now);
	w->av_msg[0] = '\0';
	w->timed_out = false;
	if (worker_resolve(w, now) == -1)
		return;
	if (worker_xcode_prepare(w) == -1)
		return;
	w->connecting = true;
	ret = output_open(&w->out, &w->in, w->packets_missed > 0 ||
	    w->attempts > 1, now);
	w->connecting = false;
	now = util_mono_ms();
	if (ret < 0) {
		worker_fail(w, ret, true, now);
		return;
	}
	xcode_resume(w->xc);	/* a keyframe opens the session */
	hold_session(&w->hold);
	w->live = true;
	w->live_since_ms = now;
	w->rep.error_class = IPC_ERR_NONE;
	log_info("relay.live", "stream=%s relay=%s url=%s attempt=%u "
	    "video=%s audio=%s writer=libav", w->cfg.stream, w->cfg.relay,
	    MASK(w->cfg.url), w->attempts,
	    worker_out_codec(w, INPUT_VIDEO), worker_out_codec(w, INPUT_AUDIO));
	report_state(&w->rep, IPC_ST_LIVE, now);
}

/* One packet (ms, stream_index = track) to the destination. */
static void
worker_write(struct worker *w, AVPacket *pkt)
{
	int	t = pkt->stream_index, ret;

	w->timed_out = false;
	w->av_msg[0] = '\0';
	w->write_start_ms = util_mono_ms();
	ret = output_write(&w->out, pkt);
	w->write_start_ms = 0;
	if (w->rep.state == IPC_ST_STALLED)
		report_state(&w->rep, IPC_ST_LIVE, util_mono_ms());
	if (ret < 0) {
		worker_fail(w, ret, false, util_mono_ms());
	} else if (ret == 1) {
		w->rep.packets_dropped++;
	} else {
		w->rep.packets_out++;
		if (t == INPUT_VIDEO)
			w->rep.frames_out++;
		w->rep.bytes_out = w->bytes_prev +
		    (uint64_t)output_bytes(&w->out);
	}
}

/* Writes what the encoders have ready while the session lasts. */
static void
worker_xcode_drain(struct worker *w, AVPacket *pkt)
{
	while (xcode_receive(w->xc, pkt) == 1) {
		if (w->live)
			worker_write(w, pkt);
		av_packet_unref(pkt);
	}
}

static void
worker_xcode_send(struct worker *w, AVPacket *pkt)
{
	char	why[XCODE_WHY_MAX];
	int	t = pkt->stream_index;

	if (xcode_send(w->xc, &w->in, pkt, util_mono_ms(), why,
	    sizeof(why)) < 0) {
		w->rep.packets_dropped++;
		if (!w->in.warned[t]) {
			w->in.warned[t] = true;
			log_warnx("relay.xcode_failed", "stream=%s relay=%s "
			    "track=%s why=%s", w->cfg.stream, w->cfg.relay,
			    t == INPUT_VIDEO ? "video" : "audio", LQ(why));
		}
	}
	worker_xcode_drain(w, pkt);
}

static void
worker_on_media(struct worker *w, const struct msgq_item *it, uint64_t now)
{
	struct ipc_media	 m;
	AVPacket		*pkt;
	const char		*why = "";
	int			 t;

	if (ipc_media_parse(it->data, it->len, &m) == -1) {
		log_warnx("relay.media_rejected", "stream=%s relay=%s "
		    "why=\"short MEDIA payload\"", w->cfg.stream, w->cfg.relay);
		w->rep.packets_dropped++;
		return;
	}
	if ((pkt = av_packet_alloc()) == NULL)
		fatal("worker.oom", "what=packet");
	switch (input_feed(&w->in, &m, now, pkt, &why)) {
	case INPUT_NONE:
		break;
	case INPUT_SKIP:
		w->rep.packets_dropped++;
		t = m.type == 8 ? INPUT_AUDIO : INPUT_VIDEO;
		if (!w->in.warned[t]) {
			w->in.warned[t] = true;
			log_warnx("relay.media_skipped", "stream=%s relay=%s "
			    "type=%u why=%s", w->cfg.stream, w->cfg.relay,
			    m.type, LQ(why));
		}
		break;
	case INPUT_PACKET:
		if (!hold_media(&w->hold, &w->in, &w->out, pkt)) {
			w->rep.packets_dropped++;	/* a switch's gate */
			break;
		}
		if (!w->live) {
			w->rep.packets_dropped++;
			w->packets_missed++;
			break;
		}
		if (xcode_track(w->xc, pkt->stream_index))
			worker_xcode_send(w, pkt);
		else
			worker_write(w, pkt);
		break;
	}
	av_packet_free(&pkt);
}

/* End of stream: what the encoders still hold goes out first. */
static void
worker_xcode_flush(struct worker *w)
{
	AVPacket	*pkt;

	if ((pkt = av_packet_alloc()) == NULL)
		return;
	xcode_flush(w->xc);
	worker_xcode_drain(w, pkt);
	av_packet_free(&pkt);
	worker_xcode_report(w, util_mono_ms());
	log_info("relay.xcode_done", "stream=%s relay=%s frames_dropped=%llu "
	    "frames_duped=%llu speed=%.2f", w->cfg.stream, w->cfg.relay,
	    (unsigned long long)w->rep.frames_dropped,
	    (unsigned long long)w->rep.frames_duped,
	    w->rep.speed_x100 / 100.0);
}

static int
worker_stop(struct worker *w, bool eos, const char *why)
{
	int64_t		n;
	int		ret = 0;

	hold_stop(&w->hold, eos ? "eos" : why, util_mono_ms());
	if (w->live && eos && w->xc != NULL)
		worker_xcode_flush(w);
	if (w->live) {
		w->closing = true;
		ret = output_close(&w->out, true, eos ? w->cfg.io_timeout_ms :
		    WORKER_EOF_CLOSE_MS, &n);
		w->bytes_prev += (uint64_t)n;
		w->live = false;
	}
	w->rep.bytes_out = w->bytes_prev;
	if (ret < 0)
		log_warnx("relay.failed", "stream=%s relay=%s url=%s "
		    "err=%s what=trailer", w->cfg.stream, w->cfg.relay,
		    MASK(w->cfg.url), LQ(av_err2str(ret)));
	return contract_stopped(&w->rep, &w->cfg, why, eos);
}

static void
worker_on_source(struct worker *w, const struct msgq_item *it)
{
	struct ipc_source	s;

	if (ipc_source_parse(it->data, it->len, &s) == -1) {
		log_warnx("relay.ipc_rejected", "stream=%s relay=%s "
		    "what=source why=\"malformed SOURCE\"", w->cfg.stream,
		    w->cfg.relay);
		return;
	}
	hold_source(&w->hold, &s, &w->in, &w->out, util_mono_ms());
}

/* The slate's frames due by now, to the destination or the encoders. */
static void
worker_slate(struct worker *w)
{
	AVPacket	*pkt;
	enum hold_res	 r;

	if (!hold_active(&w->hold))
		return;
	if ((pkt = av_packet_alloc()) == NULL)
		fatal("worker.oom", "what=packet");
	while ((r = hold_tick(&w->hold, util_mono_ms(), pkt)) != HOLD_NONE) {
		if (r == HOLD_FED)
			worker_xcode_drain(w, pkt);
		else if (w->live)
			worker_write(w, pkt);
		av_packet_unref(pkt);
	}
	av_packet_free(&pkt);
}

/* Live and holding are the same session; STATUS says which. */
static void
worker_hold_state(struct worker *w, uint64_t now)
{
	uint8_t	want = hold_active(&w->hold) ? IPC_ST_HOLDING : IPC_ST_LIVE;

	if (w->live && (w->rep.state == IPC_ST_LIVE ||
	    w->rep.state == IPC_ST_HOLDING) && w->rep.state != want)
		report_state(&w->rep, want, now);
}

static int
worker_run(struct worker *w)
{
	struct msgq_item	*it;
	const char		*why;
	uint64_t		 now;
	int64_t			 n;
	unsigned		 wait;

	if (reader_start(w->fd, w->queue_bytes) == -1)
		fatal("worker.thread", "what=reader");
	for (;;) {
		now = util_mono_ms();
		if (reader_eof(&why))
			return worker_stop(w, false, why);
		if (!w->live)
			worker_connect(w, now);
		else if (!hold_switching(&w->hold) &&
		    output_stale(&w->out, &w->in)) {
			log_info("relay.reopen", "stream=%s relay=%s "
			    "why=\"sequence header changed\"", w->cfg.stream,
			    w->cfg.relay);
			w->closing = true;
			output_close(&w->out, true, w->cfg.io_timeout_ms, &n);
			w->bytes_prev += (uint64_t)n;
			w->closing = false;
			w->live = false;
			continue;
		}
		wait = hold_wait_ms(&w->hold, now);
		if ((it = reader_pop(wait < 100 ? wait : 100)) != NULL) {
			if (it->type == IPC_EOS) {
				free(it);
				return worker_stop(w, true, "eos");
			}
			if (it->type == IPC_MEDIA)
				worker_on_media(w, it, util_mono_ms());
			else if (it->type == IPC_SOURCE)
				worker_on_source(w, it);
			else
				log_warnx("relay.ipc_unexpected", "stream=%s "
				    "relay=%s type=%s", w->cfg.stream,
				    w->cfg.relay, ipc_type_name(it->type));
			free(it);
		}
		worker_slate(w);
		worker_hold_state(w, util_mono_ms());
		worker_count_drops(w);
		if (w->exit_code != 0)
			return w->exit_code;
		worker_xcode_report(w, util_mono_ms());
		report_tick(&w->rep, util_mono_ms());
		if (w->rep.broken)
			return worker_stop(w, false, "status write failed");
	}
}

int
main(int argc, char **argv)
{
	struct worker	*w = &W;
	int		 rc;

	if (argc == 2 && strcmp(argv[1], "--version") == 0)
		return worker_version();
	log_init("worker", LOGL_INFO, LOG_FMT_LOGFMT);
	signal(SIGPIPE, SIG_IGN);
	w->fd = IPC_WORKER_FD;
	w->queue_bytes = msgq_budget_arg(argc, argv);
	if (fcntl(w->fd, F_SETFD, FD_CLOEXEC) == -1) {
		log_warn("worker.no_ipc", "fd=%d", w->fd);
		return WORKER_EX_FAIL;
	}
	report_init(&w->rep, w->fd, util_mono_ms());
	input_init(&w->in);
	output_init(&w->out, &w->cfg, worker_on_interrupt, w);
	av_log_set_callback(worker_on_av_log);
	if ((rc = contract_handshake(w->fd, &w->rep, &w->cfg,
	    worker_check_config, w)) != 0)
		return rc;
	log_info("relay.started", "stream=%s relay=%s url=%s profile=%s",
	    w->cfg.stream, w->cfg.relay, MASK(w->cfg.url), w->cfg.profile);
	report_send(&w->rep, util_mono_ms());
	rc = worker_run(w);
	hold_clear(&w->hold);
	xcode_free(w->xc);
	input_clear(&w->in);
	contract_cfg_clear(&w->cfg);
	return rc;
}
