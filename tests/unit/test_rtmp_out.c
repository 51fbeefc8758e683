/*
 * The worker's native RTMP publisher (worker/rtmp_out.c) against a small
 * server on 127.0.0.1 built from common/ (rtmp_hs, rtmp_chunk, amf0): it
 * publishes, sends Set Chunk Size 60000 first, turns each FLV tag of an
 * arbitrarily split byte stream into one intact message (metadata with
 * @setDataFrame, an extended timestamp kept), says FCUnpublish and
 * deleteStream on close; a refused publish is EACCES with the server's
 * reason logged; a silent server is left when the interrupt callback
 * says so; a closed port is ECONNREFUSED.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libavutil/error.h>
#include <libavutil/log.h>

#include "common/amf0.h"
#include "common/rtmp_chunk.h"
#include "common/rtmp_hs.h"
#include "common/util.h"
#include "common/wire.h"
#include "worker/rtmp_out.h"
#include "tap.h"

enum srv_mode { SRV_ACCEPT, SRV_REFUSE, SRV_SILENT };

#define SRV_MAX_MSGS	16
#define NCUTS		4

static struct {
	int		 lfd;
	enum srv_mode	 mode;
	uint32_t	 chunk_size;	/* the client's, at the end */
	int		 nmsgs;
	struct {
		uint8_t	 type;
		uint32_t ts, len, stream_id;
		uint8_t	*data;
	}		 msgs[SRV_MAX_MSGS];	/* media and data */
	char		 cmds[512];	/* command names, in order */
} srv;

static char	last_log[256];

static void __attribute__((format(printf, 3, 0)))
on_log(void *avcl, int level, const char *fmt, va_list ap)
{
	(void)avcl;
	if (level <= AV_LOG_ERROR) {
		vsnprintf(last_log, sizeof(last_log), fmt, ap);
		last_log[strcspn(last_log, "\n")] = '\0';
	}
}

static void
srv_send(int fd, uint32_t csid, uint32_t stream_id, const uint8_t *p,
    size_t n)
{
	struct rtmp_msg	m = { .csid = csid,
	    .type = RTMP_MSG_COMMAND_AMF0, .stream_id = stream_id, .data = p,
	    .len = (uint32_t)n };
	uint8_t		out[2048];
	size_t		k = rtmp_chunk_encode(out, sizeof(out),
	    RTMP_DEFAULT_CHUNK_SIZE, csid, &m);

	if (k <= sizeof(out) && write(fd, out, k) != (ssize_t)k)
		ok(0, "server write");
}

static void
srv_status(int fd, const char *level, const char *code)
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
	amf0_put_prop_string(&w, "description", "no such key");
	amf0_put_object_end(&w);
	srv_send(fd, 5, 1, b, w.off);
}

static void
srv_result(int fd, double txn, bool with_id)
{
	uint8_t		b[256];
	struct wire_w	w;

	wire_w_init(&w, b, sizeof(b));
	amf0_put_string(&w, "_result");
	amf0_put_number(&w, txn);
	amf0_put_null(&w);
	if (with_id)
		amf0_put_number(&w, 1);
	srv_send(fd, 3, 0, b, w.off);
}

static void
srv_command(int fd, const struct rtmp_msg *m)
{
	struct amf0_it	it;
	struct amf0_val	name, txn;
	char		s[64];

	amf0_it_init(&it, m->data, m->len);
	if (amf0_next(&it, &name) != AMF0_VAL ||
	    amf0_next(&it, &txn) != AMF0_VAL)
		return;
	snprintf(s, sizeof(s), "%.*s ", (int)name.str_len, name.str);
	strncat(srv.cmds, s, sizeof(srv.cmds) - strlen(srv.cmds) - 1);
	if (srv.mode == SRV_SILENT)
		return;
	if (amf0_str_eq(&name, "connect"))
		srv_result(fd, txn.num, false);
	else if (amf0_str_eq(&name, "createStream"))
		srv_result(fd, txn.num, true);
	else if (amf0_str_eq(&name, "publish"))
		srv_status(fd, srv.mode == SRV_ACCEPT ? "status" : "error",
		    srv.mode == SRV_ACCEPT ? "NetStream.Publish.Start" :
		    "NetStream.Publish.BadName");
}

