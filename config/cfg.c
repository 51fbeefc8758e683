/*
 * The configuration schema: per-section key tables turn the node tree of
 * cfg_yaml.c into struct cfg, apply defaults and validate, reporting the
 * first problem as "file:line:col: path: message".  Secrets are resolved
 * by cfg_secret.c; applying a configuration is the supervisor's business.
 */
#include <sys/stat.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/rtmp_chunk.h"
#include "common/util.h"
#include "config/cfg_int.h"

enum cfg_type {
	CFG_STR,		/* any string */
	CFG_NAME,		/* cfg_name_ok */
	CFG_PATH,		/* relative to base_dir */
	CFG_LISTEN,		/* host:port into listen_host, listen_port */
	CFG_HOSTPORT,		/* host:port kept as written */
	CFG_BOOL,
	CFG_LOG_LEVEL,
	CFG_LOG_FORMAT,
	CFG_PROFILE,
	CFG_SECRET_STR,		/* ${ENV} substituted, into struct secret */
	CFG_SECRET_FILE,	/* a file's contents, into struct secret */
	CFG_LOG,		/* the log: section, same struct */
	CFG_STREAMS,		/* name -> struct cfg_stream */
	CFG_RELAYS,		/* name -> struct cfg_relay */
	CFG_BYTES,		/* a size (8MiB, 500k, 1048576) into a size_t,
				   min..max */
	CFG_COUNT,		/* a whole number into a size_t, min..max */
	CFG_DURATION,		/* 10s, 500ms, 2m or seconds into a uint32_t
				   of ms, min..max */
	CFG_LIMITS,		/* the limits: section */
	CFG_PROFILES,		/* cfg_profile.c */
	CFG_ON_LOSS,		/* end | hold */
	CFG_PREFER,		/* primary | current */
	CFG_SLATE,		/* the slate: section of a stream */
};

#define CFG_REQUIRED	0x01
#define CFG_DEFER	0x02	/* the section's code sets it, after a look
				   at the other keys */
#define CFG_KEYS_MAX	12	/* entries of a key table */

struct cfg_key {
	const char	*name;
	enum cfg_type	 type;
	size_t		 off;
	unsigned	 flags;
	uint64_t	 min, max;	/* CFG_BYTES, CFG_COUNT, CFG_DURATION */
};
#define KEY(name, type, off, flags)	{ name, type, off, flags, 0, 0 }
#define NUM(name, type, off, min, max)	{ name, type, off, 0, min, max }

enum { TOP_HTTP = 3, TOP_HTTP_TOKEN, TOP_HTTP_TOKEN_FILE };
static const struct cfg_key top_keys[] = {
	KEY("listen",    CFG_LISTEN,   offsetof(struct cfg, listen_host), 0),
	KEY("app",       CFG_NAME,     offsetof(struct cfg, app),         0),
	KEY("state_dir", CFG_PATH,     offsetof(struct cfg, state_dir),   0),
	KEY("http",      CFG_HOSTPORT, offsetof(struct cfg, http),        0),
	KEY("http_token", CFG_SECRET_STR, offsetof(struct cfg, http_token),
	    CFG_DEFER),
	KEY("http_token_file", CFG_SECRET_FILE, offsetof(struct cfg, http_token),
	    CFG_DEFER),
	KEY("log",       CFG_LOG,      0,                                 0),
	KEY("streams",   CFG_STREAMS,  0,                                 0),
	NUM("relay_queue", CFG_BYTES, offsetof(struct cfg, relay_queue_bytes),
	    CFG_RELAY_QUEUE_MIN, CFG_RELAY_QUEUE_MAX),
	NUM("relay_batch", CFG_DURATION, offsetof(struct cfg, relay_batch_ms),
	    0, CFG_RELAY_BATCH_MAX_MS),
	KEY("limits",    CFG_LIMITS,   0,                                 0),
	KEY("profiles",  CFG_PROFILES, 0,                                 0),
	{ 0 }
};

#define LIMIT(name, type, field, min, max) \
	NUM(name, type, offsetof(struct cfg, limits.field), min, max)
static const struct cfg_key limits_keys[] = {
	LIMIT("connections", CFG_COUNT, connections, 1, 65535),
	LIMIT("connections_per_host", CFG_COUNT, connections_per_host, 1,
	    65535),
	LIMIT("handshake_timeout", CFG_DURATION, handshake_ms, 1000, 600000),
	LIMIT("publish_timeout", CFG_DURATION, publish_ms, 1000, 600000),
	LIMIT("idle_timeout", CFG_DURATION, idle_ms, 1000, 600000),
	LIMIT("max_message", CFG_BYTES, max_message_bytes, 64u * 1024,
	    RTMP_MAX_MSG_LEN),
	LIMIT("max_chunk_size", CFG_BYTES, max_chunk_size, 128,
	    RTMP_MAX_CHUNK_SIZE),
	LIMIT("streams", CFG_COUNT, streams, 1, 65535),
	{ 0 }
};
#undef LIMIT

static const struct cfg_key log_keys[] = {
	KEY("level",  CFG_LOG_LEVEL,  offsetof(struct cfg, log_level),  0),
	KEY("format", CFG_LOG_FORMAT, offsetof(struct cfg, log_format), 0),
	KEY("file",   CFG_STR,        offsetof(struct cfg, log_file),   0),
	{ 0 }
};

/* indexes into stream_keys */
enum { STREAM_KEY, STREAM_KEY_FILE, STREAM_BACKUP_KEY = 7,
    STREAM_BACKUP_KEY_FILE };
