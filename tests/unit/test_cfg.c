/*
 * config/: tables of {yaml, expected error} and {yaml, expected values},
 * secrets from the environment and from key files (in a temp folder
 * under /tmp), and the example configuration of the README.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/cfg.h"
#include "tap.h"

#define SECRET	"s3cr3tVALUE"	/* must never show in a message */

static char	tmpdir[] = "/tmp/test_cfg.XXXXXX";

/* Parses a copy without a NUL, so ASan sees any read past len. */
static int
parse_in(const char *yaml, size_t len, const char *base, struct cfg **out,
    struct cfg_err *err)
{
	char	*buf = malloc(len ? len : 1);
	int	 rc;

	memcpy(buf, yaml, len);
	rc = cfg_parse("t.yaml", buf, len, base, out, err);
	free(buf);
	return rc;
}

static int
parse(const char *yaml, const char *base, struct cfg **out,
    struct cfg_err *err)
{
	return parse_in(yaml, strlen(yaml), base, out, err);
}

/* the longest legal name */
#define N64	"a2345678901234567890123456789012" \
		"34567890123456789012345678901234"
#define S1	"streams:\n  s1:\n    key: abcdefgh\n"
#define R1	S1 "    relays:\n"

static const struct {
	const char	*yaml;
	const char	*err;
} bad[] = {
	/* unknown keys, at each level */
	{ "lisen: 0.0.0.0:1935\n",
	  "t.yaml:1:1: lisen: unknown key (expected one of: listen, app, "
	  "state_dir, http, http_token, http_token_file, log, streams, "
	  "relay_queue, relay_batch, limits, profiles)" },
	{ "log: { level: info, colour: red }\n",
	  "t.yaml:1:21: log.colour: unknown key (expected one of: level, "
	  "format, file)" },
	{ S1 "    keyy: x\n",
	  "t.yaml:4:5: streams.s1.keyy: unknown key (expected one of: key, "
	  "key_file, note, enabled, on_publisher_loss, grace, slate, "
	  "backup_key, backup_key_file, prefer, relays)" },
	{ R1 "      yt: { url: rtmp://x/y, profil: copy }\n",
	  "t.yaml:5:30: streams.s1.relays.yt.profil: unknown key (expected "
	  "one of: url, profile, enabled, queue, on_publisher_loss, grace)" },
	/* values */
	{ R1 "      yt: { url: rtmp://x/y, profile: 720p }\n",
	  "t.yaml:5:39: streams.s1.relays.yt.profile: unknown profile "
	  "\"720p\"" },
	{ "relay_batch: 2s\n",
	  "t.yaml:1:14: relay_batch: duration \"2s\" out of range (0 ms to "
	  "1000 ms)" },
	{ "relay_batch: fast\n",
	  "t.yaml:1:14: relay_batch: expected a duration such as 10s, 500ms "
	  "or 2m, got \"fast\"" },
	/* sizes: relay_queue and a relay's queue */
	{ "relay_queue: 8 MiB\n",
	  "t.yaml:1:14: relay_queue: expected a size such as 8MiB, 500k or "
	  "1048576 (units k, M, G, KiB, MiB, GiB), got \"8 MiB\"" },
	{ "relay_queue: 8mib\n",
	  "t.yaml:1:14: relay_queue: expected a size such as 8MiB, 500k or "
	  "1048576 (units k, M, G, KiB, MiB, GiB), got \"8mib\"" },
	{ "relay_queue: -1\n",
	  "t.yaml:1:14: relay_queue: expected a size such as 8MiB, 500k or "
	  "1048576 (units k, M, G, KiB, MiB, GiB), got \"-1\"" },
	{ "relay_queue: 18446744073709551616\n",
	  "t.yaml:1:14: relay_queue: expected a size such as 8MiB, 500k or "
	  "1048576 (units k, M, G, KiB, MiB, GiB), got "
	  "\"18446744073709551616\"" },
	{ "relay_queue: 18446744073709551615GiB\n",
	  "t.yaml:1:14: relay_queue: expected a size such as 8MiB, 500k or "
	  "1048576 (units k, M, G, KiB, MiB, GiB), got "
	  "\"18446744073709551615GiB\"" },
	{ "relay_queue: 262143\n",
	  "t.yaml:1:14: relay_queue: size \"262143\" out of range "
	  "(256KiB to 1GiB)" },
	{ "relay_queue: 1073741825\n",
	  "t.yaml:1:14: relay_queue: size \"1073741825\" out of range "
	  "(256KiB to 1GiB)" },
	{ "relay_queue: 2G\n",
	  "t.yaml:1:14: relay_queue: size \"2G\" out of range "
	  "(256KiB to 1GiB)" },
	{ "relay_queue: { a: 1 }\n",
	  "t.yaml:1:14: relay_queue: expected a string, got a mapping" },
	{ R1 "      yt: { url: rtmp://x/y, queue: 1.5M }\n",
	  "t.yaml:5:37: streams.s1.relays.yt.queue: expected a size such as "
	  "8MiB, 500k or 1048576 (units k, M, G, KiB, MiB, GiB), got "
	  "\"1.5M\"" },
	{ R1 "      yt:\n        url: rtmp://x/y\n        queue: 100KiB\n",
	  "t.yaml:7:16: streams.s1.relays.yt.queue: size \"100KiB\" "
	  "out of range (256KiB to 1GiB)" },
	{ "listen: 0.0.0.0:0\n",
	  "t.yaml:1:9: listen: bad port \"0\" (expected 1 to 65535)" },
	{ "listen: 0.0.0.0:65536\n",
	  "t.yaml:1:9: listen: bad port \"65536\" (expected 1 to 65535)" },
	{ "listen: 0.0.0.0:99999999999999999999\n",
	  "t.yaml:1:9: listen: bad port \"99999999999999999999\" (expected 1 "
	  "to 65535)" },
	{ "listen: localhost:http\n",
	  "t.yaml:1:9: listen: bad port \"http\" (expected 1 to 65535)" },
	{ "listen: \"0.0.0.0:\"\n",
	  "t.yaml:1:9: listen: bad port \"\" (expected 1 to 65535)" },
	{ "listen: :1935\n",
	  "t.yaml:1:9: listen: bad host in \":1935\"" },
	{ "listen: 1935\n",
	  "t.yaml:1:9: listen: expected host:port, got \"1935\"" },
	{ "listen: ::1:1935\n",
	  "t.yaml:1:9: listen: an IPv6 address goes in brackets: "
	  "\"[::]:1935\"" },
	{ "listen: \"[::1:1935\"\n",
	  "t.yaml:1:9: listen: expected host:port, got \"[::1:1935\"" },
	{ "listen: \"[]:1935\"\n",
	  "t.yaml:1:9: listen: bad host in \"[]:1935\"" },
	{ "listen: [::]:1935\n",
	  "t.yaml:1:10: did not find expected node content (quote IPv6 "
	  "addresses: \"[::]:1935\")" },
	{ "listen: [a]\n",
	  "t.yaml:1:9: listen: expected host:port (quote IPv6 addresses: "
	  "\"[::]:1935\")" },
	{ "listen: { host: a }\n",
	  "t.yaml:1:9: listen: expected a string, got a mapping" },
	{ "http: localhost\n",
	  "t.yaml:1:7: http: expected host:port, got \"localhost\"" },
	{ "http: \"a b:80\"\n",
	  "t.yaml:1:7: http: bad host in \"a b:80\"" },
	{ "http: 0.0.0.0:8935\n",
	  "t.yaml:1:7: http: \"0.0.0.0:8935\" is not a loopback address: "
	  "set http_token: (or http_token_file:) so that requests must "
	  "carry it" },
	{ "http: \"[::]:8935\"\n",
	  "t.yaml:1:7: http: \"[::]:8935\" is not a loopback address: "
	  "set http_token: (or http_token_file:) so that requests must "
	  "carry it" },
	{ "http: 127.0.0.1:8935\nhttp_token: short\n",
	  "t.yaml:2:13: http_token: token too short (at least 16 "
	  "characters)" },
	{ "http_token: \"0123456789abcdef \"\n",
	  "t.yaml:1:13: http_token: token must be printable ASCII without "
	  "spaces" },
	{ "http_token: 0123456789abcdef\nhttp_token_file: t.key\n",
	  "t.yaml:2:18: http_token_file: http_token and http_token_file are "
	  "mutually exclusive" },
	{ "app: li ve\n",
	  "t.yaml:1:6: app: invalid app name \"li ve\" (use A-Z a-z 0-9 _ -, "
	  "1 to 64 characters)" },
	{ "app: \"\"\n",
	  "t.yaml:1:6: app: invalid app name \"\" (use A-Z a-z 0-9 _ -, "
	  "1 to 64 characters)" },
	{ "app: \"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
	  "eeeeeeeeeeeeeeeeeeeeeeeee\\t\\t\\t\\t\"\n",
	  "t.yaml:1:6: app: invalid app name \"eeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
	  "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee\\x09\\x09...\" (use "
	  "A-Z a-z 0-9 _ -, 1 to 64 characters)" },
	{ "state_dir: \"\"\n",
	  "t.yaml:1:12: state_dir: empty path" },
	{ "log: { level: verbose }\n",
	  "t.yaml:1:15: log.level: unknown log level \"verbose\" (expected "
	  "one of: debug, info, warn, error)" },
	{ "log:\n  format: xml\n",
	  "t.yaml:2:11: log.format: unknown log format \"xml\" (expected one "
	  "of: logfmt, json)" },
	{ "log: info\n",
	  "t.yaml:1:6: log: expected a mapping, got a string" },
	{ S1 "    enabled: maybe\n",
	  "t.yaml:4:14: streams.s1.enabled: expected true or false, got "
	  "\"maybe\"" },
	{ S1 "    note: [a]\n",
	  "t.yaml:4:11: streams.s1.note: expected a string, got a list" },
	/* structure */
	{ "- a\n",
	  "t.yaml:1:1: expected a mapping, got a list" },
	{ "just text\n",
	  "t.yaml:1:1: expected a mapping, got a string" },
	{ "streams: [a]\n",
	  "t.yaml:1:10: streams: expected a mapping of stream names to "
	  "streams, got a list" },
	{ "streams:\n  s1: abcdefgh\n",
	  "t.yaml:2:7: streams.s1: expected a mapping, got a string" },
	{ S1 "    relays: [a]\n",
	  "t.yaml:4:13: streams.s1.relays: expected a mapping of relay names "
	  "to relays, got a list" },
	{ R1 "      yt: rtmp://x/y\n",
	  "t.yaml:5:11: streams.s1.relays.yt: expected a mapping, got a "
	  "string" },
	/* names */
	{ "streams:\n  bad.name:\n    key: abcdefgh\n",
	  "t.yaml:2:3: streams.bad.name: invalid stream name \"bad.name\" "
	  "(use A-Z a-z 0-9 _ -, 1 to 64 characters)" },
	{ "streams:\n  "
	  "a234567890123456789012345678901234567890123456789012345678901234"
	  "5:\n    key: abcdefgh\n",
	  "t.yaml:2:3: streams."
	  "a234567890123456789012345678901234567890123456789012345678901234"
	  "5: invalid stream name \"a2345678901234567890123456789012345678"
	  "901234567890123456789012345\" (use A-Z a-z 0-9 _ -, 1 to 64 "
	  "characters)" },
	{ R1 "      \"y t\": { url: rtmp://x/y }\n",
	  "t.yaml:5:7: streams.s1.relays.y t: invalid relay name \"y t\" "
	  "(use A-Z a-z 0-9 _ -, 1 to 64 characters)" },
	/* stream keys */
	{ "streams:\n  s1:\n    note: x\n",
	  "t.yaml:3:5: streams.s1: missing key (set key: or key_file:)" },
	{ "streams:\n  s1:\n    key:\n    note: x\n",
	  "t.yaml:3:9: streams.s1.key: missing value" },
	{ "streams:\n  s1:\n",
	  "t.yaml:2:6: streams.s1: expected a mapping, got nothing" },
	{ "streams:\n  s1:\n    key: short\n",
	  "t.yaml:3:10: streams.s1.key: stream key is too short (5 "
	  "characters, at least 8)" },
	{ "streams:\n  s1:\n    key: " SECRET "/x\n",
	  "t.yaml:3:10: streams.s1.key: stream key contains '/' (allowed: "
	  "A-Z a-z 0-9 . _ ~ -)" },
	{ "streams:\n  s1:\n    key: " SECRET "?x\n",
	  "t.yaml:3:10: streams.s1.key: stream key contains '?' (allowed: "
	  "A-Z a-z 0-9 . _ ~ -)" },
	{ "streams:\n  s1:\n    key: \"" SECRET " x\"\n",
	  "t.yaml:3:10: streams.s1.key: stream key contains a space "
	  "(allowed: A-Z a-z 0-9 . _ ~ -)" },
	{ "streams:\n  s1:\n    key: \"" SECRET "\\tx\"\n",
	  "t.yaml:3:10: streams.s1.key: stream key contains byte 0x09 "
	  "(allowed: A-Z a-z 0-9 . _ ~ -)" },
	{ "streams:\n  s1:\n    key: \"" SECRET "\\u00e9\"\n",
	  "t.yaml:3:10: streams.s1.key: stream key contains byte 0xc3 "
	  "(allowed: A-Z a-z 0-9 . _ ~ -)" },
	{ S1 "    key_file: k\n",
	  "t.yaml:4:15: streams.s1.key_file: key and key_file are mutually "
	  "exclusive" },
	{ "streams:\n  s1: { key_file: k, key: abcdefgh }\n",
	  "t.yaml:2:27: streams.s1.key: key and key_file are mutually "
	  "exclusive" },
	{ "streams:\n  a:\n    key: " SECRET "\n  b:\n    key: " SECRET "\n",
	  "t.yaml:5:10: streams.b.key: same key as streams.a" },
	{ "streams:\n  a: { key: " SECRET " }\n  b: { key: x" SECRET " }\n"
	  "  c: { key: " SECRET " }\n",
	  "t.yaml:4:13: streams.c.key: same key as streams.a" },
	/* relays */
	{ R1 "      yt: { profile: copy }\n",
	  "t.yaml:5:11: streams.s1.relays.yt: missing required key url" },
	{ R1 "      yt: { url: ~ }\n",
	  "t.yaml:5:18: streams.s1.relays.yt.url: missing value" },
	{ R1 "      yt: { url: \"http://x/" SECRET "\" }\n",
	  "t.yaml:5:18: streams.s1.relays.yt.url: url must start with "
	  "rtmp://, rtmps://, srt:// or file:" },
	{ R1 "      yt: { url: \"rtmp://\" }\n",
	  "t.yaml:5:18: streams.s1.relays.yt.url: url must start with "
	  "rtmp://, rtmps://, srt:// or file:" },
	{ R1 "      yt: { url: \"rtmp://x/" SECRET "\\n\" }\n",
	  "t.yaml:5:18: streams.s1.relays.yt.url: url contains a control "
	  "character" },
	{ R1 "      yt: { url: rtmp://x/y, enabled: 2 }\n",
	  "t.yaml:5:39: streams.s1.relays.yt.enabled: expected true or "
	  "false, got \"2\"" },
	/* environment */
	{ "streams:\n  s1:\n    key: ${CFGT_UNSET}\n",
	  "t.yaml:3:10: streams.s1.key: environment variable CFGT_UNSET is "
	  "not set" },
	{ "streams:\n  s1:\n    key: ${CFGT_EMPTY}\n",
	  "t.yaml:3:10: streams.s1.key: environment variable CFGT_EMPTY is "
	  "empty" },
	{ "streams:\n  s1:\n    key: " SECRET "${CFGT_KEY\n",
	  "t.yaml:3:10: streams.s1.key: unterminated ${ (write $${ for a "
	  "literal ${)" },
	{ "streams:\n  s1:\n    key: \"${" SECRET " x}\"\n",
	  "t.yaml:3:10: streams.s1.key: bad environment variable name in "
	  "${...} (use A-Z a-z 0-9 _)" },
	{ "streams:\n  s1:\n    key: ${}\n",
	  "t.yaml:3:10: streams.s1.key: bad environment variable name in "
	  "${...} (use A-Z a-z 0-9 _)" },
	{ "streams:\n  s1:\n    key: ${CFGT_SHORT}\n",
	  "t.yaml:3:10: streams.s1.key: stream key is too short (3 "
	  "characters, at least 8); it came from env CFGT_SHORT" },
	{ R1 "      yt: { url: \"rtmp://x/${CFGT_KEY}/${CFGT_UNSET}\" }\n",
	  "t.yaml:5:18: streams.s1.relays.yt.url: environment variable "
	  "CFGT_UNSET is not set" },
	{ "streams:\n  a: { key: \"${CFGT_KEY}\" }\n  b: { key: " SECRET " }\n",
	  "t.yaml:3:13: streams.b.key: same key as streams.a" },
	/* YAML features we refuse */
	{ "app: live\napp: other\n",
	  "t.yaml:2:1: app: duplicate key (first at line 1)" },
	{ "streams:\n  s1:\n    key: abcdefgh\n  s1:\n    key: abcdefgi\n",
	  "t.yaml:4:3: streams.s1: duplicate key (first at line 2)" },
	{ R1 "      yt: { url: rtmp://a/b, url: rtmp://c/d }\n",
	  "t.yaml:5:30: streams.s1.relays.yt.url: duplicate key (first at "
	  "line 5)" },
	{ "app: &a live\n",
	  "t.yaml:1:6: app: anchors and aliases are not supported" },
	{ "app: *a\n",
	  "t.yaml:1:6: app: anchors and aliases are not supported" },
	{ "log: &l { level: info }\n",
	  "t.yaml:1:6: log: anchors and aliases are not supported" },
	{ "app: !!str live\n",
	  "t.yaml:1:6: app: tags are not supported" },
	{ "app: live\n---\napp: other\n",
	  "t.yaml:2:1: only one YAML document is allowed" },
	{ "? [a]\n: b\n",
	  "t.yaml:1:3: mapping keys must be strings" },
	{ "\"a\\nb\": 1\n",
	  "t.yaml:1:1: a?b: unknown key (expected one of: listen, app, "
	  "state_dir, http, http_token, http_token_file, log, streams, "
	  "relay_queue, relay_batch, limits, profiles)" },
	{ "app: \"a\\0b\"\n",
	  "t.yaml:1:6: app: strings must not contain NUL characters" },
	/* syntax errors keep libyaml's words and position */
	{ "streams:\n\ts1:\n",
	  "t.yaml:2:1: found character that cannot start any token (tabs are "
	  "not allowed for indentation; use spaces)" },
	{ "app: [live\n",
	  "t.yaml:2:1: did not find expected ',' or ']' while parsing a flow "
	  "sequence at line 1 column 6" },
	{ "app: live\n\tlisten: x\n",
	  "t.yaml:2:1: found a tab character that violates indentation "
	  "while scanning a plain scalar at line 1 column 6" },
	{ "app: live\n  listen: x\n",
	  "t.yaml:2:9: mapping values are not allowed in this context" },
	{ "app: \"live\n",
	  "t.yaml:2:1: found unexpected end of stream while scanning a quoted "
	  "scalar at line 1 column 6" },
	{ "app: \xff\n",
	  "t.yaml:1:6: invalid leading UTF-8 octet (byte 0xff)" },
	{ "app: live\n\x01\n",
	  "t.yaml:2:1: control characters are not allowed (byte 0x01)" },
};

