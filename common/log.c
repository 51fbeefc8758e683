/*
 * Event logging; see log.h.  A line is built in one buffer and written
 * with one write(2).  The JSON format is derived from the logfmt line, so
 * call sites only ever write key=value formats.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

static const char	*log_proc = "mirroring";
static enum log_level	 log_min = LOGL_INFO;
static enum log_format	 log_fmt = LOG_FMT_LOGFMT;
static int		 log_fd = STDERR_FILENO;

static const char *const log_level_names[] = {
	[LOGL_DEBUG] = "debug",
	[LOGL_INFO] = "info",
	[LOGL_WARN] = "warn",
	[LOGL_ERROR] = "error",
};

void
log_init(const char *proc, enum log_level level, enum log_format fmt)
{
	log_proc = proc;
	log_min = level;
	log_fmt = fmt;
}

void
log_set_level(enum log_level level)
{
	log_min = level;
}

void
log_set_fd(int fd)
{
	log_fd = fd == -1 ? STDERR_FILENO : fd;
}

bool
log_enabled(enum log_level level)
{
	return level >= log_min;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	size_t	i;

	for (i = 0; i < sizeof(log_level_names) / sizeof(*log_level_names); i++)
		if (strcmp(s, log_level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	return -1;
}

int
log_format_parse(const char *s, enum log_format *out)
{
	if (strcmp(s, "logfmt") == 0)
		*out = LOG_FMT_LOGFMT;
	else if (strcmp(s, "json") == 0)
		*out = LOG_FMT_JSON;
	else
		return -1;
	return 0;
}

/* The length of the valid UTF-8 sequence at p (2-4), or 0: what a
 * client sends need not be UTF-8, and a JSON log line must be. */
static size_t
log_utf8_len(const unsigned char *p)
{
	size_t		n, i;
	uint32_t	c;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, c = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, c = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, c = p[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)	/* also stops at the NUL */
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	/* overlong forms, surrogates, past U+10FFFF */
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	return n;
}

/* A logfmt value needs quotes unless it is a non-empty run of printable
 * characters without space, quote, equals sign or backslash. */
static bool
log_is_token(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n;

	if (*p == '\0')
		return false;
	while (*p != '\0') {
		if (*p >= 0x80) {
			if ((n = log_utf8_len(p)) == 0)
				return false;
			p += n;
			continue;
		}
		if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' ||
		    *p == 0x7f)
			return false;
		p++;
	}
	return true;
}

/* The escaped form of the character at p into esc (at most 5 bytes);
 * returns its length and sets *used to the input bytes it stands for.
 * Bytes that are not valid UTF-8 become \xNN. */
static size_t
log_escape(const unsigned char *p, char esc[5], size_t *used)
{
	unsigned char	c = *p;
	size_t		n;

	*used = 1;
	if (c >= 0x80 && (n = log_utf8_len(p)) > 0) {
		memcpy(esc, p, n);
		*used = n;
		return n;
	}
	switch (c) {
	case '"':	memcpy(esc, "\\\"", 2); return 2;
	case '\\':	memcpy(esc, "\\\\", 2); return 2;
	case '\n':	memcpy(esc, "\\n", 2); return 2;
	case '\t':	memcpy(esc, "\\t", 2); return 2;
	default:
		if (c < ' ' || c >= 0x7f) {
			snprintf(esc, 5, "\\x%02x", c);
			return 4;
		}
		esc[0] = (char)c;
		return 1;
	}
}

const char *
log_quote(char *buf, size_t n, const char *s)
{
	const unsigned char	*p;
	size_t			 o = 0, len, used, full = 2;
	char			 esc[5];

	if (n == 0)
		return buf;
	if (s == NULL)
		s = "";
	if (log_is_token(s) && strlen(s) < n) {
		memcpy(buf, s, strlen(s) + 1);
		return buf;
	}
	for (p = (const unsigned char *)s; *p != '\0'; p += used)
		full += log_escape(p, esc, &used);
	if (full + 1 > n && n < 6) {	/* no room for even "…" */
		buf[0] = '\0';
		return buf;
	}
	buf[o++] = '"';
	for (p = (const unsigned char *)s; *p != '\0'; p += used) {
		len = log_escape(p, esc, &used);
		/* when it will not all fit, keep room for "…", quote, NUL */
		if (full + 1 > n && o + len + 5 > n) {
			memcpy(buf + o, "\xe2\x80\xa6", 3);
			o += 3;
			break;
		}
		memcpy(buf + o, esc, len);
		o += len;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

/* "ab…yz" for secrets of 12 bytes or more, else "…". */
static void
log_mask_part(char *out, size_t n, const char *s, size_t len)
{
	if (len >= 12)
		snprintf(out, n, "%.2s\xe2\x80\xa6%.2s", s, s + len - 2);
	else
		snprintf(out, n, "\xe2\x80\xa6");
}

/* The "://" after a URL's scheme at the start of s, or NULL. */
static const char *
log_url_auth(const char *s)
{
	const char	*p = s;

	if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
		return NULL;
	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
	    (*p >= '0' && *p <= '9') || *p == '+' || *p == '.' || *p == '-')
		p++;
	return strncmp(p, "://", 3) == 0 ? p : NULL;
}

const char *
log_mask_raw(char *buf, size_t n, const char *s)
{
	const char	*auth, *path, *q, *seg, *end, *at, *host;
	char		 part[16];

	if (s == NULL)
		s = "";
	if ((auth = log_url_auth(s)) == NULL) {
		if (strncmp(s, "file:", 5) == 0) {	/* paths hold no key */
			snprintf(buf, n, "%s", s);
			return buf;
		}
		log_mask_part(part, sizeof(part), s, strlen(s));
		snprintf(buf, n, "%s", part);
		return buf;
	}
	auth += 3;
	path = auth + strcspn(auth, "/?");
	q = path + strcspn(path, "?");
	/* rtmp://user:pass@host: hide the credentials */
	at = memchr(auth, '@', (size_t)(path - auth));
	host = at != NULL ? at + 1 : auth;
	/* the last non-empty path segment: "live2/KEY/" masks KEY */
	end = q;
	while (end > path && end[-1] == '/')
		end--;
	seg = end;
	while (seg > path && seg[-1] != '/')
		seg--;
	if (seg == path)	/* no path segment: only a query can hold it */
		seg = end = q;
	log_mask_part(part, sizeof(part), seg, (size_t)(end - seg));
	snprintf(buf, n, "%.*s%s%.*s%s%.*s%s", (int)(auth - s), s,
	    at != NULL ? "\xe2\x80\xa6@" : "", (int)(seg - host), host,
	    seg < end ? part : "", (int)(q - end), end,
	    *q ? "?\xe2\x80\xa6" : "");
	return buf;
}

const char *
log_mask(char *buf, size_t n, const char *s)
{
	char	tmp[LOG_QMAX];

	log_mask_raw(tmp, sizeof(tmp), s);
	return log_quote(buf, n, tmp);
}

/* Appends src[0..len) to a JSON string body, escaped. */
static size_t
log_json_str(char *out, size_t o, size_t cap, const char *src, size_t len)
{
	size_t	i;

	for (i = 0; i < len && o + 8 < cap; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20) {
			o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
		} else
			out[o++] = (char)c;
	}
	return o;
}