static const struct cfg_key stream_keys[] = {
	KEY("key",      CFG_SECRET_STR,  offsetof(struct cfg_stream, key),
	    CFG_DEFER),
	KEY("key_file", CFG_SECRET_FILE, offsetof(struct cfg_stream, key),
	    CFG_DEFER),
	KEY("note",     CFG_STR,         offsetof(struct cfg_stream, note), 0),
	KEY("enabled",  CFG_BOOL,        offsetof(struct cfg_stream, enabled),
	    0),
	KEY("on_publisher_loss", CFG_ON_LOSS,
	    offsetof(struct cfg_stream, on_loss), 0),
	NUM("grace",    CFG_DURATION, offsetof(struct cfg_stream, grace_ms),
	    CFG_GRACE_MIN_MS, CFG_GRACE_MAX_MS),
	KEY("slate",    CFG_SLATE,       0,                                 0),
	KEY("backup_key", CFG_SECRET_STR,
	    offsetof(struct cfg_stream, backup_key), CFG_DEFER),
	KEY("backup_key_file", CFG_SECRET_FILE,
	    offsetof(struct cfg_stream, backup_key), CFG_DEFER),
	KEY("prefer",   CFG_PREFER,      offsetof(struct cfg_stream, prefer),
	    0),
	KEY("relays",   CFG_RELAYS,      0,                                 0),
	{ 0 }
};

enum { SLATE_IMAGE, SLATE_AUDIO };
static const struct cfg_key slate_keys[] = {
	KEY("image", CFG_PATH, offsetof(struct cfg_stream, slate_image), 0),
	KEY("audio", CFG_PATH, offsetof(struct cfg_stream, slate_audio), 0),
	{ 0 }
};

enum { RELAY_URL, RELAY_PROFILE };
static const struct cfg_key relay_keys[] = {
	KEY("url",     CFG_SECRET_STR, offsetof(struct cfg_relay, url),
	    CFG_REQUIRED),
	KEY("profile", CFG_PROFILE,    offsetof(struct cfg_relay, profile), 0),
	KEY("enabled", CFG_BOOL,       offsetof(struct cfg_relay, enabled), 0),
	NUM("queue",   CFG_BYTES, offsetof(struct cfg_relay, queue_bytes),
	    CFG_RELAY_QUEUE_MIN, CFG_RELAY_QUEUE_MAX),
	KEY("on_publisher_loss", CFG_ON_LOSS,
	    offsetof(struct cfg_relay, on_loss), 0),
	NUM("grace",   CFG_DURATION, offsetof(struct cfg_relay, grace_ms),
	    CFG_GRACE_MIN_MS, CFG_GRACE_MAX_MS),
	{ 0 }
};

#define NKEYS(t)	(sizeof(t) / sizeof((t)[0]) - 1)
_Static_assert(NKEYS(top_keys) <= CFG_KEYS_MAX, "top_keys");
_Static_assert(NKEYS(stream_keys) <= CFG_KEYS_MAX, "stream_keys");
_Static_assert(NKEYS(relay_keys) <= CFG_KEYS_MAX, "relay_keys");
_Static_assert(NKEYS(limits_keys) <= CFG_KEYS_MAX, "limits_keys");

static const char *const log_levels[] = {
	[LOGL_DEBUG] = "debug", [LOGL_INFO] = "info",
	[LOGL_WARN] = "warn", [LOGL_ERROR] = "error",
};
static const char *const log_formats[] = {
	[LOG_FMT_LOGFMT] = "logfmt", [LOG_FMT_JSON] = "json",
};
static const char *const on_losses[] = {
	[CFG_LOSS_END] = "end", [CFG_LOSS_HOLD] = "hold",
};
static const char *const prefers[] = {
	[CFG_PREFER_PRIMARY] = "primary", [CFG_PREFER_CURRENT] = "current",
};

/* The default relay profile; others come from profiles: (cfg_profile.c). */
static const char *const profiles[] = { "copy" };

static const char *const url_schemes[] = {
	"rtmp://", "rtmps://", "srt://", "file:",
};

struct cfg_ctx {
	const char	*name;		/* for messages */
	struct cfg	*cfg;		/* being built: its warnings */
	const char	*base_dir;
	struct cfg_err	*err;
	char		 path[256];	/* "streams.studio.relays.youtube" */
	size_t		 plen;
};

#define Q(s)	cfg_quote((char[80]){0}, 80, (s))

static int	cfg_fill(struct cfg_ctx *, const struct cfg_node *,
		    const struct cfg_key *, void *, const struct cfg_node **);

static int __attribute__((format(printf, 3, 4)))
fail(struct cfg_ctx *c, const struct cfg_node *nd, const char *fmt, ...)
{
	char	msg[CFG_ERR_MAX];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cfg_errf(c->err, c->name, nd->line, nd->col, c->path, "%s", msg);
	return -1;
}

static size_t
path_push(struct cfg_ctx *c, const char *seg)
{
	size_t	old = c->plen;
	int	r;

	r = snprintf(c->path + old, sizeof(c->path) - old, "%s%s",
	    old > 0 ? "." : "", seg);
	if (r > 0)
		c->plen += (size_t)r;
	if (c->plen >= sizeof(c->path))
		c->plen = sizeof(c->path) - 1;
	return old;
}

static void
path_pop(struct cfg_ctx *c, size_t old)
{
	c->plen = old;
	c->path[old] = '\0';
}

static const char *
node_kind(const struct cfg_node *nd)
{
	if (cfg_node_null(nd))
		return "nothing";
	if (nd->type == CFG_N_MAP)
		return "a mapping";
	return nd->type == CFG_N_SEQ ? "a list" : "a string";
}

/* A scalar's text; anything else is an error. */
static const char *
scalar(struct cfg_ctx *c, const struct cfg_node *nd)
{
	if (nd->type == CFG_N_SCALAR)
		return nd->str;
	fail(c, nd, "expected a string, got %s", node_kind(nd));
	return NULL;
}

static char *
dup_or_fail(struct cfg_ctx *c, const struct cfg_node *nd, const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		fail(c, nd, "out of memory");
	return p;
}

bool
cfg_name_ok(const char *s)
{
	size_t	n;

	if (s == NULL)
		return false;
	for (n = 0; s[n] != '\0'; n++)
		if (!((s[n] >= 'A' && s[n] <= 'Z') ||
		    (s[n] >= 'a' && s[n] <= 'z') ||
		    (s[n] >= '0' && s[n] <= '9') || s[n] == '_' || s[n] == '-'))
			return false;
	return n >= 1 && n <= CFG_NAME_MAX;
}