static void
test_errors(void)
{
	struct cfg_err	 err;
	struct cfg	*cfg, sentinel;
	size_t		 i;
	int		 rc;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cfg = &sentinel;
		memset(&err, 0, sizeof(err));
		rc = parse(bad[i].yaml, tmpdir, &cfg, &err);
		is_int(rc, -1, "bad[%zu] fails", i);
		ok(cfg == &sentinel, "bad[%zu] leaves *out alone", i);
		is_str(err.msg, bad[i].err, "bad[%zu] message", i);
		ok(strstr(err.msg, SECRET) == NULL, "bad[%zu] hides secrets",
		    i);
	}
}

/* The innermost frame of a too deep document, and a document with one
 * node too many: messages computed from the limits. */
static void
test_limits(void)
{
	struct cfg_err	 err;
	struct cfg	*cfg = NULL;
	char		*big, want[512];
	size_t		 i, n;

	big = malloc(200);
	n = (size_t)sprintf(big, "a: ");
	for (i = 0; i < 40; i++)
		big[n++] = '[';
	for (i = 0; i < 40; i++)
		big[n++] = ']';
	big[n++] = '\n';
	n = (size_t)sprintf(want, "t.yaml:1:35: a");
	for (i = 0; i < 31; i++)
		n += (size_t)sprintf(want + n, "[0]");
	sprintf(want + n, ": nesting too deep (limit 32)");
	is_int(parse_in(big, 84, NULL, &cfg, &err), -1, "deep nesting fails");
	is_str(err.msg, want, "deep nesting message");
	free(big);

	big = malloc(10001 * 16);
	for (i = 0, n = 0; i < 10001; i++)
		n += (size_t)sprintf(big + n, "k%zu: 0\n", i);
	is_int(parse_in(big, n, NULL, &cfg, &err), -1, "too many nodes fails");
	is_str(err.msg, "t.yaml:10000:8: k9999: too many nodes (limit 20000)",
	    "too many nodes message");
	free(big);

	n = 1024 * 1024 + 1;
	big = malloc(n);
	memset(big, '#', n);
	is_int(parse_in(big, n, NULL, &cfg, &err), -1, "too large fails");
	is_str(err.msg, "t.yaml: too large (1048577 bytes, limit 1048576)",
	    "too large message");
	memset(big, ' ', n - 1);
	memcpy(big, "app: x", 6);
	is_int(parse_in(big, n - 1, NULL, &cfg, &err), 0, "1 MiB is fine");
	cfg_free(cfg);
	free(big);
}