static void
srv_msg(int fd, const struct rtmp_msg *m)
{
	if (m->type == RTMP_MSG_COMMAND_AMF0) {
		srv_command(fd, m);
		return;
	}
	if (m->type != RTMP_MSG_AUDIO && m->type != RTMP_MSG_VIDEO &&
	    m->type != RTMP_MSG_DATA_AMF0)
		return;
	if (srv.nmsgs == SRV_MAX_MSGS)
		return;
	srv.msgs[srv.nmsgs].type = m->type;
	srv.msgs[srv.nmsgs].ts = m->ts_ms;
	srv.msgs[srv.nmsgs].len = m->len;
	srv.msgs[srv.nmsgs].stream_id = m->stream_id;
	srv.msgs[srv.nmsgs].data = malloc(m->len);
	memcpy(srv.msgs[srv.nmsgs].data, m->data, m->len);
	srv.nmsgs++;
}

/* One connection: handshake, then messages until the client closes. */
static void *
srv_main(void *arg)
{
	static uint8_t		b[65536];
	uint8_t			rnd[RTMP_HS_SIZE - 8] = { 0 };
	struct rtmp_hs		hs;
	struct rtmp_chunk	ch;
	struct rtmp_msg		m;
	const uint8_t		*reply;
	size_t			off, used, n;
	ssize_t			r;
	int			fd;
	bool			shaken = false;

	(void)arg;
	if ((fd = accept(srv.lfd, NULL, NULL)) == -1)
		return NULL;
	rtmp_hs_init(&hs, 0, rnd);
	rtmp_chunk_init(&ch);
	while ((r = read(fd, b, sizeof(b))) > 0) {
		for (off = 0; off < (size_t)r; off += used) {
			if (!shaken) {
				switch (rtmp_hs_feed(&hs, b + off,
				    (size_t)r - off, &used)) {
				case RTMP_HS_REPLY:
					reply = rtmp_hs_reply(&hs, &n);
					if (write(fd, reply, n) != (ssize_t)n)
						goto out;
					break;
				case RTMP_HS_OK:
					shaken = true;
					break;
				case RTMP_HS_ERR:
					goto out;
				default:
					break;
				}
				continue;
			}
			switch (rtmp_chunk_feed(&ch, b + off, (size_t)r - off,
			    &used, &m)) {
			case RTMP_MSG:
				srv_msg(fd, &m);
				break;
			case RTMP_ERR:
				goto out;
			case RTMP_NEED:
				break;
			}
		}
	}
out:
	srv.chunk_size = ch.chunk_size;
	rtmp_chunk_clear(&ch);
	close(fd);
	return NULL;
}

static char	url[128];

