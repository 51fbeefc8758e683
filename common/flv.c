/*
 * FLV audio/video tag bodies: the tag header fields the supervisor routes
 * on, and the picture size and audio format from the decoder
 * configuration.  Decoding is the worker's business; this file only reads
 * headers, from caller-owned bytes, with every read bounds-checked.
 */
#include <string.h>

#include "common/flv.h"
#include "common/wire.h"

#define FLV_FRAME_KEY		1
#define FLV_FRAME_INFO		5	/* video info/command frame */

#define FLV_AVC_SEQ_HDR		0	/* AVCPacketType */
#define FLV_AVC_NALU		1
#define FLV_AVC_END_SEQ		2

/* Enhanced RTMP VideoPacketType, in place of the codec id. */
#define FLV_EX_HEADER		0x80
#define FLV_EX_SEQ_START	0
#define FLV_EX_CODED		1	/* SI24 cts follows for avc1/hvc1 */
#define FLV_EX_SEQ_END		2
#define FLV_EX_CODED_X		3	/* composition time 0, not sent */
#define FLV_EX_METADATA		4
#define FLV_EX_MPEG2TS_START	5	/* AV1 descriptor from MPEG-2 TS */

#define FLV_AAC_SEQ_HDR		0	/* AACPacketType */
#define FLV_AAC_RAW		1

#define FLV_SPS_NAL_TYPE	7
#define FLV_SPS_MAX_ID		31
/* 2048 macroblocks = 32768 pixels, twice what H.264 level 6.2 allows;
 * keeps every size product far from overflow. */
#define FLV_SPS_MAX_MBS		2048
#define FLV_SPS_MAX_POC_CYCLE	255
#define FLV_SPS_MAX_REF_FRAMES	16

#define FOURCC(a, b, c, d)	\
	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

/*
 * MSB-first bit reader.  With nal set it drops H.264 emulation
 * prevention bytes as it loads them (7.4.1: 0x000003 reads as 0x0000),
 * so an SPS of any length is read in place instead of being copied into
 * a buffer that a long scaling matrix could overflow.
 */
struct flv_bits {
	const uint8_t	*p;
	size_t		 len;
	size_t		 off;		/* next byte to load */
	unsigned	 zeros;		/* run of 0x00 bytes just loaded */
	unsigned	 cur;		/* the loaded byte */
	unsigned	 left;		/* its unread bits */
	bool		 nal;
	bool		 err;
};

static void
flv_bits_init(struct flv_bits *b, const uint8_t *p, size_t len, bool nal)
{
	memset(b, 0, sizeof(*b));
	b->p = p;
	b->len = len;
	b->nal = nal;
}

static unsigned
flv_bits_u1(struct flv_bits *b)
{
	if (b->left == 0) {
		if (b->nal && b->zeros >= 2 && b->off < b->len &&
		    b->p[b->off] == 0x03) {
			b->off++;
			b->zeros = 0;
		}
		if (b->err || b->off >= b->len) {
			b->err = true;
			return 0;
		}
		b->cur = b->p[b->off++];
		b->zeros = b->cur == 0 ? b->zeros + 1 : 0;
		b->left = 8;
	}
	b->left--;
	return b->cur >> b->left & 1;
}

/* n <= 32 bits; 0 once the input ran out (err set). */
static uint32_t
flv_bits_u(struct flv_bits *b, unsigned n)
{
	uint32_t	v = 0;

	while (n-- > 0)
		v = v << 1 | flv_bits_u1(b);
	return b->err ? 0 : v;
}

/* H.264 9.1 Exp-Golomb ue(v).  A valid code has at most 31 leading
 * zeros; a longer run is garbage, and stopping there bounds the loop. */
static uint32_t
flv_bits_ue(struct flv_bits *b)
{
	unsigned	lz = 0;

	while (flv_bits_u1(b) == 0) {
		if (b->err || ++lz > 31) {
			b->err = true;
			return 0;
		}
	}
	return (uint32_t)((1ull << lz) - 1 + flv_bits_u(b, lz));
}

/* se(v), 9.1.1: 1, 2, 3, 4 ... map to 1, -1, 2, -2 ... */
static int32_t
flv_bits_se(struct flv_bits *b)
{
	uint32_t	k = flv_bits_ue(b);

	return k & 1 ? (int32_t)(k / 2 + 1) : -(int32_t)(k / 2);
}