static void
test_defaults(void)
{
	static const char *const empty[] = {
		"", "\n", "# nothing\n", "~\n", "{}\n", "---\n...\n",
		"streams:\nlog:\nhttp: ~\n",
	};
	struct cfg_err	 err;
	struct cfg	*cfg;
	size_t		 i;

	for (i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		cfg = NULL;
		if (parse(empty[i], "/etc/m", &cfg, &err) == -1) {
			ok(0, "empty[%zu]: %s", i, err.msg);
			continue;
		}
		is_str(cfg->path, "t.yaml", "empty[%zu] path", i);
		is_str(cfg->listen_host, "0.0.0.0", "empty[%zu] host", i);
		is_int(cfg->listen_port, 1935, "empty[%zu] port", i);
		is_str(cfg->app, "live", "empty[%zu] app", i);
		is_str(cfg->state_dir, "/etc/m/var", "empty[%zu] state_dir", i);
		ok(cfg->http == NULL, "empty[%zu] no http", i);
		is_int(cfg->log_level, LOGL_INFO, "empty[%zu] level", i);
		is_int(cfg->log_format, LOG_FMT_LOGFMT, "empty[%zu] format", i);
		is_int(cfg->nstreams, 0, "empty[%zu] no streams", i);
		cfg_free(cfg);
	}
	is_int(parse("", NULL, &cfg, &err), 0, "no base_dir");
	is_str(cfg->state_dir, "var", "state_dir stays relative");
	cfg_free(cfg);
	is_int(cfg_parse(NULL, NULL, 0, NULL, &cfg, NULL), 0, "NULL text");
	cfg_free(cfg);
	cfg_free(NULL);
}

static void
test_queue(void)
{
	static const struct {
		const char	*text;
		size_t		 bytes;
	} sizes[] = {
		{ "262144", 256 * 1024 }, { "256KiB", 256 * 1024 },
		{ "500k", 500000 }, { "16MiB", 16 * 1024 * 1024 },
		{ "16M", 16000000 }, { "1G", 1000000000 },
		{ "1GiB", 1024 * 1024 * 1024 }, { "1073741824", 1 << 30 },
		{ "0008MiB", 8 * 1024 * 1024 },
	};
	struct cfg_err	 err;
	struct cfg	*cfg;
	char		 yaml[256];
	size_t		 i;

	if (parse(R1 "      a: { url: rtmp://x/y }\n", NULL, &cfg, &err) == 0) {
		is_int(cfg->relay_queue_bytes, 8 * 1024 * 1024,
		    "relay_queue defaults to 8 MiB");
		is_int(cfg->streams[0].relays[0].queue_bytes, 0,
		    "a relay without queue: follows relay_queue");
		is_int(cfg->relay_batch_ms, 100, "relay_batch defaults to "
		    "100 ms");
		cfg_free(cfg);
	} else
		ok(0, "default queue parses: %s", err.msg);
	if (parse("relay_batch: 0\n" R1 "      a: { url: rtmp://x/y }\n",
	    NULL, &cfg, &err) == 0) {
		is_int(cfg->relay_batch_ms, 0, "relay_batch: 0 turns it off");
		cfg_free(cfg);
	} else
		ok(0, "relay_batch: 0 parses: %s", err.msg);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(yaml, sizeof(yaml), "relay_queue: %s\n" R1
		    "      a: { url: rtmp://x/y, queue: \"%s\" }\n"
		    "      b: { url: rtmp://x/z, queue: ~ }\n",
		    sizes[i].text, sizes[i].text);
		if (parse(yaml, NULL, &cfg, &err) == -1) {
			ok(0, "sizes[%zu] %s: %s", i, sizes[i].text, err.msg);
			continue;
		}
		is_int(cfg->relay_queue_bytes, sizes[i].bytes,
		    "relay_queue: %s", sizes[i].text);
		is_int(cfg->streams[0].relays[0].queue_bytes, sizes[i].bytes,
		    "queue: \"%s\" (quoted)", sizes[i].text);
		is_int(cfg->streams[0].relays[1].queue_bytes, 0,
		    "queue: ~ keeps the default");
		cfg_free(cfg);
	}
}

