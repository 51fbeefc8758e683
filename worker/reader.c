/*
 * A thread that reads IPC messages from fd 3 into a bounded FIFO (msgq.c
 * under a mutex + condition variable).  Only this thread reads the
 * socket; only the main thread writes it (STATUS).  It reads whatever
 * has arrived, up to MSGQ_CHUNK at a time, splits every complete message
 * out of it and queues them under one lock with one wake-up, so a burst
 * costs one read and one wake, not two reads and a wake per message.
 * The thread neither logs nor calls libav: it leaves its reason in a
 * string the main thread logs.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "common/ipc.h"
#include "worker/reader.h"

static struct {
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct msgq		 q;
	int			 fd;
	atomic_bool		 eof, eos;
	const char *_Atomic	 why;
} rd = { .mu = PTHREAD_MUTEX_INITIALIZER };

/* Queues the list under one lock and wakes the main thread once. */
static void
reader_queue(struct msgq_item *list)
{
	struct msgq_item	*it;
	bool			 woke = false;

	if (list == NULL)
		return;
	pthread_mutex_lock(&rd.mu);
	while ((it = list) != NULL) {
		list = it->next;
		if (it->type == IPC_EOS)
			atomic_store(&rd.eos, true);
		if (msgq_push(&rd.q, it))
			woke = true;
	}
	pthread_mutex_unlock(&rd.mu);
	/* after the unlock: a main thread woken under the lock would block
	 * on it straight away, one more context switch per wake */
	if (woke)
		pthread_cond_signal(&rd.cv);
}

static void *
reader_main(void *arg)
{
	struct msgq_buf		 b = { 0 };
	struct msgq_item	*list;
	const char		*why = "out of memory";
	int			 rc;

	(void)arg;
	do {
		if (msgq_buf_fill(&b, rd.fd, &why) == -1)
			break;
		rc = msgq_buf_split(&b, &list, NULL, NULL, &why);
		reader_queue(list);
	} while (rc == 0);
	msgq_buf_clear(&b);
	rd.why = why;
	pthread_mutex_lock(&rd.mu);
	atomic_store(&rd.eof, true);
	pthread_cond_signal(&rd.cv);
	pthread_mutex_unlock(&rd.mu);
	return NULL;
}

int
reader_start(int fd, size_t budget_bytes)
{
	pthread_condattr_t	 ca;
	pthread_t		 t;
	int			 rc;

	rd.fd = fd;
	msgq_init(&rd.q, budget_bytes);
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

struct msgq_item *
reader_pop(unsigned wait_ms)
{
	struct msgq_item	*it;
	struct timespec		 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += wait_ms / 1000;
	ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&rd.mu);
	while (rd.q.head == NULL && !atomic_load(&rd.eof))
		if (pthread_cond_timedwait(&rd.cv, &rd.mu, &ts) == ETIMEDOUT)
			break;
	it = msgq_pop(&rd.q);
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
	n = rd.q.drops;
	pthread_mutex_unlock(&rd.mu);
	return n;
}