/*
 * Rewrites a logfmt line (without newline) as a JSON object.  Quoted
 * values are unescaped as log_quote escaped them; \xNN stays literal.
 */
static size_t
log_to_json(const char *in, char *out, size_t cap)
{
	const char	*p = in, *k, *v;
	size_t		 o = 0, klen, vlen;
	char		 val[LOG_LINE_MAX];

	out[o++] = '{';
	while (*p != '\0' && o + 16 < cap) {
		while (*p == ' ')
			p++;
		k = p;
		while (*p != '\0' && *p != '=' && *p != ' ')
			p++;
		klen = (size_t)(p - k);
		if (klen == 0 || *p != '=')
			break;
		p++;
		vlen = 0;
		if (*p == '"') {
			for (p++; *p != '\0' && *p != '"'; p++) {
				if (*p == '\\' && p[1] != '\0') {
					p++;
					if (*p == 'x')	/* \xNN stays literal */
						val[vlen++] = '\\';
					v = *p == 'n' ? "\n" : *p == 't' ?
					    "\t" : p;
					val[vlen++] = *v;
				} else
					val[vlen++] = *p;
			}
			if (*p == '"')
				p++;
		} else {
			v = p;
			while (*p != '\0' && *p != ' ')
				p++;
			vlen = (size_t)(p - v);
			memcpy(val, v, vlen);
		}
		if (o > 1)
			out[o++] = ',';
		out[o++] = '"';
		o = log_json_str(out, o, cap, k, klen);
		out[o++] = '"';
		out[o++] = ':';
		out[o++] = '"';
		o = log_json_str(out, o, cap, val, vlen);
		out[o++] = '"';
	}
	out[o++] = '}';
	return o;
}

static void __attribute__((format(printf, 4, 0)))
log_vwrite(enum log_level level, const char *event, const char *err,
    const char *fmt, va_list ap)
{
	char		 line[LOG_LINE_MAX], json[LOG_LINE_MAX];
	struct timespec	 ts;
	struct tm	 tm;
	size_t		 o;
	int		 r, saved = errno;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	o = strftime(line, sizeof(line), "ts=%Y-%m-%dT%H:%M:%S", &tm);
	r = snprintf(line + o, sizeof(line) - o,
	    ".%03ldZ level=%s proc=%s pid=%ld event=%s", ts.tv_nsec / 1000000,
	    log_level_names[level], log_proc, (long)getpid(), event);
	o += r > 0 ? (size_t)r : 0;
	if (fmt != NULL && *fmt != '\0' && o + 1 < sizeof(line)) {
		line[o++] = ' ';
		r = vsnprintf(line + o, sizeof(line) - o, fmt, ap);
		o += r > 0 ? (size_t)r : 0;
	}
	if (err != NULL && o < sizeof(line)) {
		r = snprintf(line + o, sizeof(line) - o, " err=%s", err);
		o += r > 0 ? (size_t)r : 0;
	}
	if (o > sizeof(line) - 2)	/* truncated: keep the newline */
		o = sizeof(line) - 2;
	line[o] = '\0';
	if (log_fmt == LOG_FMT_JSON) {
		o = log_to_json(line, json, sizeof(json) - 1);
		json[o++] = '\n';
		(void)write(log_fd, json, o);
	} else {
		line[o++] = '\n';
		(void)write(log_fd, line, o);
	}
	errno = saved;
}

void
log_msg(enum log_level level, const char *event, const char *fmt, ...)
{
	va_list	ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	log_vwrite(level, event, NULL, fmt, ap);
	va_end(ap);
}

void
log_errno(enum log_level level, const char *event, const char *fmt, ...)
{
	char	err[LOG_QMAX];
	va_list	ap;

	if (!log_enabled(level))
		return;
	log_quote(err, sizeof(err), strerror(errno));
	va_start(ap, fmt);
	log_vwrite(level, event, err, fmt, ap);
	va_end(ap);
}

void
fatal(const char *event, const char *fmt, ...)
{
	char	err[LOG_QMAX];
	va_list	ap;

	log_quote(err, sizeof(err), strerror(errno));
	va_start(ap, fmt);
	log_vwrite(LOGL_ERROR, event, err, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *event, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOGL_ERROR, event, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