static int
name_check(struct cfg_ctx *c, const struct cfg_node *nd, const char *what)
{
	if (cfg_name_ok(nd->str))
		return 0;
	return fail(c, nd, "invalid %s name %s (use A-Z a-z 0-9 _ -, 1 to %d "
	    "characters)", what, Q(nd->str), CFG_NAME_MAX);
}

static bool
host_char_ok(char ch, bool v6)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	    (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
	    (v6 ? ch == ':' || ch == '%' : ch == '_');
}

/* "host:port" or "[ipv6]:port" into host (without brackets) and port. */
static int
hostport_parse(const char *s, char **host, uint16_t *port, char *why,
    size_t whylen)
{
	const char	*h = s, *colon, *p;
	size_t		 hlen, i;
	unsigned long	 v = 0;
	bool		 v6 = s[0] == '[';

	if (v6) {
		h = s + 1;
		hlen = strcspn(h, "]");
		colon = h + hlen + (h[hlen] == ']');
	} else {
		colon = strrchr(s, ':');
		hlen = colon ? (size_t)(colon - s) : 0;
	}
	if (colon == NULL || *colon != ':' || (v6 && h[hlen] != ']')) {
		snprintf(why, whylen, "expected host:port, got %s", Q(s));
		return -1;
	}
	if (!v6 && memchr(s, ':', hlen) != NULL) {
		snprintf(why, whylen, "an IPv6 address goes in brackets: "
		    "\"[::]:1935\"");
		return -1;
	}
	for (i = 0; i < hlen && host_char_ok(h[i], v6); i++)
		;
	if (hlen == 0 || i < hlen) {
		snprintf(why, whylen, "bad host in %s", Q(s));
		return -1;
	}
	for (p = colon + 1; *p >= '0' && *p <= '9' && v <= 65535; p++)
		v = v * 10 + (unsigned long)(*p - '0');
	if (p == colon + 1 || *p != '\0' || v < 1 || v > 65535) {
		snprintf(why, whylen, "bad port %s (expected 1 to 65535)",
		    Q(colon + 1));
		return -1;
	}
	if (host != NULL && (*host = strndup(h, hlen)) == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	if (port != NULL)
		*port = (uint16_t)v;
	return 0;
}

static int
set_hostport(struct cfg_ctx *c, const struct cfg_node *nd, void *dst,
    bool listen)
{
	struct cfg	*cfg = dst;
	const char	*s;
	char		 why[160];
	int		 rc;

	if (nd->type == CFG_N_SEQ)	/* [::]:1935 unquoted is a list */
		return fail(c, nd, "expected host:port (quote IPv6 "
		    "addresses: \"[::]:1935\")");
	if ((s = scalar(c, nd)) == NULL)
		return -1;
	if (listen)
		rc = hostport_parse(s, &cfg->listen_host, &cfg->listen_port,
		    why, sizeof(why));
	else
		rc = hostport_parse(s, NULL, NULL, why, sizeof(why));
	if (rc == -1)
		return fail(c, nd, "%s", why);
	if (!listen && (*(char **)dst = dup_or_fail(c, nd, s)) == NULL)
		return -1;
	return 0;
}

/* base_dir/s, or s when absolute or without a base. */
static char *
path_join(const char *base_dir, const char *s)
{
	char	*p;

	if (s[0] == '/' || base_dir == NULL || base_dir[0] == '\0')
		return strdup(s);
	if (asprintf(&p, "%s/%s", base_dir, s) == -1)
		return NULL;
	return p;
}

static int
set_enum(struct cfg_ctx *c, const struct cfg_node *nd, int *dst,
    const char *const *names, size_t n, const char *what)
{
	char	 list[128] = "";
	size_t	 i;

	if (scalar(c, nd) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (strcmp(nd->str, names[i]) == 0) {
			*dst = (int)i;
			return 0;
		}
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
		    "%s%s", i > 0 ? ", " : "", names[i]);
	}
	return fail(c, nd, "unknown %s %s (expected one of: %s)", what,
	    Q(nd->str), list);
}

static int
set_bool(struct cfg_ctx *c, const struct cfg_node *nd, bool *dst)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };
	size_t			 i;

	if (scalar(c, nd) == NULL)
		return -1;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(nd->str, yes[i]) == 0 ||
		    strcasecmp(nd->str, no[i]) == 0) {
			*dst = strcasecmp(nd->str, yes[i]) == 0;
			return 0;
		}
	}
	return fail(c, nd, "expected true or false, got %s", Q(nd->str));
}

static int
set_secret(struct cfg_ctx *c, const struct cfg_node *nd, struct secret *dst,
    bool file)
{
	char	why[CFG_ERR_MAX / 2];
	int	rc;

	if (scalar(c, nd) == NULL)
		return -1;
	if (file && nd->str[0] == '\0')
		return fail(c, nd, "empty path");
	if (file)
		rc = cfg_secret_file(nd->str, c->base_dir, dst, why,
		    sizeof(why));
	else
		rc = cfg_secret_expand(nd->str, dst, why, sizeof(why));
	return rc == -1 ? fail(c, nd, "%s", why) : 0;
}

/* The string types: checked, then copied (paths joined to base_dir). */
static int
set_str(struct cfg_ctx *c, const struct cfg_key *k, const struct cfg_node *nd,
    char **dst)
{
	if (scalar(c, nd) == NULL)
		return -1;
	if ((k->type == CFG_NAME || k->type == CFG_PROFILE) &&
	    name_check(c, nd, k->name) == -1)
		return -1;
	if (k->type == CFG_PATH && nd->str[0] == '\0')
		return fail(c, nd, "empty path");
	if (k->type == CFG_PATH)
		*dst = path_join(c->base_dir, nd->str);
	else
		*dst = strdup(nd->str);
	return *dst == NULL ? fail(c, nd, "out of memory") : 0;
}

/* Leading decimal digits of *s (at least one) into *v; *s moves past
 * them.  -1 when there are none or they overflow. */
static int
digits_parse(const char **s, uint64_t *v)
{
	const char	*p = *s;

	if (*p < '0' || *p > '9')
		return -1;
	for (*v = 0; *p >= '0' && *p <= '9'; p++) {
		if (*v > (UINT64_MAX - 9) / 10)
			return -1;
		*v = *v * 10 + (uint64_t)(*p - '0');
	}
	*s = p;
	return 0;
}

