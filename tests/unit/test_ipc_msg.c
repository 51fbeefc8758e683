/*
 * Worker IPC payloads: pack/parse round trips of HELLO, CONFIG, STATUS
 * and MEDIA, the exact bytes of a HELLO, every truncation failing, a
 * trailing byte failing, and pack refusing a buffer that is too small.
 */
#include <string.h>

#include "common/ipc.h"
#include "common/ipc_msg.h"
#include "tap.h"

#define S(x)	(x), sizeof(x) - 1
#define IS(x)	{ (x), sizeof(x) - 1 }

static int
str_eq(const char *p, size_t n, const char *want)
{
	return n == strlen(want) && memcmp(p, want, n) == 0;
}

static void
test_hello(void)
{
	static const uint8_t	 want[] = { IPC_VERSION, 0, 0, 0, 6, 0,
	    'w', 'o', 'r', 'k', 'e', 'r' };
	uint8_t			 buf[64];
	struct ipc_hello	 h;
	int			 n, i, bad = 0;

	n = ipc_hello_pack(buf, sizeof(buf), "worker");
	is_int(n, sizeof(want), "hello: packed length");
	is_mem(buf, want, sizeof(want), "hello: wire bytes");
	ok(ipc_hello_parse(buf, (size_t)n, &h) == 0 &&
	    h.version == IPC_VERSION && str_eq(h.proc, h.proc_len, "worker"),
	    "hello: round trip");
	for (i = 0; i < n; i++)
		bad += ipc_hello_parse(buf, (size_t)i, &h) != -1;
	is_int(bad, 0, "hello: every truncation fails");
	buf[n] = 0;
	is_int(ipc_hello_parse(buf, (size_t)n + 1, &h), -1,
	    "hello: a trailing byte fails");
	is_int(ipc_hello_pack(buf, 5, "worker"), -1, "hello: pack too small");
}

static void
test_config(void)
{
	struct ipc_config	 c = {
		S("studio"), S("youtube"), S("rtmp://h/live/secretkey12"),
		S("copy"), 5000, 10000, 500, 30000, 1, 0, { 0 }, 0, 0,
		{ NULL, 0 }, { NULL, 0 }
	}, d;
	const struct ipc_profile *q = &d.prof;
	uint8_t			 buf[512];
	int			 n, i, bad = 0;

	c.prof = (struct ipc_profile){ 0, IS("libx264"), 640, 360, 30000,
	    1001, 800000, 1000000, 2000000, 2000, 0, IS("veryfast"),
	    IS("zerolatency"), IS("main"), IS("3.1"), IS("yuv420p"), 0,
	    IS("aac"), 128000, 48000, 2 };
	memset(&d, 0, sizeof(d));
	n = ipc_config_pack(buf, sizeof(buf), &c);
	ok(n > 0, "config: packs (%d bytes)", n);
	ok(ipc_config_parse(buf, (size_t)n, &d) == 0 &&
	    str_eq(d.stream, d.stream_len, "studio") &&
	    str_eq(d.relay, d.relay_len, "youtube") &&
	    str_eq(d.url, d.url_len, "rtmp://h/live/secretkey12") &&
	    str_eq(d.profile, d.profile_len, "copy") &&
	    d.connect_timeout_ms == 5000 && d.io_timeout_ms == 10000 &&
	    d.backoff_min_ms == 500 && d.backoff_max_ms == 30000 &&
	    d.log_level == 1 && d.log_format == 0, "config: round trip");
	ok(q->video_copy == 0 && str_eq(q->vcodec.p, q->vcodec.len,
	    "libx264") && q->width == 640 && q->height == 360 &&
	    q->fps_num == 30000 && q->fps_den == 1001 &&
	    q->vbitrate_bps == 800000 && q->maxrate_bps == 1000000 &&
	    q->bufsize_bps == 2000000 && q->keyint_ms == 2000 &&
	    q->keyint_frames == 0 &&
	    str_eq(q->preset.p, q->preset.len, "veryfast") &&
	    str_eq(q->tune.p, q->tune.len, "zerolatency") &&
	    str_eq(q->vprofile.p, q->vprofile.len, "main") &&
	    str_eq(q->level.p, q->level.len, "3.1") &&
	    str_eq(q->pix_fmt.p, q->pix_fmt.len, "yuv420p") &&
	    q->audio_copy == 0 && str_eq(q->acodec.p, q->acodec.len, "aac") &&
	    q->abitrate_bps == 128000 && q->sample_rate == 48000 &&
	    q->channels == 2, "config: profile round trip");
	for (i = 0; i < n; i++)
		bad += ipc_config_parse(buf, (size_t)i, &d) != -1;
	is_int(bad, 0, "config: every truncation fails");
	is_int(ipc_config_parse(buf, (size_t)n + 1, &d), -1,
	    "config: a trailing byte fails");
	bad = 0;
	for (i = 0; i < n; i++)
		bad += ipc_config_pack(buf, (size_t)i, &c) != -1;
	is_int(bad, 0, "config: pack fails in every smaller buffer");

	/* a copy profile: unset strings pack as empty */
	memset(&c.prof, 0, sizeof(c.prof));
	c.prof.video_copy = c.prof.audio_copy = 1;
	n = ipc_config_pack(buf, sizeof(buf), &c);
	ok(n > 0 && ipc_config_parse(buf, (size_t)n, &d) == 0 &&
	    q->video_copy == 1 && q->audio_copy == 1 && q->vcodec.len == 0 &&
	    q->acodec.len == 0 && q->pix_fmt.len == 0, "config: copy profile");
	buf[n - 1 - 4 * 3 - 2 - 1 - 9] = 2;	/* audio_copy */
	is_int(ipc_config_parse(buf, (size_t)n, &d), -1,
	    "config: a copy flag other than 0 or 1 fails");

	/* continuity: hold with a slate */
	c.on_loss = IPC_LOSS_HOLD;
	c.grace_ms = 300000;
	c.slate_image = (struct ipc_str)IS("/srv/slate.png");
	c.slate_audio = (struct ipc_str)IS("/srv/hold.wav");
	n = ipc_config_pack(buf, sizeof(buf), &c);
	ok(n > 0 && ipc_config_parse(buf, (size_t)n, &d) == 0 &&
	    d.on_loss == IPC_LOSS_HOLD && d.grace_ms == 300000 &&
	    str_eq(d.slate_image.p, d.slate_image.len, "/srv/slate.png") &&
	    str_eq(d.slate_audio.p, d.slate_audio.len, "/srv/hold.wav"),
	    "config: continuity round trip");
	c.on_loss = 2;
	n = ipc_config_pack(buf, sizeof(buf), &c);
	is_int(ipc_config_parse(buf, (size_t)n, &d), -1,
	    "config: an unknown on_loss fails");
}