/* The signed 24-bit composition time offset (SI24). */
static int32_t
flv_si24(uint32_t u)
{
	return u & 0x800000 ? (int32_t)u - 0x1000000 : (int32_t)u;
}

static enum flv_vcodec
flv_fourcc_codec(uint32_t fourcc)
{
	switch (fourcc) {
	case FOURCC('a', 'v', 'c', '1'):	/* Enhanced RTMP v2 */
		return FLV_VCODEC_AVC;
	case FOURCC('h', 'v', 'c', '1'):
		return FLV_VCODEC_HEVC;
	case FOURCC('a', 'v', '0', '1'):
		return FLV_VCODEC_AV1;
	case FOURCC('v', 'p', '0', '9'):
		return FLV_VCODEC_VP9;
	default:
		return FLV_VCODEC_OTHER;
	}
}

/* Enhanced RTMP ExVideoTagHeader: bit 7 set, frame type in bits 4-6,
 * VideoPacketType in the low nibble, then a FourCC. */
static int
flv_video_parse_ex(struct wire_r *r, uint8_t b0, struct flv_video *v)
{
	unsigned	ftype = b0 >> 4 & 0x07, ptype = b0 & 0x0f;
	uint32_t	fourcc;

	/* A command frame carries one VideoCommand byte and no FourCC,
	 * except that metadata may use this frame type too. */
	if (ftype == FLV_FRAME_INFO && ptype != FLV_EX_METADATA) {
		v->info_frame = true;
		v->payload_off = r->len;
		return 0;
	}
	/* Multitrack (6) and ModEx (7) come from Enhanced RTMP v2 and
	 * change the layout: refuse rather than misread them. */
	if (ptype > FLV_EX_MPEG2TS_START)
		return -1;
	fourcc = wire_be32(r);
	v->codec = flv_fourcc_codec(fourcc);
	v->seq_header = ptype == FLV_EX_SEQ_START ||
	    ptype == FLV_EX_MPEG2TS_START;
	v->end_of_seq = ptype == FLV_EX_SEQ_END;
	if (ptype == FLV_EX_CODED && (v->codec == FLV_VCODEC_HEVC ||
	    v->codec == FLV_VCODEC_AVC))
		v->cts_ms = flv_si24(wire_be24(r));
	if (r->err)
		return -1;
	v->keyframe = v->seq_header ||
	    (ftype == FLV_FRAME_KEY && ptype != FLV_EX_METADATA);
	v->payload_off = r->off;
	return 0;
}

int
flv_video_parse(const uint8_t *p, size_t n, struct flv_video *v)
{
	struct wire_r	r;
	uint8_t		b0;
	unsigned	ftype;

	memset(v, 0, sizeof(*v));
	wire_r_init(&r, p, n);
	b0 = wire_u8(&r);
	if (r.err)
		return -1;
	if (b0 & FLV_EX_HEADER)
		return flv_video_parse_ex(&r, b0, v);

	ftype = b0 >> 4;
	switch (b0 & 0x0f) {
	case FLV_VCODEC_H263:
	case FLV_VCODEC_SCREEN:
	case FLV_VCODEC_VP6:
	case FLV_VCODEC_VP6A:
	case FLV_VCODEC_SCREEN2:
	case FLV_VCODEC_AVC:
		v->codec = (enum flv_vcodec)(b0 & 0x0f);
		break;
	default:
		v->codec = FLV_VCODEC_OTHER;
		break;
	}
	if (ftype == FLV_FRAME_INFO) {
		v->info_frame = true;
		v->payload_off = n;
		return 0;
	}
	if (v->codec == FLV_VCODEC_AVC) {
		switch (wire_u8(&r)) {
		case FLV_AVC_SEQ_HDR:
			v->seq_header = true;
			break;
		case FLV_AVC_NALU:
			break;
		case FLV_AVC_END_SEQ:
			v->end_of_seq = true;
			break;
		default:
			return -1;
		}
		v->cts_ms = flv_si24(wire_be24(&r));
	} else if (v->codec == FLV_VCODEC_VP6 || v->codec == FLV_VCODEC_VP6A)
		wire_u8(&r);	/* E.4.3.1: the picture size adjustment */
	if (r.err)
		return -1;
	v->keyframe = ftype == FLV_FRAME_KEY || v->seq_header;
	v->payload_off = r.off;
	return 0;
}

