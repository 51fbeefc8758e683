/*
 * Transcoding of a relay's tracks to its profile, inside the worker:
 * decode -> scale (swscale) -> frame-rate adapt -> encode for video,
 * decode -> resample (swresample) -> encoder-sized frames (AVAudioFifo)
 * -> encode for audio.  Packets in and out are in ms of the tag clock
 * with stream_index = track, as input.c makes them and output.c writes
 * them.  Knows nothing of IPC, sockets or reconnects.
 */
#ifndef XCODE_H
#define XCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "common/ipc_msg.h"
#include "worker/input.h"

#define XCODE_WHY_MAX	256

struct xcode;

struct xcode_stats {
	uint32_t	speed_x100;	/* media time per busy second, x100 */
	uint64_t	frames_dropped;	/* frame rate, lag */
	uint64_t	frames_duped;	/* frame rate */
};

/*
 * A transcoder for the profile p, or *out = NULL when p copies both
 * tracks.  Returns 0, or -1 with why filled (an unknown encoder, a
 * setting out of range): a configuration error.  Nothing is opened yet.
 */
int		 xcode_new(const struct ipc_profile *p, struct xcode **out,
		    char *why, size_t whylen);
void		 xcode_free(struct xcode *);
/* True when track t is encoded here (its output stream comes from
 * xcode_encoder, not from the input's parameters). */
bool		 xcode_track(const struct xcode *, int t);
/*
 * Opens the encoders of the transcoded tracks that in has configured,
 * sized from the source's parameters and the profile, with a global
 * header when of needs one.  Encoders stay open across destination
 * sessions; later calls do nothing.  0, or an AVERROR with why filled.
 */
int		 xcode_prepare(struct xcode *, const struct input *in,
		    const AVOutputFormat *of, char *why, size_t whylen);
/* The open encoder of track t, or NULL. */
const AVCodecContext *xcode_encoder(const struct xcode *, int t);
/*
 * Decodes pkt (taken) and encodes what comes of it; the encoded packets
 * wait for xcode_receive.  A change of in's parameters for the track
 * rebuilds its decoder, scaler or resampler; the encoder stays.
 * now_ms paces the lag check.  0, or an AVERROR with why filled (the
 * packet is then lost, counted as dropped).
 */
int		 xcode_send(struct xcode *, const struct input *in,
		    AVPacket *pkt, uint64_t now_ms, char *why, size_t whylen);
/*
 * A raw frame f of track t (the slate's: any size, pixel or sample
 * format; f->pts in ms of its own clock) into the track's encoder, as a
 * decoded frame would go.  0, or an AVERROR when t is not encoded here
 * or its encoder is not open.
 */
int		 xcode_send_frame(struct xcode *, int t, AVFrame *f,
		    uint64_t now_ms);
/* What comes next (slate frames, another source's packets) is on another
 * clock: the tracks' timelines go on from where they are, with one
 * offset for both, and video decodes again from a keyframe. */
void		 xcode_splice(struct xcode *);
/* Moves the next encoded packet into pkt: 1, or 0 when none waits. */
int		 xcode_receive(struct xcode *, AVPacket *pkt);
/* The input had a gap (or a new session starts): video decodes again
 * from a keyframe and the encoder makes one at once. */
void		 xcode_resume(struct xcode *);
/* End of stream: drains decoders, the audio FIFO and encoders into the
 * packets xcode_receive returns. */
void		 xcode_flush(struct xcode *);
void		 xcode_stats(struct xcode *, uint64_t now_ms,
		    struct xcode_stats *);
/* A frame-drop episode began since the last call (log it once). */
bool		 xcode_behind(struct xcode *);

#endif
