/*
 * Every FLV parser over the input, over its suffixes, and over exact-size
 * copies of its first prefixes (so ASan sees a read past a short end),
 * checking what a success promises.  Seeds in corpus/flv/ are the tag
 * bodies of tests/data/flv_bodies.hex plus hand-made Enhanced RTMP
 * headers and AudioSpecificConfigs (written by tests/data/flv_make.py).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/flv.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_SUFFIXES	16
#define FUZZ_PREFIXES	32

static void
fuzz_check(bool cond)
{
	if (!cond)
		abort();
}

static void
fuzz_avc(const uint8_t *p, size_t n)
{
	struct flv_video_format	f;

	if (flv_avc_config_parse(p, n, &f) == 0)
		fuzz_check(f.width > 0 && f.width <= 32768 &&
		    f.height > 0 && f.height <= 32768 && f.profile < 256 &&
		    f.level < 256);
	else
		fuzz_check(f.width == 0 && f.height == 0);
}

static void
fuzz_aac(const uint8_t *p, size_t n)
{
	struct flv_audio_format	f;

	if (flv_aac_config_parse(p, n, &f) == 0)
		fuzz_check(f.object_type > 0 && f.object_type < 96 &&
		    f.rate_hz > 0 && f.rate_hz < (1u << 24) &&
		    f.channels <= 24);
}

static void
fuzz_all(const uint8_t *p, size_t n)
{
	struct flv_video	v;
	struct flv_audio	a;

	if (flv_video_parse(p, n, &v) == 0) {
		fuzz_check(v.payload_off <= n);
		fuzz_check(!(v.info_frame && (v.seq_header || v.keyframe)));
		fuzz_check(flv_vcodec_name(v.codec) != NULL);
		if (v.seq_header && v.codec == FLV_VCODEC_AVC)
			fuzz_avc(p + v.payload_off, n - v.payload_off);
	}
	if (flv_audio_parse(p, n, &a) == 0) {
		fuzz_check(a.payload_off <= n);
		fuzz_check(a.channels == 1 || a.channels == 2);
		fuzz_check(a.rate_hz >= 5512 && a.rate_hz <= 44100);
		fuzz_check(flv_acodec_name(a.codec) != NULL);
		if (a.seq_header)
			fuzz_aac(p + a.payload_off, n - a.payload_off);
	}
	/* The configuration parsers on their own, without a tag header. */
	fuzz_avc(p, n);
	fuzz_aac(p, n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	uint8_t	*q;
	size_t	 i;

	fuzz_all(p, n);
	for (i = 1; i <= FUZZ_SUFFIXES && i < n; i++)
		fuzz_all(p + i, n - i);
	for (i = 0; i < FUZZ_PREFIXES && i < n; i++) {
		if ((q = malloc(i > 0 ? i : 1)) == NULL)
			abort();
		memcpy(q, p, i);
		fuzz_all(q, i);
		free(q);
	}
	return 0;
}
