/*
 * AMF0 iterator and encoder: golden dumps (tests/data/amf0_*.in/.out,
 * written by tests/fuzz/gen_corpus_parsers.py), every truncation of each
 * value, nesting limits, malformed inputs, comparisons, encoder.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/amf0.h"
#include "common/wire.h"
#include "tap.h"
#include "testutil.h"


/* Same quoting as gen_corpus_parsers.py: long strings as a hash. */
static void
sb_quote(struct sbuf *b, const char *s, size_t n)
{
	size_t	i;

	if (n > 64) {
		sb_printf(b, "<%zu bytes fnv=%08x>", n, fnv(s, n));
		return;
	}
	sb_printf(b, "\"");
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			sb_printf(b, "%c", c);
		else
			sb_printf(b, "\\x%02x", c);
	}
	sb_printf(b, "\"");
}

static void
dump_val(struct sbuf *b, const struct amf0_val *v)
{
	sb_printf(b, "%u ", v->depth);
	if (v->key == NULL)
		sb_printf(b, "-");
	else
		sb_quote(b, v->key, v->key_len);
	switch (v->type) {
	case AMF0_NUMBER:
		sb_printf(b, " number %.17g", v->num);
		break;
	case AMF0_BOOLEAN:
		sb_printf(b, " boolean %s", v->boolean ? "true" : "false");
		break;
	case AMF0_STRING:
	case AMF0_LONG_STRING:
	case AMF0_XML_DOCUMENT:
		sb_printf(b, " %s ", v->type == AMF0_STRING ? "string" :
		    v->type == AMF0_LONG_STRING ? "longstring" : "xml");
		sb_quote(b, v->str, v->str_len);
		break;
	case AMF0_NULL:
		sb_printf(b, " null");
		break;
	case AMF0_UNDEFINED:
		sb_printf(b, " undefined");
		break;
	case AMF0_UNSUPPORTED:
		sb_printf(b, " unsupported");
		break;
	case AMF0_REFERENCE:
		sb_printf(b, " reference %u", v->count);
		break;
	case AMF0_DATE:
		sb_printf(b, " date %.17g", v->num);
		break;
	case AMF0_OBJECT:
		sb_printf(b, " object");
		break;
	case AMF0_ECMA_ARRAY:
		sb_printf(b, " ecma %u", v->count);
		break;
	case AMF0_STRICT_ARRAY:
		sb_printf(b, " strict %u", v->count);
		break;
	case AMF0_TYPED_OBJECT:
		sb_printf(b, " typed ");
		sb_quote(b, v->str, v->str_len);
		break;
	case AMF0_OBJECT_END:
		sb_printf(b, " end");
		break;
	default:
		sb_printf(b, " ?%d", (int)v->type);
	}
	sb_printf(b, "\n");
}

/* The whole walk as text; the caller frees it. */
static char *
dump(const uint8_t *p, size_t n)
{
	struct sbuf	b = { 0 };
	struct amf0_it	it;
	struct amf0_val	v;
	enum amf0_res	res;

	sb_printf(&b, "%s", "");
	amf0_it_init(&it, p, n);
	while ((res = amf0_next(&it, &v)) == AMF0_VAL)
		dump_val(&b, &v);
	if (res == AMF0_DONE)
		sb_printf(&b, "done\n");
	else
		sb_printf(&b, "error: %s\n", amf0_error(&it));
	return b.p;
}

static const char *const golden[] = {
	"connect_ffmpeg", "metadata", "metadata_count0", "publish",
	"strict_array", "nested", "typed", "date", "long_string",
};

static uint8_t *
golden_in(const char *name, size_t *len)
{
	char	path[256];

	snprintf(path, sizeof(path), "../data/amf0_%s.in", name);
	return read_file(path, len);
}