static void
srv_start(pthread_t *t, enum srv_mode mode)
{
	struct sockaddr_in	sa = { .sin_family = AF_INET };
	socklen_t		sl = sizeof(sa);
	int			i;

	for (i = 0; i < srv.nmsgs; i++)
		free(srv.msgs[i].data);
	memset(&srv, 0, sizeof(srv));
	srv.mode = mode;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	srv.lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (bind(srv.lfd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(srv.lfd, 1) == -1 ||
	    getsockname(srv.lfd, (struct sockaddr *)&sa, &sl) == -1)
		ok(0, "listen");
	snprintf(url, sizeof(url), "rtmp://127.0.0.1:%u/live/key1?x=y",
	    ntohs(sa.sin_port));
	pthread_create(t, NULL, srv_main, NULL);
}

static uint64_t	give_up_ms;

static int
interrupt_cb(void *opaque)
{
	(void)opaque;
	return give_up_ms != 0 && util_mono_ms() >= give_up_ms;
}

static const AVIOInterruptCB	icb = { interrupt_cb, NULL };

/* An FLV tag of type, ts and len bytes (byte i = i * 7 + type). */
static size_t
flv_tag(uint8_t *p, uint8_t type, uint32_t ts, uint32_t len)
{
	struct wire_w	w;
	uint32_t	i;

	wire_w_init(&w, p, 11 + len + 4);
	wire_put_u8(&w, type);
	wire_put_be24(&w, len);
	wire_put_be24(&w, ts & 0xffffff);
	wire_put_u8(&w, (uint8_t)(ts >> 24));
	wire_put_be24(&w, 0);
	for (i = 0; i < len; i++)
		wire_put_u8(&w, (uint8_t)(i * 7 + type));
	wire_put_be32(&w, 11 + len);
	return w.off;
}

static bool
intact(int k, uint8_t type, uint32_t ts, uint32_t len, uint32_t skip)
{
	uint32_t	i;

	if (k >= srv.nmsgs || srv.msgs[k].type != type ||
	    srv.msgs[k].ts != ts || srv.msgs[k].len != len + skip ||
	    srv.msgs[k].stream_id != 1)
		return false;
	for (i = 0; i < len; i++)
		if (srv.msgs[k].data[skip + i] != (uint8_t)(i * 7 + type))
			return false;
	return true;
}

static void
case_publish(void)
{
	static const uint8_t	 flv_hdr[13] = { 'F', 'L', 'V', 1, 5,
	    0, 0, 0, 9, 0, 0, 0, 0 };
	struct rtmp_out		*ro;
	pthread_t		 t;
	uint8_t			*s = malloc(300000);
	static const size_t	 cut[] = { 5, 13, 20, 70000 };
	size_t			 n = 0, prev = 0, i, end;

	srv_start(&t, SRV_ACCEPT);
	is_int(rtmp_out_open(&ro, url, &icb), 0, "publish accepted");
	memcpy(s, flv_hdr, sizeof(flv_hdr));
	n = sizeof(flv_hdr);
	n += flv_tag(s + n, RTMP_MSG_DATA_AMF0, 0, 30);
	n += flv_tag(s + n, RTMP_MSG_AUDIO, 0, 200);
	n += flv_tag(s + n, RTMP_MSG_VIDEO, 40, 50000);
	n += flv_tag(s + n, RTMP_MSG_VIDEO, 0x1000010, 150000);
	/* cut inside the header, a tag header and a payload */
	for (i = 0; i <= NCUTS; i++) {
		end = i < NCUTS ? cut[i] : n;
		is_int(rtmp_out_write(ro, s + prev, end - prev), 0,
		    "write bytes %zu..%zu", prev, end);
		prev = end;
	}
	rtmp_out_close(ro);
	pthread_join(t, NULL);
	close(srv.lfd);
	is_int(srv.chunk_size, RTMP_OUT_CHUNK_SIZE, "Set Chunk Size 60000");
	is_str(srv.cmds, "connect releaseStream FCPublish createStream "
	    "publish FCUnpublish deleteStream ", "the command sequence");
	is_int(srv.nmsgs, 4, "four messages for four tags");
	ok(srv.nmsgs > 0 && srv.msgs[0].len > 16 &&
	    memcmp(srv.msgs[0].data, "\x02\x00\x0d@setDataFrame", 16) == 0 &&
	    intact(0, RTMP_MSG_DATA_AMF0, 0, 30, 16),
	    "metadata goes as @setDataFrame + the tag's body");
	ok(intact(1, RTMP_MSG_AUDIO, 0, 200, 0), "audio intact");
	ok(intact(2, RTMP_MSG_VIDEO, 40, 50000, 0), "a 50000-byte frame "
	    "intact, ts 40");
	ok(intact(3, RTMP_MSG_VIDEO, 0x1000010, 150000, 0), "a 150000-byte "
	    "frame over several chunks intact, extended timestamp kept");
	free(s);
}

static void
case_refused(void)
{
	struct rtmp_out	*ro = NULL;
	pthread_t	 t;

	srv_start(&t, SRV_REFUSE);
	last_log[0] = '\0';
	is_int(rtmp_out_open(&ro, url, &icb), AVERROR(EACCES),
	    "an error onStatus is EACCES (refused)");
	ok(ro == NULL, "and no session");
	ok(strstr(last_log, "NetStream.Publish.BadName: no such key") != NULL,
	    "the server's code and reason are logged: %s", last_log);
	pthread_join(t, NULL);
	close(srv.lfd);
}

static void
case_silent(void)
{
	struct rtmp_out	*ro = NULL;
	pthread_t	 t;
	uint64_t	 t0 = util_mono_ms();

	srv_start(&t, SRV_SILENT);
	give_up_ms = t0 + 300;
	is_int(rtmp_out_open(&ro, url, &icb), AVERROR_EXIT,
	    "a silent server: AVERROR_EXIT once the callback says stop");
	ok(util_mono_ms() - t0 < 2000, "within 2 s (%llu ms)",
	    (unsigned long long)(util_mono_ms() - t0));
	give_up_ms = 0;
	pthread_join(t, NULL);
	close(srv.lfd);
}

static void
case_closed_port(void)
{
	struct rtmp_out	*ro = NULL;
	pthread_t	 t;

	srv_start(&t, SRV_ACCEPT);
	shutdown(srv.lfd, SHUT_RDWR);
	pthread_join(t, NULL);
	close(srv.lfd);
	is_int(rtmp_out_open(&ro, url, &icb), AVERROR(ECONNREFUSED),
	    "a closed port is ECONNREFUSED (a network error)");
}

int
main(void)
{
	av_log_set_callback(on_log);
	case_publish();
	case_refused();
	case_silent();
	case_closed_port();
	return tap_done();
}
