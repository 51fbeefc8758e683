/*
 * One destination session: a libavformat muxer over the relay URL, from
 * open to close.  Every call that can block runs under the interrupt
 * callback given to output_init and a deadline set here; the caller
 * decides what a failure means (backoff, exit).
 */
#ifndef OUTPUT_H
#define OUTPUT_H

#include <stdbool.h>
#include <stdint.h>

#include <libavformat/avformat.h>

#include "worker/input.h"
#include "worker/worker.h"

struct output {
	const struct worker_cfg	*cfg;		/* borrowed */
	AVIOInterruptCB		 icb;
	uint64_t		 deadline_ms;	/* read by the callback */
	AVFormatContext		*oc;		/* NULL when closed */
	int			 idx[INPUT_NTRACKS];	/* -1: not sent */
	unsigned		 gen[INPUT_NTRACKS];
	bool			 need_key;	/* resume at a keyframe */
	bool			 gate_audio;	/* audio waits for it too */
	bool			 started;
	int64_t			 base_ms;
	int64_t			 last_dts[INPUT_NTRACKS];
	const AVCodecContext	*enc[INPUT_NTRACKS];	/* borrowed: a track
						   encoded by xcode.c */
	char			 path[1024];	/* URL after strftime */
};

enum output_kind {
	OUTPUT_RTMP,
	OUTPUT_SRT,
	OUTPUT_FILE,
};

/* The URL's kind, or -1 when no output supports it (a config error). */
int	output_url_kind(const char *url);
void	output_init(struct output *, const struct worker_cfg *,
	    int (*cb)(void *), void *opaque);
/* Opens the destination and writes the header for in's tracks: 0 or an
 * AVERROR.  Video starts at a keyframe; so does audio when resuming
 * (the session does not see the stream from its start).  Blocks up to
 * connect_timeout_ms. */
int	output_open(struct output *, const struct input *, bool resuming,
	    uint64_t now_ms);
/* Rebases and writes pkt (ms, stream_index = track): 0 written, 1 dropped
 * (waiting for a keyframe, no such track here, before the session start),
 * or an AVERROR.  Takes pkt's data either way.  Blocks up to
 * io_timeout_ms. */
int	output_write(struct output *, AVPacket *pkt);
/* Writes the trailer when asked (blocking up to timeout_ms), closes.
 * Returns 0 or the first AVERROR. */
int	output_close(struct output *, bool trailer, uint32_t timeout_ms,
	    int64_t *bytes);
/* The muxer output_open will use for url (NULL: none); its flags say
 * whether encoders must put their headers in extradata. */
const AVOutputFormat *output_format(const char *url);
/* Track t's stream comes from the encoder enc (opened, outliving the
 * sessions) instead of the input's parameters; NULL undoes it. */
void	output_set_encoder(struct output *, int t, const AVCodecContext *enc);
/* Bytes written in this session. */
int64_t	output_bytes(const struct output *);
/* The session takes in's current configuration as its own: a switch
 * sends it in-band (hold.c), not a reason to reopen. */
void	output_adopt(struct output *, const struct input *);
/* The session's tracks no longer match in's configuration. */
bool	output_stale(const struct output *, const struct input *);

#endif
