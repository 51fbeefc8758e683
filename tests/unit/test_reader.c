/*
 * The worker's IPC reader queue (worker/reader.c) over a real socketpair:
 * while nobody pops (the main thread blocked on a destination) it fills
 * to its budget, drops until a keyframe, and that keyframe replaces the
 * queued media (sequence headers stay), so the destination resumes live;
 * a keyframe larger than the budget still passes an empty queue.  And
 * msgq_buf_split's take (mirroring-copy's path past the queue): what it
 * takes comes first, and once it declines one the rest are queued in
 * order; msgq_would_pass, which tells mirroring-copy when it may take.
 */
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/ipc.h"
#include "common/ipc_msg.h"
#include "common/tag.h"
#include "worker/msgq.h"
#include "worker/reader.h"
#include "tap.h"

#define BUDGET	1000

static int	fd;

/* One MEDIA message of len payload bytes (6 of them the media header)
 * at p, the rest a pattern of ts; the timestamp tells the items apart. */
static size_t
pack_media(uint8_t *p, uint8_t type, uint8_t flags, uint32_t ts, size_t len)
{
	size_t	i;

	ipc_hdr_pack(p, IPC_MEDIA, 0, (uint32_t)len, 1);
	p[IPC_HDR_LEN] = type;
	p[IPC_HDR_LEN + 1] = flags;
	p[IPC_HDR_LEN + 2] = (uint8_t)ts;		/* little-endian */
	p[IPC_HDR_LEN + 3] = (uint8_t)(ts >> 8);
	p[IPC_HDR_LEN + 4] = (uint8_t)(ts >> 16);
	p[IPC_HDR_LEN + 5] = (uint8_t)(ts >> 24);
	for (i = 6; i < len; i++)
		p[IPC_HDR_LEN + i] = (uint8_t)(ts + i);
	return IPC_HDR_LEN + len;
}

static void
send_all(const uint8_t *p, size_t n)
{
	ssize_t	r;

	while (n > 0) {
		if ((r = write(fd, p, n)) <= 0) {
			ok(0, "write %zu bytes", n);
			return;
		}
		p += r;
		n -= (size_t)r;
	}
}

static void
send_media(uint8_t type, uint8_t flags, uint32_t ts, size_t len)
{
	uint8_t	*p = calloc(1, IPC_HDR_LEN + len);

	send_all(p, pack_media(p, type, flags, ts, len));
	free(p);
}

/* The next item is MEDIA ts of len bytes with pack_media's pattern. */
static int
pop_intact(uint32_t ts, size_t len)
{
	struct msgq_item	*it = reader_pop(2000);
	struct ipc_media	 m;
	size_t			 i;
	int			 good;

	if (it == NULL)
		return 0;
	good = it->type == IPC_MEDIA && it->len == len &&
	    ipc_media_parse(it->data, it->len, &m) == 0 && m.ts_ms == ts;
	for (i = 6; good && i < len; i++)
		good = it->data[i] == (uint8_t)(ts + i);
	free(it);
	return good;
}

static void
send_eos(void)
{
	uint8_t	h[IPC_HDR_LEN];

	ipc_hdr_pack(h, IPC_EOS, 0, 0, 1);
	if (write(fd, h, sizeof(h)) != sizeof(h))
		ok(0, "write eos");
}

static void
wait_for(int (*cond)(void), const char *what)
{
	struct timespec	ts = { 0, 5 * 1000 * 1000 };
	int		i;

	for (i = 0; i < 400 && !cond(); i++)
		nanosleep(&ts, NULL);
	ok(cond(), "reader: %s within 2 s", what);
}

/* The timestamp of the next item, -1 for EOS, -2 for nothing, -4 for
 * SOURCE LOST, -5 for SOURCE NEW. */
