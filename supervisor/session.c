/*
 * One RTMP connection from a publisher; see session.h.  The handshake and
 * chunk parsers are pure (common/); this file decides what each message
 * means, answers the commands of ffmpeg, OBS/librtmp and GStreamer as
 * recorded in rtmp-interop-notes, checks the stream key, and hands media
 * to the stream.  Any protocol error closes this connection only.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/amf0.h"
#include "common/log.h"
#include "common/util.h"
#include "common/wire.h"
#include "config/cfg.h"
#include "supervisor/keys.h"
#include "supervisor/server.h"
#include "supervisor/session.h"
#include "supervisor/stream.h"

#define CSID_CONTROL	2	/* protocol control, user control */
#define CSID_COMMAND	3	/* NetConnection commands */
#define CSID_STATUS	5	/* NetStream onStatus */
#define SESSION_MAX_STREAMS 8	/* createStream calls per connection */

#define USER_STREAM_BEGIN	0
#define USER_PING_REQUEST	6
#define USER_PING_RESPONSE	7

static void	session_on_read(struct bufferevent *, void *);
static void	session_on_write(struct bufferevent *, void *);
static void	session_on_event(struct bufferevent *, short, void *);
static void	session_on_timer(evutil_socket_t, short, void *);

void
session_peer_host(const struct sockaddr *sa, char *buf, size_t n)
{
	if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)
		    sa)->sin6_addr, buf, (socklen_t)n);
	else if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)
		    sa)->sin_addr, buf, (socklen_t)n);
	else
		snprintf(buf, n, "unknown");
}

static void
session_addr(struct session *s, const struct sockaddr *sa)
{
	unsigned	port = 0;

	session_peer_host(sa, s->host, sizeof(s->host));
	if (sa->sa_family == AF_INET6)
		port = ntohs(((const struct sockaddr_in6 *)(const void *)sa)
		    ->sin6_port);
	else if (sa->sa_family == AF_INET)
		port = ntohs(((const struct sockaddr_in *)(const void *)sa)
		    ->sin_port);
	snprintf(s->addr, sizeof(s->addr), sa->sa_family == AF_INET6 ?
	    "[%s]:%u" : "%s:%u", s->host, port);
}

static struct timeval
session_tv(uint32_t ms)
{
	return (struct timeval){ ms / 1000, (ms % 1000) * 1000 };
}