/*
 * A byte count: digits, then nothing, k, M or G (powers of 1000) or KiB,
 * MiB or GiB (powers of 1024).  0, or -1 when s is not one or overflows.
 */
static int
bytes_parse(const char *s, uint64_t *out)
{
	static const struct {
		const char	*unit;
		uint64_t	 mul;
	} units[] = {
		{ "", 1 }, { "k", 1000 }, { "M", 1000000 },
		{ "G", 1000000000 }, { "KiB", 1024 }, { "MiB", 1024 * 1024 },
		{ "GiB", 1024 * 1024 * 1024 },
	};
	uint64_t	v;
	size_t		i;

	if (digits_parse(&s, &v) == -1)
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(s, units[i].unit) == 0)
			break;
	if (i == sizeof(units) / sizeof(units[0]) ||
	    v > UINT64_MAX / units[i].mul)
		return -1;
	*out = v * units[i].mul;
	return 0;
}

/* v as written in the YAML: 256KiB, 1GiB, else plain bytes. */
static const char *
bytes_str(char *buf, size_t n, uint64_t v)
{
	if (v >= 1024u * 1024 * 1024 && v % (1024u * 1024 * 1024) == 0)
		snprintf(buf, n, "%lluGiB", (unsigned long long)(v >> 30));
	else if (v >= 1024u * 1024 && v % (1024u * 1024) == 0)
		snprintf(buf, n, "%lluMiB", (unsigned long long)(v >> 20));
	else if (v >= 1024 && v % 1024 == 0)
		snprintf(buf, n, "%lluKiB", (unsigned long long)(v >> 10));
	else
		snprintf(buf, n, "%llu", (unsigned long long)v);
	return buf;
}
#define BYTES(v)	bytes_str((char[24]){0}, 24, (v))

/*
 * A duration: digits, then ms, s, m, h or nothing (seconds).  0, or -1 when
 * s is not one or overflows.
 */
static int
duration_parse(const char *s, uint64_t *ms)
{
	uint64_t	v, mul;

	if (digits_parse(&s, &v) == -1)
		return -1;
	if (strcmp(s, "ms") == 0)
		mul = 1;
	else if (strcmp(s, "s") == 0 || *s == '\0')
		mul = 1000;
	else if (strcmp(s, "m") == 0)
		mul = 60000;
	else if (strcmp(s, "h") == 0)
		mul = 3600000;
	else
		return -1;
	if (v > UINT64_MAX / mul)
		return -1;
	*ms = v * mul;
	return 0;
}

/* The number types, each checked against k->min..k->max. */
static int
set_number(struct cfg_ctx *c, const struct cfg_key *k,
    const struct cfg_node *nd, void *dst)
{
	uint64_t	 v;
	const char	*end;

	if (scalar(c, nd) == NULL)
		return -1;
	switch (k->type) {
	case CFG_BYTES:
		if (bytes_parse(nd->str, &v) == -1)
			return fail(c, nd, "expected a size such as 8MiB, 500k "
			    "or 1048576 (units k, M, G, KiB, MiB, GiB), got %s",
			    Q(nd->str));
		if (v < k->min || v > k->max)
			return fail(c, nd, "size %s out of range (%s to %s)",
			    Q(nd->str), BYTES(k->min), BYTES(k->max));
		*(size_t *)dst = (size_t)v;
		return 0;
	case CFG_DURATION:
		if (duration_parse(nd->str, &v) == -1)
			return fail(c, nd, "expected a duration such as 10s, "
			    "500ms or 2m, got %s", Q(nd->str));
		if (v < k->min || v > k->max)
			return fail(c, nd, "duration %s out of range (%llu ms "
			    "to %llu ms)", Q(nd->str),
			    (unsigned long long)k->min,
			    (unsigned long long)k->max);
		*(uint32_t *)dst = (uint32_t)v;
		return 0;
	default:
		end = nd->str;
		if (digits_parse(&end, &v) == -1 || *end != '\0')
			return fail(c, nd, "expected a whole number, got %s",
			    Q(nd->str));
		if (v < k->min || v > k->max)
			return fail(c, nd, "%s out of range (%llu to %llu)",
			    Q(nd->str), (unsigned long long)k->min,
			    (unsigned long long)k->max);
		*(size_t *)dst = (size_t)v;
		return 0;
	}
}

static int	cfg_streams(struct cfg_ctx *, const struct cfg_node *,
		    struct cfg *);
static int	cfg_relays(struct cfg_ctx *, const struct cfg_node *,
		    struct cfg_stream *);
static int	cfg_slate(struct cfg_ctx *, const struct cfg_node *,
		    struct cfg_stream *);

/* One key's value into base + k->off; a null value keeps the default. */
static int
cfg_set(struct cfg_ctx *c, const struct cfg_key *k, const struct cfg_node *nd,
    void *base)
{
	void	*dst = (char *)base + k->off;

	if (cfg_node_null(nd))
		return (k->flags & CFG_REQUIRED) ?
		    fail(c, nd, "missing value") : 0;
	switch (k->type) {
	case CFG_STR:
	case CFG_NAME:
	case CFG_PATH:
	case CFG_PROFILE:
		return set_str(c, k, nd, dst);
	case CFG_LISTEN:
	case CFG_HOSTPORT:
		return set_hostport(c, nd, k->type == CFG_LISTEN ? base : dst,
		    k->type == CFG_LISTEN);
	case CFG_BOOL:
		return set_bool(c, nd, dst);
	case CFG_LOG_LEVEL:
		return set_enum(c, nd, dst, log_levels, 4, "log level");
	case CFG_LOG_FORMAT:
		return set_enum(c, nd, dst, log_formats, 2, "log format");
	case CFG_ON_LOSS:
		return set_enum(c, nd, dst, on_losses, 2, "on_publisher_loss");
	case CFG_PREFER:
		return set_enum(c, nd, dst, prefers, 2, "prefer");
	case CFG_SLATE:
		return cfg_slate(c, nd, base);
	case CFG_SECRET_STR:
	case CFG_SECRET_FILE:
		return set_secret(c, nd, dst, k->type == CFG_SECRET_FILE);
	case CFG_LOG:
		return cfg_fill(c, nd, log_keys, base, NULL);
	case CFG_STREAMS:
		return cfg_streams(c, nd, base);
	case CFG_RELAYS:
		return cfg_relays(c, nd, base);
	case CFG_BYTES:
	case CFG_COUNT:
	case CFG_DURATION:
		return set_number(c, k, nd, dst);
	case CFG_LIMITS:
		return cfg_fill(c, nd, limits_keys, base, NULL);
	case CFG_PROFILES:
		return cfg_profiles_parse(c->name, nd, base, c->err);
	}
	return fail(c, nd, "internal error: key type %d", (int)k->type);
}

