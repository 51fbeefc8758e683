/*
 * The YAML configuration as plain structs.  cfg_load/cfg_parse build a
 * whole new struct cfg or fail with one "file:line:column: path: message"
 * error; nothing here logs, opens sockets or touches SQLite.  Secrets
 * (${ENV} references, key_file: contents) are resolved at parse time and
 * kept in struct secret so callers know to mask them.
 */
#ifndef CFG_H
#define CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/log.h"

#define CFG_DEFAULT_PATH	"mirroring.yaml"
#define CFG_DEFAULT_LISTEN	"0.0.0.0:1935"
#define CFG_DEFAULT_APP		"live"
#define CFG_DEFAULT_STATE_DIR	"var"
#define CFG_KEY_MIN		8	/* shorter stream keys are refused */
#define CFG_NAME_MAX		64	/* stream, relay, profile names */
#define CFG_ERR_MAX		512
#define CFG_DEFAULT_LOG_FILE	"mirroring.log"	/* of `mirroring start` */
#define CFG_HTTP_TOKEN_MIN	16	/* shorter bearer tokens are refused */
/* relay_queue: and a relay's queue: (bytes of media queued to a worker) */
#define CFG_DEFAULT_RELAY_QUEUE	(8u * 1024 * 1024)
#define CFG_RELAY_QUEUE_MIN	(256u * 1024)
#define CFG_RELAY_QUEUE_MAX	(1024u * 1024 * 1024)
#define CFG_DEFAULT_RELAY_BATCH_MS 100	/* live media written per batch */
#define CFG_RELAY_BATCH_MAX_MS	1000

/* limits: what one client or all of them may hold (see README) */
#define CFG_DEFAULT_CONNECTIONS		256
#define CFG_DEFAULT_CONNECTIONS_PER_HOST 32
#define CFG_DEFAULT_HANDSHAKE_MS	10000
#define CFG_DEFAULT_PUBLISH_MS		15000	/* connect to publish */
#define CFG_DEFAULT_IDLE_MS		30000	/* a publisher sending nothing */
#define CFG_DEFAULT_MAX_MESSAGE		(8u * 1024 * 1024)
#define CFG_DEFAULT_MAX_CHUNK_SIZE	(16u * 1024 * 1024)
#define CFG_DEFAULT_STREAMS		64	/* live publishes at once */

struct cfg_limits {
	size_t		 connections;
	size_t		 connections_per_host;
	uint32_t	 handshake_ms;
	uint32_t	 publish_ms;
	uint32_t	 idle_ms;
	size_t		 max_message_bytes;	/* once a publish is accepted */
	size_t		 max_chunk_size;	/* a peer's Set Chunk Size */
	size_t		 streams;
};

struct secret {
	char		*value;		/* resolved; never print it unmasked */
	char		*origin;	/* "inline", "env STUDIO_KEY",
					   "file secrets/studio.key" */
};

struct cfg_profile;

/* on_publisher_loss: what a relay does when its stream has no publisher
 * left (issue #7). */
enum cfg_on_loss {
	CFG_LOSS_STREAM = -1,	/* a relay: the stream's setting */
	CFG_LOSS_END,		/* EOS: the destination session ends */
	CFG_LOSS_HOLD,		/* the worker sends the slate for grace */
};

/* prefer: which publisher relays follow when both are live. */
enum cfg_prefer {
	CFG_PREFER_PRIMARY,	/* back to the primary at its keyframe */
	CFG_PREFER_CURRENT,	/* stay on the backup until it drops */
};

#define CFG_DEFAULT_GRACE_MS	(5u * 60 * 1000)
#define CFG_GRACE_MIN_MS	1000
#define CFG_GRACE_MAX_MS	(24u * 3600 * 1000)

