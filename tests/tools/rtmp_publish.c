/*
 * rtmp_publish URL FILE.flv: publishes an FLV file through librtmp, as
 * OBS and GStreamer's rtmpsink do, paced in real time by the tag
 * timestamps.  Exits 0 when every tag was sent, 1 on any failure.  Used
 * by the integration tests only; the FLV is trusted test media.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librtmp/log.h>
#include <librtmp/rtmp.h>

#define FLV_HDR_LEN	9
#define FLV_TAG_HDR_LEN	11
#define FLV_PREV_LEN	4
#define TAG_MAX		(FLV_TAG_HDR_LEN + 0xffffff + FLV_PREV_LEN)

static const char	*prog = "rtmp_publish";

static void
die(const char *what)
{
	fprintf(stderr, "%s: %s\n", prog, what);
	exit(1);
}

static uint64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
sleep_until_ms(uint64_t deadline)
{
	uint64_t	 now;
	struct timespec	 ts;

	while ((now = now_ms()) < deadline) {
		ts.tv_sec = (time_t)((deadline - now) / 1000);
		ts.tv_nsec = (long)((deadline - now) % 1000) * 1000000;
		if (nanosleep(&ts, NULL) == -1 && errno != EINTR)
			return;
	}
}

static uint32_t
be24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

/* Skips the FLV file header and the first PreviousTagSize0. */
static void
skip_file_header(FILE *f)
{
	uint8_t		 h[FLV_HDR_LEN];
	uint32_t	 off;

	if (fread(h, 1, sizeof(h), f) != sizeof(h) ||
	    memcmp(h, "FLV", 3) != 0)
		die("not an FLV file");
	off = (uint32_t)h[5] << 24 | be24(h + 6);
	if (off < FLV_HDR_LEN ||
	    fseek(f, (long)off + FLV_PREV_LEN, SEEK_SET) == -1)
		die("bad FLV header");
}

/*
 * Reads one whole tag (header, body, PreviousTagSize) into buf.
 * Returns its length, 0 at a clean end of file; dies on a torn tag.
 */
static size_t
read_tag(FILE *f, uint8_t *buf, uint32_t *ts_ms)
{
	size_t		 n, len;

	n = fread(buf, 1, FLV_TAG_HDR_LEN, f);
	if (n == 0 && feof(f))
		return 0;
	if (n != FLV_TAG_HDR_LEN)
		die("truncated tag header");
	len = FLV_TAG_HDR_LEN + be24(buf + 1) + FLV_PREV_LEN;
	if (fread(buf + FLV_TAG_HDR_LEN, 1, len - FLV_TAG_HDR_LEN, f) !=
	    len - FLV_TAG_HDR_LEN)
		die("truncated tag");
	*ts_ms = (uint32_t)buf[7] << 24 | be24(buf + 4);
	return len;
}

/*
 * The server may send acknowledgements or a refusal while we publish;
 * handle what is already there so its close shows up as a failure.
 */
static void
drain_incoming(RTMP *r)
{
	struct pollfd	 pfd = { .fd = RTMP_Socket(r), .events = POLLIN };
	RTMPPacket	 pkt = { 0 };

	while (RTMP_IsConnected(r) && poll(&pfd, 1, 0) == 1) {
		if (!RTMP_ReadPacket(r, &pkt)) {
			if (!RTMP_IsConnected(r))
				return;
			continue;
		}
		if (RTMPPacket_IsReady(&pkt)) {
			RTMP_ClientPacket(r, &pkt);
			RTMPPacket_Free(&pkt);
		}
	}
}

static void
publish(RTMP *r, FILE *f)
{
	uint8_t		*buf;
	uint64_t	 start, clock_ms = 0;
	uint32_t	 ts, prev = 0;
	int32_t		 step;
	size_t		 len;
	unsigned long	 ntags = 0;
	bool		 have_first = false;

	if ((buf = malloc(TAG_MAX)) == NULL)
		die("out of memory");
	skip_file_header(f);
	start = now_ms();
	while ((len = read_tag(f, buf, &ts)) > 0) {
		if (!have_first) {
			prev = ts;
			have_first = true;
		}
		/* a timestamp jump (test media made to have one) or a wrap
		 * is sent at once, as an encoder would */
		step = (int32_t)(ts - prev);
		if (step > 0 && step <= 1000)
			clock_ms += (uint32_t)step;
		prev = ts;
		sleep_until_ms(start + clock_ms);
		drain_incoming(r);
		if (!RTMP_IsConnected(r))
			die("connection closed by the server");
		if (RTMP_Write(r, (char *)buf, (int)len) <= 0)
			die("RTMP_Write failed");
		ntags++;
	}
	free(buf);
	fprintf(stderr, "%s: sent %lu tags\n", prog, ntags);
}

int
main(int argc, char *argv[])
{
	RTMP		*r;
	FILE		*f;

	if (argc != 3) {
		fprintf(stderr, "usage: %s URL FILE.flv\n", prog);
		return 1;
	}
	/* librtmp writes with send(2) without MSG_NOSIGNAL. */
	signal(SIGPIPE, SIG_IGN);
	RTMP_LogSetLevel(RTMP_LOGERROR);
	if ((f = fopen(argv[2], "rb")) == NULL) {
		perror(argv[2]);
		return 1;
	}
	if ((r = RTMP_Alloc()) == NULL)
		die("out of memory");
	RTMP_Init(r);
	if (!RTMP_SetupURL(r, argv[1]))
		die("bad URL");
	RTMP_EnableWrite(r);
	if (!RTMP_Connect(r, NULL))
		die("connect failed");
	if (!RTMP_ConnectStream(r, 0) || !RTMP_IsConnected(r))
		die("publish refused");
	publish(r, f);
	RTMP_Close(r);
	RTMP_Free(r);
	fclose(f);
	return 0;
}
