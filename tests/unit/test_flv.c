/*
 * FLV tag body parsers over real encoder output (../data/flv_bodies.hex
 * and ../data/flv_small.flv, made by ../data/flv_make.py with ffmpeg),
 * hand-made Enhanced RTMP headers and SPSs, malformed input, and every
 * truncation of every input.  Each parse reads an exact-size heap copy so
 * the ASan build catches any read past the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/flv.h"
#include "tap.h"

#define BODY_MAX	1024
#define BODIES_MAX	96

struct body {
	char		 name[32];
	uint8_t		 data[BODY_MAX];
	size_t		 len;
};

static struct body	bodies[BODIES_MAX];
static size_t		nbodies;

/* Hex digits to bytes, skipping spaces; returns the length. */
static size_t
unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t		n = 0;
	unsigned	v;

	for (; *s != '\0' && *s != '\n'; s++) {
		if (*s == ' ')
			continue;
		if (sscanf(s, "%2x", &v) != 1 || n == cap) {
			fprintf(stderr, "bad hex at \"%.8s\"\n", s);
			exit(1);
		}
		out[n++] = (uint8_t)v;
		s++;
	}
	return n;
}

/* An exact-size copy: reading one byte past it is an ASan error. */
static uint8_t *
dup_exact(const uint8_t *p, size_t n)
{
	uint8_t	*q = malloc(n);

	if (q == NULL && n > 0)
		abort();
	if (n > 0)
		memcpy(q, p, n);
	return q;
}

static int
video(const uint8_t *p, size_t n, struct flv_video *v)
{
	uint8_t	*q = dup_exact(p, n);
	int	 rc = flv_video_parse(q, n, v);

	free(q);
	return rc;
}

static int
audio(const uint8_t *p, size_t n, struct flv_audio *a)
{
	uint8_t	*q = dup_exact(p, n);
	int	 rc = flv_audio_parse(q, n, a);

	free(q);
	return rc;
}

static int
avc_config(const uint8_t *p, size_t n, struct flv_video_format *f)
{
	uint8_t	*q = dup_exact(p, n);
	int	 rc = flv_avc_config_parse(q, n, f);

	free(q);
	return rc;
}

static int
aac_config(const uint8_t *p, size_t n, struct flv_audio_format *f)
{
	uint8_t	*q = dup_exact(p, n);
	int	 rc = flv_aac_config_parse(q, n, f);

	free(q);
	return rc;
}

static void
load_bodies(const char *path)
{
	FILE	*f;
	char	 line[4096], *sp;

	if ((f = fopen(path, "r")) == NULL) {
		perror(path);
		exit(1);
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (line[0] == '#' || (sp = strchr(line, ' ')) == NULL)
			continue;
		if (nbodies == BODIES_MAX || sp - line >= 32)
			exit(1);
		*sp = '\0';
		strcpy(bodies[nbodies].name, line);
		bodies[nbodies].len = unhex(sp + 1, bodies[nbodies].data,
		    BODY_MAX);
		nbodies++;
	}
	fclose(f);
}

static const struct body *
body(const char *name)
{
	size_t	i;

	for (i = 0; i < nbodies; i++)
		if (strcmp(bodies[i].name, name) == 0)
			return &bodies[i];
	ok(0, "%s: in flv_bodies.hex", name);
	return NULL;
}

/*
 * AVC sequence headers.  The x264 ones carry ffprobe's answers for the
 * same files (flv_make.py prints them): profile, level, width, height,
 * and pts - dts of the first keyframe and the first inter frame.  The
 * hand-made ones (h*: no frames) state what H.264 7.4.2.1.1 gives.
 */
static const struct {
	const char	*name;
	unsigned	 w, h, profile, level;
	bool		 frames;
	int		 key_cts, inter_cts;
} avc_cases[] = {
	/* High 3.1, 1280x720 */
	{ "h720", 1280, 720, 100, 31, true, 67, 66 },
	/* High 4.0: coded 1088 lines, cropped to 1080 */
	{ "h1080", 1920, 1080, 100, 40, true, 67, 66 },
	/* Constrained Baseline 3.0, no B-frames */
	{ "b360", 640, 360, 66, 30, true, 0, 0 },
	/* High 4:4:4 Predictive 1.3, odd size: crop units of 1 */
	{ "h444", 321, 241, 244, 13, true, 67, 133 },
	/* High 4.0 interlaced (MBAFF): crop unit 4 lines */
	{ "h1080i", 1920, 1080, 100, 40, true, 67, 66 },
	/* High 4:2:2 4.0: crop unit 1 line */
	{ "h422", 1920, 1080, 122, 40, true, 67, 66 },
	/* High 10 1.3 */
	{ "h10", 320, 240, 110, 13, true, 67, 133 },
	/* Main, pic_order_cnt_type 1 with three offsets; 1088 - 2 * 4 */
	{ "hpoc1", 1920, 1080, 77, 40, false, 0, 0 },
	/* Main, poc type 1 with a huge offset, whose zero bits need
	 * emulation prevention bytes: 368 - 2 * 4 */
	{ "hepb", 640, 360, 77, 40, false, 0, 0 },
	/* High, seq scaling lists 0 and 6 present, list 1 "use default" */
	{ "hscal", 640, 480, 100, 40, false, 0, 0 },
	/* 4:4:4, all 12 scaling lists; 112 - (1 + 2), 64 - 14 */
	{ "hscal444", 109, 50, 244, 40, false, 0, 0 },
	/* separate_colour_plane (ChromaArrayType 0), fields: crop units
	 * 1 x 2; 160 - 5, 160 - 2 * 3 */
	{ "hsep", 155, 154, 244, 40, false, 0, 0 },
	/* 4:2:2 fields: crop units 2 x 2; 1920 - 2 * 2, 1088 - 2 * 4 */
	{ "h422i", 1916, 1080, 122, 40, false, 0, 0 },
	/* monochrome: crop units 1 x 1 */
	{ "hmono", 318, 238, 100, 40, false, 0, 0 },
};

