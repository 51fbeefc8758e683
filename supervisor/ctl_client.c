/*
 * Blocking client of the control socket, for the CLI: connect, send one
 * IPC_CTL_REQ, read one IPC_CTL_REPLY, all under one CTL_TIMEOUT_MS
 * deadline so a hung supervisor cannot hang the CLI.  The serving side
 * is control.c; the framing is common/ipc.h.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/ipc.h"
#include "common/wire.h"
#include "supervisor/ctl_client.h"

#define CTL_REQ_ID	1		/* one request per connection */
#define CTL_REQ_MAX	(64u * 1024)	/* payload; commands are short */
#define CTL_RETRY_MS	10		/* while the listen backlog is full */

static int64_t
ctl_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for events or deadline_ms passes (ETIMEDOUT).
 * An error or hangup counts as ready: the next call reports it. */
static int
ctl_wait(int fd, short events, int64_t deadline_ms)
{
	struct pollfd	pfd = { .fd = fd, .events = events };
	int64_t		left;
	int		n;

	for (;;) {
		if ((left = deadline_ms - ctl_now_ms()) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if ((n = poll(&pfd, 1, (int)left)) > 0)
			return 0;
		if (n == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (errno != EINTR)
			return -1;
	}
}

static int
ctl_connect(const char *state_dir, int64_t deadline_ms)
{
	struct sockaddr_un	sun;
	socklen_t		len = sizeof(int);
	int			fd, n, soerr = 0, saved;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", state_dir,
	    CTL_SOCK_NAME);
	if (n < 0 || (size_t)n >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1)
		return -1;
	for (;;) {
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			return fd;
		if (errno == EINPROGRESS || errno == EINTR)
			break;
		/* Linux: EAGAIN on AF_UNIX means the backlog is full. */
		if (errno != EAGAIN)
			goto fail;
		if (ctl_now_ms() + CTL_RETRY_MS >= deadline_ms) {
			errno = ETIMEDOUT;
			goto fail;
		}
		poll(NULL, 0, CTL_RETRY_MS);
	}
	if (ctl_wait(fd, POLLOUT, deadline_ms) == -1)
		goto fail;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
		goto fail;
	if (soerr != 0) {
		errno = soerr;
		goto fail;
	}
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

static int
ctl_send(int fd, const uint8_t *p, size_t n, int64_t deadline_ms)
{
	ssize_t	w;

	while (n > 0) {
		if (ctl_wait(fd, POLLOUT, deadline_ms) == -1)
			return -1;
		if ((w = send(fd, p, n, MSG_NOSIGNAL)) == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads exactly n bytes; EPROTO when the peer closes first. */
static int
ctl_recv(int fd, uint8_t *p, size_t n, int64_t deadline_ms)
{
	ssize_t	r;

	while (n > 0) {
		if (ctl_wait(fd, POLLIN, deadline_ms) == -1)
			return -1;
		if ((r = recv(fd, p, n, 0)) == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = EPROTO;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Builds header + payload (str command, u16 argc, argc x str) in one
 * malloc'd buffer of *len bytes.  EINVAL or E2BIG on oversized input. */
static uint8_t *
ctl_build(const char *command, int argc, char *const argv[], size_t *len)
{
	struct wire_w	 w;
	uint8_t		*buf;
	size_t		 plen;
	int		 i;

	if (argc < 0 || argc > UINT16_MAX) {
		errno = EINVAL;
		return NULL;
	}
	plen = 2 + strlen(command) + 2;
	for (i = 0; i < argc && plen <= CTL_REQ_MAX; i++)
		plen += 2 + strlen(argv[i]);
	if (plen > CTL_REQ_MAX) {
		errno = E2BIG;
		return NULL;
	}
	if ((buf = malloc(IPC_HDR_LEN + plen)) == NULL)
		return NULL;
	ipc_hdr_pack(buf, IPC_CTL_REQ, 0, (uint32_t)plen, CTL_REQ_ID);
	wire_w_init(&w, buf + IPC_HDR_LEN, plen);
	wire_put_str(&w, command, strlen(command));
	wire_put_le16(&w, (uint16_t)argc);
	for (i = 0; i < argc; i++)
		wire_put_str(&w, argv[i], strlen(argv[i]));
	if (w.err || w.off != plen) {
		free(buf);
		errno = EINVAL;
		return NULL;
	}
	*len = IPC_HDR_LEN + plen;
	return buf;
}

/* Reads the reply: u8 ok (0 or 1), then text to the end of the payload. */
static int
ctl_reply(int fd, int64_t deadline_ms, bool *ok, char **text)
{
	uint8_t		 hdr[IPC_HDR_LEN], *p;
	struct ipc_hdr	 h;
	const char	*why;

	if (ctl_recv(fd, hdr, sizeof(hdr), deadline_ms) == -1)
		return -1;
	if (ipc_hdr_parse(hdr, sizeof(hdr), &h, &why) != IPC_OK ||
	    h.type != IPC_CTL_REPLY || h.id != CTL_REQ_ID || h.len < 1 ||
	    h.len > IPC_CTL_REPLY_MAX) {
		errno = EPROTO;
		return -1;
	}
	/* The text is h.len - 1 bytes: with its NUL it fits in h.len. */
	if ((p = malloc(h.len)) == NULL)
		return -1;
	if (ctl_recv(fd, p, h.len, deadline_ms) == -1) {
		free(p);
		return -1;
	}
	if (p[0] > 1) {
		free(p);
		errno = EPROTO;
		return -1;
	}
	*ok = p[0] == 1;
	memmove(p, p + 1, h.len - 1);
	p[h.len - 1] = '\0';
	*text = (char *)p;
	return 0;
}

int
ctl_client_request(const char *state_dir, const char *command, int argc,
    char *const argv[], bool *ok, char **text)
{
	int64_t		 deadline_ms = ctl_now_ms() + CTL_TIMEOUT_MS;
	uint8_t		*req;
	size_t		 len;
	int		 fd, ret = -1, saved;

	if ((req = ctl_build(command, argc, argv, &len)) == NULL)
		return -1;
	if ((fd = ctl_connect(state_dir, deadline_ms)) == -1) {
		saved = errno;
		free(req);
		errno = saved;
		return -1;
	}
	if (ctl_send(fd, req, len, deadline_ms) == 0 &&
	    ctl_reply(fd, deadline_ms, ok, text) == 0)
		ret = 0;
	saved = errno;
	close(fd);
	free(req);
	errno = saved;
	return ret;
}