struct session *
session_new(struct server *srv, int fd, const struct sockaddr *sa,
    socklen_t salen)
{
	struct session	*s;
	struct timeval	 hs_tv = session_tv(srv->cfg->limits.handshake_ms);
	uint8_t		 rnd[RTMP_HS_SIZE - 8];

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		close(fd);
		return NULL;
	}
	s->srv = srv;
	s->id = ++srv->next_conn;
	s->out_chunk_size = RTMP_DEFAULT_CHUNK_SIZE;
	session_addr(s, sa);
	if (util_random(rnd, sizeof(rnd)) == -1 ||
	    (s->timer_ev = evtimer_new(srv->base, session_on_timer, s)) ==
	    NULL ||
	    (s->bev = bufferevent_socket_new(srv->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		if (s->timer_ev != NULL)
			event_free(s->timer_ev);
		close(fd);
		free(s);
		return NULL;
	}
	rtmp_hs_init(&s->hs, (uint32_t)util_mono_ms(), rnd);
	rtmp_chunk_init(&s->chunks);
	rtmp_chunk_set_limits(&s->chunks, RTMP_PREAUTH_MSG_LEN,
	    RTMP_PREAUTH_PENDING);
	rtmp_chunk_set_max_chunk_size(&s->chunks,
	    (uint32_t)srv->cfg->limits.max_chunk_size);
	s->last_read_ms = util_mono_ms();
	TAILQ_INSERT_TAIL(&srv->sessions, s, entry);
	bufferevent_setcb(s->bev, session_on_read, NULL, session_on_event, s);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	evtimer_add(s->timer_ev, &hs_tv);
	log_info("conn.accepted", "conn=%llu addr=%s",
	    (unsigned long long)s->id, s->addr);
	return s;
}

void
session_free(struct session *s)
{
	if (s == NULL)
		return;
	TAILQ_REMOVE(&s->srv->sessions, s, entry);
	if (s->timer_ev != NULL)
		event_free(s->timer_ev);
	if (s->bev != NULL)
		bufferevent_free(s->bev);
	rtmp_chunk_clear(&s->chunks);
	free(s);
}

void
session_close(struct session *s, const char *reason, bool protocol_error)
{
	struct timeval	now = { 0, 0 };

	if (s->state == SESSION_CLOSED)
		return;
	if (s->source != NULL) {
		struct source *src = s->source;

		s->source = NULL;	/* stream_close may come back here */
		stream_detach(src, reason);
	}
	log_msg(protocol_error ? LOGL_WARN : LOGL_INFO, "conn.closed",
	    "conn=%llu addr=%s reason=%s bytes_in=%llu",
	    (unsigned long long)s->id, s->addr, LQ(reason),
	    (unsigned long long)s->bytes_in);
	s->state = SESSION_CLOSED;
	bufferevent_free(s->bev);
	s->bev = NULL;
	/* our caller may still touch s: free it from the loop */
	evtimer_add(s->timer_ev, &now);
}

static void
session_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct session	*s = arg;

	switch (s->state) {
	case SESSION_HANDSHAKE:
		session_close(s, "handshake timeout", true);
		break;
	case SESSION_DRAINING:
		session_close(s, s->drain_reason, false);
		break;
	case SESSION_CLOSED:
		session_free(s);
		break;
	case SESSION_CHUNKS:
		/* connected but not publishing: a slot held for nothing */
		if (s->source == NULL) {
			snprintf(s->why, sizeof(s->why), "no publish within "
			    "%u ms", s->srv->cfg->limits.publish_ms);
			session_close(s, s->why, true);
		}
		break;
	}
}

/* Until a publish is accepted, and again after an unpublish, the
 * connection has limits.publish_timeout to (re)publish. */
static void
session_publish_deadline(struct session *s)
{
	struct timeval	tv = session_tv(s->srv->cfg->limits.publish_ms);

	evtimer_add(s->timer_ev, &tv);
}

/* Sends one message; our messages are small control and command ones. */
static int
session_send(struct session *s, uint32_t csid, uint8_t type, uint32_t sid,
    const uint8_t *p, size_t n)
{
	struct rtmp_msg	m = { .csid = csid, .type = type, .stream_id = sid,
			    .data = p, .len = (uint32_t)n };
	uint8_t		buf[4096];
	size_t		need;

	need = rtmp_chunk_encode(buf, sizeof(buf), s->out_chunk_size, csid,
	    &m);
	if (need > sizeof(buf))
		return -1;
	return bufferevent_write(s->bev, buf, need);
}

static int
session_send_u32(struct session *s, uint8_t type, uint32_t v)
{
	uint8_t		b[4];
	struct wire_w	w;

	wire_w_init(&w, b, sizeof(b));
	wire_put_be32(&w, v);
	return session_send(s, CSID_CONTROL, type, 0, b, sizeof(b));
}

static int
session_send_user(struct session *s, uint16_t ev, uint32_t v)
{
	uint8_t		b[6];
	struct wire_w	w;

	wire_w_init(&w, b, sizeof(b));
	wire_put_be16(&w, ev);
	wire_put_be32(&w, v);
	return session_send(s, CSID_CONTROL, RTMP_MSG_USER_CONTROL, 0, b,
	    sizeof(b));
}