static void
test_avc_real(void)
{
	const struct body	*b;
	struct flv_video	 v;
	struct flv_video_format	 f;
	char			 name[48];
	size_t			 i;
	int			 rc;

	for (i = 0; i < sizeof(avc_cases) / sizeof(avc_cases[0]); i++) {
		snprintf(name, sizeof(name), "%s.vseq", avc_cases[i].name);
		if ((b = body(name)) == NULL)
			continue;
		rc = video(b->data, b->len, &v);
		ok(rc == 0 && v.codec == FLV_VCODEC_AVC && v.seq_header &&
		    v.keyframe && !v.end_of_seq && !v.info_frame &&
		    v.cts_ms == 0 && v.payload_off == 5,
		    "%s: AVC sequence header", name);
		rc = avc_config(b->data + 5, b->len - 5, &f);
		is_int(rc, 0, "%s: config parses", name);
		is_int(f.width, avc_cases[i].w, "%s: width", name);
		is_int(f.height, avc_cases[i].h, "%s: height", name);
		is_int(f.profile, avc_cases[i].profile, "%s: profile", name);
		is_int(f.level, avc_cases[i].level, "%s: level", name);
		if (!avc_cases[i].frames)
			continue;

		snprintf(name, sizeof(name), "%s.vkey", avc_cases[i].name);
		if ((b = body(name)) != NULL) {
			rc = video(b->data, b->len, &v);
			ok(rc == 0 && v.codec == FLV_VCODEC_AVC &&
			    v.keyframe && !v.seq_header &&
			    v.payload_off == 5, "%s: AVC keyframe", name);
			is_int(v.cts_ms, avc_cases[i].key_cts, "%s: cts", name);
		}
		snprintf(name, sizeof(name), "%s.vinter", avc_cases[i].name);
		if ((b = body(name)) != NULL) {
			rc = video(b->data, b->len, &v);
			ok(rc == 0 && v.codec == FLV_VCODEC_AVC &&
			    !v.keyframe && !v.seq_header &&
			    v.payload_off == 5, "%s: AVC inter frame", name);
			is_int(v.cts_ms, avc_cases[i].inter_cts, "%s: cts",
			    name);
		}
		snprintf(name, sizeof(name), "%s.vend", avc_cases[i].name);
		if ((b = body(name)) != NULL) {
			rc = video(b->data, b->len, &v);
			ok(rc == 0 && v.end_of_seq && !v.seq_header &&
			    v.payload_off == 5, "%s: AVC end of sequence",
			    name);
		}
	}
}

