/*
 * IPC messages as the workers hold them: items split out of what was
 * read from fd 3, and the bounded FIFO between fd 3 and the destination
 * with its budget rule.  No threads, no logging: reader.c wraps it in a
 * lock for mirroring-worker, copy.c uses it from its poll loop.
 */
#ifndef MSGQ_H
#define MSGQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MSGQ_DEFAULT_BYTES	(8u * 1024 * 1024)
#define MSGQ_MAX_BYTES		(1024u * 1024 * 1024)
#define MSGQ_CHUNK		(256u * 1024)	/* one read of fd 3 */

struct msgq_item {
	struct msgq_item	*next;
	uint16_t		 type;		/* enum ipc_type */
	uint32_t		 len;
	uint8_t			 data[];
};

struct msgq {
	struct msgq_item	*head, *tail;
	size_t			 bytes;		/* payload queued */
	size_t			 budget;
	bool			 dropping;	/* until a keyframe */
	uint64_t		 drops;		/* MEDIA the budget cost */
};

/* Bytes read from fd 3, not yet split into messages. */
struct msgq_buf {
	uint8_t	*buf;
	size_t	 cap, len;
};

void		 msgq_init(struct msgq *, size_t budget_bytes);
/* Frees every item. */
void		 msgq_clear(struct msgq *);
/*
 * Queues it, or frees it and counts a drop: once budget bytes are queued
 * (the last tag may go past it), MEDIA is dropped until the next video
 * keyframe, which then replaces the queued MEDIA (sequence headers and
 * every other message, SOURCE and EOS, always pass and stay in order).
 * True when queued.
 */
bool		 msgq_push(struct msgq *, struct msgq_item *);
/* True when msgq_push would admit any MEDIA and pop it next: nothing is
 * queued and the queue is not dropping until a keyframe.  A consumer may
 * then take the message as it comes, with no item. */
bool		 msgq_would_pass(const struct msgq *);
/* The oldest item (the caller frees it), or NULL. */
struct msgq_item *msgq_pop(struct msgq *);

/* One read of what has arrived on fd: 0, or -1 and *why at EOF or on an
 * error.  Blocks when fd does. */
int		 msgq_buf_fill(struct msgq_buf *, int fd, const char **why);
/* Offered a complete message in place (p valid during the call only):
 * true when it took it, false to have it copied into an item. */
typedef bool	 msgq_take_fn(void *arg, uint16_t type, const uint8_t *p,
		    uint32_t len);
/* Splits the complete messages at the start of the buffer into a list
 * (*out, in order) and keeps the partial one.  take (may be NULL) is
 * offered each message first, until it declines one: the rest go into the
 * list, so what it took comes before all of them.  0, or -1 and *why when
 * the framing is broken (the messages before it are still in *out). */
int		 msgq_buf_split(struct msgq_buf *, struct msgq_item **out,
		    msgq_take_fn *take, void *arg, const char **why);
void		 msgq_buf_clear(struct msgq_buf *);

/* One message, blocking (the handshake): the item, or NULL and *why. */
struct msgq_item *msgq_read_msg(int fd, const char **why);
/* The budget the supervisor gave on the command line (--queue-bytes N, the
 * relay's queue:), or MSGQ_DEFAULT_BYTES without a valid one. */
size_t		 msgq_budget_arg(int argc, char *const argv[]);

#endif
