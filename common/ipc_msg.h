/*
 * Payloads of the supervisor<->worker messages (HELLO, CONFIG, MEDIA,
 * STATUS, SOURCE; EOS is empty), packed and parsed by hand with the wire_ helpers,
 * all little-endian.  Pure: parsed strings and media data point into the
 * caller's payload and live as long as it does.
 */
#ifndef IPC_MSG_H
#define IPC_MSG_H

#include <stddef.h>
#include <stdint.h>

#define IPC_STATUS_ERR_MAX	200	/* bytes of last_error on the wire */

/* HELLO: u32 version, str proc. */
struct ipc_hello {
	uint32_t	 version;
	const char	*proc;
	size_t		 proc_len;
};

/* A string field of a message: not NUL-terminated; len 0 means unset. */
struct ipc_str {
	const char	*p;
	size_t		 len;
};

/*
 * The settings of a transcoding profile (config/cfg.h struct cfg_video
 * and cfg_audio), in CONFIG after the fixed fields: u8 video_copy, str
 * vcodec, u32 width, height, fps_num, fps_den, bitrate, maxrate, bufsize,
 * keyint_ms, keyint_frames, str preset, tune, vprofile, level, pix_fmt;
 * u8 audio_copy, str acodec, u32 bitrate, sample_rate, channels.  0 or an
 * empty string: the source's value or the encoder's default.
 */
struct ipc_profile {
	uint8_t		 video_copy;	/* 1: the video settings are unused */
	struct ipc_str	 vcodec;
	uint32_t	 width, height;
	uint32_t	 fps_num, fps_den;
	uint32_t	 vbitrate_bps, maxrate_bps, bufsize_bps;
	uint32_t	 keyint_ms, keyint_frames;
	struct ipc_str	 preset, tune, vprofile, level, pix_fmt;
	uint8_t		 audio_copy;
	struct ipc_str	 acodec;
	uint32_t	 abitrate_bps, sample_rate, channels;
};

/* What a relay does when its stream has no publisher left (issue #7). */
enum ipc_on_loss {
	IPC_LOSS_END,		/* EOS follows: close the destination */
	IPC_LOSS_HOLD,		/* keep it open, send the slate */
};

/* CONFIG: str stream, relay, url (a secret), profile; u32 timeouts and
 * backoff; u8 log level and format; the profile's settings; u8 on_loss,
 * u32 grace_ms, str slate_image, slate_audio (file paths; empty: black,
 * silence).  Strings are not NUL-terminated. */
struct ipc_config {
	const char	*stream;
	size_t		 stream_len;
	const char	*relay;
	size_t		 relay_len;
	const char	*url;
	size_t		 url_len;
	const char	*profile;
	size_t		 profile_len;
	uint32_t	 connect_timeout_ms;
	uint32_t	 io_timeout_ms;
	uint32_t	 backoff_min_ms;
	uint32_t	 backoff_max_ms;
	uint8_t		 log_level;	/* enum log_level */
	uint8_t		 log_format;	/* enum log_format */
	struct ipc_profile prof;	/* all copy for profile copy */
	uint8_t		 on_loss;	/* enum ipc_on_loss */
	uint32_t	 grace_ms;	/* how long a hold may last */
	struct ipc_str	 slate_image;	/* empty: black */
	struct ipc_str	 slate_audio;	/* empty: silence */
};

/*
 * SOURCE: u8 what, u32 grace_ms, str label.  Sent by the supervisor
 * between MEDIA messages when the relay's source changes; the destination
 * session stays open across it.
 */
enum ipc_source_what {
	IPC_SRC_LOST,		/* no publisher is live: send the slate (hold)
				   until a SOURCE NEW; EOS ends the hold.
				   grace_ms: what is left of the grace */
	IPC_SRC_NEW,		/* the MEDIA that follows comes from another
				   source (a returning publisher, the backup):
				   its sequence headers, then a keyframe, on
				   its own clock; switch to it on that
				   keyframe, timestamps continuing */
};

struct ipc_source {
	uint8_t		 what;		/* enum ipc_source_what */
	uint32_t	 grace_ms;
	struct ipc_str	 label;		/* "primary", "backup": for logs */
};

/* MEDIA: u8 tag type, u8 TAG_F_* flags, u32 ts_ms, then the tag body. */
struct ipc_media {
	uint8_t		 type;		/* enum tag_kind */
	uint8_t		 flags;
	uint32_t	 ts_ms;
	const uint8_t	*data;		/* into the payload */
	size_t		 len;
};

enum ipc_status_state {
	IPC_ST_STARTING,
	IPC_ST_CONNECTING,
	IPC_ST_LIVE,
	IPC_ST_BACKOFF,
	IPC_ST_STOPPED,
	IPC_ST_STALLED,		/* live, but a write has been blocked */
	IPC_ST_HOLDING,		/* live, sending the slate (SOURCE LOST) */
};

enum ipc_status_err {
	IPC_ERR_NONE,
	IPC_ERR_NETWORK,
	IPC_ERR_REFUSED,	/* the destination answered and said no */
	IPC_ERR_CONFIG,
};

struct ipc_status {
	uint8_t		 state;		/* enum ipc_status_state */
	uint64_t	 bytes_out;
	uint32_t	 kbps;
	uint32_t	 fps_x100;
	uint64_t	 packets_out;
	uint64_t	 packets_dropped;
	uint32_t	 reconnects;
	uint32_t	 state_ms;	/* time in the current state */
	uint8_t		 error_class;	/* enum ipc_status_err */
	const char	*last_error;	/* masked; pack truncates to 200 */
	size_t		 last_error_len;
	/* transcoding relays; 0 for copy */
	uint32_t	 speed_x100;	/* media time encoded per second spent
					   encoding, x100 (300 = 3x) */
	uint64_t	 frames_dropped;	/* by frame rate or lag */
	uint64_t	 frames_duped;		/* by frame rate */
};

/*
 * The pack functions write into out (cap bytes) and return the payload
 * length, or -1 when it does not fit or a string exceeds 65535 bytes.
 * The parse functions return 0, or -1 on a short, malformed or overlong
 * payload (leftover bytes are an error).
 */
int	ipc_hello_pack(void *out, size_t cap, const char *proc);
int	ipc_hello_parse(const void *, size_t, struct ipc_hello *);
int	ipc_config_pack(void *out, size_t cap, const struct ipc_config *);
int	ipc_config_parse(const void *, size_t, struct ipc_config *);
int	ipc_status_pack(void *out, size_t cap, const struct ipc_status *);
int	ipc_status_parse(const void *, size_t, struct ipc_status *);
int	ipc_source_pack(void *out, size_t cap, const struct ipc_source *);
int	ipc_source_parse(const void *, size_t, struct ipc_source *);
/* Any body length is legal, even 0; only the 6 fixed bytes can be short. */
int	ipc_media_parse(const void *, size_t, struct ipc_media *);

#endif
