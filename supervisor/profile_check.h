/*
 * Profile checks that need the linked libavcodec/libavformat, kept out of
 * config/ (which links neither); see cfg_profiles_check.
 */
#ifndef PROFILE_CHECK_H
#define PROFILE_CHECK_H

#include <stddef.h>

#include "config/cfg.h"

/* A cfg_profile_check_fn: encoders exist and are of the right kind,
 * pix_fmt and sample_rate are supported, url's container carries them. */
int	profile_check(const struct cfg_profile *, const char *url,
	    enum cfg_pf *field, char *why, size_t whylen);
/* cfg_load, then cfg_profiles_check with profile_check: the same
 * contract as cfg_load. */
int	profile_check_load(const char *path, struct cfg **out,
	    struct cfg_err *err);

#endif