/* Hand-made video tag bodies: legacy codecs and Enhanced RTMP. */
static const struct {
	const char	*hex;
	int		 rc;
	enum flv_vcodec	 codec;
	bool		 key, seq, eos, info;
	int32_t		 cts;
	size_t		 off;
	const char	*what;
} video_cases[] = {
	{ "", -1, 0, 0, 0, 0, 0, 0, 0, "empty" },
	{ "17", -1, 0, 0, 0, 0, 0, 0, 0, "AVC without packet type" },
	{ "17 01 00 00", -1, 0, 0, 0, 0, 0, 0, 0, "AVC short cts" },
	{ "17 03 00 00 00", -1, 0, 0, 0, 0, 0, 0, 0, "AVCPacketType 3" },
	{ "27 01 ff ff fe 00", 0, FLV_VCODEC_AVC, 0, 0, 0, 0, -2, 5,
	    "AVC negative cts" },
	{ "17 01 7f ff ff", 0, FLV_VCODEC_AVC, 1, 0, 0, 0, 8388607, 5,
	    "AVC largest cts" },
	{ "27 01 80 00 00", 0, FLV_VCODEC_AVC, 0, 0, 0, 0, -8388608, 5,
	    "AVC smallest cts" },
	{ "57 00", 0, FLV_VCODEC_AVC, 0, 0, 0, 1, 0, 2,
	    "AVC command frame (start of seek)" },
	{ "52", 0, FLV_VCODEC_H263, 0, 0, 0, 1, 0, 1, "H.263 info frame" },
	{ "12 00 00 84", 0, FLV_VCODEC_H263, 1, 0, 0, 0, 0, 1,
	    "H.263 keyframe" },
	{ "22", 0, FLV_VCODEC_H263, 0, 0, 0, 0, 0, 1, "H.263 inter" },
	{ "32 00", 0, FLV_VCODEC_H263, 0, 0, 0, 0, 0, 1,
	    "H.263 disposable" },
	{ "13 00", 0, FLV_VCODEC_SCREEN, 1, 0, 0, 0, 0, 1, "screen video" },
	{ "14", -1, 0, 0, 0, 0, 0, 0, 0, "VP6 without adjustment" },
	{ "14 00 aa", 0, FLV_VCODEC_VP6, 1, 0, 0, 0, 0, 2, "VP6" },
	{ "25 00 00 00 01 aa", 0, FLV_VCODEC_VP6A, 0, 0, 0, 0, 0, 2,
	    "VP6 alpha" },
	{ "16 00", 0, FLV_VCODEC_SCREEN2, 1, 0, 0, 0, 0, 1, "screen v2" },
	{ "1c 00", 0, FLV_VCODEC_OTHER, 1, 0, 0, 0, 0, 1,
	    "unregistered codec id 12" },
	/* Enhanced RTMP: 0x80 | frame type << 4 | packet type, FourCC */
	{ "80", -1, 0, 0, 0, 0, 0, 0, 0, "ex header without FourCC" },
	{ "90 68 76 63", -1, 0, 0, 0, 0, 0, 0, 0, "ex header short FourCC" },
	{ "90 68 76 63 31 01 01 60", 0, FLV_VCODEC_HEVC, 1, 1, 0, 0, 0, 5,
	    "HEVC SequenceStart" },
	{ "91 68 76 63 31 ff ff df 00 00", 0, FLV_VCODEC_HEVC, 1, 0, 0, 0,
	    -33, 8, "HEVC CodedFrames keyframe, cts -33" },
	{ "a1 68 76 63 31 00 00 10", 0, FLV_VCODEC_HEVC, 0, 0, 0, 0, 16, 8,
	    "HEVC CodedFrames inter, cts 16" },
	{ "91 68 76 63 31 00 00", -1, 0, 0, 0, 0, 0, 0, 0,
	    "HEVC CodedFrames short cts" },
	{ "a3 68 76 63 31 00", 0, FLV_VCODEC_HEVC, 0, 0, 0, 0, 0, 5,
	    "HEVC CodedFramesX" },
	{ "92 68 76 63 31", 0, FLV_VCODEC_HEVC, 1, 0, 1, 0, 0, 5,
	    "HEVC SequenceEnd" },
	{ "94 68 76 63 31 02", 0, FLV_VCODEC_HEVC, 0, 0, 0, 0, 0, 5,
	    "HEVC Metadata" },
	{ "d4 68 76 63 31 02", 0, FLV_VCODEC_HEVC, 0, 0, 0, 0, 0, 5,
	    "Metadata in a command frame keeps its FourCC" },
	{ "d1 01", 0, FLV_VCODEC_NONE, 0, 0, 0, 1, 0, 2,
	    "ex command frame: no FourCC" },
	{ "90 61 76 30 31 81", 0, FLV_VCODEC_AV1, 1, 1, 0, 0, 0, 5,
	    "AV1 SequenceStart" },
	{ "95 61 76 30 31 80", 0, FLV_VCODEC_AV1, 1, 1, 0, 0, 0, 5,
	    "AV1 MPEG2TSSequenceStart" },
	{ "91 61 76 30 31 12 00", 0, FLV_VCODEC_AV1, 1, 0, 0, 0, 0, 5,
	    "AV1 CodedFrames: no cts" },
	{ "a1 76 70 30 39 aa", 0, FLV_VCODEC_VP9, 0, 0, 0, 0, 0, 5,
	    "VP9 CodedFrames" },
	{ "90 61 76 63 31 01", 0, FLV_VCODEC_AVC, 1, 1, 0, 0, 0, 5,
	    "avc1 SequenceStart (E-RTMP v2)" },
	{ "a1 61 76 63 31 00 00 21 00", 0, FLV_VCODEC_AVC, 0, 0, 0, 0, 33, 8,
	    "avc1 CodedFrames with cts" },
	{ "91 61 62 63 64", 0, FLV_VCODEC_OTHER, 1, 0, 0, 0, 0, 5,
	    "unknown FourCC" },
	{ "96 68 76 63 31", -1, 0, 0, 0, 0, 0, 0, 0, "Multitrack refused" },
	{ "97 00 68 76 63 31", -1, 0, 0, 0, 0, 0, 0, 0, "ModEx refused" },
	{ "9f 68 76 63 31", -1, 0, 0, 0, 0, 0, 0, 0, "packet type 15" },
};