/* onStatus(0, null, {level, code, description}) on message stream sid. */
static int
session_send_status(struct session *s, uint32_t sid, const char *level,
    const char *code, const char *desc)
{
	uint8_t		b[512];
	struct wire_w	w;

	wire_w_init(&w, b, sizeof(b));
	amf0_put_string(&w, "onStatus");
	amf0_put_number(&w, 0);
	amf0_put_null(&w);
	amf0_put_object_begin(&w);
	amf0_put_prop_string(&w, "level", level);
	amf0_put_prop_string(&w, "code", code);
	amf0_put_prop_string(&w, "description", desc);
	amf0_put_object_end(&w);
	if (w.err)
		return -1;
	return session_send(s, CSID_STATUS, RTMP_MSG_COMMAND_AMF0, sid, b,
	    w.off);
}

/* _result/_error(txn, null, value or status object) for a command. */
static int
session_send_result(struct session *s, const char *name, double txn,
    const struct wire_w *rest)
{
	uint8_t		b[512];
	struct wire_w	w;

	wire_w_init(&w, b, sizeof(b));
	amf0_put_string(&w, name);
	amf0_put_number(&w, txn);
	wire_put_bytes(&w, rest->p, rest->off);
	if (w.err)
		return -1;
	return session_send(s, CSID_COMMAND, RTMP_MSG_COMMAND_AMF0, 0, b,
	    w.off);
}

static void
session_on_drained(struct bufferevent *bev, void *arg)
{
	struct session	*s = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		session_close(s, s->drain_reason, false);
}

/*
 * Stops reading, lets the queued error reply reach the client (so an
 * encoder can show the user why), then closes.
 */
static void
session_drain(struct session *s, const char *reason)
{
	struct timeval	tv = { 0, SESSION_LINGER_MS * 1000 };

	tv.tv_sec = tv.tv_usec / 1000000;
	tv.tv_usec %= 1000000;
	s->state = SESSION_DRAINING;
	s->drain_reason = reason;
	bufferevent_disable(s->bev, EV_READ);
	bufferevent_setcb(s->bev, NULL, session_on_write, session_on_event, s);
	evtimer_add(s->timer_ev, &tv);
	session_on_drained(s->bev, s);
}

static void
session_on_write(struct bufferevent *bev, void *arg)
{
	session_on_drained(bev, arg);
}

/* Returns 1 and the next argument, 0 when there is none, -1 (why).  The
 * iterator's error text lives on our caller's stack: copy it. */
static int
session_arg(struct session *s, struct amf0_it *it, struct amf0_val *v,
    const char **why)
{
	switch (amf0_next(it, v)) {
	case AMF0_VAL:
		return 1;
	case AMF0_DONE:
		return 0;
	default:
		snprintf(s->why, sizeof(s->why), "%s", amf0_error(it));
		*why = s->why;
		return -1;
	}
}

/* Copies an AMF0 string for logging, NULs shown as \x00 by LQ's rules. */
static const char *
session_str(char *buf, size_t n, const struct amf0_val *v, size_t maxlen)
{
	size_t	i, len = v->str_len < maxlen ? v->str_len : maxlen;

	if (len >= n)
		len = n - 1;
	for (i = 0; i < len; i++)
		buf[i] = v->str[i] == '\0' ? '?' : v->str[i];
	buf[len] = '\0';
	return buf;
}