int
flv_audio_parse(const uint8_t *p, size_t n, struct flv_audio *a)
{
	static const unsigned	 rates[] = { 5512, 11025, 22050, 44100 };
	struct wire_r		 r;
	uint8_t			 b0;

	memset(a, 0, sizeof(*a));
	wire_r_init(&r, p, n);
	b0 = wire_u8(&r);
	if (r.err)
		return -1;
	a->codec = (enum flv_acodec)(b0 >> 4);
	a->rate_hz = rates[b0 >> 2 & 0x03];
	a->channels = (b0 & 0x01) + 1;
	/* E.4.2.1: these formats have a fixed rate whatever the header says;
	 * G.711 is reserved there, and Flash and ffmpeg send it at 8 kHz
	 * with rate index 0. */
	switch (a->codec) {
	case FLV_ACODEC_NELLY8:
	case FLV_ACODEC_MP3_8K:
	case FLV_ACODEC_G711A:
	case FLV_ACODEC_G711U:
		a->rate_hz = 8000;
		break;
	case FLV_ACODEC_NELLY16:
	case FLV_ACODEC_SPEEX:
		a->rate_hz = 16000;
		break;
	case FLV_ACODEC_AAC:
		switch (wire_u8(&r)) {
		case FLV_AAC_SEQ_HDR:
			a->seq_header = true;
			break;
		case FLV_AAC_RAW:
			break;
		default:
			return -1;
		}
		break;
	default:
		break;
	}
	if (r.err)
		return -1;
	a->payload_off = r.off;
	return 0;
}

/* 7.3.2.1.1.1 scaling_list(): only the parse matters, not the values. */
static int
flv_sps_scaling_list(struct flv_bits *b, unsigned size)
{
	int32_t		last = 8, next = 8, delta;
	unsigned	i;

	for (i = 0; i < size && next != 0; i++) {
		delta = flv_bits_se(b);
		if (b->err || delta < -128 || delta > 127)
			return -1;
		next = (last + delta + 256) % 256;
		if (next != 0)
			last = next;
	}
	return 0;
}

/* The fields only high profiles carry (7.3.2.1.1, profile_idc list);
 * sets the ChromaArrayType that scales the cropping window. */
static int
flv_sps_high(struct flv_bits *b, unsigned *chroma)
{
	unsigned	i, lists;

	*chroma = flv_bits_ue(b);
	if (*chroma > 3)
		return -1;
	lists = *chroma == 3 ? 12 : 8;
	if (*chroma == 3 && flv_bits_u1(b))
		*chroma = 0;		/* separate_colour_plane_flag */
	if (flv_bits_ue(b) > 6 || flv_bits_ue(b) > 6)	/* bit depths */
		return -1;
	flv_bits_u1(b);		/* qpprime_y_zero_transform_bypass_flag */
	if (flv_bits_u1(b)) {	/* seq_scaling_matrix_present_flag */
		for (i = 0; i < lists; i++) {
			if (flv_bits_u1(b) &&
			    flv_sps_scaling_list(b, i < 6 ? 16 : 64) == -1)
				return -1;
		}
	}
	return b->err ? -1 : 0;
}

static int
flv_sps_poc(struct flv_bits *b)
{
	uint32_t	i, cycle;

	switch (flv_bits_ue(b)) {	/* pic_order_cnt_type */
	case 0:
		if (flv_bits_ue(b) > 12)	/* log2_max_pic_order_cnt_lsb */
			return -1;
		break;
	case 1:
		flv_bits_u1(b);		/* delta_pic_order_always_zero_flag */
		flv_bits_se(b);		/* offset_for_non_ref_pic */
		flv_bits_se(b);		/* offset_for_top_to_bottom_field */
		cycle = flv_bits_ue(b);
		if (cycle > FLV_SPS_MAX_POC_CYCLE)
			return -1;
		for (i = 0; i < cycle && !b->err; i++)
			flv_bits_se(b);	/* offset_for_ref_frame[i] */
		break;
	case 2:
		break;
	default:
		return -1;
	}
	return b->err ? -1 : 0;
}