static void
test_golden(void)
{
	char	 path[256], *got;
	uint8_t	*in, *out;
	size_t	 ilen, olen, i;

	for (i = 0; i < sizeof(golden) / sizeof(*golden); i++) {
		in = golden_in(golden[i], &ilen);
		snprintf(path, sizeof(path), "../data/amf0_%s.out", golden[i]);
		out = read_file(path, &olen);
		if (in == NULL || out == NULL) {
			ok(0, "golden %s: read %s", golden[i], path);
			free(in);
			free(out);
			continue;
		}
		got = dump(in, ilen);
		is_str(got, (char *)out, "golden %s", golden[i]);
		free(got);
		free(in);
		free(out);
	}
}

/* Every strict prefix of one top-level value is an error, never a crash
 * and never a clean end. */
static void
test_truncated(void)
{
	struct amf0_it	 it, t;
	struct amf0_val	 v;
	enum amf0_res	 res;
	uint8_t		*in, *cut;
	size_t		 ilen, i, start, end, l, bad, values;

	for (i = 0; i < sizeof(golden) / sizeof(*golden); i++) {
		if ((in = golden_in(golden[i], &ilen)) == NULL) {
			ok(0, "truncated %s: read", golden[i]);
			continue;
		}
		bad = values = 0;
		amf0_it_init(&it, in, ilen);
		for (;;) {
			start = it.off;
			if (amf0_next(&it, &v) != AMF0_VAL ||
			    amf0_skip(&it, &v) != AMF0_VAL)
				break;
			end = it.off;
			values++;
			for (l = 1; l < end - start; l++) {
				/* the 70000-byte string: its edges suffice */
				if (l > 300 && l + 300 < end - start &&
				    l % 1009 != 0)
					continue;
				/* a copy, so ASan sees any read past l */
				if ((cut = malloc(l)) == NULL)
					abort();
				memcpy(cut, in + start, l);
				amf0_it_init(&t, cut, l);
				while ((res = amf0_next(&t, &v)) == AMF0_VAL)
					;
				if (res != AMF0_ERR || amf0_error(&t) == NULL)
					bad++;
				free(cut);
			}
		}
		ok(bad == 0 && values > 0 && it.off == ilen,
		    "truncated %s: %zu values, every prefix refused",
		    golden[i], values);
		if (bad)
			printf("#   %zu prefixes accepted\n", bad);
		free(in);
	}
}

/* n objects nested (or strict arrays when strict), innermost holding one
 * number. */
static size_t
build_nest(uint8_t *out, size_t cap, int n, bool strict)
{
	struct wire_w	w;
	int		i;

	wire_w_init(&w, out, cap);
	for (i = 0; i < n; i++) {
		if (strict) {
			wire_put_u8(&w, AMF0_STRICT_ARRAY);
			wire_put_be32(&w, 1);
		} else {
			if (i > 0)
				amf0_put_key(&w, "o");
			amf0_put_object_begin(&w);
		}
	}
	if (!strict)
		amf0_put_key(&w, "k");
	amf0_put_number(&w, n);
	for (i = 0; i < n && !strict; i++)
		amf0_put_object_end(&w);
	return w.err ? 0 : w.off;
}

static void
test_nesting(void)
{
	static const struct {
		int		 n;
		bool		 strict;
		const char	*err;
	} t[] = {
		{ 16, false, NULL },
		{ 17, false, "nesting deeper than 16" },
		{ 16, true, NULL },
		{ 17, true, "nesting deeper than 16" },
		{ 200, false, "nesting deeper than 16" },
	};
	uint8_t		buf[2048];
	struct amf0_it	it;
	struct amf0_val	v;
	enum amf0_res	res;
	unsigned	maxd;
	size_t		i, n;

	for (i = 0; i < sizeof(t) / sizeof(*t); i++) {
		n = build_nest(buf, sizeof(buf), t[i].n, t[i].strict);
		amf0_it_init(&it, buf, n);
		maxd = 0;
		while ((res = amf0_next(&it, &v)) == AMF0_VAL)
			if (v.depth > maxd)
				maxd = v.depth;
		if (t[i].err == NULL) {
			ok(res == AMF0_DONE && maxd == AMF0_MAX_DEPTH,
			    "%d nested %s accepted (max depth %u)", t[i].n,
			    t[i].strict ? "strict arrays" : "objects", maxd);
		} else {
			is_int(res, AMF0_ERR, "%d nested %s refused", t[i].n,
			    t[i].strict ? "strict arrays" : "objects");
			is_str(amf0_error(&it), t[i].err, "  reason");
		}
	}
}