static int
unknown_key(struct cfg_ctx *c, const struct cfg_node *k,
    const struct cfg_key *keys)
{
	char	list[160] = "";
	size_t	i;

	for (i = 0; keys[i].name != NULL; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
		    "%s%s", i > 0 ? ", " : "", keys[i].name);
	return fail(c, k, "unknown key (expected one of: %s)", list);
}

/*
 * Fills base from the mapping nd with the key table keys.  The schema, not
 * the input, bounds how deep cfg_fill and cfg_set call each other.  seen,
 * when given, receives each table entry's value node (NULL if absent).
 */
static int
cfg_fill(struct cfg_ctx *c, const struct cfg_node *nd,
    const struct cfg_key *keys, void *base, const struct cfg_node **seen)
{
	const struct cfg_node	*k, *got[CFG_KEYS_MAX] = { 0 };
	size_t			 i, old;

	if (nd->type != CFG_N_MAP)
		return fail(c, nd, "expected a mapping, got %s", node_kind(nd));
	for (k = nd->kids; k != NULL; k = k->next) {
		for (i = 0; keys[i].name != NULL; i++)
			if (strcmp(keys[i].name, k->str) == 0)
				break;
		old = path_push(c, k->str);
		if (keys[i].name == NULL)
			return unknown_key(c, k, keys);
		got[i] = k->val;
		if (!(keys[i].flags & CFG_DEFER) &&
		    cfg_set(c, &keys[i], k->val, base) == -1)
			return -1;
		path_pop(c, old);
	}
	for (i = 0; keys[i].name != NULL; i++) {
		if ((keys[i].flags & CFG_REQUIRED) && got[i] == NULL)
			return fail(c, nd, "missing required key %s",
			    keys[i].name);
		if (seen != NULL)
			seen[i] = got[i];
	}
	return 0;
}