static int
session_cmd_connect(struct session *s, double txn, struct amf0_it *it,
    const char **why)
{
	struct amf0_val	 v;
	char		 app[128] = "", tcurl[256] = "", flash[128] = "";
	uint8_t		 b[256];
	struct wire_w	 w;
	const char	*want = s->srv->cfg->app;
	char		*q;
	size_t		 alen;
	int		 r;

	if (s->connected) {
		*why = "second connect on one connection";
		return -1;
	}
	if ((r = session_arg(s, it, &v, why)) != 1 || v.type != AMF0_OBJECT) {
		if (r != -1)
			*why = "connect without a command object";
		return -1;
	}
	/* walk the whole object: a malformed one closes the connection */
	for (;;) {
		if (session_arg(s, it, &v, why) != 1) {
			if (*why == NULL)
				*why = "connect object not terminated";
			return -1;
		}
		if (v.type == AMF0_OBJECT_END && v.depth == 0)
			break;
		if (v.depth != 1 || (v.type != AMF0_STRING &&
		    v.type != AMF0_LONG_STRING))
			continue;
		if (amf0_key_eq(&v, "app"))
			session_str(app, sizeof(app), &v, SIZE_MAX);
		else if (amf0_key_eq(&v, "tcUrl"))
			session_str(tcurl, sizeof(tcurl), &v, SIZE_MAX);
		else if (amf0_key_eq(&v, "flashVer"))
			session_str(flash, sizeof(flash), &v, SIZE_MAX);
	}
	/* "live?token=..." and "live/": match on the name only */
	alen = strcspn(app, "?");
	while (alen > 0 && app[alen - 1] == '/')
		alen--;
	/* the query may hold a token: log only that there is one */
	if ((q = strchr(app, '?')) != NULL)
		snprintf(q, sizeof(app) - (size_t)(q - app), "?\xe2\x80\xa6");
	log_info("session.connect", "conn=%llu app=%s flashver=%s tcurl=%s",
	    (unsigned long long)s->id, LQ(app), LQ(flash), MASK(tcurl));
	if (alen != strlen(want) || strncmp(app, want, alen) != 0) {
		wire_w_init(&w, b, sizeof(b));
		amf0_put_null(&w);
		amf0_put_object_begin(&w);
		amf0_put_prop_string(&w, "level", "error");
		amf0_put_prop_string(&w, "code",
		    "NetConnection.Connect.Rejected");
		amf0_put_prop_string(&w, "description", "unknown application");
		amf0_put_object_end(&w);
		session_send_result(s, "_error", txn, &w);
		session_drain(s, "unknown application");
		return 0;
	}
	s->connected = true;
	session_send_u32(s, RTMP_MSG_WINDOW_ACK_SIZE, SESSION_WINDOW);
	wire_w_init(&w, b, sizeof(b));
	wire_put_be32(&w, SESSION_WINDOW);
	wire_put_u8(&w, 2);		/* dynamic */
	session_send(s, CSID_CONTROL, RTMP_MSG_SET_PEER_BW, 0, b, w.off);
	session_send_u32(s, RTMP_MSG_SET_CHUNK_SIZE, SESSION_CHUNK_SIZE);
	s->out_chunk_size = SESSION_CHUNK_SIZE;
	wire_w_init(&w, b, sizeof(b));
	amf0_put_object_begin(&w);
	amf0_put_prop_string(&w, "fmsVer", "FMS/3,0,1,123");
	amf0_put_prop_number(&w, "capabilities", 31);
	amf0_put_object_end(&w);
	amf0_put_object_begin(&w);
	amf0_put_prop_string(&w, "level", "status");
	amf0_put_prop_string(&w, "code", "NetConnection.Connect.Success");
	amf0_put_prop_string(&w, "description", "Connection succeeded.");
	amf0_put_prop_number(&w, "objectEncoding", 0);
	amf0_put_object_end(&w);
	return session_send_result(s, "_result", txn, &w) == -1 ? -1 : 0;
}

static int
session_cmd_create_stream(struct session *s, double txn, const char **why)
{
	uint8_t		b[32];
	struct wire_w	w;

	if (s->next_stream_id >= SESSION_MAX_STREAMS) {
		*why = "too many createStream calls";
		return -1;
	}
	wire_w_init(&w, b, sizeof(b));
	amf0_put_null(&w);
	amf0_put_number(&w, ++s->next_stream_id);
	return session_send_result(s, "_result", txn, &w) == -1 ? -1 : 0;
}

/* Why a key is refused, as logged and as told to the client.  *role says
 * whether it was the stream's key or its backup key (*key: which). */