static size_t
unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t		n = 0;
	unsigned	b;
	int		k;

	while (n < cap && sscanf(s, " %2x%n", &b, &k) == 1) {
		out[n++] = (uint8_t)b;
		s += k;
	}
	return n;
}

static void
test_malformed(void)
{
	static const struct {
		const char	*hex;
		const char	*err;
	} t[] = {
		{ "02 00 10 61 62 63", "string length 16 past end of input" },
		{ "0c ff ff ff f0 61",
		    "string length 4294967280 past end of input" },
		{ "0f 00 00 00 05 61", "string length 5 past end of input" },
		{ "10 00 05 41", "string length 5 past end of input" },
		{ "03 00 01 61 02 00 09 61",
		    "string length 9 past end of input" },
		{ "02 00", "string truncated at offset 0" },
		{ "0a 00 00 03 e8 05 05",
		    "strict array count 1000 past end of input" },
		{ "0a 00 00 00 02 05",
		    "strict array count 2 past end of input" },
		{ "0a 00 00 00 02 05 05 05", NULL },	/* trailing null: ok */
		{ "03 00 01 61 04", "movieclip marker 0x04 not supported" },
		{ "0e", "recordset marker 0x0e not supported" },
		{ "11 0a 01", "AVM+ (AMF3) marker 0x11 not supported" },
		{ "20", "unknown marker 0x20 not supported" },
		{ "09", "object end marker outside an object" },
		{ "03 00 01 61 09", "object end marker outside an object" },
		{ "0a 00 00 00 01 09", "object end marker outside an object" },
		{ "03 00 01 61 02 00 01 62",
		    "input ended inside object at offset 8" },
		{ "08 00 00 00 00",
		    "input ended inside ECMA array at offset 5" },
		{ "03 00 05 61 62",
		    "property name length 5 past end of input" },
		{ "03 00 01 61", "input ended before a value at offset 4" },
		{ "03 00 00", "input ended before a value at offset 3" },
		{ "00 3f f0 00", "number truncated at offset 0" },
		{ "05 01", "boolean truncated at offset 1" },
		{ "0b 00 00 00 00 00 00 00 00 00",
		    "date truncated at offset 0" },
		{ "08 00 00", "ECMA array truncated at offset 0" },
		{ "07 00", "reference truncated at offset 0" },
		{ "03 00 01 61 05 00 00 09 00 00 09",
		    "number truncated at offset 8" },
		/* an empty name before another value is a property */
		{ "03 00 00 05 00 00 09", NULL },
	};
	uint8_t		buf[64];
	struct amf0_it	it;
	struct amf0_val	v;
	enum amf0_res	res;
	size_t		i, n;

	for (i = 0; i < sizeof(t) / sizeof(*t); i++) {
		n = unhex(t[i].hex, buf, sizeof(buf));
		amf0_it_init(&it, buf, n);
		while ((res = amf0_next(&it, &v)) == AMF0_VAL)
			;
		if (t[i].err == NULL) {
			is_int(res, AMF0_DONE, "accepted: %s", t[i].hex);
			continue;
		}
		ok(res == AMF0_ERR && amf0_next(&it, &v) == AMF0_ERR,
		    "refused and stays failed: %s", t[i].hex);
		is_str(amf0_error(&it), t[i].err, "  reason");
	}
}

