/*
 * What the supervisor needs to know about FLV audio and video tag bodies
 * (Adobe FLV specification 10.1, E.4.2/E.4.3, and Enhanced RTMP v1 for
 * HEVC/AV1/VP9 FourCC video): codec, keyframe, sequence header, the size
 * of the codec payload, and the stream's format from its decoder
 * configuration (H.264 SPS, AAC AudioSpecificConfig).  Pure and bounded.
 */
#ifndef FLV_H
#define FLV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum flv_vcodec {
	FLV_VCODEC_NONE = 0,
	FLV_VCODEC_H263 = 2,
	FLV_VCODEC_SCREEN = 3,
	FLV_VCODEC_VP6 = 4,
	FLV_VCODEC_VP6A = 5,
	FLV_VCODEC_SCREEN2 = 6,
	FLV_VCODEC_AVC = 7,
	FLV_VCODEC_HEVC = 100,		/* Enhanced RTMP FourCC codecs */
	FLV_VCODEC_AV1,
	FLV_VCODEC_VP9,
	FLV_VCODEC_OTHER,
};

enum flv_acodec {
	FLV_ACODEC_PCM = 0,
	FLV_ACODEC_ADPCM = 1,
	FLV_ACODEC_MP3 = 2,
	FLV_ACODEC_PCM_LE = 3,
	FLV_ACODEC_NELLY16 = 4,
	FLV_ACODEC_NELLY8 = 5,
	FLV_ACODEC_NELLY = 6,
	FLV_ACODEC_G711A = 7,
	FLV_ACODEC_G711U = 8,
	FLV_ACODEC_AAC = 10,
	FLV_ACODEC_SPEEX = 11,
	FLV_ACODEC_MP3_8K = 14,
	FLV_ACODEC_DEVICE = 15,
	FLV_ACODEC_NONE = 255,
};

struct flv_video {
	enum flv_vcodec	 codec;
	bool		 keyframe;	/* frame type 1 (or a sequence header) */
	bool		 seq_header;	/* decoder configuration record */
	bool		 end_of_seq;
	bool		 info_frame;	/* frame type 5: no picture */
	int32_t		 cts_ms;	/* composition time offset (AVC/HEVC) */
	size_t		 payload_off;	/* codec bytes start here in the body */
};

struct flv_audio {
	enum flv_acodec	 codec;
	unsigned	 rate_hz;	/* from the tag header (AAC: see config) */
	unsigned	 channels;	/* 1 or 2, from the tag header */
	bool		 seq_header;	/* AAC AudioSpecificConfig */
	size_t		 payload_off;
};

/* The stream's format from a sequence header. */
struct flv_video_format {
	unsigned	 width;		/* 0 when unknown */
	unsigned	 height;
	unsigned	 profile;	/* profile_idc */
	unsigned	 level;		/* level_idc */
};

struct flv_audio_format {
	unsigned	 object_type;	/* AAC audio object type, 2 = LC */
	unsigned	 rate_hz;
	unsigned	 channels;
};

/* 0, or -1 when the body is too short or malformed. */
int		 flv_video_parse(const uint8_t *, size_t, struct flv_video *);
int		 flv_audio_parse(const uint8_t *, size_t, struct flv_audio *);
/* From the AVCDecoderConfigurationRecord that follows the header of an
 * AVC sequence header (body + payload_off): SPS size, profile, level. */
int		 flv_avc_config_parse(const uint8_t *, size_t,
		    struct flv_video_format *);
/* From an AAC AudioSpecificConfig (body + payload_off). */
int		 flv_aac_config_parse(const uint8_t *, size_t,
		    struct flv_audio_format *);
const char	*flv_vcodec_name(enum flv_vcodec);	/* "h264", "hevc", ... */
const char	*flv_acodec_name(enum flv_acodec);	/* "aac", "mp3", ... */

#endif
