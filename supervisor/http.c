/*
 * The HTTP status server; see http.h.  Routing, the bearer token check
 * and the two JSON documents live here; the JSON of one stream or relay
 * is the one `mirroring status --json` prints (stream.c, relay.c), and
 * /metrics is metrics.c.
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "config/cfg.h"
#include "supervisor/http.h"
#include "supervisor/metrics.h"
#include "supervisor/server.h"
#include "supervisor/stream.h"

struct http {
	struct server		*srv;
	struct evhttp		*eh;
};

/* Compares in time that depends only on the configured token's length,
 * so a client cannot find it byte by byte. */
static bool
http_token_eq(const char *got, const char *want)
{
	size_t			 glen = strlen(got), wlen = strlen(want), i;
	volatile unsigned char	 d = glen != wlen;

	for (i = 0; i < wlen; i++)
		d |= (unsigned char)(i < glen ? got[i] : 0) ^
		    (unsigned char)want[i];
	return d == 0;
}

static bool
http_authorized(const struct http *h, struct evhttp_request *req)
{
	const char	*want = h->srv->cfg->http_token.value, *got;

	if (want == NULL)
		return true;		/* loopback without a token */
	got = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization");
	if (got == NULL || strncasecmp(got, "Bearer ", 7) != 0)
		return false;
	for (got += 7; *got == ' '; got++)
		;
	return http_token_eq(got, want);
}

/* s as a JSON string (s never holds a secret: callers mask first). */
static void
http_json_str(struct evbuffer *out, const char *s)
{
	const unsigned char	*p;

	evbuffer_add(out, "\"", 1);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			evbuffer_add_printf(out, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			evbuffer_add_printf(out, "\\u%04x", *p);
		else
			evbuffer_add(out, p, 1);
	}
	evbuffer_add(out, "\"", 1);
}

/* Each relay as status --json shows it, with its stream and masked URL
 * in front. */
static void
http_relays(struct server *srv, struct evbuffer *out)
{
	const struct stream	*st;
	const struct relay	*r;
	struct evbuffer		*one;
	char			 url[LOG_QMAX];
	bool			 first = true;

	if ((one = evbuffer_new()) == NULL)
		return;
	evbuffer_add_printf(out, "{\"relays\":[");
	TAILQ_FOREACH(st, &srv->streams, entry)
		TAILQ_FOREACH(r, &st->relays, entry) {
			evbuffer_add_printf(out, "%s{\"stream\":",
			    first ? "" : ",");
			http_json_str(out, st->name);
			evbuffer_add_printf(out, ",\"url\":");
			http_json_str(out, log_mask_raw(url, sizeof(url),
			    r->url));
			evbuffer_add_printf(out, ",\"profile\":");
			http_json_str(out, r->profile);
			evbuffer_add(out, ",", 1);
			relay_status(r, one, true);
			evbuffer_drain(one, 1);		/* its "{" */
			evbuffer_add_buffer(out, one);
			first = false;
		}
	evbuffer_add_printf(out, "]}\n");
	evbuffer_free(one);
}

static void
http_reply(struct evhttp_request *req, int code, const char *reason,
    const char *type, struct evbuffer *body)
{
	struct evkeyvalq	*hd = evhttp_request_get_output_headers(req);

	evhttp_add_header(hd, "Content-Type", type);
	evhttp_add_header(hd, "Cache-Control", "no-store");
	if (code == 401)
		evhttp_add_header(hd, "WWW-Authenticate",
		    "Bearer realm=\"mirroring\"");
	evhttp_send_reply(req, code, reason, body);
}

static void
http_on_request(struct evhttp_request *req, void *arg)
{
	struct http		*h = arg;
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	const char		*path = uri != NULL ?
				    evhttp_uri_get_path(uri) : NULL;
	struct evbuffer		*body;
	int			 code = 200;

	if ((body = evbuffer_new()) == NULL) {
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	if (path == NULL)
		path = "";
	if (!http_authorized(h, req)) {
		code = 401;
		evbuffer_add_printf(body, "a bearer token is required\n");
		http_reply(req, code, "Unauthorized", "text/plain", body);
	} else if (strcmp(path, "/metrics") == 0) {
		metrics_write(h->srv, body);
		http_reply(req, code, "OK", METRICS_CONTENT_TYPE, body);
	} else if (strcmp(path, "/api/v1/streams") == 0) {
		server_status(h->srv, body, true);
		http_reply(req, code, "OK", "application/json", body);
	} else if (strcmp(path, "/api/v1/relays") == 0) {
		http_relays(h->srv, body);
		http_reply(req, code, "OK", "application/json", body);
	} else {
		code = 404;
		evbuffer_add_printf(body, "not found; try /metrics, "
		    "/api/v1/streams or /api/v1/relays\n");
		http_reply(req, code, "Not Found", "text/plain", body);
	}
	log_debug("http.request", "method=%s path=%s status=%d",
	    evhttp_request_get_command(req) == EVHTTP_REQ_HEAD ? "HEAD" :
	    "GET", LQ(path), code);
	evbuffer_free(body);
}

struct http *
http_new(struct server *srv, const char *addr, char *err, size_t errlen)
{
	struct http	*h;
	const char	*given = addr;
	char		 host[256];
	const char	*colon;
	size_t		 hlen;
	long		 port;

	/* config/ checked the form: "host:port" or "[v6]:port" */
	colon = strrchr(addr, ':');
	hlen = colon != NULL ? (size_t)(colon - addr) : 0;
	if (addr[0] == '[' && hlen >= 2) {
		addr++;
		hlen -= 2;
	}
	if (colon == NULL || hlen == 0 || hlen >= sizeof(host) ||
	    (port = strtol(colon + 1, NULL, 10)) < 1 || port > 65535) {
		snprintf(err, errlen, "http: bad address %s", given);
		return NULL;
	}
	memcpy(host, addr, hlen);
	host[hlen] = '\0';
	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (h->eh = evhttp_new(srv->base)) == NULL) {
		free(h);
		snprintf(err, errlen, "http: out of memory");
		return NULL;
	}
	h->srv = srv;
	evhttp_set_allowed_methods(h->eh, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_timeout(h->eh, HTTP_TIMEOUT_S);
	evhttp_set_max_headers_size(h->eh, HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(h->eh, 0);
	evhttp_set_gencb(h->eh, http_on_request, h);
	if (evhttp_bind_socket(h->eh, host, (ev_uint16_t)port) == -1) {
		snprintf(err, errlen, "http: cannot listen on %s:%ld (in use, "
		    "or not an address of this host)", host, port);
		http_free(h);
		return NULL;
	}
	log_info("http.listening", "addr=%s", LQ(given));
	return h;
}

void
http_free(struct http *h)
{
	if (h == NULL)
		return;
	evhttp_free(h->eh);
	free(h);
}