static const char *
session_key_check(struct session *s, const struct amf0_val *name,
    const struct key_entry **out, enum source_role *role, const char **key)
{
	const struct key_entry	*ke;
	const struct cfg_stream	*cs = NULL;
	struct stream		*st;
	const char		*q;
	size_t			 len = name->str_len;
	uint64_t		 silent_ms;

	/* "key?x=y": the query is not part of the key; an embedded NUL is
	 * (the whole name, length included, must match) */
	if ((q = memchr(name->str, '?', len)) != NULL)
		len = (size_t)(q - name->str);
	ke = keys_match(&s->srv->keys, (const uint8_t *)name->str, len);
	if (ke == NULL && (cs = cfg_stream_by_backup_key(s->srv->cfg,
	    name->str, len)) != NULL)
		ke = keys_find(&s->srv->keys, cs->name);
	*out = ke;
	*role = cs != NULL ? SOURCE_BACKUP : SOURCE_PRIMARY;
	if (ke == NULL)
		return "unknown-key";
	*key = cs != NULL ? cs->backup_key.value : ke->key;
	if (!ke->enabled)
		return "key-disabled";
	if ((st = server_stream_find(s->srv, ke->name)) != NULL &&
	    st->src[*role] != NULL) {
		/* an encoder whose connection died silently reconnects with
		 * the same key: do not make it wait for our idle timeout */
		silent_ms = util_mono_ms() -
		    st->src[*role]->session->last_read_ms;
		if (silent_ms < SESSION_STALE_MS)
			return "already-live";
		snprintf(s->why, sizeof(s->why), "replaced by conn %llu after "
		    "%llu ms of silence", (unsigned long long)s->id,
		    (unsigned long long)silent_ms);
		session_close(st->src[*role]->session, s->why, false);
	} else if (st == NULL && server_stream_count(s->srv) >=
	    s->srv->cfg->limits.streams)
		return "too-many-streams";
	return NULL;
}

/* What a refused publisher is told in its onStatus. */
static const char *
session_refusal_text(const char *refused)
{
	static const struct {
		const char	*reason, *text;
	} texts[] = {
		{ "already-live", "stream is already publishing" },
		{ "key-disabled", "stream key is disabled" },
		{ "too-many-streams", "server is at its limit of live streams" },
	};
	size_t	i;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (strcmp(refused, texts[i].reason) == 0)
			return texts[i].text;
	return "unknown stream key";
}

static int
session_cmd_publish(struct session *s, const struct rtmp_msg *m,
    struct amf0_it *it, const char **why)
{
	const struct key_entry	*ke;
	struct amf0_val		 v, name;
	enum source_role	 role;
	const char		*refused, *key = NULL;
	char			 shown[LOG_QMAX];
	int			 r;

	if (!s->connected) {
		*why = "publish before connect";
		return -1;
	}
	if (s->source != NULL) {
		*why = "second publish on one connection";
		return -1;
	}
	if (session_arg(s, it, &v, why) != 1 ||
	    (r = session_arg(s, it, &name, why)) != 1 ||
	    (name.type != AMF0_STRING && name.type != AMF0_LONG_STRING)) {
		if (*why == NULL)
			*why = "publish without a stream name";
		return -1;
	}
	if ((refused = session_key_check(s, &name, &ke, &role, &key)) !=
	    NULL) {
		session_str(shown, sizeof(shown), &name, 64);
		log_warnx("publish.rejected", "conn=%llu addr=%s key=%s "
		    "reason=%s", (unsigned long long)s->id, s->addr,
		    MASK(shown), refused);
		session_send_status(s, m->stream_id, "error",
		    "NetStream.Publish.BadName", session_refusal_text(refused));
		snprintf(s->why, sizeof(s->why), "publish rejected: %s",
		    refused);
		session_drain(s, s->why);
		return 0;
	}
	s->source = stream_attach(s->srv, ke->name, role, key, s, s->id,
	    s->addr);
	if (s->source == NULL) {
		*why = "out of memory";
		return -1;
	}
	/* a known key: media may now come in full-size messages */
	rtmp_chunk_set_limits(&s->chunks,
	    (uint32_t)s->srv->cfg->limits.max_message_bytes,
	    2 * s->srv->cfg->limits.max_message_bytes);
	evtimer_del(s->timer_ev);
	session_send_user(s, USER_STREAM_BEGIN, m->stream_id);
	return session_send_status(s, m->stream_id, "status",
	    "NetStream.Publish.Start", "Publishing.") == -1 ? -1 : 0;
}

