/*
 * A thread that reads IPC messages from fd 3 into a bounded FIFO (mutex +
 * condition variable).  Only this thread reads the socket; only the main
 * thread writes it (STATUS).  It reads whatever has arrived, up to
 * READER_CHUNK at a time, splits every complete message out of it and
 * queues them under one lock with one wake-up, so a burst costs one read
 * and one wake, not two reads and a wake per message.  The thread neither
 * logs nor calls libav: it leaves its reason in a string the main thread
 * logs.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/ipc.h"
#include "common/ipc_msg.h"
#include "common/tag.h"
#include "worker/reader.h"

#define READER_CHUNK	(256u * 1024)

static struct {
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct reader_item	*head, *tail;
	size_t			 bytes, budget;
	bool			 dropping;
	uint64_t		 drops;
	int			 fd;
	atomic_bool		 eof, eos;
	const char *_Atomic	 why;
} rd = { .mu = PTHREAD_MUTEX_INITIALIZER };

/* The reader thread's own input buffer: len bytes read, not yet split. */
static struct {
	uint8_t	*buf;
	size_t	 cap, len;
} rb;

static int
reader_read_full(int fd, void *buf, size_t n)
{
	uint8_t	*p = buf;
	ssize_t	 r;

	while (n > 0) {
		if ((r = read(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = 0;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

struct reader_item *
reader_read_msg(int fd, const char **why)
{
	uint8_t			 hdr[IPC_HDR_LEN];
	struct ipc_hdr		 h;
	struct reader_item	*it;

	if (reader_read_full(fd, hdr, sizeof(hdr)) == -1) {
		*why = errno == 0 ? "supervisor closed the socket" :
		    "read failed";
		return NULL;
	}
	if (ipc_hdr_parse(hdr, sizeof(hdr), &h, why) != IPC_OK)
		return NULL;
	/* the length was checked against the type's limit */
	if ((it = malloc(sizeof(*it) + h.len)) == NULL) {
		*why = "out of memory";
		return NULL;
	}
	if (reader_read_full(fd, it->data, h.len) == -1) {
		free(it);
		*why = "truncated message";
		return NULL;
	}
	it->next = NULL;
	it->type = h.type;
	it->len = h.len;
	return it;
}

/* Called with rd.mu held: drops the queued MEDIA but sequence headers, so
 * the tag queued next is the next the destination gets.  Other messages
 * (SOURCE) stay, in order with the headers around them. */
static void
reader_skip_queued(void)
{
	struct reader_item	**pp = &rd.head, *it;
	struct ipc_media	  m;

	rd.tail = NULL;
	while ((it = *pp) != NULL) {
		if (it->type == IPC_MEDIA &&
		    ipc_media_parse(it->data, it->len, &m) == 0 &&
		    !(m.flags & TAG_F_SEQHDR)) {
			*pp = it->next;
			rd.bytes -= it->len;
			rd.drops++;
			free(it);
			continue;
		}
		rd.tail = it;
		pp = &it->next;
	}
}

/*
 * Called with rd.mu held: true when this MEDIA payload may be queued.  A
 * queue under its budget takes any tag, so it may go past it by one (a
 * keyframe larger than the budget would otherwise be dropped each time
 * and the relay never resume).  Once full it drops until a keyframe;
 * that keyframe replaces what is queued: the destination was behind by a
 * whole queue, and resumes live rather than late.
 */
static bool
reader_admit(const struct reader_item *it)
{
	struct ipc_media	m;

	/* EOS and SOURCE always pass: a switch must not be lost, and
	 * reader_skip_queued leaves them where they are */
	if (it->type != IPC_MEDIA)
		return true;
	if (ipc_media_parse(it->data, it->len, &m) == -1)
		return true;	/* the main thread rejects it */
	if (m.flags & TAG_F_SEQHDR)
		return true;	/* small, and needed to resume */
	if (m.type == TAG_VIDEO && (m.flags & TAG_F_KEYFRAME) &&
	    (rd.dropping || rd.bytes >= rd.budget)) {
		reader_skip_queued();
		rd.dropping = false;
		return true;
	}
	if (rd.bytes >= rd.budget)
		rd.dropping = true;
	if (rd.dropping) {
		rd.drops++;
		return false;
	}
	return true;
}

/* Makes rb hold at least cap bytes: 0 or -1. */
static int
reader_grow(size_t cap)
{
	uint8_t	*p;

	if ((p = realloc(rb.buf, cap)) == NULL)
		return -1;
	rb.buf = p;
	rb.cap = cap;
	return 0;
}

/*
 * Splits the complete messages at the start of rb into a list (*out, in
 * order) and keeps the partial one.  0, or -1 and *why when the framing
 * is broken (the messages before it are still in *out).
 */
static int
reader_split(struct reader_item **out, const char **why)
{
	struct reader_item	**tail = out, *it;
	struct ipc_hdr		  h;
	size_t			  off = 0, need;
	int			  rc = 0;

	*out = NULL;
	for (;;) {
		switch (ipc_hdr_parse(rb.buf + off, rb.len - off, &h, why)) {
		case IPC_NEED:
			goto keep;
		case IPC_BAD:
			rc = -1;
			goto keep;
		case IPC_OK:
			break;
		}
		/* the length was checked against the type's limit */
		need = IPC_HDR_LEN + (size_t)h.len;
		if (rb.len - off < need) {
			if (need > rb.cap && reader_grow(need) == -1) {
				*why = "out of memory";
				rc = -1;
			}
			goto keep;
		}
		if ((it = malloc(sizeof(*it) + h.len)) == NULL) {
			*why = "out of memory";
			rc = -1;
			goto keep;
		}
		memcpy(it->data, rb.buf + off + IPC_HDR_LEN, h.len);
		it->next = NULL;
		it->type = h.type;
		it->len = h.len;
		*tail = it;
		tail = &it->next;
		off += need;
	}
keep:
	memmove(rb.buf, rb.buf + off, rb.len - off);
	rb.len -= off;
	/* a large keyframe grew the buffer: give it back once it is out */
	if (rb.len == 0 && rb.cap > READER_CHUNK)
		reader_grow(READER_CHUNK);
	return rc;
}

/* Queues the list under one lock and wakes the main thread once. */
static void
reader_queue(struct reader_item *list)
{
	struct reader_item	*it;
	bool			 woke = false;

	if (list == NULL)
		return;
	pthread_mutex_lock(&rd.mu);
	while ((it = list) != NULL) {
		list = it->next;
		it->next = NULL;
		if (!reader_admit(it)) {
			free(it);
			continue;
		}
		if (rd.tail != NULL)
			rd.tail->next = it;
		else
			rd.head = it;
		rd.tail = it;
		rd.bytes += it->len;
		if (it->type == IPC_EOS)
			atomic_store(&rd.eos, true);
		woke = true;
	}
	pthread_mutex_unlock(&rd.mu);
	/* after the unlock: a main thread woken under the lock would block
	 * on it straight away, one more context switch per wake */
	if (woke)
		pthread_cond_signal(&rd.cv);
}

/* One read of what has arrived into rb's free space: 0, or -1 and *why
 * at EOF or on an error. */
static int
reader_fill(const char **why)
{
	ssize_t	r;

	do
		r = read(rd.fd, rb.buf + rb.len, rb.cap - rb.len);
	while (r == -1 && errno == EINTR);
	if (r > 0) {
		rb.len += (size_t)r;
		return 0;
	}
	if (r == -1)
		*why = "read failed";
	else if (rb.len >= IPC_HDR_LEN)
		*why = "truncated message";
	else
		*why = "supervisor closed the socket";
	return -1;
}

static void *
reader_main(void *arg)
{
	struct reader_item	*list;
	const char		*why = "out of memory";
	int			 rc;

	if (reader_grow(READER_CHUNK) == 0) {
		do {
			if (reader_fill(&why) == -1)
				break;
			rc = reader_split(&list, &why);
			reader_queue(list);
		} while (rc == 0);
	}
	free(rb.buf);
	rb.buf = NULL;
	rd.why = why;
	pthread_mutex_lock(&rd.mu);
	atomic_store(&rd.eof, true);
	pthread_cond_signal(&rd.cv);
	pthread_mutex_unlock(&rd.mu);
	return NULL;
}

size_t
reader_budget_arg(int argc, char *const argv[])
{
	unsigned long long	 v;
	char			*end;
	int			 i;

	for (i = 1; i + 1 < argc; i++) {
		if (strcmp(argv[i], "--queue-bytes") != 0)
			continue;
		errno = 0;
		v = strtoull(argv[i + 1], &end, 10);
		if (errno == 0 && *end == '\0' && end != argv[i + 1] &&
		    v > 0 && v <= READER_MAX_BYTES)
			return (size_t)v;
	}
	return READER_DEFAULT_BYTES;
}

int
reader_start(int fd, size_t budget_bytes)
{
	pthread_condattr_t	 ca;
	pthread_t		 t;
	int			 rc;

	rd.fd = fd;
	rd.budget = budget_bytes;
	if ((rc = pthread_condattr_init(&ca)) != 0 ||
	    (rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC)) != 0 ||
	    (rc = pthread_cond_init(&rd.cv, &ca)) != 0) {
		errno = rc;
		return -1;
	}
	pthread_condattr_destroy(&ca);
	if ((rc = pthread_create(&t, NULL, reader_main, NULL)) != 0 ||
	    (rc = pthread_detach(t)) != 0) {
		errno = rc;
		return -1;
	}
	return 0;
}

struct reader_item *
reader_pop(unsigned wait_ms)
{
	struct reader_item	*it;
	struct timespec		 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += wait_ms / 1000;
	ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&rd.mu);
	while (rd.head == NULL && !atomic_load(&rd.eof))
		if (pthread_cond_timedwait(&rd.cv, &rd.mu, &ts) == ETIMEDOUT)
			break;
	if ((it = rd.head) != NULL) {
		if ((rd.head = it->next) == NULL)
			rd.tail = NULL;
		rd.bytes -= it->len;
	}
	pthread_mutex_unlock(&rd.mu);
	return it;
}

bool
reader_eof(const char **why)
{
	if (!atomic_load(&rd.eof))
		return false;
	if (why != NULL)
		*why = rd.why;
	return true;
}

bool
reader_eos(void)
{
	return atomic_load(&rd.eos);
}

uint64_t
reader_drops(void)
{
	uint64_t	n;

	pthread_mutex_lock(&rd.mu);
	n = rd.drops;
	pthread_mutex_unlock(&rd.mu);
	return n;
}
