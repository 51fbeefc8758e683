/*
 * The IPC reader thread of mirroring-worker: reads fd 3 into a bounded
 * queue (msgq.c) so the blocking pipeline in the main thread never stops
 * the supervisor's queue, and so EOS and EOF are seen while a connect or
 * write is blocked.
 */
#ifndef READER_H
#define READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "worker/msgq.h"

/* Starts the thread reading fd into a queue of budget_bytes (msgq_push's
 * rule).  0 or -1 with errno. */
int			 reader_start(int fd, size_t budget_bytes);
/* The next item (the caller frees it), waiting at most wait_ms; NULL when
 * nothing came. */
struct msgq_item	*reader_pop(unsigned wait_ms);
/* The peer closed fd or broke the framing: *why says what.  Lock-free. */
bool			 reader_eof(const char **why);
/* An EOS is queued.  Lock-free. */
bool			 reader_eos(void);
/* MEDIA dropped because the queue was full. */
uint64_t		 reader_drops(void);

#endif