struct cfg_relay {
	char		*name;
	struct secret	 url;		/* may hold a destination key */
	char		*profile;	/* "copy" unless set */
	const struct cfg_profile *prof;	/* borrowed from cfg->profiles;
					   NULL for copy */
	bool		 enabled;	/* default true */
	size_t		 queue_bytes;	/* 0: the top-level relay_queue */
	enum cfg_on_loss on_loss;	/* the stream's unless set */
	uint32_t	 grace_ms;	/* the stream's unless set */
	unsigned	 line, col;
	unsigned	 profile_line, profile_col;	/* 0: not written */
};

struct cfg_stream {
	char		*name;		/* [A-Za-z0-9_-], 1..CFG_NAME_MAX */
	struct secret	 key;		/* from key: or key_file: */
	char		*note;		/* optional, NULL when absent */
	bool		 enabled;	/* default true */
	struct secret	 backup_key;	/* value NULL: no backup publisher */
	enum cfg_on_loss on_loss;	/* default end */
	uint32_t	 grace_ms;	/* CFG_DEFAULT_GRACE_MS */
	char		*slate_image;	/* NULL: black */
	char		*slate_audio;	/* NULL: silence */
	enum cfg_prefer	 prefer;
	struct cfg_relay *relays;
	size_t		 nrelays;
	unsigned	 line, col;
};

/* The settings of a profile that a check may point at (cfg_profile.c). */
enum cfg_pf {
	CFG_PF_VIDEO,
	CFG_PF_VCODEC,
	CFG_PF_WIDTH,
	CFG_PF_HEIGHT,
	CFG_PF_FPS,
	CFG_PF_VBITRATE,
	CFG_PF_MAXRATE,
	CFG_PF_BUFSIZE,
	CFG_PF_PRESET,
	CFG_PF_TUNE,
	CFG_PF_KEYINT,
	CFG_PF_VPROFILE,
	CFG_PF_LEVEL,
	CFG_PF_PIX_FMT,
	CFG_PF_AUDIO,
	CFG_PF_ACODEC,
	CFG_PF_ABITRATE,
	CFG_PF_RATE,
	CFG_PF_CHANNELS,
	CFG_PF_N
};

/* Video settings of a profile; 0 or NULL means "the source's" or "the
 * encoder's default".  codec NULL: copy the track as is. */
struct cfg_video {
	char		*codec;		/* an encoder name: "libx264" */
	uint32_t	 width, height;	/* even; one alone keeps aspect */
	uint32_t	 fps_num, fps_den;
	uint32_t	 bitrate_bps, maxrate_bps, bufsize_bps;
	uint32_t	 keyint_ms;	/* keyint: 2s */
	uint32_t	 keyint_frames;	/* keyint: 60 */
	char		*preset, *tune, *profile, *level, *pix_fmt;
};

struct cfg_audio {
	char		*codec;		/* NULL: copy; "aac", "libopus" */
	uint32_t	 bitrate_bps;
	uint32_t	 sample_rate;
	uint32_t	 channels;
};

struct cfg_pos {
	unsigned	 line, col;	/* 0: not written */
};

struct cfg_profile {
	char		*name;
	struct cfg_video video;
	struct cfg_audio audio;
	unsigned	 line, col;
	struct cfg_pos	 pos[CFG_PF_N];	/* where each setting was */
};

struct cfg {
	char		*path;		/* as given to cfg_load */
	char		*listen_host;	/* "0.0.0.0", "::", "127.0.0.1" */
	uint16_t	 listen_port;
	char		*app;		/* RTMP application name */
	char		*state_dir;	/* resolved against the config's
					   directory when relative */
	char		*http;		/* "host:port", NULL = off */
	struct secret	 http_token;	/* bearer token; value NULL = none */
	enum log_level	 log_level;
	enum log_format	 log_format;
	char		*log_file;	/* log.file, joined to state_dir;
					   NULL = stderr (start: the default) */
	size_t		 relay_queue_bytes; /* CFG_DEFAULT_RELAY_QUEUE */
	uint32_t	 relay_batch_ms;    /* 0: each tag written at once */
	struct cfg_limits limits;
	struct cfg_stream *streams;
	size_t		 nstreams;
	struct cfg_profile *profiles;	/* the profiles: section */
	size_t		 nprofiles;
	char		**warnings;	/* "file:line:col: path: what" of
					   what works but may not be meant
					   (a slate file that is not there) */
	size_t		 nwarnings;
};

