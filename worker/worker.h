/*
 * The relay settings a worker gets in its CONFIG message, as NUL-terminated
 * copies, and the exit codes the supervisor relies on.
 */
#ifndef WORKER_H
#define WORKER_H

#include <stdint.h>

#define WORKER_EX_OK		0	/* the stream ended */
#define WORKER_EX_FAIL		1	/* runtime failure: restart */
#define WORKER_EX_CONFIG	78	/* bad relay config: do not restart */

struct worker_cfg {
	char		*stream;
	char		*relay;
	char		*url;		/* secret: log through MASK() */
	char		*profile;
	uint32_t	 connect_timeout_ms;
	uint32_t	 io_timeout_ms;
	uint32_t	 backoff_min_ms;
	uint32_t	 backoff_max_ms;
};

#endif