/* limits: defaults, every key, and values out of their ranges. */
static void
test_limit_keys(void)
{
	static const struct {
		const char	*yaml, *msg;
	} bad_limits[] = {
		{ "limits: { connections: 0 }\n", "t.yaml:1:24: "
		  "limits.connections: \"0\" out of range (1 to 65535)" },
		{ "limits: { connections: -1 }\n", "t.yaml:1:24: "
		  "limits.connections: expected a whole number, got \"-1\"" },
		{ "limits: { streams: 1e3 }\n", "t.yaml:1:20: "
		  "limits.streams: expected a whole number, got \"1e3\"" },
		{ "limits: { idle_timeout: 10d }\n", "t.yaml:1:25: "
		  "limits.idle_timeout: expected a duration such as 10s, 500ms "
		  "or 2m, got \"10d\"" },
		{ "limits: { handshake_timeout: 999ms }\n", "t.yaml:1:30: "
		  "limits.handshake_timeout: duration \"999ms\" out of range "
		  "(1000 ms to 600000 ms)" },
		{ "limits: { max_message: 9MiB }\n", "t.yaml:1:24: "
		  "limits.max_message: size \"9MiB\" out of range (64KiB to "
		  "8MiB)" },
		{ "limits: { max_chunk_size: 127 }\n", "t.yaml:1:27: "
		  "limits.max_chunk_size: size \"127\" out of range (128 to "
		  "2147483647)" },
		{ "limits: { conections: 5 }\n", "t.yaml:1:11: "
		  "limits.conections: unknown key (expected one of: "
		  "connections, connections_per_host, handshake_timeout, "
		  "publish_timeout, idle_timeout, max_message, max_chunk_size, "
		  "streams)" },
	};
	struct cfg_err	 err;
	struct cfg	*cfg = NULL;
	size_t		 i;

	if (parse("", NULL, &cfg, &err) == 0) {
		is_int(cfg->limits.connections, 256, "connections default");
		is_int(cfg->limits.connections_per_host, 32,
		    "connections_per_host default");
		is_int(cfg->limits.handshake_ms, 10000, "handshake default");
		is_int(cfg->limits.publish_ms, 15000, "publish default");
		is_int(cfg->limits.idle_ms, 30000, "idle default");
		is_int(cfg->limits.max_message_bytes, 8 << 20,
		    "max_message default");
		is_int(cfg->limits.max_chunk_size, 16 << 20,
		    "max_chunk_size default");
		is_int(cfg->limits.streams, 64, "streams default");
		cfg_free(cfg);
	} else
		ok(0, "defaults: %s", err.msg);
	if (parse("limits:\n  connections: 1000\n  connections_per_host: 4\n"
	    "  handshake_timeout: 5s\n  publish_timeout: 1500ms\n"
	    "  idle_timeout: 2m\n  max_message: 1MiB\n"
	    "  max_chunk_size: 65536\n  streams: 3\n", NULL, &cfg,
	    &err) == 0) {
		is_int(cfg->limits.connections, 1000, "connections");
		is_int(cfg->limits.connections_per_host, 4,
		    "connections_per_host");
		is_int(cfg->limits.handshake_ms, 5000, "handshake_timeout 5s");
		is_int(cfg->limits.publish_ms, 1500, "publish_timeout 1500ms");
		is_int(cfg->limits.idle_ms, 120000, "idle_timeout 2m");
		is_int(cfg->limits.max_message_bytes, 1 << 20, "max_message");
		is_int(cfg->limits.max_chunk_size, 65536, "max_chunk_size");
		is_int(cfg->limits.streams, 3, "streams");
		cfg_free(cfg);
	} else
		ok(0, "limits: %s", err.msg);
	for (i = 0; i < sizeof(bad_limits) / sizeof(bad_limits[0]); i++) {
		cfg = NULL;
		is_int(parse(bad_limits[i].yaml, NULL, &cfg, &err), -1,
		    "bad limit[%zu] fails", i);
		is_str(err.msg, bad_limits[i].msg, "bad limit[%zu] message", i);
	}
}

static const char full[] =
    "listen: \"[::1]:1936\"\n"
    "app: live_2-x\n"
    "state_dir: /var/lib/mirroring\n"
    "http: \"[::1]:8935\"\n"
    "log: { level: debug, format: json }\n"
    "streams:\n"
    "  studio:\n"
    "    key: ${CFGT_KEY}\n"
    "    note: \"main camera\"\n"
    "    enabled: no\n"
    "    relays:\n"
    "      youtube: { url: \"rtmp://a.example/live2/${CFGT_KEY}\" }\n"
    "      twitch:\n"
    "        url: \"rtmps://b.example/${CFGT_A}/${CFGT_KEY}/${CFGT_A}\"\n"
    "        profile: copy\n"
    "        enabled: off\n"
    "      lit: { url: \"srt://c.example:9000?streamid=$${X}\", "
    "enabled: On }\n"
    "  side_cam:\n"
    "    key: abc.DEF_~-9\n"
    "    relays: {}\n"
    "  third:\n"
    "    key: \"pre-${CFGT_A}-post\"\n"
    "    enabled: YES\n";

static void
test_full(void)
{
	const struct cfg_stream	*st;
	const struct cfg_relay	*r;
	struct cfg_err		 err;
	struct cfg		*cfg;

	if (parse(full, tmpdir, &cfg, &err) == -1) {
		ok(0, "full config parses: %s", err.msg);
		return;
	}
	is_str(cfg->listen_host, "::1", "IPv6 listen host");
	is_int(cfg->listen_port, 1936, "listen port");
	is_str(cfg->app, "live_2-x", "app");
	is_str(cfg->state_dir, "/var/lib/mirroring", "absolute state_dir");
	is_str(cfg->http, "[::1]:8935", "http kept as written");
	is_int(cfg->log_level, LOGL_DEBUG, "log level");
	is_int(cfg->log_format, LOG_FMT_JSON, "log format");
	is_int(cfg->nstreams, 3, "three streams");

	st = &cfg->streams[0];
	is_str(st->name, "studio", "stream name");
	is_str(st->key.value, SECRET, "key from env");
	is_str(st->key.origin, "env CFGT_KEY", "key origin");
	is_str(st->note, "main camera", "note");
	ok(!st->enabled, "enabled: no");
	is_int(st->line, 7, "stream line");
	is_int(st->col, 3, "stream col");
	is_int(st->nrelays, 3, "three relays");
	r = &st->relays[0];
	is_str(r->name, "youtube", "relay name");
	is_str(r->url.value, "rtmp://a.example/live2/" SECRET, "url from env");
	is_str(r->url.origin, "env CFGT_KEY", "url origin");
	is_str(r->profile, "copy", "profile defaults to copy");
	ok(r->enabled, "relay enabled by default");
	is_int(r->line, 12, "relay line");
	is_int(r->col, 7, "relay col");
	r = &st->relays[1];
	is_str(r->url.value, "rtmps://b.example/aa/" SECRET "/aa",
	    "several vars");
	is_str(r->url.origin, "env CFGT_A,CFGT_KEY", "each var named once");
	ok(!r->enabled, "enabled: off");
	r = &st->relays[2];
	is_str(r->url.value, "srt://c.example:9000?streamid=${X}",
	    "$${ is a literal ${");
	is_str(r->url.origin, "inline", "escape only: inline");
	ok(r->enabled, "enabled: On");

	st = &cfg->streams[1];
	is_str(st->key.value, "abc.DEF_~-9", "every key character");
	is_str(st->key.origin, "inline", "inline key");
	ok(st->note == NULL, "no note");
	ok(st->enabled, "stream enabled by default");
	is_int(st->nrelays, 0, "empty relays");
	st = &cfg->streams[2];
	is_str(st->key.value, "pre-aa-post", "var inside a key");
	ok(st->enabled, "enabled: YES");

	ok(cfg_stream_find(cfg, "side_cam") == &cfg->streams[1], "find");
	ok(cfg_stream_find(cfg, "nope") == NULL, "find missing");
	ok(cfg_stream_find(cfg, NULL) == NULL, "find NULL");
	cfg_free(cfg);
}

