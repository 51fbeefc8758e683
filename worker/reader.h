/*
 * The IPC reader thread: reads fd 3 into a bounded queue so the blocking
 * pipeline in the main thread never stops the supervisor's queue, and so
 * EOS and EOF are seen while a connect or write is blocked.
 */
#ifndef READER_H
#define READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define READER_DEFAULT_BYTES	(8u * 1024 * 1024)
#define READER_MAX_BYTES	(1024u * 1024 * 1024)

struct reader_item {
	struct reader_item	*next;
	uint16_t		 type;		/* enum ipc_type */
	uint32_t		 len;
	uint8_t			 data[];
};

/* Starts the thread reading fd; once budget_bytes of payload are queued
 * (the last tag may go past it), MEDIA is dropped until the next video
 * keyframe, which then replaces the queued MEDIA (sequence headers and
 * every other message, SOURCE and EOS, always pass and stay in order).
 * 0 or -1 with errno. */
int			 reader_start(int fd, size_t budget_bytes);
/* The budget the supervisor gave on the command line (--queue-bytes N, the
 * relay's queue:), or READER_DEFAULT_BYTES without a valid one. */
size_t			 reader_budget_arg(int argc, char *const argv[]);
/* The next item (the caller frees it), waiting at most wait_ms; NULL when
 * nothing came. */
struct reader_item	*reader_pop(unsigned wait_ms);
/* The peer closed fd or broke the framing: *why says what.  Lock-free. */
bool			 reader_eof(const char **why);
/* An EOS is queued.  Lock-free. */
bool			 reader_eos(void);
/* MEDIA dropped because the queue was full. */
uint64_t		 reader_drops(void);
/* One message, blocking (the handshake, before reader_start): the item,
 * or NULL and *why. */
struct reader_item	*reader_read_msg(int fd, const char **why);

#endif