static long
pop_ts(void)
{
	struct msgq_item	*it = reader_pop(2000);
	struct ipc_media	 m;
	long			 ts;

	if (it == NULL)
		return -2;
	if (it->type == IPC_EOS)
		ts = -1;
	else if (it->type == IPC_SOURCE)
		ts = -4 - (it->len > 0 ? it->data[0] : 0);
	else if (ipc_media_parse(it->data, it->len, &m) == 0)
		ts = m.ts_ms;
	else
		ts = -3;
	free(it);
	return ts;
}

static void
send_source(uint8_t what)
{
	uint8_t	m[IPC_HDR_LEN + 16];
	int	n;

	n = ipc_source_pack(m + IPC_HDR_LEN, sizeof(m) - IPC_HDR_LEN,
	    &(struct ipc_source){ .what = what, .grace_ms = 1000,
	    .label = { "backup", 6 } });
	ipc_hdr_pack(m, IPC_SOURCE, 0, (uint32_t)n, 1);
	send_all(m, IPC_HDR_LEN + (size_t)n);
}

static int	eos_queued(void) { return reader_eos(); }
static int	drops_11(void) { return reader_drops() == 11; }

/* A full queue across a source switch: the SOURCE messages are never
 * dropped, and the new source's keyframe replaces the media around them
 * but leaves them, and the sequence headers, in order. */
static void
stalled_source(void)
{
	static const long	 want[] = { 0, -4, -5, 1, 140, -2 };
	size_t			 i;

	send_media(TAG_VIDEO, TAG_F_SEQHDR, 0, 16);
	send_media(TAG_VIDEO, TAG_F_KEYFRAME, 110, 400);
	send_media(TAG_VIDEO, 0, 120, 400);
	send_media(TAG_AUDIO, 0, 125, 200);		/* past the budget */
	send_source(IPC_SRC_LOST);
	send_source(IPC_SRC_NEW);
	send_media(TAG_VIDEO, TAG_F_SEQHDR, 1, 16);	/* the new source's */
	send_media(TAG_VIDEO, 0, 130, 400);		/* dropped */
	send_media(TAG_VIDEO, TAG_F_KEYFRAME, 140, 400); /* replaces 110..125 */
	wait_for(drops_11, "11 drops");
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		is_int(pop_ts(), want[i], "source switch: item %zu is %ld", i,
		    want[i]);
}
static int	drops_7(void) { return reader_drops() == 7; }
static int	eof_seen(void) { return reader_eof(NULL); }

static void
batch_in_one_write(void)
{
	uint8_t	buf[40 * (IPC_HDR_LEN + 20)];
	size_t	n = 0;
	int	i, good = 1;

	for (i = 0; i < 40; i++)
		n += pack_media(buf + n, TAG_AUDIO, 0, 200 + (uint32_t)i, 20);
	send_all(buf, n);
	for (i = 0; i < 40; i++)
		good &= pop_intact(200 + (uint32_t)i, 20);
	ok(good, "40 messages in one write: all 40 popped in order, intact");
	is_int(pop_ts(), -2, "and nothing more");
}

static void
split_across_reads(void)
{
	struct timespec	 ts = { 0, 50 * 1000 * 1000 };
	size_t		 big = 300 * 1024, n, a;
	uint8_t		*p = malloc(IPC_HDR_LEN + big);

	n = pack_media(p, TAG_VIDEO, TAG_F_KEYFRAME, 300, 400);
	n += pack_media(p + n, TAG_VIDEO, 0, 310, 300);
	/* the first whole, the second cut in its payload; then a pause so
	 * the reader sees the first part on its own */
	a = IPC_HDR_LEN + 400 + IPC_HDR_LEN + 100;
	send_all(p, a);
	nanosleep(&ts, NULL);
	ok(pop_intact(300, 400), "a message whole in the first read pops");
	is_int(pop_ts(), -2, "the cut one waits for the rest");
	send_all(p + a, n - a);
	ok(pop_intact(310, 300), "the cut message pops whole once its rest "
	    "came");

	/* header and part of the payload, then the rest in pieces */
	n = pack_media(p, TAG_VIDEO, TAG_F_KEYFRAME, 320, big);
	send_all(p, 5);
	nanosleep(&ts, NULL);
	send_all(p + 5, 70000);
	nanosleep(&ts, NULL);
	send_all(p + 5 + 70000, n - 5 - 70000);
	ok(pop_intact(320, big), "a %zu-byte keyframe (over the read size), "
	    "sent in three pieces, pops whole", big);
	send_media(TAG_AUDIO, 0, 330, 30);
	ok(pop_intact(330, 30), "and the message after it");
	free(p);
}

