/*
 * log.h: log_quote and log_mask tables (escapes, exact fits, truncation
 * with a canary past the buffer), level and format names, and whole
 * lines written by log_msg/log_errno into a pipe: one line per call, in
 * the documented logfmt shape, at most LOG_LINE_MAX bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "tap.h"

#define ELLIPSIS	"\xe2\x80\xa6"
#define CANARY		0x5a

static const struct {
	const char	*in;
	const char	*out;
} quote_cases[] = {
	{ "abc", "abc" },
	{ "rtmp://host:1935/app", "rtmp://host:1935/app" },
	{ "h" "\xc3\xa9" "llo", "h" "\xc3\xa9" "llo" },	/* UTF-8 stays */
	{ "", "\"\"" },
	{ "a b", "\"a b\"" },
	{ "say \"hi\"", "\"say \\\"hi\\\"\"" },
	{ "back\\slash", "\"back\\\\slash\"" },
	{ "l1\nl2", "\"l1\\nl2\"" },
	{ "t\tx", "\"t\\tx\"" },
	{ "bell\x07" "esc\x1b", "\"bell\\x07esc\\x1b\"" },
	{ "del\x7f", "\"del\\x7f\"" },
	{ "bad\xff" "utf8", "\"bad\\xffutf8\"" },	/* not UTF-8: escaped */
	{ "cut\xc3", "\"cut\\xc3\"" },		/* truncated sequence */
	{ "\xed\xa0\x80", "\"\\xed\\xa0\\x80\"" },	/* surrogate */
	{ "k=v", "\"k=v\"" },
	{ "Connection refused", "\"Connection refused\"" },
};

/* Calls f with an n-byte buffer followed by canary bytes. */
static bool
bounded(const char *(*f)(char *, size_t, const char *), size_t n,
    const char *in, char *out, size_t cap)
{
	char	buf[512];
	size_t	i;

	memset(buf, CANARY, sizeof(buf));
	f(buf, n, in);
	for (i = n; i < sizeof(buf); i++)
		if ((unsigned char)buf[i] != CANARY)
			return false;
	if (n == 0)
		return true;
	if (memchr(buf, '\0', n) == NULL)
		return false;
	snprintf(out, cap, "%s", buf);
	return true;
}

static void
test_quote(void)
{
	char		out[512];
	const char	*want, *e;
	size_t		i, len, n;
	bool		good;

	for (i = 0; i < sizeof(quote_cases) / sizeof(quote_cases[0]); i++) {
		want = quote_cases[i].out;
		len = strlen(want);
		ok(bounded(log_quote, LOG_QMAX, quote_cases[i].in, out,
		    sizeof(out)) && strcmp(out, want) == 0,
		    "log_quote: %s", want);
		if (strcmp(out, want) != 0)
			printf("#   got %s\n", out);
		ok(bounded(log_quote, len + 1, quote_cases[i].in, out,
		    sizeof(out)) && strcmp(out, want) == 0,
		    "log_quote: %s fits in exactly %zu bytes", want, len + 1);
		if (strcmp(out, want) != 0)
			printf("#   got %s\n", out);
	}

	/* Cut short: fits, ends in "…" (then the closing quote), and what
	 * comes before it is the start of the full result. */
	good = true;
	for (n = 1; n < 40; n++) {
		if (!bounded(log_quote, n, "a long \"value\" with\nspaces",
		    out, sizeof(out))) {
			printf("#   n %zu: wrote past the buffer\n", n);
			good = false;
			continue;
		}
		want = "\"a long \\\"value\\\" with\\nspaces\"";
		if (strlen(out) >= n || n < 8 || strcmp(out, want) == 0)
			continue;
		e = strstr(out, ELLIPSIS);
		if (e == NULL || strncmp(out, want, (size_t)(e - out)) != 0 ||
		    strcmp(e, ELLIPSIS "\"") != 0) {
			printf("#   n %zu: %s\n", n, out);
			good = false;
		}
	}
	ok(good, "log_quote: truncated to 1..39 bytes, ends in \"…\"");

	good = true;
	for (n = 1; n < 12; n++)
		if (!bounded(log_quote, n, "plain_token_that_is_long", out,
		    sizeof(out)) || strlen(out) >= n)
			good = false;
	ok(good, "log_quote: a long token cut to 1..11 bytes stays inside");
	ok(bounded(log_quote, 12, "plain_token_that_is_long", out,
	    sizeof(out)) && strstr(out, ELLIPSIS) != NULL &&
	    strncmp(out + (out[0] == '"'), "plain", 5) == 0,
	    "log_quote: a long token is cut with \"…\" (%s)", out);
}