static int
relay_url_check(struct cfg_ctx *c, const struct cfg_node *nd,
    const char *url)
{
	const char	*p;
	size_t		 i, n;

	for (i = 0; i < sizeof(url_schemes) / sizeof(url_schemes[0]); i++) {
		n = strlen(url_schemes[i]);
		if (strncmp(url, url_schemes[i], n) == 0 && url[n] != '\0')
			break;
	}
	if (i == sizeof(url_schemes) / sizeof(url_schemes[0]))
		return fail(c, nd, "url must start with rtmp://, rtmps://, "
		    "srt:// or file:");
	for (p = url; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return fail(c, nd, "url contains a control character");
	return 0;
}

static int
relay_fill(struct cfg_ctx *c, const struct cfg_node *k, struct cfg_relay *r)
{
	const struct cfg_node	*seen[CFG_KEYS_MAX];

	r->line = k->line;
	r->col = k->col;
	r->enabled = true;
	r->on_loss = CFG_LOSS_STREAM;
	if (name_check(c, k, "relay") == -1 ||
	    (r->name = dup_or_fail(c, k, k->str)) == NULL ||
	    cfg_fill(c, k->val, relay_keys, r, seen) == -1)
		return -1;
	if (r->profile == NULL &&
	    (r->profile = dup_or_fail(c, k, profiles[0])) == NULL)
		return -1;
	if (seen[RELAY_PROFILE] != NULL) {	/* linked after the parse */
		r->profile_line = seen[RELAY_PROFILE]->line;
		r->profile_col = seen[RELAY_PROFILE]->col;
	}
	path_push(c, "url");
	return relay_url_check(c, seen[RELAY_URL], r->url.value);
}

static int
cfg_relays(struct cfg_ctx *c, const struct cfg_node *nd, struct cfg_stream *st)
{
	const struct cfg_node	*k;
	size_t			 old;

	if (nd->type != CFG_N_MAP)
		return fail(c, nd, "expected a mapping of relay names to "
		    "relays, got %s", node_kind(nd));
	if (nd->n > 0 && (st->relays = calloc(nd->n, sizeof(*st->relays))) ==
	    NULL)
		return fail(c, nd, "out of memory");
	for (k = nd->kids; k != NULL; k = k->next) {
		old = path_push(c, k->str);
		/* counted first, so cfg_free sees a half-filled relay */
		if (relay_fill(c, k, &st->relays[st->nrelays++]) == -1)
			return -1;
		path_pop(c, old);
	}
	return 0;
}

/* A key and its _file twin (seen[i], seen[i + 1]), at most one, then the
 * key's own rules.  Without either, an error when required. */
static int
stream_secret(struct cfg_ctx *c, const struct cfg_node *map,
    const struct cfg_node **seen, size_t i, struct cfg_stream *st,
    bool required)
{
	const struct cfg_node	*a = seen[i];
	const struct cfg_node	*b = seen[i + 1];
	const struct cfg_key	*k;
	struct secret		*dst;
	char			 why[160];

	if (a != NULL && b != NULL) {
		if (a->line < b->line ||
		    (a->line == b->line && a->col < b->col))
			a = b;		/* report the later one */
		path_push(c, stream_keys[a == b ? i + 1 : i].name);
		return fail(c, a, "%s and %s are mutually exclusive",
		    stream_keys[i].name, stream_keys[i + 1].name);
	}
	if (a == NULL && b == NULL)
		return required ? fail(c, map, "missing key (set key: or "
		    "key_file:)") : 0;
	k = &stream_keys[a != NULL ? i : i + 1];
	path_push(c, k->name);
	if (a == NULL)
		a = b;
	if (cfg_node_null(a))
		return required ? fail(c, a, "missing value") : 0;
	if (cfg_set(c, k, a, st) == -1)
		return -1;
	dst = (struct secret *)(void *)((char *)st + k->off);
	if (cfg_secret_key_ok(dst->value, why, sizeof(why)) == -1)
		return strcmp(dst->origin, "inline") == 0 ?
		    fail(c, a, "%s", why) :
		    fail(c, a, "%s; it came from %s", why, dst->origin);
	return 0;
}

/* A slate file that is not there is not an error: the worker falls back
 * to black or silence.  It is a warning the supervisor logs. */
static int
slate_warn(struct cfg_ctx *c, const struct cfg_node *nd, const char *path,
    const char *fallback)
{
	struct cfg	*cfg = c->cfg;
	struct cfg_err	 e;
	char		**v;

	if (nd == NULL || path == NULL || access(path, R_OK) == 0)
		return 0;
	cfg_errf(&e, c->name, nd->line, nd->col, c->path, "cannot read %s: "
	    "%s (the slate falls back to %s)", Q(path), strerror(errno),
	    fallback);
	if ((v = reallocarray(cfg->warnings, cfg->nwarnings + 1,
	    sizeof(*v))) == NULL)
		return fail(c, nd, "out of memory");
	cfg->warnings = v;
	if ((v[cfg->nwarnings] = strdup(e.msg)) == NULL)
		return fail(c, nd, "out of memory");
	cfg->nwarnings++;
	return 0;
}

static int
cfg_slate(struct cfg_ctx *c, const struct cfg_node *nd, struct cfg_stream *st)
{
	const struct cfg_node	*seen[CFG_KEYS_MAX];
	size_t			 old;

	if (cfg_fill(c, nd, slate_keys, st, seen) == -1)
		return -1;
	old = path_push(c, "image");
	if (slate_warn(c, seen[SLATE_IMAGE], st->slate_image, "black") ==
	    -1)
		return -1;
	path_pop(c, old);
	path_push(c, "audio");
	if (slate_warn(c, seen[SLATE_AUDIO], st->slate_audio, "silence") ==
	    -1)
		return -1;
	path_pop(c, old);
	return 0;
}

static int
stream_fill(struct cfg_ctx *c, const struct cfg_node *k, struct cfg_stream *st)
{
	const struct cfg_node	*seen[CFG_KEYS_MAX];
	struct cfg_relay	*r;
	size_t			 i, old;

	st->line = k->line;
	st->col = k->col;
	st->enabled = true;
	st->on_loss = CFG_LOSS_END;
	st->grace_ms = CFG_DEFAULT_GRACE_MS;
	st->prefer = CFG_PREFER_PRIMARY;
	if (name_check(c, k, "stream") == -1 ||
	    (st->name = dup_or_fail(c, k, k->str)) == NULL ||
	    cfg_fill(c, k->val, stream_keys, st, seen) == -1)
		return -1;
	old = c->plen;
	if (stream_secret(c, k->val, seen, STREAM_KEY, st, true) == -1)
		return -1;
	path_pop(c, old);
	if (stream_secret(c, k->val, seen, STREAM_BACKUP_KEY, st, false) ==
	    -1)
		return -1;
	path_pop(c, old);
	if (st->backup_key.value != NULL &&
	    strcmp(st->backup_key.value, st->key.value) == 0) {
		const struct cfg_node *b = seen[STREAM_BACKUP_KEY] != NULL ?
		    seen[STREAM_BACKUP_KEY] : seen[STREAM_BACKUP_KEY_FILE];

		path_push(c, seen[STREAM_BACKUP_KEY] != NULL ? "backup_key" :
		    "backup_key_file");
		return fail(c, b, "backup key is the stream's own key");
	}
	/* a relay's own on_publisher_loss and grace, else the stream's */
	for (i = 0; i < st->nrelays; i++) {
		r = &st->relays[i];
		if (r->on_loss == CFG_LOSS_STREAM)
			r->on_loss = st->on_loss;
		if (r->grace_ms == 0)
			r->grace_ms = st->grace_ms;
	}
	return 0;
}

/* Where a stream's key (backup: its backup key) was written. */
static const struct cfg_node *
stream_key_node(const struct cfg_node *k, bool backup, const char **name)
{
	const struct cfg_node	*kk;
	const char		*a = backup ? "backup_key" : "key";
	const char		*b = backup ? "backup_key_file" : "key_file";

	for (kk = k->val->kids; kk != NULL; kk = kk->next)
		if (strcmp(kk->str, a) == 0 || strcmp(kk->str, b) == 0) {
			*name = kk->str;
			return kk->val;
		}
	*name = a;
	return k->val;
}

/* Key slot n of the streams: 2i is stream i's key, 2i + 1 its backup
 * key (NULL when it has none). */
static const char *
streams_key(const struct cfg *cfg, size_t n)
{
	const struct cfg_stream	*st = &cfg->streams[n / 2];

	return n % 2 == 0 ? st->key.value : st->backup_key.value;
}

/* Two streams with one key could not be told apart at publish time, nor
 * a backup key from another stream's key: each key against those before
 * it in the file. */
static int
streams_unique(struct cfg_ctx *c, const struct cfg_node *nd,
    const struct cfg *cfg)
{
	const struct cfg_node	*k = nd->kids, *at;
	const char		*a, *b, *name;
	size_t			 i, j;

	for (i = 1; i < 2 * cfg->nstreams; i++) {
		if (i % 2 == 0)
			k = k->next;
		if ((a = streams_key(cfg, i)) == NULL)
			continue;
		for (j = 0; j < i; j++)
			if ((b = streams_key(cfg, j)) != NULL &&
			    strcmp(a, b) == 0)
				break;
		if (j == i)
			continue;
		at = stream_key_node(k, i % 2 == 1, &name);
		path_push(c, k->str);
		path_push(c, name);
		return fail(c, at, "same key as streams.%s%s",
		    cfg->streams[j / 2].name, j % 2 == 1 ? ".backup_key" : "");
	}
	return 0;
}

static int
cfg_streams(struct cfg_ctx *c, const struct cfg_node *nd, struct cfg *cfg)
{
	const struct cfg_node	*k;
	size_t			 old;

	if (nd->type != CFG_N_MAP)
		return fail(c, nd, "expected a mapping of stream names to "
		    "streams, got %s", node_kind(nd));
	if (nd->n > 0 && (cfg->streams = calloc(nd->n,
	    sizeof(*cfg->streams))) == NULL)
		return fail(c, nd, "out of memory");
	for (k = nd->kids; k != NULL; k = k->next) {
		old = path_push(c, k->str);
		if (stream_fill(c, k, &cfg->streams[cfg->nstreams++]) == -1)
			return -1;
		path_pop(c, old);
	}
	return cfg->nstreams > 0 ? streams_unique(c, nd, cfg) : 0;
}

bool
cfg_host_loopback(const char *host)
{
	struct in_addr	 a4;
	struct in6_addr	 a6;

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, host, &a6) == 1 &&
	    IN6_IS_ADDR_LOOPBACK(&a6);
}