static uint32_t	taken[8];
static size_t	ntaken;

/* Takes MEDIA, declines anything else. */
static bool
take_media(void *arg, uint16_t type, const uint8_t *p, uint32_t len)
{
	(void)arg;
	if (type != IPC_MEDIA || len < 6 || ntaken == 8)
		return false;
	taken[ntaken++] = (uint32_t)p[2] | (uint32_t)p[3] << 8;
	return true;
}

static void
split_take(void)
{
	struct ipc_source	 src = { .what = IPC_SRC_NEW,
				     .label = { "backup", 6 } };
	struct msgq_buf		 b = { 0 };
	struct msgq_item	*list, *it;
	const char		*why = NULL;
	uint8_t			 p[4096];
	size_t			 n = 0;
	int			 sv[2], i = 0, m;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1) {
		ok(0, "socketpair");
		return;
	}
	n += pack_media(p + n, TAG_VIDEO, TAG_F_KEYFRAME, 400, 100);
	n += pack_media(p + n, TAG_AUDIO, 0, 401, 50);
	m = ipc_source_pack(p + n + IPC_HDR_LEN, 64, &src);
	ipc_hdr_pack(p + n, IPC_SOURCE, 0, (uint32_t)m, 1);
	n += IPC_HDR_LEN + (size_t)m;
	n += pack_media(p + n, TAG_VIDEO, 0, 402, 100);
	n += pack_media(p + n, TAG_AUDIO, 0, 403, 50) - 10;	/* cut */
	is_int(write(sv[0], p, n), (long)n, "one write of 4.9 messages");
	is_int(msgq_buf_fill(&b, sv[1], &why), 0, "one read");
	is_int(msgq_buf_split(&b, &list, take_media, NULL, &why), 0,
	    "split with a take");
	is_int(ntaken, 2, "the two MEDIA before the SOURCE were taken");
	is_int(taken[0], 400, "first the keyframe");
	is_int(taken[1], 401, "then the audio");
	while ((it = list) != NULL) {
		list = it->next;
		if (i == 0)
			is_int(it->type, IPC_SOURCE, "the SOURCE is queued");
		else
			ok(it->type == IPC_MEDIA && it->data[2] == (uint8_t)402,
			    "the MEDIA after it is queued behind it, not "
			    "taken");
		i++;
		free(it);
	}
	is_int(i, 2, "two items queued");
	is_int(b.len, IPC_HDR_LEN + 50 - 10, "the cut message stays");
	msgq_buf_clear(&b);
	close(sv[0]);
	close(sv[1]);
}

/* A queue item of one MEDIA: the payload of pack_media. */
static struct msgq_item *
media_item(uint8_t flags, uint32_t ts, size_t len)
{
	uint8_t			 p[IPC_HDR_LEN + 600];
	struct msgq_item	*it = malloc(sizeof(*it) + len);

	pack_media(p, TAG_VIDEO, flags, ts, len);
	it->type = IPC_MEDIA;
	it->len = (uint32_t)len;
	memcpy(it->data, p + IPC_HDR_LEN, len);
	return it;
}

/* msgq_would_pass says yes exactly when msgq_push would admit any tag and
 * it would be the next popped: empty, and not dropping to a keyframe. */