static void
session_unpublish(struct session *s, const char *reason)
{
	struct source	*src = s->source;

	if (src != NULL) {
		s->source = NULL;
		stream_detach(src, reason);
		session_publish_deadline(s);
	}
}

static int
session_on_command(struct session *s, const struct rtmp_msg *m,
    const char **why)
{
	struct amf0_it	 it;
	struct amf0_val	 name, txn;
	const uint8_t	*p = m->data;
	size_t		 n = m->len;
	uint8_t		 b[64];
	struct wire_w	 w;

	if (m->type == RTMP_MSG_COMMAND_AMF3) {
		/* AMF3 commands start with a 0 marker, then AMF0 values */
		if (n == 0 || p[0] != 0) {
			*why = "AMF3-encoded command values are not supported";
			return -1;
		}
		p++;
		n--;
	}
	amf0_it_init(&it, p, n);
	if (session_arg(s, &it, &name, why) != 1 || name.type != AMF0_STRING ||
	    session_arg(s, &it, &txn, why) != 1 || txn.type != AMF0_NUMBER) {
		if (*why == NULL)
			*why = "command without a name and transaction id";
		return -1;
	}
	log_debug("session.command", "conn=%llu name=%s txn=%.0f csid=%u "
	    "sid=%u", (unsigned long long)s->id, LQ(session_str((char[64]){0},
	    64, &name, 63)), txn.num, m->csid, m->stream_id);
	if (amf0_str_eq(&name, "connect"))
		return session_cmd_connect(s, txn.num, &it, why);
	if (amf0_str_eq(&name, "createStream"))
		return session_cmd_create_stream(s, txn.num, why);
	if (amf0_str_eq(&name, "publish"))
		return session_cmd_publish(s, m, &it, why);
	if (amf0_str_eq(&name, "releaseStream")) {
		wire_w_init(&w, b, sizeof(b));
		amf0_put_null(&w);
		wire_put_u8(&w, AMF0_UNDEFINED);
		return session_send_result(s, "_result", txn.num, &w);
	}
	if (amf0_str_eq(&name, "FCPublish")) {
		/* onFCPublish, not onStatus: ffmpeg takes an onStatus
		 * Publish.Start as the go-ahead and would send media before
		 * its publish command */
		wire_w_init(&w, b, sizeof(b));
		amf0_put_string(&w, "onFCPublish");
		amf0_put_number(&w, 0);
		amf0_put_null(&w);
		return session_send(s, CSID_COMMAND, RTMP_MSG_COMMAND_AMF0, 0,
		    b, w.off);
	}
	if (amf0_str_eq(&name, "FCUnpublish") ||
	    amf0_str_eq(&name, "deleteStream") ||
	    amf0_str_eq(&name, "closeStream")) {
		/* rtmp2 passes the stream name to deleteStream: any argument
		 * ends this connection's one publish */
		session_unpublish(s, "unpublished");
		return 0;
	}
	if (amf0_str_eq(&name, "play")) {
		session_send_status(s, m->stream_id, "error",
		    "NetStream.Play.Failed", "this server accepts publishing "
		    "only");
		session_drain(s, "play refused: publish-only server");
		return 0;
	}
	return 0;	/* _checkbw, getStreamLength...: nothing to answer */
}

/* @setDataFrame("onMetaData", {...}) or onMetaData({...}); the rest of
 * the data messages (cue points, text) are not kept yet. */