static bool
flv_sps_is_high(unsigned profile)
{
	switch (profile) {
	case 100: case 110: case 122: case 244: case 44: case 83: case 86:
	case 118: case 128: case 138: case 139: case 134: case 135:
		return true;
	default:
		return false;
	}
}

/* Cropped picture size from an SPS NAL unit (H.264 7.3.2.1.1). */
static int
flv_sps_parse(const uint8_t *nal, size_t len, struct flv_video_format *f)
{
	struct flv_bits	 b;
	unsigned	 chroma = 1;	/* 4:2:0 unless a high profile says */
	uint32_t	 w_mbs, h_mbs, crop[4] = { 0 };
	uint64_t	 w, h, unit_x, unit_y;
	bool		 frame_mbs_only;
	int		 i;

	flv_bits_init(&b, nal, len, true);
	if ((flv_bits_u(&b, 8) & 0x1f) != FLV_SPS_NAL_TYPE)
		return -1;
	f->profile = flv_bits_u(&b, 8);
	flv_bits_u(&b, 8);		/* constraint_set flags */
	f->level = flv_bits_u(&b, 8);
	if (flv_bits_ue(&b) > FLV_SPS_MAX_ID)
		return -1;
	if (flv_sps_is_high(f->profile) && flv_sps_high(&b, &chroma) == -1)
		return -1;
	if (flv_bits_ue(&b) > 12)	/* log2_max_frame_num_minus4 */
		return -1;
	if (flv_sps_poc(&b) == -1)
		return -1;
	if (flv_bits_ue(&b) > FLV_SPS_MAX_REF_FRAMES)
		return -1;
	flv_bits_u1(&b);		/* gaps_in_frame_num_allowed_flag */
	w_mbs = flv_bits_ue(&b) + 1;
	h_mbs = flv_bits_ue(&b) + 1;	/* map units so far */
	frame_mbs_only = flv_bits_u1(&b);
	if (!frame_mbs_only)
		flv_bits_u1(&b);	/* mb_adaptive_frame_field_flag */
	flv_bits_u1(&b);		/* direct_8x8_inference_flag */
	if (flv_bits_u1(&b)) {		/* frame_cropping_flag */
		for (i = 0; i < 4; i++)	/* left, right, top, bottom */
			crop[i] = flv_bits_ue(&b);
	}
	if (b.err || w_mbs > FLV_SPS_MAX_MBS || h_mbs > FLV_SPS_MAX_MBS)
		return -1;
	if (!frame_mbs_only)
		h_mbs *= 2;	/* map units are macroblock pairs */
	if (h_mbs > FLV_SPS_MAX_MBS)
		return -1;

	/* 7.4.2.1.1: crop offsets count chroma samples, and field pairs
	 * when frames may be coded as two fields. */
	unit_x = chroma == 1 || chroma == 2 ? 2 : 1;
	unit_y = (chroma == 1 ? 2 : 1) * (frame_mbs_only ? 1 : 2);
	w = (uint64_t)w_mbs * 16;
	h = (uint64_t)h_mbs * 16;
	if (unit_x * ((uint64_t)crop[0] + crop[1]) >= w ||
	    unit_y * ((uint64_t)crop[2] + crop[3]) >= h)
		return -1;
	f->width = (unsigned)(w - unit_x * ((uint64_t)crop[0] + crop[1]));
	f->height = (unsigned)(h - unit_y * ((uint64_t)crop[2] + crop[3]));
	return 0;
}

int
flv_avc_config_parse(const uint8_t *p, size_t n, struct flv_video_format *f)
{
	struct wire_r	 r;
	const uint8_t	*sps = NULL, *nal;
	size_t		 sps_len = 0, len;
	unsigned	 i, count;

	memset(f, 0, sizeof(*f));
	wire_r_init(&r, p, n);
	if (wire_u8(&r) != 1)		/* configurationVersion */
		return -1;
	wire_bytes(&r, 3);		/* profile, compatibility, level */
	wire_u8(&r);			/* lengthSizeMinusOne */
	count = wire_u8(&r) & 0x1f;
	/* Walk every parameter set so a truncated record fails here;
	 * the first SPS describes the stream. */
	for (i = 0; i < count; i++) {
		len = wire_be16(&r);
		nal = wire_bytes(&r, len);
		if (i == 0) {
			sps = nal;
			sps_len = len;
		}
	}
	count = wire_u8(&r);
	for (i = 0; i < count; i++)
		wire_bytes(&r, wire_be16(&r));
	if (r.err || sps == NULL)
		return -1;
	if (flv_sps_parse(sps, sps_len, f) == -1) {
		memset(f, 0, sizeof(*f));
		return -1;
	}
	return 0;
}