static const struct {
	const char	*in;
	const char	*out;
	const char	*what;
} mask_cases[] = {
	{ "abc", ELLIPSIS, "short key" },
	{ "", ELLIPSIS, "empty key" },
	{ "abcdefghijk", ELLIPSIS, "11 bytes: still short" },
	{ "abcdefghijkl", "ab" ELLIPSIS "kl", "12 bytes" },
	{ "live_0123456789_abcdefghij", "li" ELLIPSIS "ij", "long key" },
	{ "rtmp://live.twitch.tv/app/live_0123456789_abcdef",
	    "rtmp://live.twitch.tv/app/li" ELLIPSIS "ef", "rtmp URL" },
	{ "rtmps://a.rtmp.youtube.com:443/live2/abcd-efgh-ijkl-mnop",
	    "rtmps://a.rtmp.youtube.com:443/live2/ab" ELLIPSIS "op",
	    "rtmps URL with port" },
	{ "rtmp://host/app/short", "rtmp://host/app/" ELLIPSIS,
	    "short key in a URL" },
	{ "https://cdn.example/hls/playlist_abcdef.m3u8?token=s3cr3t",
	    "https://cdn.example/hls/pl" ELLIPSIS "u8?" ELLIPSIS,
	    "URL with a query" },
	{ "rtmp://host.example?key=s3cr3t", "rtmp://host.example?" ELLIPSIS,
	    "query without a path" },
	{ "rtmp://host.example", "rtmp://host.example", "no path segment" },
	{ "rtmp://host.example:1935", "rtmp://host.example:1935",
	    "no path segment, port" },
	{ "rtmp://host.example/", "rtmp://host.example/", "empty path" },
	{ "rtmp://h/live2/abcdefghijklmnop/", "rtmp://h/live2/ab" ELLIPSIS
	    "op/", "trailing slash still masks the key" },
	{ "rtmp://u:pw@h:1935/app/abcdefghijklmnop",
	    "rtmp://" ELLIPSIS "@h:1935/app/ab" ELLIPSIS "op",
	    "credentials hidden" },
	{ "KEY0123456789?u=rtmp://x", "KE" ELLIPSIS "/x",
	    "\"://\" inside a key is not a URL" },
};

static void
test_mask(void)
{
	char	out[512];
	size_t	i, n;
	bool	good;

	for (i = 0; i < sizeof(mask_cases) / sizeof(mask_cases[0]); i++) {
		ok(bounded(log_mask_raw, LOG_QMAX, mask_cases[i].in, out,
		    sizeof(out)) && strcmp(out, mask_cases[i].out) == 0,
		    "log_mask_raw: %s", mask_cases[i].what);
		if (strcmp(out, mask_cases[i].out) != 0)
			printf("#   got %s\n", out);
		/* Nothing here needs quotes, so log_mask agrees. */
		ok(bounded(log_mask, LOG_QMAX, mask_cases[i].in, out,
		    sizeof(out)) && strcmp(out, mask_cases[i].out) == 0,
		    "log_mask: %s", mask_cases[i].what);
	}

	ok(bounded(log_mask, LOG_QMAX, "rtmp://my host/app/key1234567890",
	    out, sizeof(out)) &&
	    strcmp(out, "\"rtmp://my host/app/ke" ELLIPSIS "90\"") == 0,
	    "log_mask: quotes what needs it (%s)", out);
	ok(bounded(log_mask_raw, LOG_QMAX, "rtmp://user:s3cr3t@host/app/key",
	    out, sizeof(out)) && strstr(out, "s3cr3t") == NULL &&
	    strstr(out, "host/app/") != NULL,
	    "log_mask_raw: URL credentials hidden (%s)", out);
	ok(bounded(log_mask_raw, LOG_QMAX, "rtmp://h/app/\"ey0123456789",
	    out, sizeof(out)) && strstr(out, "0123") == NULL,
	    "log_mask_raw: key with a quote (%s)", out);
	ok(MASK("abcdefghijklmn") != NULL &&
	    strcmp(MASK("abcdefghijklmn"), "ab" ELLIPSIS "mn") == 0,
	    "MASK() macro");
	ok(strcmp(LQ("a b"), "\"a b\"") == 0, "LQ() macro");

	good = true;
	for (n = 1; n < 40; n++) {
		if (!bounded(log_mask_raw, n, mask_cases[5].in, out,
		    sizeof(out)) || strlen(out) >= n ||
		    strstr(out, "0123456789") != NULL) {
			printf("#   log_mask_raw n %zu: %s\n", n, out);
			good = false;
		}
	}
	ok(good, "log_mask_raw: 1..39 byte buffers");
	good = true;
	for (n = 1; n < 40; n++) {
		if (!bounded(log_mask, n, mask_cases[5].in, out,
		    sizeof(out)) || strlen(out) >= n ||
		    strstr(out, "0123456789") != NULL) {
			printf("#   log_mask n %zu: %s\n", n, out);
			good = false;
		}
	}
	ok(good, "log_mask: 1..39 byte buffers");
}