static int
session_on_data(struct session *s, const struct rtmp_msg *m,
    const char **why)
{
	struct amf0_it	 it;
	struct amf0_val	 v;
	const uint8_t	*p = m->data, *body;
	size_t		 n = m->len;
	int		 r;

	if (m->type == RTMP_MSG_DATA_AMF3) {
		if (n == 0 || p[0] != 0) {
			*why = "AMF3-encoded data values are not supported";
			return -1;
		}
		p++;
		n--;
	}
	amf0_it_init(&it, p, n);
	if (session_arg(s, &it, &v, why) != 1 || v.type != AMF0_STRING) {
		if (*why == NULL)
			*why = "data message without a name";
		return -1;
	}
	body = p;
	if (amf0_str_eq(&v, "@setDataFrame")) {
		body = p + it.off;
		if (session_arg(s, &it, &v, why) != 1) {
			if (*why == NULL)
				*why = "@setDataFrame without a name";
			return -1;
		}
	}
	/* validate the rest, so a relay never gets what we could not read */
	while ((r = session_arg(s, &it, &v, why)) == 1)
		;
	if (r == -1)
		return -1;
	amf0_it_init(&it, body, (size_t)(p + n - body));
	if (s->source == NULL || session_arg(s, &it, &v, why) != 1 ||
	    !amf0_str_eq(&v, "onMetaData"))
		return 0;
	return stream_on_metadata(s->source, m->ts_ms, body,
	    (size_t)(p + n - body), why);
}

/* An aggregate message (type 22) carries FLV tags back to back; their
 * timestamps are relative to the first one's (RTMP 7.1.6). */
static int
session_on_aggregate(struct session *s, const struct rtmp_msg *m,
    const char **why)
{
	struct wire_r	 r;
	const uint8_t	*body;
	uint32_t	 size, ts, first = 0;
	uint8_t		 type;
	bool		 have_first = false;

	wire_r_init(&r, m->data, m->len);
	while (wire_left(&r) > 0) {
		type = wire_u8(&r) & 0x1f;
		size = wire_be24(&r);
		ts = wire_be24(&r);
		ts |= (uint32_t)wire_u8(&r) << 24;
		(void)wire_be24(&r);		/* stream id */
		body = wire_bytes(&r, size);
		(void)wire_be32(&r);		/* previous tag size */
		if (r.err) {
			*why = "malformed aggregate message";
			return -1;
		}
		if (!have_first) {
			first = ts;
			have_first = true;
		}
		if ((type == RTMP_MSG_AUDIO || type == RTMP_MSG_VIDEO) &&
		    s->source != NULL && stream_on_media(s->source, type,
		    m->ts_ms + (ts - first), body, size, why) == -1)
			return -1;
	}
	return 0;
}

static int
session_on_user_control(struct session *s, const struct rtmp_msg *m,
    const char **why)
{
	struct wire_r	r;
	uint16_t	ev;
	uint32_t	v;

	wire_r_init(&r, m->data, m->len);
	ev = wire_be16(&r);
	v = wire_be32(&r);
	if (r.err) {
		*why = "short user control message";
		return -1;
	}
	if (ev == USER_PING_REQUEST)
		return session_send_user(s, USER_PING_RESPONSE, v);
	return 0;
}

static int
session_on_msg(struct session *s, const struct rtmp_msg *m, const char **why)
{
	struct wire_r	r;

	switch (m->type) {
	case RTMP_MSG_AUDIO:
	case RTMP_MSG_VIDEO:
		/* media before publish, or of a refused one, is dropped */
		if (s->source == NULL) {
			log_debug("session.media_dropped", "conn=%llu type=%u "
			    "ts=%u len=%u", (unsigned long long)s->id, m->type,
			    m->ts_ms, m->len);
			return 0;
		}
		return stream_on_media(s->source, m->type, m->ts_ms, m->data,
		    m->len, why);
	case RTMP_MSG_COMMAND_AMF0:
	case RTMP_MSG_COMMAND_AMF3:
		return session_on_command(s, m, why);
	case RTMP_MSG_DATA_AMF0:
	case RTMP_MSG_DATA_AMF3:
		return session_on_data(s, m, why);
	case RTMP_MSG_AGGREGATE:
		return session_on_aggregate(s, m, why);
	case RTMP_MSG_USER_CONTROL:
		return session_on_user_control(s, m, why);
	case RTMP_MSG_WINDOW_ACK_SIZE:
		wire_r_init(&r, m->data, m->len);
		s->peer_window = wire_be32(&r);
		if (r.err) {
			*why = "short window acknowledgement size";
			return -1;
		}
		return 0;
	default:
		/* chunk size and abort are the parser's; acknowledgements,
		 * peer bandwidth and shared objects need nothing from us */
		return 0;
	}
}