static void
test_source(void)
{
	struct ipc_source	 s = { IPC_SRC_LOST, 120000, IS("primary") },
				 d;
	uint8_t			 buf[128];
	int			 n, i, bad = 0;

	n = ipc_source_pack(buf, sizeof(buf), &s);
	ok(n == 7 + 7 && ipc_source_parse(buf, (size_t)n, &d) == 0 &&
	    d.what == IPC_SRC_LOST && d.grace_ms == 120000 &&
	    str_eq(d.label.p, d.label.len, "primary"), "source: round trip");
	for (i = 0; i < n; i++)
		bad += ipc_source_parse(buf, (size_t)i, &d) != -1;
	is_int(bad, 0, "source: every truncation fails");
	buf[0] = 2;
	is_int(ipc_source_parse(buf, (size_t)n, &d), -1,
	    "source: an unknown what fails");
}

static void
test_status(void)
{
	char			 longerr[300];
	struct ipc_status	 s = {
		IPC_ST_LIVE, 0x1122334455667788ull, 2500, 2997,
		123456789012ull, 42, 3, 1500, IPC_ERR_NETWORK,
		"Connection refused", 18, 312, 7, 3
	}, d;
	uint8_t			 buf[512];
	int			 n, i, bad = 0;

	n = ipc_status_pack(buf, sizeof(buf), &s);
	is_int(n, 1 + 8 + 4 + 4 + 8 + 8 + 4 + 4 + 1 + 2 + 18 + 4 + 8 + 8,
	    "status: packed length");
	ok(ipc_status_parse(buf, (size_t)n, &d) == 0 &&
	    d.state == IPC_ST_LIVE && d.bytes_out == s.bytes_out &&
	    d.kbps == 2500 && d.fps_x100 == 2997 &&
	    d.packets_out == s.packets_out && d.packets_dropped == 42 &&
	    d.reconnects == 3 && d.state_ms == 1500 &&
	    d.error_class == IPC_ERR_NETWORK &&
	    str_eq(d.last_error, d.last_error_len, "Connection refused") &&
	    d.speed_x100 == 312 && d.frames_dropped == 7 &&
	    d.frames_duped == 3, "status: round trip");
	for (i = 0; i < n; i++)
		bad += ipc_status_parse(buf, (size_t)i, &d) != -1;
	is_int(bad, 0, "status: every truncation fails");
	is_int(ipc_status_parse(buf, (size_t)n + 1, &d), -1,
	    "status: a trailing byte fails");

	memset(longerr, 'x', sizeof(longerr));
	s.last_error = longerr;
	s.last_error_len = sizeof(longerr);
	n = ipc_status_pack(buf, sizeof(buf), &s);
	ok(n > 0 && ipc_status_parse(buf, (size_t)n, &d) == 0 &&
	    d.last_error_len == IPC_STATUS_ERR_MAX,
	    "status: last_error truncated to %d bytes", IPC_STATUS_ERR_MAX);
	s.last_error = NULL;
	s.last_error_len = 0;
	s.state = IPC_ST_HOLDING + 1;
	n = ipc_status_pack(buf, sizeof(buf), &s);
	is_int(ipc_status_parse(buf, (size_t)n, &d), -1,
	    "status: unknown state fails");
}

static void
test_media(void)
{
	static const uint8_t	 p[] = { 9, 3, 0x10, 0x20, 0x30, 0x40,
	    0x17, 0, 0, 0, 0 };
	struct ipc_media	 m;
	size_t			 i;
	int			 bad = 0;

	ok(ipc_media_parse(p, sizeof(p), &m) == 0 && m.type == 9 &&
	    m.flags == 3 && m.ts_ms == 0x40302010 && m.data == p + 6 &&
	    m.len == 5, "media: fields and body");
	ok(ipc_media_parse(p, 6, &m) == 0 && m.len == 0,
	    "media: an empty body is legal");
	for (i = 0; i < 6; i++)
		bad += ipc_media_parse(p, i, &m) != -1;
	is_int(bad, 0, "media: every truncation of the fixed part fails");
}

int
main(void)
{
	test_hello();
	test_config();
	test_source();
	test_status();
	test_media();
	return tap_done();
}