static void
test_bools(void)
{
	static const struct {
		const char	*s;
		int		 want;
	} t[] = {
		{ "true", 1 }, { "false", 0 }, { "yes", 1 }, { "no", 0 },
		{ "on", 1 }, { "off", 0 }, { "True", 1 }, { "OFF", 0 },
		{ "\"yes\"", 1 }, { "~", 1 },
	};
	struct cfg_err	 err;
	struct cfg	*cfg;
	char		 yaml[128];
	size_t		 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(yaml, sizeof(yaml), S1 "    enabled: %s\n", t[i].s);
		if (parse(yaml, NULL, &cfg, &err) == -1) {
			ok(0, "bool %s: %s", t[i].s, err.msg);
			continue;
		}
		is_int(cfg->streams[0].enabled, t[i].want, "bool %s", t[i].s);
		cfg_free(cfg);
	}
}

static void
test_names(void)
{
	static const struct {
		const char	*s;
		bool		 want;
	} t[] = {
		{ "studio", true }, { "a", true }, { "A-z_09", true },
		{ "", false }, { "a b", false }, { "a.b", false },
		{ "a/b", false }, { "é", false }, { NULL, false },
		{ N64, true }, { N64 "5", false },
	};
	size_t	i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		is_int(cfg_name_ok(t[i].s), t[i].want, "cfg_name_ok(%s)",
		    t[i].s ? t[i].s : "NULL");
}

static char *
write_file(const char *name, const char *text, size_t len, mode_t mode)
{
	static char	path[256];
	int		fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd == -1 || write(fd, text, len) != (ssize_t)len)
		ok(0, "write %s", path);
	if (fd != -1)
		close(fd);
	chmod(path, mode);
	return path;
}

static void
test_key_file(void)
{
	static const struct {
		const char	*yaml;
		const char	*err;
	} t[] = {
		{ "streams:\n  s1:\n    key_file: secrets/none.key\n",
		  "t.yaml:3:15: streams.s1.key_file: cannot open "
		  "secrets/none.key: No such file or directory" },
		{ "streams:\n  s1:\n    key_file: open.key\n",
		  "t.yaml:3:15: streams.s1.key_file: open.key is readable by "
		  "others (mode 0644): chmod 600 it" },
		{ "streams:\n  s1:\n    key_file: group.key\n",
		  "t.yaml:3:15: streams.s1.key_file: group.key is readable by "
		  "others (mode 0640): chmod 600 it" },
		{ "streams:\n  s1:\n    key_file: empty.key\n",
		  "t.yaml:3:15: streams.s1.key_file: empty.key is empty" },
		{ "streams:\n  s1:\n    key_file: big.key\n",
		  "t.yaml:3:15: streams.s1.key_file: big.key is larger than "
		  "4096 bytes" },
		{ "streams:\n  s1:\n    key_file: nul.key\n",
		  "t.yaml:3:15: streams.s1.key_file: nul.key contains a NUL "
		  "byte" },
		{ "streams:\n  s1:\n    key_file: secrets\n",
		  "t.yaml:3:15: streams.s1.key_file: secrets is not a regular "
		  "file" },
		{ "streams:\n  s1:\n    key_file: two.key\n",
		  "t.yaml:3:15: streams.s1.key_file: stream key contains byte "
		  "0x0a (allowed: A-Z a-z 0-9 . _ ~ -); it came from file "
		  "two.key" },
		{ "streams:\n  s1:\n    key_file: \"\"\n",
		  "t.yaml:3:15: streams.s1.key_file: empty path" },
		{ "streams:\n  a:\n    key: " SECRET "\n"
		  "  b:\n    key_file: secrets/studio.key\n",
		  "t.yaml:5:15: streams.b.key_file: same key as streams.a" },
	};
	struct cfg_err	 err;
	struct cfg	*cfg;
	char		 big[5000], dir[256], yaml[512];
	size_t		 i;

	snprintf(dir, sizeof(dir), "%s/secrets", tmpdir);
	mkdir(dir, 0700);
	write_file("secrets/studio.key", SECRET " \r\n\n", 15, 0600);
	write_file("open.key", SECRET, 11, 0644);
	write_file("group.key", SECRET, 11, 0640);
	write_file("empty.key", " \n", 2, 0600);
	memset(big, 'a', sizeof(big));
	write_file("big.key", big, sizeof(big), 0600);
	write_file("nul.key", "abcd\0efgh\n", 10, 0600);
	write_file("two.key", SECRET "\n" SECRET "\n", 24, 0600);

	if (parse("streams:\n  s1:\n    key_file: secrets/studio.key\n",
	    tmpdir, &cfg, &err) == -1)
		ok(0, "key_file: %s", err.msg);
	else {
		is_str(cfg->streams[0].key.value, SECRET, "key_file trimmed");
		is_str(cfg->streams[0].key.origin, "file secrets/studio.key",
		    "key_file origin");
		cfg_free(cfg);
	}
	snprintf(yaml, sizeof(yaml), "streams:\n  s1:\n    key_file: "
	    "%s/secrets/studio.key\n", tmpdir);
	if (parse(yaml, "/nonexistent", &cfg, &err) == -1)
		ok(0, "absolute key_file: %s", err.msg);
	else {
		is_str(cfg->streams[0].key.value, SECRET, "absolute key_file");
		cfg_free(cfg);
	}
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cfg = NULL;
		is_int(parse(t[i].yaml, tmpdir, &cfg, &err), -1,
		    "key_file[%zu] fails", i);
		is_str(err.msg, t[i].err, "key_file[%zu] message", i);
		ok(strstr(err.msg, SECRET) == NULL, "key_file[%zu] hides "
		    "secrets", i);
	}
}

static void
test_load(void)
{
	struct cfg_err	 err;
	struct cfg	*cfg;
	const char	*text;
	char		 path[256], want[512], *big;
	size_t		 n = 1024 * 1024 + 1;

	if (cfg_load("../../config/mirroring.example.yaml", &cfg, &err) == -1) {
		ok(0, "example config: %s", err.msg);
	} else {
		is_str(cfg->path, "../../config/mirroring.example.yaml",
		    "example path");
		is_str(cfg->listen_host, "0.0.0.0", "example host");
		is_int(cfg->listen_port, 1935, "example port");
		is_str(cfg->app, "live", "example app");
		is_str(cfg->state_dir, "../../config/var", "example state_dir");
		is_int(cfg->nstreams, 1, "example has one stream");
		is_str(cfg->streams[0].name, "studio", "example stream");
		is_str(cfg->streams[0].key.origin, "inline", "example key");
		cfg_free(cfg);
	}

	snprintf(path, sizeof(path), "%s/none.yaml", tmpdir);
	is_int(cfg_load(path, &cfg, &err), -1, "missing file fails");
	snprintf(want, sizeof(want), "%s: cannot read: No such file or "
	    "directory", path);
	is_str(err.msg, want, "missing file message");
	is_int(cfg_load(tmpdir, &cfg, &err), -1, "directory fails");
	snprintf(want, sizeof(want), "%s: cannot read: Is a directory",
	    tmpdir);
	is_str(err.msg, want, "directory message");

	big = malloc(n);
	memset(big, '\n', n);
	snprintf(path, sizeof(path), "%s", write_file("big.yaml", big, n,
	    0600));
	free(big);
	is_int(cfg_load(path, &cfg, &err), -1, "big file fails");
	snprintf(want, sizeof(want), "%s: too large (limit 1048576 bytes)",
	    path);
	is_str(err.msg, want, "big file message");

	text = "streams:\n  s1:\n    key_file: secrets/studio.key\n";
	snprintf(path, sizeof(path), "%s", write_file("m.yaml", text,
	    strlen(text), 0600));
	if (cfg_load(path, &cfg, &err) == -1)
		ok(0, "load with key_file: %s", err.msg);
	else {
		snprintf(want, sizeof(want), "%s/var", tmpdir);
		is_str(cfg->state_dir, want, "state_dir next to the file");
		is_str(cfg->streams[0].key.value, SECRET,
		    "key_file next to the file");
		cfg_free(cfg);
	}
	snprintf(path, sizeof(path), "%s", write_file("e.yaml", "app: [\n",
	    7, 0600));
	is_int(cfg_load(path, &cfg, &err), -1, "syntax error via load");
	ok(strncmp(err.msg, path, strlen(path)) == 0 &&
	    strncmp(err.msg + strlen(path), ":2:1: ", 6) == 0,
	    "load names the file: %s", err.msg);
}