static void
test_video_hand(void)
{
	struct flv_video	v;
	uint8_t			buf[64];
	size_t			i, n;
	int			rc;

	for (i = 0; i < sizeof(video_cases) / sizeof(video_cases[0]); i++) {
		n = unhex(video_cases[i].hex, buf, sizeof(buf));
		rc = video(buf, n, &v);
		if (video_cases[i].rc == -1) {
			is_int(rc, -1, "video: %s", video_cases[i].what);
			continue;
		}
		ok(rc == 0 && v.codec == video_cases[i].codec &&
		    v.keyframe == video_cases[i].key &&
		    v.seq_header == video_cases[i].seq &&
		    v.end_of_seq == video_cases[i].eos &&
		    v.info_frame == video_cases[i].info &&
		    v.cts_ms == video_cases[i].cts &&
		    v.payload_off == video_cases[i].off,
		    "video: %s", video_cases[i].what);
		if (rc == 0 && v.payload_off != video_cases[i].off)
			printf("#   payload_off %zu\n", v.payload_off);
	}
}

/*
 * Audio: the tag header as written by ffmpeg's FLV muxer, checked
 * against ffprobe's sample_rate/channels for the same file, and for AAC
 * the AudioSpecificConfig (the header itself always says 44.1 kHz stereo
 * for AAC, E.4.2.1).
 */
static const struct {
	const char	*name;
	enum flv_acodec	 codec;
	unsigned	 rate, channels;	/* from the tag header */
	unsigned	 aot, asc_rate, asc_channels;	/* AAC only */
} audio_real[] = {
	{ "h720.aseq", FLV_ACODEC_AAC, 44100, 2, 2, 48000, 2 },
	{ "b360.aseq", FLV_ACODEC_AAC, 44100, 2, 2, 44100, 1 },
	{ "aac51.aseq", FLV_ACODEC_AAC, 44100, 2, 2, 48000, 6 },
	{ "aac71.aseq", FLV_ACODEC_AAC, 44100, 2, 2, 48000, 8 },
	{ "aac96.aseq", FLV_ACODEC_AAC, 44100, 2, 2, 96000, 2 },
	{ "aac8k.aseq", FLV_ACODEC_AAC, 44100, 2, 2, 8000, 1 },
	{ "h720.araw", FLV_ACODEC_AAC, 44100, 2, 0, 0, 0 },
	{ "mp3.araw", FLV_ACODEC_MP3, 44100, 2, 0, 0, 0 },
	{ "mp3m22.araw", FLV_ACODEC_MP3, 22050, 1, 0, 0, 0 },
	{ "pcm11.araw", FLV_ACODEC_PCM_LE, 11025, 1, 0, 0, 0 },
	{ "pcmu8.araw", FLV_ACODEC_PCM, 22050, 2, 0, 0, 0 },
	{ "adpcm.araw", FLV_ACODEC_ADPCM, 22050, 1, 0, 0, 0 },
	{ "nelly.araw", FLV_ACODEC_NELLY, 44100, 1, 0, 0, 0 },
	{ "nelly8.araw", FLV_ACODEC_NELLY8, 8000, 1, 0, 0, 0 },
	{ "speex.araw", FLV_ACODEC_SPEEX, 16000, 1, 0, 0, 0 },
	{ "alaw.araw", FLV_ACODEC_G711A, 8000, 1, 0, 0, 0 },
	{ "mulaw.araw", FLV_ACODEC_G711U, 8000, 1, 0, 0, 0 },
};

static void
test_audio_real(void)
{
	const struct body	*b;
	struct flv_audio	 a;
	struct flv_audio_format	 f;
	size_t			 i;
	bool			 aac;
	int			 rc;

	for (i = 0; i < sizeof(audio_real) / sizeof(audio_real[0]); i++) {
		if ((b = body(audio_real[i].name)) == NULL)
			continue;
		aac = audio_real[i].codec == FLV_ACODEC_AAC;
		rc = audio(b->data, b->len, &a);
		ok(rc == 0 && a.codec == audio_real[i].codec &&
		    a.rate_hz == audio_real[i].rate &&
		    a.channels == audio_real[i].channels &&
		    a.seq_header == (audio_real[i].aot != 0) &&
		    a.payload_off == (aac ? 2u : 1u),
		    "%s: %s %u Hz %u ch", audio_real[i].name,
		    flv_acodec_name(a.codec), a.rate_hz, a.channels);
		if (!a.seq_header)
			continue;
		rc = aac_config(b->data + 2, b->len - 2, &f);
		ok(rc == 0 && f.object_type == audio_real[i].aot &&
		    f.rate_hz == audio_real[i].asc_rate &&
		    f.channels == audio_real[i].asc_channels,
		    "%s: AudioSpecificConfig %u %u Hz %u ch",
		    audio_real[i].name, f.object_type, f.rate_hz, f.channels);
	}
}