/* RTMP 5.4.3: acknowledge every peer_window bytes received. */
static void
session_ack(struct session *s)
{
	if (s->peer_window == 0 || s->bytes_in - s->acked < s->peer_window)
		return;
	s->acked = s->bytes_in;
	session_send_u32(s, RTMP_MSG_ACK, (uint32_t)s->bytes_in);
}

static int
session_feed_handshake(struct session *s, const uint8_t *p, size_t n,
    size_t *used, const char **why)
{
	const uint8_t	*reply;
	size_t		 len;

	switch (rtmp_hs_feed(&s->hs, p, n, used)) {
	case RTMP_HS_ERR:
		*why = rtmp_hs_error(&s->hs);
		return -1;
	case RTMP_HS_REPLY:
		reply = rtmp_hs_reply(&s->hs, &len);
		return bufferevent_write(s->bev, reply, len);
	case RTMP_HS_OK: {
		struct timeval	idle = session_tv(s->srv->cfg->limits.idle_ms);

		s->state = SESSION_CHUNKS;
		session_publish_deadline(s);
		bufferevent_set_timeouts(s->bev, &idle, &idle);
		return 0;
	}
	default:
		return 0;
	}
}

/* Parses what has arrived; -1 with *why on a protocol error. */
static int
session_feed(struct session *s, const char **why)
{
	struct evbuffer		*in = bufferevent_get_input(s->bev);
	struct evbuffer_iovec	 v;
	struct rtmp_msg		 m;
	enum rtmp_res		 res;
	size_t			 used;

	while (s->state == SESSION_HANDSHAKE || s->state == SESSION_CHUNKS) {
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
			break;
		if (s->state == SESSION_HANDSHAKE) {
			if (session_feed_handshake(s, v.iov_base, v.iov_len,
			    &used, why) == -1)
				return -1;
		} else {
			res = rtmp_chunk_feed(&s->chunks, v.iov_base,
			    v.iov_len, &used, &m);
			if (res == RTMP_ERR) {
				*why = rtmp_chunk_error(&s->chunks);
				return -1;
			}
			if (res == RTMP_MSG && session_on_msg(s, &m, why) == -1)
				return -1;
		}
		if (s->state == SESSION_CLOSED)
			break;
		s->bytes_in += used;
		evbuffer_drain(in, used);
		session_ack(s);
		/* pings and acks answered to a peer that never reads */
		if (evbuffer_get_length(bufferevent_get_output(s->bev)) >
		    SESSION_MAX_OUT) {
			*why = "peer does not read our replies";
			return -1;
		}
	}
	return 0;
}

static void
session_on_read(struct bufferevent *bev, void *arg)
{
	struct session	*s = arg;
	const char	*why = NULL;

	s->last_read_ms = util_mono_ms();
	if (session_feed(s, &why) == -1)
		session_close(s, why ? why : "protocol error", true);
}

static void
session_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct session	*s = arg;
	char		 why[128];

	if (what & BEV_EVENT_EOF)
		session_close(s, "closed by peer", false);
	else if (what & BEV_EVENT_TIMEOUT)
		session_close(s, (what & BEV_EVENT_READING) ?
		    "idle timeout: nothing received" :
		    "write timeout: peer does not read", true);
	else if (what & BEV_EVENT_ERROR) {
		snprintf(why, sizeof(why), "socket error: %s",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		session_close(s, why, false);
	}
}