static void
test_ops(void)
{
	static const char *const loop[] = {
		"127.0.0.1", "127.1.2.3", "::1", "localhost", "LocalHost",
	};
	static const char *const notloop[] = {
		"0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "example.org",
		"::ffff:127.0.0.1", "",
	};
	struct cfg_err	 err;
	struct cfg	*cfg;
	const char	*text;
	char		 path[256], want[512], *dir;
	size_t		 i;

	for (i = 0; i < sizeof(loop) / sizeof(loop[0]); i++)
		ok(cfg_host_loopback(loop[i]), "%s is loopback", loop[i]);
	for (i = 0; i < sizeof(notloop) / sizeof(notloop[0]); i++)
		ok(!cfg_host_loopback(notloop[i]), "%s is not loopback",
		    notloop[i]);

	text = "http: 0.0.0.0:8935\nhttp_token: 0123456789abcdef\n"
	    "log: { file: m.log }\n";
	if (cfg_parse("t.yaml", text, strlen(text), "/etc/m", &cfg,
	    &err) == -1)
		ok(0, "token and log.file: %s", err.msg);
	else {
		is_str(cfg->http_token.value, "0123456789abcdef", "token");
		is_str(cfg->http_token.origin, "inline", "token origin");
		is_str(cfg->log_file, "/etc/m/var/m.log",
		    "log.file under state_dir");
		cfg_free(cfg);
	}
	text = "log: { file: /var/log/m.log }\n";
	if (cfg_parse("t.yaml", text, strlen(text), "/etc/m", &cfg,
	    &err) == -1)
		ok(0, "absolute log.file: %s", err.msg);
	else {
		is_str(cfg->log_file, "/var/log/m.log", "absolute log.file");
		ok(cfg->http_token.value == NULL, "no token by default");
		cfg_free(cfg);
	}

	/* stop/reload/status find the state_dir of an invalid config */
	text = "state_dir: st\nbogus: 1\nstreams: 3\n";
	snprintf(path, sizeof(path), "%s", write_file("s.yaml", text,
	    strlen(text), 0600));
	is_int(cfg_load(path, &cfg, &err), -1, "the broken config fails");
	if (cfg_state_dir(path, &dir, &err) == -1)
		ok(0, "cfg_state_dir: %s", err.msg);
	else {
		snprintf(want, sizeof(want), "%s/st", tmpdir);
		is_str(dir, want, "cfg_state_dir of a broken config");
		free(dir);
	}
	text = "app: x\n";
	snprintf(path, sizeof(path), "%s", write_file("s.yaml", text,
	    strlen(text), 0600));
	if (cfg_state_dir(path, &dir, &err) == 0) {
		snprintf(want, sizeof(want), "%s/var", tmpdir);
		is_str(dir, want, "cfg_state_dir default");
		free(dir);
	} else
		ok(0, "cfg_state_dir default: %s", err.msg);
	snprintf(path, sizeof(path), "%s/none.yaml", tmpdir);
	is_int(cfg_state_dir(path, &dir, &err), -1, "cfg_state_dir of no file");
}

static void
cleanup(void)
{
	static const char *const files[] = {
		"secrets/studio.key", "open.key", "group.key", "empty.key",
		"big.key", "nul.key", "two.key", "big.yaml", "m.yaml",
		"e.yaml", "s.yaml", "backup.key", "slate.png", "secrets",
	};
	char	path[256];
	size_t	i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, files[i]);
		remove(path);
	}
	rmdir(tmpdir);
}

/* profiles: */
#define P1	"profiles:\n  low:\n"
static const struct {
	const char	*yaml;
	const char	*err;
} bad_profiles[] = {
	{ P1 "    video: { codec: libx264, width: 641 }\n",
	  "t.yaml:3:37: profiles.low.video.width: impossible size \"641\": "
	  "must be even (4:2:0 chroma)" },
	{ P1 "    video: { codec: libx264, height: 0 }\n",
	  "t.yaml:3:38: profiles.low.video.height: impossible size \"0\" "
	  "(expected 16 to 8192 pixels)" },
	{ P1 "    video: { codec: libx264, width: 99999 }\n",
	  "t.yaml:3:37: profiles.low.video.width: impossible size \"99999\" "
	  "(expected 16 to 8192 pixels)" },
	{ P1 "    video: { width: 640 }\n",
	  "t.yaml:3:12: profiles.low.video.codec: missing codec (an encoder "
	  "such as libx264, or copy)" },
	{ P1 "    video: { codec: copy, width: 640 }\n",
	  "t.yaml:3:27: profiles.low.video.width: video copy takes no other "
	  "settings" },
	{ P1 "    video: { codec: libx264, fps: 0 }\n",
	  "t.yaml:3:35: profiles.low.video.fps: \"0\" is out of range (1 to "
	  "240)" },
	{ P1 "    video: { codec: libx264, fps: fast }\n",
	  "t.yaml:3:35: profiles.low.video.fps: expected frames per second "
	  "such as 30, 29.97 or 30000/1001, got \"fast\"" },
	{ P1 "    video: { codec: libx264, bitrate: 800x }\n",
	  "t.yaml:3:39: profiles.low.video.bitrate: expected bits per second "
	  "such as 800k or 3M, got \"800x\"" },
	{ P1 "    video: { codec: libx264, bitrate: 2M, maxrate: 1M }\n",
	  "t.yaml:3:52: profiles.low.video.maxrate: maxrate (1000000 bit/s) "
	  "is below bitrate (2000000 bit/s)" },
	{ P1 "    video: { codec: libx264, bufsize: 2M }\n",
	  "t.yaml:3:39: profiles.low.video.bufsize: bufsize needs maxrate" },
	{ P1 "    video: { codec: libx264, keyint: 2x }\n",
	  "t.yaml:3:38: profiles.low.video.keyint: expected seconds (2s), "
	  "milliseconds (500ms) or frames (60), got \"2x\"" },
	{ P1 "    video: { codec: libx264, keyint: 0.01s }\n",
	  "t.yaml:3:38: profiles.low.video.keyint: \"0.01s\" is out of range "
	  "(0.1s to 60s)" },
	{ P1 "    video: { codec: libx264, sharpness: 3 }\n",
	  "t.yaml:3:30: profiles.low.video.sharpness: unknown key (expected "
	  "one of: codec, width, height, fps, bitrate, maxrate, bufsize, "
	  "preset, tune, keyint, profile, level, pix_fmt)" },
	{ P1 "    video: { codec: \"lib x264\" }\n",
	  "t.yaml:3:21: profiles.low.video.codec: invalid codec \"lib x264\"" },
	{ P1 "    audio: { codec: aac, channels: 9 }\n",
	  "t.yaml:3:36: profiles.low.audio.channels: expected 1 to 8 "
	  "channels, got \"9\"" },
	{ P1 "    audio: { codec: aac, sample_rate: 44.1k }\n",
	  "t.yaml:3:39: profiles.low.audio.sample_rate: expected a sample "
	  "rate from 8000 to 192000, got \"44.1k\"" },
	{ P1 "    audio: { codec: aac, bitrate: 2M }\n",
	  "t.yaml:3:35: profiles.low.audio.bitrate: \"2M\" is out of range "
	  "(6k to 1000k)" },
	{ P1 "    audio: mute\n",
	  "t.yaml:3:12: profiles.low.audio: expected copy or a mapping of "
	  "audio settings" },
	{ P1 "    subtitles: copy\n",
	  "t.yaml:3:5: profiles.low.subtitles: unknown key (expected one of: "
	  "from, video, audio)" },
	{ P1 "    from: myspace\n",
	  "t.yaml:3:11: profiles.low.from: unknown preset \"myspace\" "
	  "(expected one of: youtube, twitch, facebook, kick)" },
	{ P1 "    from: twitch\n    video: { bitrate: 8M }\n",
	  "t.yaml:4:23: profiles.low.video.bitrate: bitrate (8000000 bit/s) "
	  "is above the preset's maxrate (6000000 bit/s)" },
	{ "profiles:\n  copy: { video: copy }\n",
	  "t.yaml:2:3: profiles.copy: copy is built in and cannot be "
	  "redefined" },
	{ "profiles:\n  \"a b\": { video: copy }\n",
	  "t.yaml:2:3: profiles.a b: invalid profile name \"a b\" (use A-Z "
	  "a-z 0-9 _ -, 1 to 64 characters)" },
	{ "profiles: [ low ]\n",
	  "t.yaml:1:11: profiles: expected a mapping of profile names to "
	  "profiles" },
	/* profiles may follow the streams that use them */
	{ R1 "      yt: { url: rtmp://x/y, profile: lw }\n"
	  P1 "    video: copy\n",
	  "t.yaml:5:39: streams.s1.relays.yt.profile: unknown profile "
	  "\"lw\"" },
	{ R1 "      yt: { url: rtmp://x/y, profile: \"l w\" }\n",
	  "t.yaml:5:39: streams.s1.relays.yt.profile: invalid profile name "
	  "\"l w\" (use A-Z a-z 0-9 _ -, 1 to 64 characters)" },
};