/* Skipping containers lands on the next value at the same depth. */
static void
test_skip(void)
{
	static const struct {
		const char	*name;
		unsigned	 nth;	/* top-level value to skip */
		const char	*after;	/* next top-level string, or NULL */
	} t[] = {
		{ "connect_ffmpeg", 2, NULL },
		{ "metadata", 2, NULL },
		{ "strict_array", 0, NULL },
		{ "nested", 0, NULL },
		{ "typed", 0, NULL },
	};
	struct amf0_it	 it;
	struct amf0_val	 v;
	uint8_t		*in;
	size_t		 len, i;
	unsigned	 k;
	bool		 good;

	for (i = 0; i < sizeof(t) / sizeof(*t); i++) {
		if ((in = golden_in(t[i].name, &len)) == NULL) {
			ok(0, "skip %s: read", t[i].name);
			continue;
		}
		amf0_it_init(&it, in, len);
		good = true;
		for (k = 0; k <= t[i].nth && good; k++)
			good = amf0_next(&it, &v) == AMF0_VAL;
		good = good && v.depth == 0 && amf0_skip(&it, &v) == AMF0_VAL &&
		    it.depth == 0 && amf0_next(&it, &v) == AMF0_DONE;
		ok(good, "skip container in %s", t[i].name);
		free(in);
	}
	amf0_it_init(&it, NULL, 0);
	ok(amf0_next(&it, &v) == AMF0_DONE, "empty input is done");
	/* a scalar has nothing to skip */
	in = (uint8_t *)"\x05\x05";
	amf0_it_init(&it, in, 2);
	ok(amf0_next(&it, &v) == AMF0_VAL && amf0_skip(&it, &v) == AMF0_VAL &&
	    amf0_next(&it, &v) == AMF0_VAL && amf0_next(&it, &v) == AMF0_DONE,
	    "skip after a scalar is a no-op");
	/* an error inside the skipped container is reported */
	in = (uint8_t *)"\x03\x00\x01\x61\x04";
	amf0_it_init(&it, in, 5);
	ok(amf0_next(&it, &v) == AMF0_VAL && amf0_skip(&it, &v) == AMF0_ERR,
	    "skip reports an error inside");
}

static void
test_eq(void)
{
	struct amf0_it	 it;
	struct amf0_val	 v;
	uint8_t		*in;
	size_t		 len;
	bool		 nul_key = false, e_key = false, no_key = true;

	if ((in = golden_in("nested", &len)) == NULL) {
		ok(0, "eq: read");
		return;
	}
	amf0_it_init(&it, in, len);
	while (amf0_next(&it, &v) == AMF0_VAL) {
		if (v.key_len == 5 && memcmp(v.key, "nul\0l", 5) == 0) {
			nul_key = true;
			ok(!amf0_key_eq(&v, "nul"), "key with NUL != prefix");
			ok(amf0_key_eq(&v, "nul\0l") == false,
			    "key with NUL != C string");
			ok(!amf0_str_eq(&v, "embedded"),
			    "string with NUL != prefix");
		}
		if (v.key_len == 1 && v.key[0] == 'e') {
			e_key = true;
			ok(amf0_key_eq(&v, "e"), "key_eq exact");
			ok(!amf0_key_eq(&v, "ee") && !amf0_key_eq(&v, ""),
			    "key_eq length differs");
			ok(!amf0_str_eq(&v, "e"), "str_eq on a non-string");
		}
		if (v.key == NULL && amf0_key_eq(&v, ""))
			no_key = false;
	}
	ok(no_key, "key_eq is false without a key");
	ok(nul_key && e_key, "eq: all cases seen");
	free(in);

	in = golden_in("long_string", &len);
	amf0_it_init(&it, in, len);
	ok(in != NULL && amf0_next(&it, &v) == AMF0_VAL &&
	    amf0_next(&it, &v) == AMF0_VAL && amf0_str_eq(&v, "short") &&
	    !amf0_str_eq(&v, "shor") && !amf0_str_eq(&v, "shorty"),
	    "str_eq on a long string");
	ok(amf0_next(&it, &v) == AMF0_VAL && !amf0_str_eq(&v, "<a b=\"c\"/>"),
	    "str_eq is false for XML");
	ok(amf0_next(&it, &v) == AMF0_VAL && amf0_str_eq(&v, "") &&
	    !amf0_str_eq(&v, "x"), "str_eq empty");
	free(in);
}