/* 5-bit object type, 31 escapes to 32 + 6 bits (ISO 14496-3 1.6.2.1). */
static unsigned
flv_aac_object_type(struct flv_bits *b)
{
	unsigned	ot = flv_bits_u(b, 5);

	return ot == 31 ? 32 + flv_bits_u(b, 6) : ot;
}

/* samplingFrequencyIndex, 15 escapes to an explicit 24-bit rate;
 * 13 and 14 are reserved (0). */
static unsigned
flv_aac_rate(struct flv_bits *b)
{
	static const unsigned	rates[] = { 96000, 88200, 64000, 48000,
	    44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350 };
	unsigned		i = flv_bits_u(b, 4);

	if (i == 15)
		return flv_bits_u(b, 24);
	return i < sizeof(rates) / sizeof(rates[0]) ? rates[i] : 0;
}

int
flv_aac_config_parse(const uint8_t *p, size_t n, struct flv_audio_format *f)
{
	/* channelConfiguration -> channels; 0 means a PCE says, 8-10 and
	 * 15 are reserved, 11-14 came with the 2009 amendment. */
	static const int	 channels[16] = { 0, 1, 2, 3, 4, 5, 6, 8,
	    -1, -1, -1, 7, 8, 24, 8, -1 };
	struct flv_bits		 b;
	unsigned		 cfg;

	memset(f, 0, sizeof(*f));
	flv_bits_init(&b, p, n, false);
	f->object_type = flv_aac_object_type(&b);
	f->rate_hz = flv_aac_rate(&b);
	cfg = flv_bits_u(&b, 4);
	/* Explicit HE-AAC (SBR 5, PS 29) signals the output rate next; the
	 * core object type after it does not change what we report. */
	if (f->object_type == 5 || f->object_type == 29) {
		f->rate_hz = flv_aac_rate(&b);
		flv_aac_object_type(&b);
		/* Parametric stereo turns a mono core into stereo. */
		if (f->object_type == 29 && cfg == 1)
			cfg = 2;
	}
	if (b.err || f->object_type == 0 || f->rate_hz == 0 ||
	    channels[cfg] < 0) {
		memset(f, 0, sizeof(*f));
		return -1;
	}
	f->channels = (unsigned)channels[cfg];
	return 0;
}

const char *
flv_vcodec_name(enum flv_vcodec c)
{
	switch (c) {
	case FLV_VCODEC_NONE:
		return "none";
	case FLV_VCODEC_H263:
		return "h263";
	case FLV_VCODEC_SCREEN:
		return "flashsv";
	case FLV_VCODEC_VP6:
		return "vp6";
	case FLV_VCODEC_VP6A:
		return "vp6a";
	case FLV_VCODEC_SCREEN2:
		return "flashsv2";
	case FLV_VCODEC_AVC:
		return "h264";
	case FLV_VCODEC_HEVC:
		return "hevc";
	case FLV_VCODEC_AV1:
		return "av1";
	case FLV_VCODEC_VP9:
		return "vp9";
	default:
		return "unknown";
	}
}

const char *
flv_acodec_name(enum flv_acodec c)
{
	switch (c) {
	case FLV_ACODEC_PCM:
	case FLV_ACODEC_PCM_LE:
		return "pcm";
	case FLV_ACODEC_ADPCM:
		return "adpcm";
	case FLV_ACODEC_MP3:
	case FLV_ACODEC_MP3_8K:
		return "mp3";
	case FLV_ACODEC_NELLY16:
	case FLV_ACODEC_NELLY8:
	case FLV_ACODEC_NELLY:
		return "nellymoser";
	case FLV_ACODEC_G711A:
		return "g711a";
	case FLV_ACODEC_G711U:
		return "g711u";
	case FLV_ACODEC_AAC:
		return "aac";
	case FLV_ACODEC_SPEEX:
		return "speex";
	case FLV_ACODEC_DEVICE:
		return "device";
	case FLV_ACODEC_NONE:
		return "none";
	default:
		return "unknown";
	}
}