/* A bearer token goes in an HTTP header: printable ASCII, no spaces. */
static int
http_token_check(struct cfg_ctx *c, const struct cfg_node *nd,
    const struct secret *tok)
{
	const char	*p;

	if (strlen(tok->value) < CFG_HTTP_TOKEN_MIN)
		return fail(c, nd, "token too short (at least %d characters)",
		    CFG_HTTP_TOKEN_MIN);
	for (p = tok->value; *p != '\0'; p++)
		if (*p <= ' ' || *p > '~')
			return fail(c, nd, "token must be printable ASCII "
			    "without spaces");
	return 0;
}

/* http_token: or http_token_file: (not both), and a token whenever http:
 * is bound to anything but loopback. */
static int
cfg_http(struct cfg_ctx *c, const struct cfg_node **seen, struct cfg *cfg)
{
	const struct cfg_node	*a = seen[TOP_HTTP_TOKEN];
	const struct cfg_node	*b = seen[TOP_HTTP_TOKEN_FILE];
	const struct cfg_key	*k = &top_keys[TOP_HTTP_TOKEN];
	char			*host = NULL, why[160];
	size_t			 old;
	bool			 loop;

	if (a != NULL && b != NULL) {
		if (b->line > a->line || (b->line == a->line &&
		    b->col > a->col))
			a = b;
		path_push(c, a == b ? "http_token_file" : "http_token");
		return fail(c, a, "http_token and http_token_file are "
		    "mutually exclusive");
	}
	if (a == NULL && b != NULL) {
		a = b;
		k = &top_keys[TOP_HTTP_TOKEN_FILE];
	}
	if (a != NULL && !cfg_node_null(a)) {
		old = path_push(c, k->name);
		if (cfg_set(c, k, a, cfg) == -1 ||
		    http_token_check(c, a, &cfg->http_token) == -1)
			return -1;
		path_pop(c, old);
	}
	if (cfg->http == NULL)
		return 0;
	if (hostport_parse(cfg->http, &host, NULL, why, sizeof(why)) == -1)
		return fail(c, seen[TOP_HTTP], "%s", why);
	loop = cfg_host_loopback(host);
	free(host);
	if (!loop && cfg->http_token.value == NULL) {
		path_push(c, "http");
		return fail(c, seen[TOP_HTTP], "%s is not a loopback address: "
		    "set http_token: (or http_token_file:) so that requests "
		    "must carry it", Q(cfg->http));
	}
	return 0;
}

static int
cfg_defaults(struct cfg_ctx *c, struct cfg *cfg)
{
	char	why[64], *p;

	if (cfg->listen_host == NULL &&
	    hostport_parse(CFG_DEFAULT_LISTEN, &cfg->listen_host,
	    &cfg->listen_port, why, sizeof(why)) == -1)
		goto oom;
	if (cfg->app == NULL && (cfg->app = strdup(CFG_DEFAULT_APP)) == NULL)
		goto oom;
	if (cfg->state_dir == NULL && (cfg->state_dir =
	    path_join(c->base_dir, CFG_DEFAULT_STATE_DIR)) == NULL)
		goto oom;
	if (cfg->log_file != NULL && cfg->log_file[0] == '\0') {
		free(cfg->log_file);
		cfg->log_file = NULL;
	} else if (cfg->log_file != NULL) {
		/* log.file is taken from the state directory */
		p = path_join(cfg->state_dir, cfg->log_file);
		free(cfg->log_file);
		if ((cfg->log_file = p) == NULL)
			goto oom;
	}
	return 0;
oom:
	cfg_errf(c->err, c->name, 0, 0, NULL, "out of memory");
	return -1;
}

int
cfg_parse(const char *name, const char *text, size_t len,
    const char *base_dir, struct cfg **out, struct cfg_err *err)
{
	const struct cfg_node	*seen[CFG_KEYS_MAX] = { 0 };
	struct cfg_err		 scratch;
	struct cfg_ctx		 c;
	struct cfg_doc		 doc;
	struct cfg		*cfg;
	int			 rc = -1;

	if (err == NULL)
		err = &scratch;
	memset(&c, 0, sizeof(c));
	c.name = name != NULL ? name : "-";
	c.base_dir = base_dir;
	c.err = err;
	if (cfg_doc_parse(&doc, c.name, text != NULL ? text : "",
	    text != NULL ? len : 0, err) == -1)
		return -1;
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL ||
	    (cfg->path = strdup(c.name)) == NULL) {
		cfg_errf(err, c.name, 0, 0, NULL, "out of memory");
		goto out;
	}
	c.cfg = cfg;
	cfg->log_level = LOGL_INFO;
	cfg->log_format = LOG_FMT_LOGFMT;
	cfg->relay_queue_bytes = CFG_DEFAULT_RELAY_QUEUE;
	cfg->relay_batch_ms = CFG_DEFAULT_RELAY_BATCH_MS;
	cfg->limits = (struct cfg_limits){
		.connections = CFG_DEFAULT_CONNECTIONS,
		.connections_per_host = CFG_DEFAULT_CONNECTIONS_PER_HOST,
		.handshake_ms = CFG_DEFAULT_HANDSHAKE_MS,
		.publish_ms = CFG_DEFAULT_PUBLISH_MS,
		.idle_ms = CFG_DEFAULT_IDLE_MS,
		.max_message_bytes = CFG_DEFAULT_MAX_MESSAGE,
		.max_chunk_size = CFG_DEFAULT_MAX_CHUNK_SIZE,
		.streams = CFG_DEFAULT_STREAMS,
	};
	if (!cfg_node_null(doc.root) &&
	    cfg_fill(&c, doc.root, top_keys, cfg, seen) == -1)
		goto out;
	if (cfg_defaults(&c, cfg) == -1 || cfg_http(&c, seen, cfg) == -1 ||
	    cfg_profiles_link(c.name, cfg, err) == -1)
		goto out;
	*out = cfg;
	cfg = NULL;
	rc = 0;
