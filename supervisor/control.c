/*
 * The supervisor's control socket; see control.h.  Each request is
 * answered from memory: nothing here waits on a worker or the database.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/ipc_ev.h"
#include "common/log.h"
#include "common/wire.h"
#include "config/cfg.h"
#include "supervisor/control.h"
#include "supervisor/ctl_client.h"
#include "supervisor/server.h"

struct control_client {
	LIST_ENTRY(control_client)	 entry;
	struct control			*ctl;
	struct bufferevent		*bev;
};

struct control {
	struct server			*srv;
	struct evconnlistener		*listener;
	char				 path[sizeof(((struct sockaddr_un *)0)
					    ->sun_path)];
	LIST_HEAD(, control_client)	 clients;
	unsigned			 nclients;
};

static void
control_client_free(struct control_client *c)
{
	LIST_REMOVE(c, entry);
	c->ctl->nclients--;
	bufferevent_free(c->bev);
	free(c);
}

static void
control_reply(struct control_client *c, uint32_t id, bool ok,
    struct evbuffer *text)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	uint8_t		 hdr[IPC_HDR_LEN], okb = ok ? 1 : 0;
	size_t		 len = evbuffer_get_length(text);

	if (len + 1 > IPC_CTL_REPLY_MAX) {
		evbuffer_drain(text, len);
		evbuffer_add_printf(text, "reply too long");
		len = evbuffer_get_length(text);
		okb = 0;
	}
	ipc_hdr_pack(hdr, IPC_CTL_REPLY, 0, (uint32_t)(len + 1), id);
	evbuffer_add(out, hdr, sizeof(hdr));
	evbuffer_add(out, &okb, 1);
	evbuffer_add_buffer(out, text);
}

static bool
control_reload(struct control *ctl, struct evbuffer *text)
{
	char	err[CFG_ERR_MAX];

	if (server_reload(ctl->srv, err, sizeof(err)) == -1) {
		evbuffer_add_printf(text, "%s", err);
		return false;
	}
	evbuffer_add_printf(text, "reloaded %s", ctl->srv->cfg->path);
	return true;
}

/* Runs one request; text receives the reply. */
static bool
control_exec(struct control *ctl, const char *cmd, size_t cmdlen, int argc,
    const char **argv, const size_t *arglen, struct evbuffer *text)
{
	bool	json = argc > 0 && arglen[0] == 4 &&
		    memcmp(argv[0], "json", 4) == 0;

	if (cmdlen == 6 && memcmp(cmd, "status", 6) == 0) {
		server_status(ctl->srv, text, json);
		return true;
	}
	if (cmdlen == 12 && memcmp(cmd, "keys-changed", 12) == 0) {
		server_keys_changed(ctl->srv);
		evbuffer_add_printf(text, "ok");
		return true;
	}
	if (cmdlen == 6 && memcmp(cmd, "reload", 6) == 0)
		return control_reload(ctl, text);
	if (cmdlen == 4 && memcmp(cmd, "stop", 4) == 0) {
		/* the reply is flushed by control_free at the loop's end */
		evbuffer_add_printf(text, "stopping (pid %ld)", (long)getpid());
		server_stop(ctl->srv, "mirroring stop");
		return true;
	}
	if (cmdlen == 4 && memcmp(cmd, "ping", 4) == 0) {
		evbuffer_add_printf(text, "pong");
		return true;
	}
	evbuffer_add_printf(text, "unknown command");
	return false;
}

#define CONTROL_MAX_ARGS	8

/* Parses a CTL_REQ payload: str command, u16 argc, argc x str. */
static int
control_request(struct control_client *c, const struct ipc_hdr *h,
    const uint8_t *p)
{
	struct wire_r	 r;
	struct evbuffer	*text;
	const char	*cmd, *argv[CONTROL_MAX_ARGS];
	size_t		 cmdlen, arglen[CONTROL_MAX_ARGS];
	unsigned	 argc, i;
	bool		 ok;

	wire_r_init(&r, p, h->len);
	if (wire_str(&r, &cmd, &cmdlen) == -1)
		return -1;
	if ((argc = wire_le16(&r)) > CONTROL_MAX_ARGS)
		return -1;
	for (i = 0; i < argc; i++)
		if (wire_str(&r, &argv[i], &arglen[i]) == -1)
			return -1;
	if (wire_end(&r) == -1 || (text = evbuffer_new()) == NULL)
		return -1;
	ok = control_exec(c->ctl, cmd, cmdlen, (int)argc, argv, arglen, text);
	control_reply(c, h->id, ok, text);
	evbuffer_free(text);
	return 0;
}