static const struct {
	const char	*hex;
	int		 rc;
	enum flv_acodec	 codec;
	unsigned	 rate, channels;
	bool		 seq;
	size_t		 off;
	const char	*what;
} audio_cases[] = {
	{ "", -1, 0, 0, 0, 0, 0, "empty" },
	{ "af", -1, 0, 0, 0, 0, 0, "AAC without packet type" },
	{ "af 02", -1, 0, 0, 0, 0, 0, "AACPacketType 2" },
	{ "a0 01 21", 0, FLV_ACODEC_AAC, 5512, 1, 0, 2, "AAC raw, 5.5k mono" },
	{ "af 00 12 10", 0, FLV_ACODEC_AAC, 44100, 2, 1, 2, "AAC seq header" },
	{ "2f", 0, FLV_ACODEC_MP3, 44100, 2, 0, 1, "MP3, no data" },
	{ "e2 ff", 0, FLV_ACODEC_MP3_8K, 8000, 1, 0, 1, "MP3 8 kHz" },
	{ "4e 00", 0, FLV_ACODEC_NELLY16, 16000, 1, 0, 1, "Nellymoser 16k" },
	{ "f2 00", 0, FLV_ACODEC_DEVICE, 5512, 1, 0, 1, "device-specific" },
	/* Enhanced RTMP v2 ExAudioTagHeader: passed through as format 9. */
	{ "90 4f 70 75 73", 0, 9, 5512, 1, 0, 1, "ex audio header" },
};

static void
test_audio_hand(void)
{
	struct flv_audio	a;
	uint8_t			buf[16];
	size_t			i, n;
	int			rc;

	for (i = 0; i < sizeof(audio_cases) / sizeof(audio_cases[0]); i++) {
		n = unhex(audio_cases[i].hex, buf, sizeof(buf));
		rc = audio(buf, n, &a);
		if (audio_cases[i].rc == -1) {
			is_int(rc, -1, "audio: %s", audio_cases[i].what);
			continue;
		}
		ok(rc == 0 && a.codec == audio_cases[i].codec &&
		    a.rate_hz == audio_cases[i].rate &&
		    a.channels == audio_cases[i].channels &&
		    a.seq_header == audio_cases[i].seq &&
		    a.payload_off == audio_cases[i].off,
		    "audio: %s", audio_cases[i].what);
	}
}

/* AudioSpecificConfig (ISO 14496-3 1.6.2.1), bit fields noted. */
static const struct {
	const char	*hex;
	int		 rc;
	unsigned	 aot, rate, channels;
	const char	*what;
} asc_cases[] = {
	{ "12 10", 0, 2, 44100, 2, "LC 44.1k stereo" },
	{ "f9 46 40", 0, 42, 48000, 2, "object type 31 escape: 32 + 10" },
	{ "17 80 56 22 08", 0, 2, 44100, 1, "index 15: explicit 44100" },
	{ "2b 11 88", 0, 5, 48000, 2, "HE-AAC: 24k core, 48k output" },
	{ "eb 09 88", 0, 29, 48000, 2, "HE-AACv2: mono core, PS stereo" },
	{ "2b 17 80 56 22 08", 0, 5, 44100, 2,
	    "HE-AAC explicit extension rate" },
	{ "12 00", 0, 2, 44100, 0, "channel config 0: in the PCE" },
	{ "11 d8", 0, 2, 48000, 7, "channel config 11: 6.1" },
	{ "11 e8", 0, 2, 48000, 24, "channel config 13: 22.2" },
	{ "", -1, 0, 0, 0, "empty" },
	{ "12", -1, 0, 0, 0, "one byte" },
	{ "f9", -1, 0, 0, 0, "escaped object type cut" },
	{ "17 80 56", -1, 0, 0, 0, "explicit rate cut" },
	{ "2b 11", -1, 0, 0, 0, "HE-AAC extension cut" },
	{ "16 90", -1, 0, 0, 0, "reserved frequency index 13" },
	{ "11 c0", -1, 0, 0, 0, "reserved channel config 8" },
	{ "11 f8", -1, 0, 0, 0, "reserved channel config 15" },
	{ "01 90", -1, 0, 0, 0, "object type 0" },
	{ "17 80 00 00 10", -1, 0, 0, 0, "explicit rate 0" },
};

static void
test_aac_config(void)
{
	struct flv_audio_format	f;
	uint8_t			buf[16];
	size_t			i, n;
	int			rc;

	for (i = 0; i < sizeof(asc_cases) / sizeof(asc_cases[0]); i++) {
		n = unhex(asc_cases[i].hex, buf, sizeof(buf));
		rc = aac_config(buf, n, &f);
		if (asc_cases[i].rc == -1) {
			is_int(rc, -1, "asc: %s", asc_cases[i].what);
			continue;
		}
		ok(rc == 0 && f.object_type == asc_cases[i].aot &&
		    f.rate_hz == asc_cases[i].rate &&
		    f.channels == asc_cases[i].channels,
		    "asc: %s", asc_cases[i].what);
		if (rc == 0 && (f.object_type != asc_cases[i].aot ||
		    f.rate_hz != asc_cases[i].rate ||
		    f.channels != asc_cases[i].channels))
			printf("#   got %u %u %u\n", f.object_type, f.rate_hz,
			    f.channels);
	}
}