static void
test_names(void)
{
	static const struct {
		const char	*s;
		int		 rc;
		enum log_level	 level;
	} levels[] = {
		{ "debug", 0, LOGL_DEBUG }, { "info", 0, LOGL_INFO },
		{ "warn", 0, LOGL_WARN }, { "error", 0, LOGL_ERROR },
		{ "verbose", -1, 0 }, { "", -1, 0 }, { "info ", -1, 0 },
		{ "inf", -1, 0 },
	};
	static const struct {
		const char	*s;
		int		 rc;
		enum log_format	 fmt;
	} formats[] = {
		{ "logfmt", 0, LOG_FMT_LOGFMT }, { "json", 0, LOG_FMT_JSON },
		{ "text", -1, 0 }, { "", -1, 0 }, { "jsonl", -1, 0 },
	};
	enum log_level	l;
	enum log_format	f;
	size_t		i;
	int		rc;

	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		l = (enum log_level)99;
		rc = log_level_parse(levels[i].s, &l);
		ok(rc == levels[i].rc && (rc == -1 || l == levels[i].level),
		    "log_level_parse(\"%s\")", levels[i].s);
	}
	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		f = (enum log_format)99;
		rc = log_format_parse(formats[i].s, &f);
		ok(rc == formats[i].rc && (rc == -1 || f == formats[i].fmt),
		    "log_format_parse(\"%s\")", formats[i].s);
	}
}

/* Everything the pipe holds now; the caller's lines are all written. */
static size_t
drain(int fd, char *buf, size_t cap)
{
	size_t	n = 0;
	ssize_t	r;

	while (n + 1 < cap && (r = read(fd, buf + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	return n;
}

static size_t
lines(const char *s)
{
	size_t	n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

/* "ts=" then an RFC 3339 UTC time with milliseconds. */
static bool
ts_ok(const char *s)
{
	const char	*pat = "ts=dddd-dd-ddTdd:dd:dd.dddZ ";

	for (; *pat != '\0'; pat++, s++) {
		if (*pat == 'd' ? (*s < '0' || *s > '9') : *s != *pat)
			return false;
	}
	return true;
}

static void
test_lines(void)
{
	char	buf[16384], want[256], *big;
	int	fds[2], count = 0;
	size_t	n;

	if (pipe(fds) == -1 || fcntl(fds[0], F_SETFL, O_NONBLOCK) == -1) {
		ok(0, "pipe");
		return;
	}
	log_init("test", LOGL_INFO, LOG_FMT_LOGFMT);
	log_set_fd(fds[1]);

	log_msg(LOGL_INFO, "x.y", "a=%d", 1);
	n = drain(fds[0], buf, sizeof(buf));
	snprintf(want, sizeof(want),
	    " level=info proc=test pid=%ld event=x.y a=1\n", (long)getpid());
	ok(n > 27 && ts_ok(buf) && strcmp(buf + 27, want) == 0 &&
	    lines(buf) == 1, "log_msg: one logfmt line");
	printf("#   %s", buf);

	log_debug("x.y", "n=%d", ++count);
	n = drain(fds[0], buf, sizeof(buf));
	ok(n == 0 && count == 0, "log_debug at info: no line, no evaluation");
	ok(!log_enabled(LOGL_DEBUG) && log_enabled(LOGL_INFO),
	    "log_enabled at info");

	log_set_level(LOGL_WARN);
	log_info("x.y", "a=%d", 1);
	log_warnx("x.z", "b=%s", LQ("two words"));
	n = drain(fds[0], buf, sizeof(buf));
	ok(lines(buf) == 1 && strstr(buf, " level=warn ") != NULL &&
	    strstr(buf, "event=x.z b=\"two words\"\n") != NULL,
	    "log_set_level(warn): info dropped, warn kept");

	errno = ENOENT;
	log_warn("file.open", "path=%s", "/nope");
	n = drain(fds[0], buf, sizeof(buf));
	ok(n > 0 && strstr(buf, "event=file.open path=/nope "
	    "err=\"No such file or directory\"\n") != NULL &&
	    lines(buf) == 1, "log_warn: appends err from errno");
	log_set_level(LOGL_INFO);

	/* A line longer than LOG_LINE_MAX is cut, still one line. */
	if ((big = malloc(6000)) == NULL)
		abort();
	memset(big, 'x', 5999);
	big[5999] = '\0';
	log_info("x.big", "v=%s", big);
	free(big);
	n = drain(fds[0], buf, sizeof(buf));
	ok(n > 0 && n <= LOG_LINE_MAX && buf[n - 1] == '\n' &&
	    lines(buf) == 1, "long line: one line of %zu bytes", n);

	log_init("test", LOGL_INFO, LOG_FMT_JSON);
	log_info("x.y", "a=%d b=%s", 1, LQ("say \"hi\""));
	n = drain(fds[0], buf, sizeof(buf));
	ok(n > 2 && buf[0] == '{' && strcmp(buf + n - 2, "}\n") == 0 &&
	    lines(buf) == 1 && strstr(buf, "\"event\":\"x.y\"") != NULL &&
	    strstr(buf, "\"proc\":\"test\"") != NULL &&
	    strstr(buf, "\"b\":\"say \\\"hi\\\"\"") != NULL,
	    "json: one object per line");
	printf("#   %s", buf);

	log_init("test", LOGL_INFO, LOG_FMT_LOGFMT);
	log_set_fd(-1);
	close(fds[0]);
	close(fds[1]);
}

int
main(void)
{
	test_quote();
	test_mask();
	test_names();
	test_lines();
	return tap_done();
}