static void
test_encoder(void)
{
	static char	 big[70001];
	uint8_t		*want, buf[80000], small[10];
	struct wire_w	 w;
	struct amf0_it	 it;
	struct amf0_val	 v;
	size_t		 len;
	bool		 good;

	/* exactly the bytes ffmpeg sends */
	wire_w_init(&w, buf, sizeof(buf));
	amf0_put_string(&w, "connect");
	amf0_put_number(&w, 1);
	amf0_put_object_begin(&w);
	amf0_put_prop_string(&w, "app", "live");
	amf0_put_prop_string(&w, "type", "nonprivate");
	amf0_put_prop_string(&w, "flashVer",
	    "FMLE/3.0 (compatible; Lavf59.27.100)");
	amf0_put_prop_string(&w, "tcUrl", "rtmp://127.0.0.1:1935/live");
	amf0_put_object_end(&w);
	want = golden_in("connect_ffmpeg", &len);
	ok(want != NULL && !w.err && w.off == len &&
	    memcmp(buf, want, len) == 0, "encoder: ffmpeg connect bytes");
	free(want);

	memset(big, 'y', sizeof(big) - 1);
	wire_w_init(&w, buf, sizeof(buf));
	amf0_put_number(&w, -0.25);
	amf0_put_bool(&w, true);
	amf0_put_null(&w);
	amf0_put_ecma_begin(&w, 2);
	amf0_put_prop_number(&w, "width", 1920);
	amf0_put_key(&w, "stereo");
	amf0_put_bool(&w, false);
	amf0_put_object_end(&w);
	amf0_put_string(&w, big);
	amf0_put_string(&w, "");
	ok(!w.err, "encoder: all types fit");
	amf0_it_init(&it, buf, w.off);
	good = amf0_next(&it, &v) == AMF0_VAL && v.type == AMF0_NUMBER &&
	    v.num == -0.25;
	good = good && amf0_next(&it, &v) == AMF0_VAL && v.boolean &&
	    v.type == AMF0_BOOLEAN;
	good = good && amf0_next(&it, &v) == AMF0_VAL && v.type == AMF0_NULL;
	good = good && amf0_next(&it, &v) == AMF0_VAL &&
	    v.type == AMF0_ECMA_ARRAY && v.count == 2;
	good = good && amf0_next(&it, &v) == AMF0_VAL &&
	    amf0_key_eq(&v, "width") && v.num == 1920 && v.depth == 1;
	good = good && amf0_next(&it, &v) == AMF0_VAL &&
	    amf0_key_eq(&v, "stereo") && !v.boolean;
	good = good && amf0_next(&it, &v) == AMF0_VAL &&
	    v.type == AMF0_OBJECT_END && v.depth == 0;
	ok(good, "encoder round trip: scalars and ECMA array");
	ok(amf0_next(&it, &v) == AMF0_VAL && v.type == AMF0_LONG_STRING &&
	    amf0_str_eq(&v, big), "encoder: 70000 bytes as a long string");
	ok(amf0_next(&it, &v) == AMF0_VAL && amf0_str_eq(&v, "") &&
	    amf0_next(&it, &v) == AMF0_DONE, "encoder: empty string, end");

	wire_w_init(&w, small, sizeof(small));
	amf0_put_string(&w, "0123456789");
	ok(w.err, "encoder: overflow sets err");
}

int
main(void)
{
	test_golden();
	test_truncated();
	test_nesting();
	test_malformed();
	test_skip();
	test_eq();
	test_encoder();
	return tap_done();
}