/* Wraps an SPS NAL unit in an AVCDecoderConfigurationRecord. */
static size_t
avcc_wrap(const uint8_t *sps, size_t len, uint8_t *out)
{
	static const uint8_t	pps[] = { 0x68, 0xce, 0x38, 0x80 };
	size_t			n = 0;

	out[n++] = 1;
	out[n++] = len > 1 ? sps[1] : 0;
	out[n++] = 0;
	out[n++] = len > 3 ? sps[3] : 0;
	out[n++] = 0xff;
	out[n++] = 0xe1;
	out[n++] = (uint8_t)(len >> 8);
	out[n++] = (uint8_t)len;
	memcpy(out + n, sps, len);
	n += len;
	out[n++] = 1;
	out[n++] = 0;
	out[n++] = sizeof(pps);
	memcpy(out + n, pps, sizeof(pps));
	return n + sizeof(pps);
}

/* SPS NAL units, Baseline unless noted, written bit by bit with the
 * BitWriter of flv_make.py. */
static const struct {
	const char	*hex;
	int		 rc;
	unsigned	 w, h;
	const char	*what;
} sps_cases[] = {
	{ "67 42 00 1e da 05 07 e4", 0, 320, 240, "320x240" },
	{ "67 42 00 1e da 00 08 00 00 10 01 90", 0, 32768, 32768,
	    "2048 x 2048 macroblocks: the limit" },
	{ "67 42 00 1e d3 00 80 24 92 49 24 92 49 24 92 49 24 92 49 24 92"
	    " 49 24 92 49 24 92 49 24 92 49 24 92 49 24 92 49 24 92 49 24"
	    " 92 49 24 92 49 24 92 49 24 92 49 24 92 49 24 92 49 24 92 49"
	    " 24 92 49 24 92 49 24 92 49 24 92 49 24 92 49 24 92 49 24 92"
	    " 49 24 92 49 24 92 49 24 92 49 24 92 49 24 92 49 24 92 49 24"
	    " 92 49 02 83 f2", 0, 320, 240, "poc type 1, 255 offsets" },
	{ "67 42 00 1e d3 00 80 a4 92 49 24 92 49 24 92 49 24 92 49 24 92"
	    " 49 24 92 49 24 92 49 24 92 49 24 92 49 24 92 49 24 92 49 24"
	    " 92 49 24 92 49 24 92 49 24 92 49 24 92 49 24 92 49 24 92 49"
	    " 24 92 49 24 92 49 24 92 49 24 92 49 24 92 49 24 92 49 24 92"
	    " 49 24 92 49 24 92 49 24 92 49 24 92 49 24 92 49 24 92 49 24"
	    " 92 49 20 50 7e 40", -1, 0, 0, "poc type 1, 256 offsets" },
	{ "67 42 00 1e 04 36 81 41 f9", -1, 0, 0, "seq_parameter_set_id 32" },
	{ "67 64 00 1e 97 2d 02 83 f2", -1, 0, 0, "High, chroma_format 4" },
	{ "67 64 00 1e a1 12 d0 28 3f 20", -1, 0, 0, "High, bit depth 15" },
	{ "67 64 00 1e ad 80 40 00 5a 05 07 e4", -1, 0, 0,
	    "scaling delta 128" },
	{ "67 64 00 1e ad 80 40 c0 5a 05 07 e4", -1, 0, 0,
	    "scaling delta -129" },
	{ "67 42 00 1e 8e 68 14 1f 90", -1, 0, 0, "log2_max_frame_num 17" },
	{ "67 42 00 1e c8 81 41 f9", -1, 0, 0, "pic_order_cnt_type 3" },
	{ "67 42 00 1e d8 48 14 1f 90", -1, 0, 0, "17 reference frames" },
	{ "67 42 00 1e da 00 08 01 1f 90", -1, 0, 0, "2049 macroblocks wide" },
	{ "67 42 00 1e da 05 00 04 00 e4", -1, 0, 0,
	    "2049 macroblocks high" },
	{ "67 42 00 1e da 05 00 08 00 48", 0, 320, 32768,
	    "1024 field map units: 2048 macroblocks high" },
	{ "67 42 00 1e da 05 00 08 02 48", -1, 0, 0,
	    "1025 field map units: 2050 macroblocks high" },
	{ "67 42 00 1e da 47 f2 97 40", -1, 0, 0, "crop takes the width" },
	{ "67 42 00 1e da 05 3f 29 50", -1, 0, 0, "crop takes the height" },
	{ "67 42 00 1e da 05 27 94 a8", -1, 0, 0,
	    "crop takes the height in field units" },
	{ "67 42 00 1e 00 00 00 00 80", -1, 0, 0, "32 leading zero bits" },
	{ "67 42 00 1e 00 00 03 00 00 03 00 00 03 00 00 03 00 00 03 00",
	    -1, 0, 0, "zeros behind emulation prevention bytes" },
	{ "67 42 00 1e", -1, 0, 0, "header only" },
	{ "68 42 00 1e da 05 07 e4", -1, 0, 0, "NAL type 8 (PPS)" },
	{ "", -1, 0, 0, "empty NAL" },
};

