/*
 * The workers' IPC items and queue (see msgq.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/ipc.h"
#include "common/ipc_msg.h"
#include "common/tag.h"
#include "worker/msgq.h"

void
msgq_init(struct msgq *q, size_t budget_bytes)
{
	memset(q, 0, sizeof(*q));
	q->budget = budget_bytes;
}

void
msgq_clear(struct msgq *q)
{
	struct msgq_item	*it;

	while ((it = msgq_pop(q)) != NULL)
		free(it);
}

/* Drops the queued MEDIA but sequence headers, so the tag queued next is
 * the next the destination gets.  Other messages (SOURCE, EOS) stay, in
 * order with the headers around them. */
static void
msgq_skip_queued(struct msgq *q)
{
	struct msgq_item	**pp = &q->head, *it;
	struct ipc_media	  m;

	q->tail = NULL;
	while ((it = *pp) != NULL) {
		if (it->type == IPC_MEDIA &&
		    ipc_media_parse(it->data, it->len, &m) == 0 &&
		    !(m.flags & TAG_F_SEQHDR)) {
			*pp = it->next;
			q->bytes -= it->len;
			q->drops++;
			free(it);
			continue;
		}
		q->tail = it;
		pp = &it->next;
	}
}

/*
 * True when this MEDIA payload may be queued.  A queue under its budget
 * takes any tag, so it may go past it by one (a keyframe larger than the
 * budget would otherwise be dropped each time and the relay never
 * resume).  Once full it drops until a keyframe; that keyframe replaces
 * what is queued: the destination was behind by a whole queue, and
 * resumes live rather than late.
 */
static bool
msgq_admit(struct msgq *q, const struct msgq_item *it)
{
	struct ipc_media	m;

	/* SOURCE and EOS always pass: a switch must not be lost */
	if (it->type != IPC_MEDIA ||
	    ipc_media_parse(it->data, it->len, &m) == -1)
		return true;	/* the consumer rejects it */
	if (m.flags & TAG_F_SEQHDR)
		return true;	/* small, and needed to resume */
	if (m.type == TAG_VIDEO && (m.flags & TAG_F_KEYFRAME) &&
	    (q->dropping || q->bytes >= q->budget)) {
		msgq_skip_queued(q);
		q->dropping = false;
		return true;
	}
	if (q->bytes >= q->budget)
		q->dropping = true;
	return !q->dropping;
}

bool
msgq_would_pass(const struct msgq *q)
{
	/* an empty queue is under any budget: msgq_admit takes every tag
	 * unless it drops until a keyframe */
	return q->head == NULL && !q->dropping;
}

bool
msgq_push(struct msgq *q, struct msgq_item *it)
{
	it->next = NULL;
	if (!msgq_admit(q, it)) {
		q->drops++;
		free(it);
		return false;
	}
	if (q->tail != NULL)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	q->bytes += it->len;
	return true;
}

struct msgq_item *
msgq_pop(struct msgq *q)
{
	struct msgq_item	*it;

	if ((it = q->head) == NULL)
		return NULL;
	if ((q->head = it->next) == NULL)
		q->tail = NULL;
	q->bytes -= it->len;
	it->next = NULL;
	return it;
}

/* Makes b hold at least cap bytes: 0 or -1. */
static int
msgq_buf_grow(struct msgq_buf *b, size_t cap)
{
	uint8_t	*p;

	if ((p = realloc(b->buf, cap)) == NULL)
		return -1;
	b->buf = p;
	b->cap = cap;
	return 0;
}

int
msgq_buf_fill(struct msgq_buf *b, int fd, const char **why)
{
	ssize_t	r;

	if (b->cap == 0 && msgq_buf_grow(b, MSGQ_CHUNK) == -1) {
		*why = "out of memory";
		return -1;
	}
	do
		r = read(fd, b->buf + b->len, b->cap - b->len);
	while (r == -1 && errno == EINTR);
	if (r > 0) {
		b->len += (size_t)r;
		return 0;
	}
	if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (r == -1)
		*why = "read failed";
	else if (b->len >= IPC_HDR_LEN)
		*why = "truncated message";
	else
		*why = "supervisor closed the socket";
	return -1;
}

int
msgq_buf_split(struct msgq_buf *b, struct msgq_item **out, msgq_take_fn *take,
    void *arg, const char **why)
{
	struct msgq_item	**tail = out, *it;
	struct ipc_hdr		  h;
	size_t			  off = 0, need;
	int			  rc = 0;

	*out = NULL;
	for (;;) {
		switch (ipc_hdr_parse(b->buf + off, b->len - off, &h, why)) {
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
		if (b->len - off < need) {
			if (need > b->cap && msgq_buf_grow(b, need) == -1) {
				*why = "out of memory";
				rc = -1;
			}
			goto keep;
		}
		if (take != NULL &&
		    take(arg, h.type, b->buf + off + IPC_HDR_LEN, h.len)) {
			off += need;
			continue;
		}
		take = NULL;		/* the rest keep their order behind it */
		if ((it = malloc(sizeof(*it) + h.len)) == NULL) {
			*why = "out of memory";
			rc = -1;
			goto keep;
		}
		memcpy(it->data, b->buf + off + IPC_HDR_LEN, h.len);
		it->next = NULL;
		it->type = h.type;
		it->len = h.len;
		*tail = it;
		tail = &it->next;
		off += need;
	}
keep:
	memmove(b->buf, b->buf + off, b->len - off);
	b->len -= off;
	/* a large keyframe grew the buffer: give it back once it is out */
	if (b->len == 0 && b->cap > MSGQ_CHUNK)
		(void)msgq_buf_grow(b, MSGQ_CHUNK);
	return rc;
}

void
msgq_buf_clear(struct msgq_buf *b)
{
	free(b->buf);
	memset(b, 0, sizeof(*b));
}

static int
msgq_read_full(int fd, void *buf, size_t n)
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

struct msgq_item *
msgq_read_msg(int fd, const char **why)
{
	uint8_t			 hdr[IPC_HDR_LEN];
	struct ipc_hdr		 h;
	struct msgq_item	*it;

	if (msgq_read_full(fd, hdr, sizeof(hdr)) == -1) {
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
	if (msgq_read_full(fd, it->data, h.len) == -1) {
		free(it);
		*why = "truncated message";
		return NULL;
	}
	it->next = NULL;
	it->type = h.type;
	it->len = h.len;
	return it;
}

size_t
msgq_budget_arg(int argc, char *const argv[])
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
		    v > 0 && v <= MSGQ_MAX_BYTES)
			return (size_t)v;
	}
	return MSGQ_DEFAULT_BYTES;
}