/* Refuses codec "nope" and, for an rtmp:// relay, audio codec libopus. */
static int
check_fake(const struct cfg_profile *p, const char *url, enum cfg_pf *f,
    char *why, size_t whylen)
{
	if (url == NULL && p->video.codec != NULL &&
	    strcmp(p->video.codec, "nope") == 0) {
		*f = CFG_PF_VCODEC;
		snprintf(why, whylen, "unknown encoder");
		return -1;
	}
	if (url != NULL && strncmp(url, "rtmp://", 7) == 0 &&
	    p->audio.codec != NULL && strcmp(p->audio.codec, "libopus") == 0) {
		*f = CFG_PF_ACODEC;
		snprintf(why, whylen, "flv cannot carry opus");
		return -1;
	}
	return 0;
}

static void
test_profiles(void)
{
	static const char	 good[] =
	    "profiles:\n"
	    "  low:\n"
	    "    video: { codec: libx264, width: 640, height: 360, fps: 30,\n"
	    "             bitrate: 800k, maxrate: 1M, bufsize: 2M,\n"
	    "             preset: veryfast, tune: zerolatency, keyint: 2s,\n"
	    "             profile: main, level: \"3.1\", pix_fmt: yuv420p }\n"
	    "    audio: { codec: aac, bitrate: 96k, sample_rate: 44100,\n"
	    "             channels: 1 }\n"
	    "  ntsc:\n"
	    "    video: { codec: libx264, height: 480, fps: 30000/1001,\n"
	    "             keyint: 60 }\n"
	    "  pal: { video: { codec: libx265, fps: 29.97, keyint: 500ms } }\n"
	    "  audio-only: { video: copy, audio: { codec: libopus } }\n"
	    S1
	    "    relays:\n"
	    "      a: { url: rtmp://h/a/b, profile: low }\n"
	    "      b: { url: \"srt://h:9000\", profile: audio-only }\n"
	    "      c: { url: rtmp://h/a/c }\n";
	const struct cfg_profile	*p;
	const struct cfg_relay		*r;
	struct cfg_err			 err;
	struct cfg			*cfg = NULL, sentinel;
	size_t				 i;
	char				*y;

	for (i = 0; i < sizeof(bad_profiles) / sizeof(bad_profiles[0]); i++) {
		cfg = &sentinel;
		memset(&err, 0, sizeof(err));
		is_int(parse(bad_profiles[i].yaml, tmpdir, &cfg, &err), -1,
		    "bad_profiles[%zu] fails", i);
		ok(cfg == &sentinel, "bad_profiles[%zu] leaves *out alone", i);
		is_str(err.msg, bad_profiles[i].err,
		    "bad_profiles[%zu] message", i);
	}
	if (parse(good, tmpdir, &cfg, &err) == -1) {
		ok(0, "profiles parse: %s", err.msg);
		return;
	}
	is_int((int)cfg->nprofiles, 8, "four profiles and four presets");
	p = cfg_profile_find(cfg, "low");
	ok(p != NULL && strcmp(p->video.codec, "libx264") == 0 &&
	    p->video.width == 640 && p->video.height == 360 &&
	    p->video.fps_num == 30 && p->video.fps_den == 1 &&
	    p->video.bitrate_bps == 800000 && p->video.maxrate_bps == 1000000 &&
	    p->video.bufsize_bps == 2000000 &&
	    strcmp(p->video.preset, "veryfast") == 0 &&
	    strcmp(p->video.tune, "zerolatency") == 0 &&
	    p->video.keyint_ms == 2000 && p->video.keyint_frames == 0 &&
	    strcmp(p->video.profile, "main") == 0 &&
	    strcmp(p->video.level, "3.1") == 0 &&
	    strcmp(p->video.pix_fmt, "yuv420p") == 0, "low: video settings");
	ok(p != NULL && strcmp(p->audio.codec, "aac") == 0 &&
	    p->audio.bitrate_bps == 96000 && p->audio.sample_rate == 44100 &&
	    p->audio.channels == 1, "low: audio settings");
	ok(p != NULL && p->pos[CFG_PF_WIDTH].line == 3 &&
	    p->pos[CFG_PF_WIDTH].col == 37, "low: width's position kept");
	p = cfg_profile_find(cfg, "ntsc");
	ok(p != NULL && p->video.width == 0 && p->video.height == 480 &&
	    p->video.fps_num == 30000 && p->video.fps_den == 1001 &&
	    p->video.keyint_frames == 60 && p->video.keyint_ms == 0 &&
	    p->audio.codec == NULL, "ntsc: height alone, fps ratio, keyint "
	    "frames, audio copied");
	p = cfg_profile_find(cfg, "pal");
	ok(p != NULL && p->video.fps_num == 2997 && p->video.fps_den == 100 &&
	    p->video.keyint_ms == 500, "pal: decimal fps, keyint in ms");
	p = cfg_profile_find(cfg, "audio-only");
	ok(p != NULL && p->video.codec == NULL &&
	    strcmp(p->audio.codec, "libopus") == 0, "audio-only: video copy");
	ok(cfg_profile_find(cfg, "copy") == NULL, "copy is no profile entry");
	p = cfg_profile_find(cfg, "twitch");
	ok(p != NULL && p->line == 0 && p->video.width == 1280 &&
	    p->video.maxrate_bps == 6000000 && p->video.keyint_ms == 2000 &&
	    p->audio.bitrate_bps == 160000, "preset twitch is there");
	r = &cfg->streams[0].relays[0];
	ok(r->prof == cfg_profile_find(cfg, "low"), "relay a -> low");
	ok(cfg->streams[0].relays[2].prof == NULL &&
	    strcmp(cfg->streams[0].relays[2].profile, "copy") == 0,
	    "relay c: copy");
	is_int(cfg_profiles_check(cfg, check_fake, &err), 0,
	    "check: opus over srt passes");
	{
		struct cfg_profile	*d = cfg_profile_dup(r->prof);

		ok(d != NULL && d->video.codec != r->prof->video.codec &&
		    cfg_profile_same(d, r->prof), "dup: a deep, equal copy");
		ok(!cfg_profile_same(d, cfg_profile_find(cfg, "ntsc")) &&
		    !cfg_profile_same(d, NULL) && cfg_profile_same(NULL, NULL),
		    "same: other profiles and copy differ");
		d->video.bitrate_bps++;
		ok(!cfg_profile_same(d, r->prof), "same: one number differs");
		cfg_profile_free(d);
	}
	cfg_free(cfg);

	/* the check's refusals point at the setting or the relay's key */
	y = strdup(good);
	memcpy(strstr(y, "\"srt://h:9000\""), "\"rtmp://h/a/d\"", 14);
	ok(parse(y, tmpdir, &cfg, &err) == 0, "opus over rtmp parses");
	is_int(cfg_profiles_check(cfg, check_fake, &err), -1,
	    "check: opus over rtmp fails");
	is_str(err.msg, "t.yaml:19:42: streams.s1.relays.b.profile: profile "
	    "\"audio-only\": flv cannot carry opus", "check: names the relay");
	cfg_free(cfg);
	memcpy(strstr(y, "libx265"), "nope   ", 7);
	ok(parse(y, tmpdir, &cfg, &err) == 0, "codec nope parses");
	is_int(cfg_profiles_check(cfg, check_fake, &err), -1,
	    "check: codec nope fails");
	is_str(err.msg, "t.yaml:12:26: profiles.pal.video.codec: unknown "
	    "encoder", "check: names the codec");
	cfg_free(cfg);
	free(y);

	/* one profile from a command line's settings */
	{
		struct cfg_profile	 q;

		ok(cfg_profile_parse_spec("db1", "{ from: facebook, audio: "
		    "{ codec: libopus } }", &q, &err) == 0 &&
		    q.video.width == 1280 && q.video.bitrate_bps == 4000000 &&
		    strcmp(q.audio.codec, "libopus") == 0 &&
		    strcmp(q.name, "db1") == 0, "spec: from a preset");
		cfg_profile_clear(&q);
		is_int(cfg_profile_parse_spec("db2", "{ video: { codec: "
		    "libx264, fps: 0 } }", &q, &err), -1, "spec: bad fps");
		is_str(err.msg, "settings:1:33: profiles.db2.video.fps: \"0\" "
		    "is out of range (1 to 240)", "spec: message names column");
		is_int(cfg_profile_parse_spec("db3", "", &q, &err), -1,
		    "spec: empty");
		is_int(cfg_profile_parse_spec("db4", "{ video: copy", &q, &err),
		    -1, "spec: not YAML");
	}

	/* presets: from: overrides, and a relay may name one directly */
	ok(parse("profiles:\n  tw:\n    from: twitch\n"
	    "    video: { height: 480, bitrate: 2M }\n    audio: copy\n"
	    "  yt: { from: youtube, video: copy }\n"
	    S1 "    relays:\n      a: { url: rtmp://h/a/b, profile: kick }\n",
	    tmpdir, &cfg, &err) == 0, "presets parse");
	p = cfg_profile_find(cfg, "tw");
	ok(p != NULL && strcmp(p->video.codec, "libx264") == 0 &&
	    p->video.width == 0 && p->video.height == 480 &&
	    p->video.bitrate_bps == 2000000 && p->video.maxrate_bps == 6000000 &&
	    strcmp(p->video.preset, "veryfast") == 0 && p->audio.codec == NULL &&
	    p->line == 2, "from: twitch, two settings and audio overridden, height alone "
	    "keeps the aspect");
	p = cfg_profile_find(cfg, "yt");
	ok(p != NULL && p->video.codec == NULL &&
	    strcmp(p->audio.codec, "aac") == 0, "from: youtube, video copy");
	ok(cfg->streams[0].relays[0].prof == cfg_profile_find(cfg, "kick") &&
	    cfg->streams[0].relays[0].prof->video.maxrate_bps == 8000000,
	    "a relay names preset kick");
	cfg_free(cfg);
}