static void
test_sps(void)
{
	struct flv_video_format	f;
	uint8_t			sps[256], rec[300];
	size_t			i, n;
	int			rc;

	for (i = 0; i < sizeof(sps_cases) / sizeof(sps_cases[0]); i++) {
		n = unhex(sps_cases[i].hex, sps, sizeof(sps));
		n = avcc_wrap(sps, n, rec);
		rc = avc_config(rec, n, &f);
		if (sps_cases[i].rc == -1) {
			ok(rc == -1 && f.width == 0 && f.height == 0,
			    "sps: %s", sps_cases[i].what);
			continue;
		}
		ok(rc == 0 && f.width == sps_cases[i].w &&
		    f.height == sps_cases[i].h, "sps: %s", sps_cases[i].what);
	}

	/* A zero run as long as the buffer: the reader stops at its end. */
	memset(sps, 0, sizeof(sps));
	sps[0] = 0x67;
	n = avcc_wrap(sps, sizeof(sps), rec);
	is_int(avc_config(rec, n, &f), -1, "sps: 255 zero bytes");
}

/* Breaks the record around a good SPS, one field at a time. */
static void
test_avcc_record(void)
{
	const struct body	*b = body("h720.vseq");
	struct flv_video_format	 f;
	uint8_t			 rec[BODY_MAX];
	size_t			 n;

	if (b == NULL)
		return;
	n = b->len - 5;
	memcpy(rec, b->data + 5, n);
	rec[0] = 2;
	is_int(avc_config(rec, n, &f), -1, "avcc: configurationVersion 2");
	rec[0] = 1;
	rec[5] = 0xe0;
	is_int(avc_config(rec, n, &f), -1, "avcc: no SPS");
	rec[5] = 0xe1;
	rec[6] = 0xff;
	is_int(avc_config(rec, n, &f), -1, "avcc: SPS longer than the record");
	rec[6] = 0;
	rec[8] = 0x68;
	is_int(avc_config(rec, n, &f), -1, "avcc: first SPS is a PPS");
	rec[8] = 0x67;
	is_int(avc_config(rec, 8 + rec[7], &f), -1, "avcc: no PPS count");
	rec[8 + rec[7]] = 2;
	is_int(avc_config(rec, n, &f), -1, "avcc: PPS count past the end");
	rec[8 + rec[7]] = 1;
	ok(avc_config(rec, n, &f) == 0 && f.width == 1280,
	    "avcc: restored record parses");
}

/*
 * Every prefix of every input: each parser either fails or succeeds
 * without reading past the end (ASan), and a record that parses when
 * cut gives the same answer as the whole one.
 */
static void
test_prefixes(void)
{
	struct flv_video	 v;
	struct flv_audio	 a;
	struct flv_video_format	 vf, vf_full;
	struct flv_audio_format	 af, af_full;
	const struct body	*b;
	size_t			 i, k;
	bool			 good;
	int			 full;

	for (i = 0; i < nbodies; i++) {
		b = &bodies[i];
		good = true;
		for (k = 0; k < b->len; k++) {
			if (video(b->data, k, &v) == 0 && v.payload_off > k)
				good = false;
			if (audio(b->data, k, &a) == 0 && a.payload_off > k)
				good = false;
		}
		/* Configuration records behind their tag header. */
		if (strstr(b->name, ".vseq") != NULL) {
			full = avc_config(b->data + 5, b->len - 5, &vf_full);
			for (k = 0; k < b->len - 5; k++)
				if (avc_config(b->data + 5, k, &vf) == 0 &&
				    (full != 0 ||
				    memcmp(&vf, &vf_full, sizeof(vf)) != 0))
					good = false;
		} else if (strstr(b->name, ".aseq") != NULL) {
			full = aac_config(b->data + 2, b->len - 2, &af_full);
			for (k = 0; k < b->len - 2; k++)
				if (aac_config(b->data + 2, k, &af) == 0 &&
				    (full != 0 ||
				    memcmp(&af, &af_full, sizeof(af)) != 0))
					good = false;
		}
		ok(good, "%s: all %zu prefixes", b->name, b->len);
	}
}

/*
 * flv_small.flv, tag by tag: 160x120 H.264 with B-frames and AAC.
 * ffprobe -show_packets: 6 video packets, 1 keyframe, pts - dts
 * 67 133 33 34 100 33; 10 audio packets.
 */