static void
control_on_read(struct bufferevent *bev, void *arg)
{
	struct control_client	*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct ipc_hdr		 h;
	const uint8_t		*p;
	const char		*why = NULL;
	int			 r;

	while ((r = ipc_ev_next(in, &h, &p, &why)) == 1) {
		if (h.type != IPC_CTL_REQ) {
			why = "not a control request";
			break;
		}
		if (control_request(c, &h, p) == -1) {
			why = "malformed control request";
			break;
		}
		ipc_ev_drain(in, &h);
	}
	if (why != NULL) {
		log_warnx("control.closed", "reason=%s", LQ(why));
		control_client_free(c);
	}
}

static void
control_on_event(struct bufferevent *bev, short what, void *arg)
{
	control_client_free(arg);
}

static void
control_on_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct control		*ctl = arg;
	struct control_client	*c;
	struct timeval		 idle = { CONTROL_IDLE_S, 0 };

	if (ctl->nclients >= CONTROL_MAX_CLIENTS ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	if ((c->bev = bufferevent_socket_new(ctl->srv->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		close(fd);
		free(c);
		return;
	}
	c->ctl = ctl;
	LIST_INSERT_HEAD(&ctl->clients, c, entry);
	ctl->nclients++;
	bufferevent_setcb(c->bev, control_on_read, NULL, control_on_event, c);
	bufferevent_set_timeouts(c->bev, &idle, &idle);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* Is another supervisor answering on path?  A refused connect means the
 * socket file is left over from a crash. */
static int
control_stale(const struct sockaddr_un *sun, char *err, size_t errlen)
{
	int	fd, r;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	r = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	close(fd);
	if (r == 0) {
		snprintf(err, errlen, "another mirroring is running "
		    "(%s answers)", sun->sun_path);
		return -1;
	}
	if (errno == ECONNREFUSED)
		unlink(sun->sun_path);
	return 0;
}

struct control *
control_new(struct server *srv, const char *state_dir, char *err,
    size_t errlen)
{
	struct control		*ctl;
	struct sockaddr_un	 sun;
	mode_t			 old;
	int			 n;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", state_dir,
	    CTL_SOCK_NAME);
	if (n < 0 || (size_t)n >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s/%s: path too long for a socket",
		    state_dir, CTL_SOCK_NAME);
		return NULL;
	}
	if (control_stale(&sun, err, errlen) == -1)
		return NULL;
	if ((ctl = calloc(1, sizeof(*ctl))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ctl->srv = srv;
	LIST_INIT(&ctl->clients);
	memcpy(ctl->path, sun.sun_path, sizeof(ctl->path));
	old = umask(077);	/* no moment when others can connect */
	ctl->listener = evconnlistener_new_bind(srv->base, control_on_accept,
	    ctl, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16,
	    (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (ctl->listener == NULL) {
		snprintf(err, errlen, "%s: %s", sun.sun_path, strerror(errno));
		free(ctl);
		return NULL;
	}
	/* the umask left 0700; nobody needs to execute a socket */
	if (chmod(sun.sun_path, 0600) == -1) {
		snprintf(err, errlen, "%s: %s", sun.sun_path, strerror(errno));
		control_free(ctl);
		return NULL;
	}
	return ctl;
}

void
control_free(struct control *ctl)
{
	struct control_client	*c;

	if (ctl == NULL)
		return;
	while ((c = LIST_FIRST(&ctl->clients)) != NULL) {
		/* a reply still queued ("stopping") gets one try */
		(void)evbuffer_write(bufferevent_get_output(c->bev),
		    bufferevent_getfd(c->bev));
		control_client_free(c);
	}
	evconnlistener_free(ctl->listener);
	unlink(ctl->path);
	free(ctl);
}
