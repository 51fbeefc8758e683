/*
 * STATUS messages to the supervisor: the worker's state and counters,
 * sent on every state change and at least once a second (report_tick is
 * also called from the libav interrupt callback while a call blocks).
 */
#ifndef REPORT_H
#define REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/ipc_msg.h"

struct report {
	int		 fd;		/* borrowed: fd 3 */
	bool		 broken;	/* a write failed: the peer is gone */
	uint8_t		 state;		/* enum ipc_status_state */
	uint64_t	 state_since_ms;
	uint64_t	 sent_ms;	/* last STATUS */
	uint64_t	 bytes_out;
	uint64_t	 packets_out;
	uint64_t	 frames_out;	/* video packets */
	uint64_t	 packets_dropped;
	uint32_t	 reconnects;
	uint32_t	 speed_x100;		/* transcoding (xcode.c) */
	uint64_t	 frames_dropped, frames_duped;
	uint8_t		 error_class;	/* enum ipc_status_err */
	char		 last_error[IPC_STATUS_ERR_MAX + 1];	/* masked */
	/* rates over the last interval */
	uint64_t	 rate_ms, rate_bytes, rate_frames;
	uint32_t	 kbps, fps_x100;
};

void	report_init(struct report *, int fd, uint64_t now_ms);
/* Sends a STATUS when the state changes. */
void	report_state(struct report *, uint8_t state, uint64_t now_ms);
/* Sets the error shown until the next one (msg must be masked). */
void	report_error(struct report *, uint8_t error_class, const char *msg);
#define REPORT_INTERVAL_MS	1000
/* Sends a STATUS when a second has passed since the last one. */
void	report_tick(struct report *, uint64_t now_ms);
/* When report_tick sends the next one. */
uint64_t report_due(const struct report *);
/* Sends one now; 0 or -1 (the peer is gone; broken is set). */
int	report_send(struct report *, uint64_t now_ms);

#endif