static void
test_walk(void)
{
	static const int	 want_cts[] = { 67, 133, 33, 34, 100, 33 };
	struct flv_video	 v;
	struct flv_audio	 a;
	struct flv_video_format	 vf;
	struct flv_audio_format	 af;
	FILE			*fp;
	uint8_t			*p;
	size_t			 n, off, len;
	int			 vframes = 0, keys = 0, aframes = 0;
	int			 vseq = 0, aseq = 0, bad = 0, cts_bad = 0;

	if ((fp = fopen("../data/flv_small.flv", "rb")) == NULL ||
	    (p = malloc(65536)) == NULL) {
		ok(0, "walk: open ../data/flv_small.flv");
		return;
	}
	n = fread(p, 1, 65536, fp);
	fclose(fp);
	off = n >= 9 ? (size_t)p[5] << 24 | p[6] << 16 | p[7] << 8 | p[8] : n;
	for (off += 4; off + 11 <= n; off += 11 + len + 4) {
		len = (size_t)p[off + 1] << 16 | p[off + 2] << 8 | p[off + 3];
		if (off + 11 + len > n)
			break;
		if (p[off] == 9) {
			if (video(p + off + 11, len, &v) == -1) {
				bad++;
				continue;
			}
			if (v.seq_header) {
				vseq++;
				if (avc_config(p + off + 16, len - 5, &vf) ||
				    vf.width != 160 || vf.height != 120)
					bad++;
			} else if (!v.end_of_seq) {
				if (vframes < 6 &&
				    v.cts_ms != want_cts[vframes])
					cts_bad++;
				vframes++;
				keys += v.keyframe;
			}
		} else if (p[off] == 8) {
			if (audio(p + off + 11, len, &a) == -1) {
				bad++;
				continue;
			}
			if (a.seq_header) {
				aseq++;
				if (aac_config(p + off + 13, len - 2, &af) ||
				    af.rate_hz != 44100 || af.channels != 2)
					bad++;
			} else
				aframes++;
		}
	}
	free(p);
	is_int(bad, 0, "walk: every tag parses");
	is_int(vseq, 1, "walk: one AVC sequence header, 160x120");
	is_int(aseq, 1, "walk: one AAC sequence header, 44.1k stereo");
	is_int(vframes, 6, "walk: 6 video frames");
	is_int(keys, 1, "walk: 1 keyframe");
	is_int(cts_bad, 0, "walk: composition times match ffprobe");
	is_int(aframes, 10, "walk: 10 audio frames");
}

static void
test_names(void)
{
	static const struct {
		enum flv_vcodec	 c;
		const char	*name;
	} vn[] = {
		{ FLV_VCODEC_AVC, "h264" }, { FLV_VCODEC_HEVC, "hevc" },
		{ FLV_VCODEC_AV1, "av1" }, { FLV_VCODEC_VP9, "vp9" },
		{ FLV_VCODEC_VP6, "vp6" }, { FLV_VCODEC_VP6A, "vp6a" },
		{ FLV_VCODEC_H263, "h263" }, { FLV_VCODEC_SCREEN, "flashsv" },
		{ FLV_VCODEC_SCREEN2, "flashsv2" }, { FLV_VCODEC_NONE, "none" },
		{ FLV_VCODEC_OTHER, "unknown" }, { (enum flv_vcodec)1,
		    "unknown" },
	};
	static const struct {
		enum flv_acodec	 c;
		const char	*name;
	} an[] = {
		{ FLV_ACODEC_AAC, "aac" }, { FLV_ACODEC_MP3, "mp3" },
		{ FLV_ACODEC_MP3_8K, "mp3" }, { FLV_ACODEC_PCM, "pcm" },
		{ FLV_ACODEC_PCM_LE, "pcm" }, { FLV_ACODEC_ADPCM, "adpcm" },
		{ FLV_ACODEC_SPEEX, "speex" }, { FLV_ACODEC_NELLY,
		    "nellymoser" }, { FLV_ACODEC_NELLY8, "nellymoser" },
		{ FLV_ACODEC_NELLY16, "nellymoser" }, { FLV_ACODEC_G711A,
		    "g711a" }, { FLV_ACODEC_G711U, "g711u" },
		{ FLV_ACODEC_DEVICE, "device" }, { FLV_ACODEC_NONE, "none" },
		{ (enum flv_acodec)9, "unknown" },
	};
	size_t	i;

	for (i = 0; i < sizeof(vn) / sizeof(vn[0]); i++)
		is_str(flv_vcodec_name(vn[i].c), vn[i].name, "vcodec %d",
		    (int)vn[i].c);
	for (i = 0; i < sizeof(an) / sizeof(an[0]); i++)
		is_str(flv_acodec_name(an[i].c), an[i].name, "acodec %d",
		    (int)an[i].c);
}

int
main(void)
{
	load_bodies("../data/flv_bodies.hex");
	test_avc_real();
	test_video_hand();
	test_audio_real();
	test_audio_hand();
	test_aac_config();
	test_sps();
	test_avcc_record();
	test_prefixes();
	test_walk();
	test_names();
	return tap_done();
}