static void
would_pass(void)
{
	struct msgq		 q;
	struct msgq_item	*it;

	msgq_init(&q, BUDGET);
	ok(msgq_would_pass(&q), "would_pass: an empty queue passes");
	ok(msgq_push(&q, media_item(0, 1, 600)), "a frame is queued");
	ok(!msgq_would_pass(&q), "would_pass: not past a queued frame");
	ok(msgq_push(&q, media_item(0, 2, 600)), "the budget's last frame");
	ok(!msgq_push(&q, media_item(0, 3, 600)), "past the budget: dropped");
	while ((it = msgq_pop(&q)) != NULL)
		free(it);
	ok(!msgq_would_pass(&q), "would_pass: not while dropping, though "
	    "empty");
	ok(!msgq_push(&q, media_item(0, 4, 100)), "and push drops a frame");
	ok(msgq_push(&q, media_item(TAG_F_KEYFRAME, 5, 100)),
	    "a keyframe ends the dropping");
	free(msgq_pop(&q));
	ok(msgq_would_pass(&q), "would_pass: empty and not dropping again");
	msgq_clear(&q);
}

int
main(void)
{
	static const long	 want[] = { 0, 40, 50, -1 };
	const char		*why = NULL;
	int			 sv[2];
	size_t			 i;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		return 1;
	fd = sv[0];
	is_int(reader_start(sv[1], BUDGET), 0, "reader_start");

	/* nobody pops: a stalled destination */
	send_media(TAG_VIDEO, TAG_F_SEQHDR, 0, 16);	/* 16 queued */
	send_media(TAG_VIDEO, TAG_F_KEYFRAME, 10, 400);	/* 416 */
	send_media(TAG_VIDEO, 0, 20, 400);		/* 816 */
	send_media(TAG_AUDIO, 0, 25, 200);		/* 1016: past it */
	send_media(TAG_VIDEO, 0, 30, 400);		/* dropped */
	send_media(TAG_AUDIO, 0, 35, 100);		/* dropped */
	send_media(TAG_VIDEO, TAG_F_KEYFRAME, 40, 400);	/* replaces 10..25 */
	send_media(TAG_VIDEO, 0, 50, 400);
	send_eos();
	wait_for(eos_queued, "EOS queued");
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		is_int(pop_ts(), want[i], "stalled: item %zu is ts %ld (the "
		    "sequence header, then the newest keyframe)", i, want[i]);
	is_int(reader_drops(), 5, "stalled: 2 dropped, 3 skipped");

	/* a keyframe larger than the budget passes an empty queue */
	send_media(TAG_VIDEO, TAG_F_KEYFRAME, 60, 5000);
	is_int(pop_ts(), 60, "a 5000-byte keyframe passes a 1000-byte queue");
	send_media(TAG_VIDEO, 0, 70, 400);
	is_int(pop_ts(), 70, "and the frame after it");
	send_media(TAG_VIDEO, TAG_F_KEYFRAME, 80, 5000);
	send_media(TAG_VIDEO, 0, 90, 400);		/* past it: dropped */
	send_media(TAG_VIDEO, TAG_F_KEYFRAME, 100, 5000); /* replaces 80 */
	wait_for(drops_7, "7 drops");
	is_int(pop_ts(), 100, "the next keyframe replaces the big one");
	is_int(pop_ts(), -2, "and nothing else is queued");

	stalled_source();

	/* a burst in one write: every message, in order, intact */
	batch_in_one_write();
	/* a message split across reads, the next one after it in the same
	 * write; and one larger than the reader's read size */
	split_across_reads();
	split_take();
	would_pass();

	close(fd);
	wait_for(eof_seen, "EOF seen");
	ok(reader_eof(&why) && why != NULL &&
	    strcmp(why, "supervisor closed the socket") == 0,
	    "reader_eof says why: %s", why != NULL ? why : "(null)");
	return tap_done();
}