/* Continuity (#7): on_publisher_loss, grace, slate, backup_key, prefer. */
static void
test_continuity(void)
{
	static const struct {
		const char	*yaml, *msg;
	} bad_cont[] = {
		{ S1 "    on_publisher_loss: pause\n", "t.yaml:4:24: "
		  "streams.s1.on_publisher_loss: unknown on_publisher_loss "
		  "\"pause\" (expected one of: end, hold)" },
		{ S1 "    grace: 500ms\n", "t.yaml:4:12: streams.s1.grace: "
		  "duration \"500ms\" out of range (1000 ms to 86400000 ms)" },
		{ S1 "    grace: 25h\n", "t.yaml:4:12: streams.s1.grace: "
		  "duration \"25h\" out of range (1000 ms to 86400000 ms)" },
		{ S1 "    grace: soon\n", "t.yaml:4:12: streams.s1.grace: "
		  "expected a duration such as 10s, 500ms or 2m, got \"soon\"" },
		{ S1 "    prefer: backup\n", "t.yaml:4:13: streams.s1.prefer: "
		  "unknown prefer \"backup\" (expected one of: primary, "
		  "current)" },
		{ S1 "    slate: { video: x.png }\n", "t.yaml:4:14: "
		  "streams.s1.slate.video: unknown key (expected one of: "
		  "image, audio)" },
		{ S1 "    slate: black\n", "t.yaml:4:12: streams.s1.slate: "
		  "expected a mapping, got a string" },
		{ S1 "    slate: { image: \"\" }\n", "t.yaml:4:21: "
		  "streams.s1.slate.image: empty path" },
		{ S1 "    backup_key: abcdefgh\n", "t.yaml:4:17: "
		  "streams.s1.backup_key: backup key is the stream's own key" },
		{ S1 "    backup_key: short\n", "t.yaml:4:17: "
		  "streams.s1.backup_key: stream key is too short (5 "
		  "characters, at least 8)" },
		{ S1 "    backup_key: b" SECRET "\n    backup_key_file: k\n",
		  "t.yaml:5:22: streams.s1.backup_key_file: backup_key and "
		  "backup_key_file are mutually exclusive" },
		{ S1 "  s2:\n    key: " SECRET "\n    backup_key: abcdefgh\n",
		  "t.yaml:6:17: streams.s2.backup_key: same key as streams.s1" },
		{ S1 "    backup_key: b" SECRET "\n  s2:\n    key: b" SECRET "\n",
		  "t.yaml:6:10: streams.s2.key: same key as "
		  "streams.s1.backup_key" },
		{ S1 "    backup_key: b" SECRET "\n  s2:\n    key: " SECRET "\n"
		  "    backup_key: b" SECRET "\n",
		  "t.yaml:7:17: streams.s2.backup_key: same key as "
		  "streams.s1.backup_key" },
		{ R1 "      yt: { url: rtmp://x/y, on_publisher_loss: later }\n",
		  "t.yaml:5:49: streams.s1.relays.yt.on_publisher_loss: unknown "
		  "on_publisher_loss \"later\" (expected one of: end, hold)" },
		{ R1 "      yt: { url: rtmp://x/y, grace: 0 }\n",
		  "t.yaml:5:37: streams.s1.relays.yt.grace: duration \"0\" out "
		  "of range (1000 ms to 86400000 ms)" },
	};
	char		 yaml[1024];
	struct cfg_err	 err;
	struct cfg	*cfg = NULL;
	const struct cfg_stream *st;
	size_t		 i;

	for (i = 0; i < sizeof(bad_cont) / sizeof(bad_cont[0]); i++) {
		ok(parse(bad_cont[i].yaml, tmpdir, &cfg, &err) == -1,
		    "continuity bad[%zu] fails", i);
		is_str(err.msg, bad_cont[i].msg, "continuity bad[%zu] message",
		    i);
		ok(strstr(err.msg, SECRET) == NULL, "continuity bad[%zu] hides "
		    "secrets", i);
	}

	/* defaults */
	if (parse(S1 "    relays:\n      yt: { url: rtmp://x/y }\n", tmpdir,
	    &cfg, &err) == -1) {
		ok(0, "defaults parse: %s", err.msg);
		return;
	}
	st = &cfg->streams[0];
	is_int(st->on_loss, CFG_LOSS_END, "on_publisher_loss defaults to end");
	is_int(st->grace_ms, 300000, "grace defaults to 5m");
	is_int(st->prefer, CFG_PREFER_PRIMARY, "prefer defaults to primary");
	ok(st->backup_key.value == NULL, "no backup key by default");
	ok(st->slate_image == NULL && st->slate_audio == NULL, "no slate");
	is_int(st->relays[0].on_loss, CFG_LOSS_END, "relay takes end");
	is_int(st->relays[0].grace_ms, 300000, "relay takes the grace");
	is_int(cfg->nwarnings, 0, "no warnings");
	cfg_free(cfg);

	/* set, overridden per relay, slate paths, a backup key file */
	write_file("backup.key", "b" SECRET "\n", 13, 0600);
	write_file("slate.png", "png", 3, 0600);
	snprintf(yaml, sizeof(yaml), S1
	    "    on_publisher_loss: hold\n    grace: 24h\n    prefer: current\n"
	    "    backup_key_file: backup.key\n"
	    "    slate: { image: slate.png, audio: /nonexistent/a.wav }\n"
	    "    relays:\n"
	    "      a: { url: rtmp://x/y }\n"
	    "      b: { url: rtmp://x/z, on_publisher_loss: end, grace: 3s }\n");
	if (parse(yaml, tmpdir, &cfg, &err) == -1) {
		ok(0, "continuity parses: %s", err.msg);
		return;
	}
	st = &cfg->streams[0];
	is_int(st->on_loss, CFG_LOSS_HOLD, "on_publisher_loss: hold");
	is_int(st->grace_ms, 86400000, "grace: 24h");
	is_int(st->prefer, CFG_PREFER_CURRENT, "prefer: current");
	is_str(st->backup_key.value, "b" SECRET, "backup key from its file");
	ok(strncmp(st->slate_image, tmpdir, strlen(tmpdir)) == 0 &&
	    strcmp(st->slate_image + strlen(tmpdir), "/slate.png") == 0,
	    "slate image taken from the config's directory");
	is_str(st->slate_audio, "/nonexistent/a.wav", "absolute slate audio");
	is_int(st->relays[0].on_loss, CFG_LOSS_HOLD, "relay a holds");
	is_int(st->relays[0].grace_ms, 86400000, "relay a: the stream's grace");
	is_int(st->relays[1].on_loss, CFG_LOSS_END, "relay b ends");
	is_int(st->relays[1].grace_ms, 3000, "relay b: grace 3s");
	is_int(cfg->nwarnings, 1, "one warning: the missing audio file");
	if (cfg->nwarnings == 1)
		is_str(cfg->warnings[0], "t.yaml:8:39: streams.s1.slate.audio: "
		    "cannot read \"/nonexistent/a.wav\": No such file or "
		    "directory (the slate falls back to silence)",
		    "the warning names the place");
	cfg_free(cfg);
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	setenv("CFGT_KEY", SECRET, 1);
	setenv("CFGT_A", "aa", 1);
	setenv("CFGT_SHORT", "abc", 1);
	setenv("CFGT_EMPTY", "", 1);
	unsetenv("CFGT_UNSET");

	test_errors();
	test_limits();
	test_defaults();
	test_queue();
	test_limit_keys();
	test_full();
	test_bools();
	test_names();
	test_key_file();
	test_load();
	test_ops();
	test_profiles();
	test_continuity();
	cleanup();
	return tap_done();
}
