/*
 * STATUS: packs the counters with ipc_status_pack and writes them to fd 3
 * from the main thread only (the reader thread only reads the socket).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "common/ipc.h"
#include "worker/report.h"

void
report_init(struct report *r, int fd, uint64_t now_ms)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->state = IPC_ST_STARTING;
	r->state_since_ms = r->rate_ms = now_ms;
}

void
report_error(struct report *r, uint8_t error_class, const char *msg)
{
	r->error_class = error_class;
	snprintf(r->last_error, sizeof(r->last_error), "%s", msg);
}

void
report_state(struct report *r, uint8_t state, uint64_t now_ms)
{
	if (state == r->state)
		return;
	r->state = state;
	r->state_since_ms = now_ms;
	report_send(r, now_ms);
}

static void
report_rates(struct report *r, uint64_t now_ms)
{
	uint64_t	dt = now_ms - r->rate_ms;

	if (dt < 500)
		return;
	r->kbps = (uint32_t)((r->bytes_out - r->rate_bytes) * 8 / dt);
	r->fps_x100 = (uint32_t)((r->frames_out - r->rate_frames) * 100000 /
	    dt);
	r->rate_ms = now_ms;
	r->rate_bytes = r->bytes_out;
	r->rate_frames = r->frames_out;
}

int
report_send(struct report *r, uint64_t now_ms)
{
	uint8_t			 buf[IPC_HDR_LEN + 256];
	struct ipc_status	 s;
	size_t			 off = 0;
	ssize_t			 n;
	int			 len;

	if (r->broken)
		return -1;
	report_rates(r, now_ms);
	memset(&s, 0, sizeof(s));
	s.state = r->state;
	s.bytes_out = r->bytes_out;
	s.kbps = r->kbps;
	s.fps_x100 = r->fps_x100;
	s.packets_out = r->packets_out;
	s.packets_dropped = r->packets_dropped;
	s.reconnects = r->reconnects;
	s.state_ms = (uint32_t)(now_ms - r->state_since_ms);
	s.error_class = r->error_class;
	s.last_error = r->last_error;
	s.last_error_len = strlen(r->last_error);
	s.speed_x100 = r->speed_x100;
	s.frames_dropped = r->frames_dropped;
	s.frames_duped = r->frames_duped;
	len = ipc_status_pack(buf + IPC_HDR_LEN, sizeof(buf) - IPC_HDR_LEN,
	    &s);
	if (len == -1)
		return -1;	/* cannot happen: 200 bytes of error at most */
	ipc_hdr_pack(buf, IPC_STATUS, 0, (uint32_t)len, 0);
	r->sent_ms = now_ms;
	while (off < IPC_HDR_LEN + (size_t)len) {
		n = send(r->fd, buf + off, IPC_HDR_LEN + (size_t)len - off,
		    MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			r->broken = true;
			return -1;
		}
		off += (size_t)n;
	}
	return 0;
}

void
report_tick(struct report *r, uint64_t now_ms)
{
	if (now_ms - r->sent_ms >= REPORT_INTERVAL_MS)
		report_send(r, now_ms);
}

uint64_t
report_due(const struct report *r)
{
	return r->sent_ms + REPORT_INTERVAL_MS;
}