out:
	cfg_free(cfg);
	cfg_doc_clear(&doc);
	return rc;
}

/* "dir/file" -> "dir", "file" -> ".", "/file" -> "/". */
static char *
dir_of(const char *path)
{
	const char	*slash = strrchr(path, '/');

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

static ssize_t
read_all(const char *path, char *buf, size_t cap)
{
	size_t	 got = 0;
	ssize_t	 r = 0;
	int	 fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return -1;
	while (got < cap) {
		r = read(fd, buf + got, cap - got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	saved = errno;
	close(fd);
	errno = saved;
	return r == -1 ? -1 : (ssize_t)got;
}

int
cfg_load(const char *path, struct cfg **out, struct cfg_err *err)
{
	struct cfg_err	 scratch;
	char		*buf, *dir = NULL;
	ssize_t		 n;
	int		 rc = -1;

	if (err == NULL)
		err = &scratch;
	if ((buf = malloc(CFG_MAX_INPUT + 1)) == NULL ||
	    (dir = dir_of(path)) == NULL) {
		cfg_errf(err, path, 0, 0, NULL, "out of memory");
		goto out;
	}
	/* read(2) of a directory fails with EISDIR, as it should */
	if ((n = read_all(path, buf, CFG_MAX_INPUT + 1)) == -1)
		cfg_errf(err, path, 0, 0, NULL, "cannot read: %s",
		    strerror(errno));
	else if (n > CFG_MAX_INPUT)
		cfg_errf(err, path, 0, 0, NULL, "too large (limit %d bytes)",
		    CFG_MAX_INPUT);
	else
		rc = cfg_parse(path, buf, (size_t)n, dir, out, err);
out:
	free(buf);
	free(dir);
	return rc;
}

int
cfg_state_dir(const char *path, char **out, struct cfg_err *err)
{
	struct cfg_doc		 doc;
	const struct cfg_node	*k = NULL;
	const char		*v = CFG_DEFAULT_STATE_DIR;
	char			*buf, *dir = NULL;
	ssize_t			 n;
	int			 rc = -1;

	if ((buf = malloc(CFG_MAX_INPUT + 1)) == NULL ||
	    (dir = dir_of(path)) == NULL) {
		cfg_errf(err, path, 0, 0, NULL, "out of memory");
		goto out;
	}
	if ((n = read_all(path, buf, CFG_MAX_INPUT + 1)) == -1 ||
	    n > CFG_MAX_INPUT) {
		cfg_errf(err, path, 0, 0, NULL, "cannot read: %s", n == -1 ?
		    strerror(errno) : "too large");
		goto out;
	}
	if (cfg_doc_parse(&doc, path, buf, (size_t)n, err) == -1)
		goto out;
	if (doc.root != NULL && doc.root->type == CFG_N_MAP)
		for (k = doc.root->kids; k != NULL; k = k->next)
			if (strcmp(k->str, "state_dir") == 0)
				break;
	if (k != NULL && k->val->type == CFG_N_SCALAR &&
	    !cfg_node_null(k->val) && k->val->str[0] != '\0')
		v = k->val->str;
	if ((*out = path_join(dir, v)) == NULL)
		cfg_errf(err, path, 0, 0, NULL, "out of memory");
	else
		rc = 0;
	cfg_doc_clear(&doc);
out:
	free(buf);
	free(dir);
	return rc;
}

void
cfg_free(struct cfg *cfg)
{
	struct cfg_stream	*st;
	struct cfg_relay	*r;
	size_t			 i, j;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->nstreams; i++) {
		st = &cfg->streams[i];
		for (j = 0; j < st->nrelays; j++) {
			r = &st->relays[j];
			free(r->name);
			cfg_secret_clear(&r->url);
			free(r->profile);
		}
		free(st->relays);
		free(st->name);
		cfg_secret_clear(&st->key);
		cfg_secret_clear(&st->backup_key);
		free(st->slate_image);
		free(st->slate_audio);
		free(st->note);
	}
	for (i = 0; i < cfg->nwarnings; i++)
		free(cfg->warnings[i]);
	free(cfg->warnings);
	free(cfg->streams);
	cfg_profiles_free(cfg);
	free(cfg->path);
	free(cfg->listen_host);
	free(cfg->app);
	free(cfg->state_dir);
	free(cfg->http);
	cfg_secret_clear(&cfg->http_token);
	free(cfg->log_file);
	free(cfg);
}

const struct cfg_stream *
cfg_stream_by_backup_key(const struct cfg *cfg, const void *key, size_t len)
{
	const struct cfg_stream	*found = NULL;
	const char		*b;
	size_t			 i;

	/* every stream compared, in constant time: a publisher's key must
	 * not be guessable from how long the refusal took */
	for (i = 0; i < cfg->nstreams; i++)
		if ((b = cfg->streams[i].backup_key.value) != NULL &&
		    util_ct_equal(b, strlen(b), key, len))
			found = &cfg->streams[i];
	return found;
}

const struct cfg_stream *
cfg_stream_find(const struct cfg *cfg, const char *name)
{
	size_t	i;

	for (i = 0; cfg != NULL && name != NULL && i < cfg->nstreams; i++)
		if (strcmp(cfg->streams[i].name, name) == 0)
			return &cfg->streams[i];
	return NULL;
}