struct cfg_err {
	char		 msg[CFG_ERR_MAX];	/* file:line:col: path: what */
};

/*
 * Parses text (len bytes, need not be NUL-terminated).  name is used in
 * error messages; relative key_file and state_dir paths are taken from
 * base_dir.  Returns 0 and a new *out (free with cfg_free), or -1 with
 * err filled and *out untouched.
 */
int		 cfg_parse(const char *name, const char *text, size_t len,
		    const char *base_dir, struct cfg **out, struct cfg_err *err);
/* Reads path and calls cfg_parse; I/O errors are reported the same way. */
int		 cfg_load(const char *path, struct cfg **out, struct cfg_err *err);
void		 cfg_free(struct cfg *);
/*
 * Only the state directory path's config names (default "var"), resolved
 * like cfg_load does, even when the rest of the file is invalid: the CLI
 * finds a running supervisor with it.  0 with *out (free it), or -1 with
 * err when the file cannot be read or is not YAML.
 */
int		 cfg_state_dir(const char *path, char **out, struct cfg_err *);
const struct cfg_stream *cfg_stream_find(const struct cfg *, const char *name);
/* The stream whose backup_key is key (len bytes, not NUL-terminated), or
 * NULL; the comparison takes the same time whatever matches. */
const struct cfg_stream *cfg_stream_by_backup_key(const struct cfg *,
		    const void *key, size_t len);
/* True when host (as in "host:port", without brackets) is a loopback
 * address: 127.0.0.0/8, ::1 or localhost. */
bool		 cfg_host_loopback(const char *host);
/* The profile called name; NULL for "copy" or an unknown name. */
const struct cfg_profile *cfg_profile_find(const struct cfg *,
		    const char *name);

/*
 * One profile from spec, its settings as a YAML flow mapping
 * ("{ from: twitch, video: { bitrate: 3M } }"), checked as a profiles:
 * entry called name would be (errors read "settings:1:col: profiles.NAME.
 * ...").  0, or -1 with err filled and *p cleared; free the strings with
 * cfg_profile_clear.
 */
int		 cfg_profile_parse_spec(const char *name, const char *spec,
		    struct cfg_profile *p, struct cfg_err *err);
void		 cfg_profile_clear(struct cfg_profile *);
/* A deep copy (NULL when out of memory), its free (NULL is a no-op), and
 * whether two profiles (either may be NULL: copy) encode alike. */
struct cfg_profile *cfg_profile_dup(const struct cfg_profile *);
void		 cfg_profile_free(struct cfg_profile *);
bool		 cfg_profile_same(const struct cfg_profile *,
		    const struct cfg_profile *);

/*
 * What a profile check outside config/ (one that knows the linked
 * encoders and muxers) answers: 0, or -1 with why filled and *field set
 * to the setting at fault.  url is NULL when only the profile itself is
 * checked, else the URL of a relay using it (its container).
 */
typedef int	(*cfg_profile_check_fn)(const struct cfg_profile *,
		    const char *url, enum cfg_pf *field, char *why,
		    size_t whylen);
/*
 * Runs check over every profile and every relay that names one; the
 * first refusal fills err with the setting's (or the relay's profile:
 * key's) file:line:col and returns -1.
 */
int		 cfg_profiles_check(const struct cfg *, cfg_profile_check_fn,
		    struct cfg_err *err);
/* True when name is a legal stream/relay/key name. */
bool		 cfg_name_ok(const char *);

#endif
