/*
 * Continuity (issue #7): what a relay does at SOURCE messages.  At
 * SOURCE LOST with on_loss hold it starts the slate on the destination's
 * clock; at SOURCE NEW it holds the new source back until its first
 * keyframe and switches there (slate -> source, or source -> source),
 * with the timestamps spliced (splice.c) and, for copied tracks, the new
 * configuration sent in-band instead of reopening the destination.
 * Logs the hold and each switch; the destination is the caller's.
 */
#ifndef HOLD_H
#define HOLD_H

#include <stdbool.h>
#include <stdint.h>

#include <libavcodec/avcodec.h>

#include "common/ipc_msg.h"
#include "worker/input.h"
#include "worker/output.h"
#include "worker/slate.h"
#include "worker/splice.h"
#include "worker/worker.h"
#include "worker/xcode.h"

#define HOLD_LABEL_MAX	32

struct hold {
	const struct worker_cfg	*cfg;		/* borrowed: names for logs */
	struct xcode		*xc;		/* borrowed; NULL: copy */
	uint8_t			 on_loss;	/* enum ipc_on_loss */
	bool			 can_splice;	/* switches without reopening */
	struct splice		 sp;
	struct slate		*sl;
	bool			 holding;	/* LOST until the switch */
	bool			 extra[INPUT_NTRACKS];	/* next packet: config */
	char			 label[HOLD_LABEL_MAX];	/* the source now */
	char			 next[HOLD_LABEL_MAX];	/* after SOURCE NEW */
	uint64_t		 since_ms;	/* the hold's start */
	int64_t			 cts_ms;	/* added to the slate's video pts */
	bool			 warned;	/* the slate's files */
};

enum hold_res {
	HOLD_NONE,		/* nothing due */
	HOLD_PACKET,		/* write pkt (a slate packet, ms) */
	HOLD_FED,		/* a slate frame went into xcode: drain it */
};

/* of: the destination's muxer; a copied track can switch in-band only
 * through flv (a new sequence header mid-stream). */
void	hold_init(struct hold *, const struct worker_cfg *,
	    const struct ipc_config *, struct xcode *,
	    const AVOutputFormat *of);
void	hold_clear(struct hold *);
void	hold_source(struct hold *, const struct ipc_source *,
	    const struct input *, const struct output *, uint64_t now_ms);
/* A source packet: true to write it (timestamps mapped, maybe carrying
 * a new configuration), false to drop it. */
bool	hold_media(struct hold *, const struct input *, struct output *,
	    AVPacket *);
/* The slate's next due output; call until HOLD_NONE. */
enum hold_res hold_tick(struct hold *, uint64_t now_ms, AVPacket *pkt);
/* The slate is on: state holding. */
bool	hold_active(const struct hold *);
/* A switch is under way: a new configuration is not a reason to reopen
 * the destination. */
bool	hold_switching(const struct hold *);
unsigned hold_wait_ms(const struct hold *, uint64_t now_ms);
/* A destination session opened: the slate starts it with a keyframe. */
void	hold_session(struct hold *);
/* The relay stops (EOS, EOF): the hold ends with it. */
void	hold_stop(struct hold *, const char *why, uint64_t now_ms);

#endif
