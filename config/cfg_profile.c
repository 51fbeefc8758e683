/*
 * The profiles: section: named video and audio encode settings that relays
 * refer to with profile: NAME.  Parses and checks what can be checked
 * without libav (ranges, even sizes, copy versus settings); which encoders
 * and containers exist is asked of a cfg_profile_check_fn supplied by the
 * caller, with this file turning its answer into file:line:col.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfg_int.h"

#define PF_WORD_MAX	32	/* preset, tune, profile, level, pix_fmt */
#define PF_DIM_MIN	16
#define PF_DIM_MAX	8192
#define PF_FPS_MAX	240

enum pf_type {
	PT_CODEC,	/* encoder name or copy */
	PT_DIM,		/* even pixels */
	PT_FPS,		/* 30, 29.97, 30000/1001 */
	PT_VRATE,	/* bits/s: 800k, 3M, 800000 */
	PT_ARATE,
	PT_WORD,
	PT_KEYINT,	/* 2s, 500ms, or frames */
	PT_HZ,
	PT_CHANNELS,
};

struct pf_key {
	const char	*name;
	enum cfg_pf	 field;
	enum pf_type	 type;
	size_t		 off;		/* into struct cfg_profile */
};

#define V(m)	offsetof(struct cfg_profile, video.m)
#define A(m)	offsetof(struct cfg_profile, audio.m)
static const struct pf_key video_keys[] = {
	{ "codec",   CFG_PF_VCODEC,   PT_CODEC,  V(codec) },
	{ "width",   CFG_PF_WIDTH,    PT_DIM,    V(width) },
	{ "height",  CFG_PF_HEIGHT,   PT_DIM,    V(height) },
	{ "fps",     CFG_PF_FPS,      PT_FPS,    V(fps_num) },
	{ "bitrate", CFG_PF_VBITRATE, PT_VRATE,  V(bitrate_bps) },
	{ "maxrate", CFG_PF_MAXRATE,  PT_VRATE,  V(maxrate_bps) },
	{ "bufsize", CFG_PF_BUFSIZE,  PT_VRATE,  V(bufsize_bps) },
	{ "preset",  CFG_PF_PRESET,   PT_WORD,   V(preset) },
	{ "tune",    CFG_PF_TUNE,     PT_WORD,   V(tune) },
	{ "keyint",  CFG_PF_KEYINT,   PT_KEYINT, V(keyint_ms) },
	{ "profile", CFG_PF_VPROFILE, PT_WORD,   V(profile) },
	{ "level",   CFG_PF_LEVEL,    PT_WORD,   V(level) },
	{ "pix_fmt", CFG_PF_PIX_FMT,  PT_WORD,   V(pix_fmt) },
	{ 0 }
};
static const struct pf_key audio_keys[] = {
	{ "codec",       CFG_PF_ACODEC,   PT_CODEC,    A(codec) },
	{ "bitrate",     CFG_PF_ABITRATE, PT_ARATE,    A(bitrate_bps) },
	{ "sample_rate", CFG_PF_RATE,     PT_HZ,       A(sample_rate) },
	{ "channels",    CFG_PF_CHANNELS, PT_CHANNELS, A(channels) },
	{ 0 }
};
#undef V
#undef A

/* The path of each setting below profiles.NAME, for messages. */
static const char *const pf_paths[CFG_PF_N] = {
	[CFG_PF_VIDEO] = "video", [CFG_PF_VCODEC] = "video.codec",
	[CFG_PF_WIDTH] = "video.width", [CFG_PF_HEIGHT] = "video.height",
	[CFG_PF_FPS] = "video.fps", [CFG_PF_VBITRATE] = "video.bitrate",
	[CFG_PF_MAXRATE] = "video.maxrate", [CFG_PF_BUFSIZE] = "video.bufsize",
	[CFG_PF_PRESET] = "video.preset", [CFG_PF_TUNE] = "video.tune",
	[CFG_PF_KEYINT] = "video.keyint", [CFG_PF_VPROFILE] = "video.profile",
	[CFG_PF_LEVEL] = "video.level", [CFG_PF_PIX_FMT] = "video.pix_fmt",
	[CFG_PF_AUDIO] = "audio", [CFG_PF_ACODEC] = "audio.codec",
	[CFG_PF_ABITRATE] = "audio.bitrate", [CFG_PF_RATE] =
	    "audio.sample_rate", [CFG_PF_CHANNELS] = "audio.channels",
};

struct pf_ctx {
	const char	*name;		/* file, for messages */
	struct cfg_err	*err;
	char		 path[160];	/* profiles.NAME */
};

#define Q(s)	cfg_quote((char[80]){0}, 80, (s))

static int __attribute__((format(printf, 4, 5)))
pf_fail(struct pf_ctx *c, const struct cfg_node *nd, const char *sub,
    const char *fmt, ...)
{
	char	msg[CFG_ERR_MAX], path[200];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s%s%s", c->path, sub ? "." : "",
	    sub ? sub : "");
	cfg_errf(c->err, c->name, nd->line, nd->col, path, "%s", msg);
	return -1;
}

/* Digits with at most one '.', into *v; returns the end or NULL. */
static const char *
pf_decimal(const char *s, double *v)
{
	double	scale = 0;
	bool	digits = false;

	*v = 0;
	for (; (*s >= '0' && *s <= '9') || (*s == '.' && scale == 0); s++) {
		if (*s == '.') {
			scale = 1;
			continue;
		}
		digits = true;
		if (scale > 0)
			*v += (*s - '0') * (scale /= 10);
		else if (*v < 1e12)
			*v = *v * 10 + (*s - '0');
	}
	return digits ? s : NULL;
}

static int
pf_uint(const char *s, double lo, double hi, uint32_t *out)
{
	double		 v;
	const char	*e = pf_decimal(s, &v);

	if (e == NULL || *e != '\0' || strchr(s, '.') != NULL || v < lo ||
	    v > hi)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int
pf_rate(struct pf_ctx *c, const struct cfg_node *nd, const char *sub,
    bool video, uint32_t *out)
{
	double		 v, lo = video ? 10e3 : 6e3, hi = video ? 200e6 : 1e6;
	const char	*e = pf_decimal(nd->str, &v);

	if (e != NULL && (*e == 'k' || *e == 'K'))
		v *= 1e3, e++;
	else if (e != NULL && (*e == 'm' || *e == 'M'))
		v *= 1e6, e++;
	if (e == NULL || *e != '\0')
		return pf_fail(c, nd, sub, "expected bits per second such as "
		    "800k or 3M, got %s", Q(nd->str));
	if (v < lo || v > hi)
		return pf_fail(c, nd, sub, "%s is out of range (%gk to %gk)",
		    Q(nd->str), lo / 1e3, hi / 1e3);
	*out = (uint32_t)(v + 0.5);
	return 0;
}

static int
pf_fps(struct pf_ctx *c, const struct cfg_node *nd, const char *sub,
    struct cfg_video *v)
{
	double		 n, d = 1;
	const char	*e = pf_decimal(nd->str, &n);

	if (e != NULL && *e == '/' && strchr(nd->str, '.') == NULL)
		e = pf_decimal(e + 1, &d);
	if (e == NULL || *e != '\0' || d < 1 || strchr(e, '.') != NULL)
		return pf_fail(c, nd, sub, "expected frames per second such "
		    "as 30, 29.97 or 30000/1001, got %s", Q(nd->str));
	if (n / d < 1 || n / d > PF_FPS_MAX || n > 1e6 || d > 1e6)
		return pf_fail(c, nd, sub, "%s is out of range (1 to %d)",
		    Q(nd->str), PF_FPS_MAX);
	if (d == 1 && n != (double)(uint32_t)n) {
		/* 29.97 -> 2997/100 */
		n *= 100;
		d = 100;
	}
	v->fps_num = (uint32_t)(n + 0.5);
	v->fps_den = (uint32_t)d;
	return 0;
}

static int
pf_keyint(struct pf_ctx *c, const struct cfg_node *nd, const char *sub,
    struct cfg_video *v)
{
	double		 x;
	const char	*e = pf_decimal(nd->str, &x);

	if (e != NULL && strcmp(e, "ms") == 0)
		;
	else if (e != NULL && strcmp(e, "s") == 0)
		x *= 1000;
	else if (e != NULL && *e == '\0' && strchr(nd->str, '.') == NULL) {
		if (x < 1 || x > 10000)
			return pf_fail(c, nd, sub, "%s frames is out of range "
			    "(1 to 10000)", Q(nd->str));
		v->keyint_frames = (uint32_t)x;
		return 0;
	} else
		return pf_fail(c, nd, sub, "expected seconds (2s), "
		    "milliseconds (500ms) or frames (60), got %s", Q(nd->str));
	if (x < 100 || x > 60000)
		return pf_fail(c, nd, sub, "%s is out of range (0.1s to 60s)",
		    Q(nd->str));
	v->keyint_ms = (uint32_t)(x + 0.5);
	return 0;
}

static int
pf_word(struct pf_ctx *c, const struct cfg_node *nd, const char *sub,
    bool codec, char **out)
{
	size_t	n = strspn(nd->str, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789_-.");

	if (n == 0 || nd->str[n] != '\0' || n > PF_WORD_MAX ||
	    (codec && strchr(nd->str, '.') != NULL))
		return pf_fail(c, nd, sub, "invalid %s %s", codec ? "codec" :
		    "value", Q(nd->str));
	free(*out);		/* a preset's value, overridden */
	if ((*out = strdup(nd->str)) == NULL)
		return pf_fail(c, nd, sub, "out of memory");
	return 0;
}

static int
pf_set(struct pf_ctx *c, const struct pf_key *k, const struct cfg_node *nd,
    const char *sub, struct cfg_profile *p)
{
	void	*dst = (char *)p + k->off;

	if (nd->type != CFG_N_SCALAR || cfg_node_null(nd))
		return pf_fail(c, nd, sub, "expected a value");
	p->pos[k->field].line = nd->line;
	p->pos[k->field].col = nd->col;
	switch (k->type) {
	case PT_CODEC:
		return pf_word(c, nd, sub, true, dst);
	case PT_WORD:
		return pf_word(c, nd, sub, false, dst);
	case PT_DIM:
		if (pf_uint(nd->str, 1, 1e9, dst) == -1 ||
		    *(uint32_t *)dst < PF_DIM_MIN ||
		    *(uint32_t *)dst > PF_DIM_MAX)
			return pf_fail(c, nd, sub, "impossible size %s "
			    "(expected %d to %d pixels)", Q(nd->str),
			    PF_DIM_MIN, PF_DIM_MAX);
		if (*(uint32_t *)dst % 2 != 0)
			return pf_fail(c, nd, sub, "impossible size %s: must "
			    "be even (4:2:0 chroma)", Q(nd->str));
		return 0;
	case PT_FPS:
		return pf_fps(c, nd, sub, &p->video);
	case PT_VRATE:
	case PT_ARATE:
		return pf_rate(c, nd, sub, k->type == PT_VRATE, dst);
	case PT_KEYINT:
		return pf_keyint(c, nd, sub, &p->video);
	case PT_HZ:
		if (pf_uint(nd->str, 8000, 192000, dst) == -1)
			return pf_fail(c, nd, sub, "expected a sample rate "
			    "from 8000 to 192000, got %s", Q(nd->str));
		return 0;
	case PT_CHANNELS:
		if (pf_uint(nd->str, 1, 8, dst) == -1)
			return pf_fail(c, nd, sub, "expected 1 to 8 channels, "
			    "got %s", Q(nd->str));
		return 0;
	}
	return pf_fail(c, nd, sub, "internal error");
}

/*
 * One of video: / audio:, a mapping of settings or the word copy.  A
 * codec: copy allows no other setting.
 */
static int
pf_section(struct pf_ctx *c, const struct cfg_node *nd, const char *what,
    const struct pf_key *keys, struct cfg_profile *p, char **codec)
{
	const struct cfg_node	*k, *other = NULL;
	char			 sub[64], list[160] = "";
	size_t			 i;

	p->pos[keys == video_keys ? CFG_PF_VIDEO : CFG_PF_AUDIO] =
	    (struct cfg_pos){ nd->line, nd->col };
	if (nd->type == CFG_N_SCALAR && strcmp(nd->str, "copy") == 0) {
		free(*codec);	/* over a preset's encoder */
		*codec = NULL;
		return 0;
	}
	if (nd->type != CFG_N_MAP)
		return pf_fail(c, nd, what, "expected copy or a mapping of "
		    "%s settings", what);
	for (k = nd->kids; k != NULL; k = k->next) {
		snprintf(sub, sizeof(sub), "%s.%s", what, k->str);
		for (i = 0; keys[i].name != NULL; i++)
			if (strcmp(keys[i].name, k->str) == 0)
				break;
		if (keys[i].name == NULL) {
			for (i = 0; keys[i].name != NULL; i++)
				snprintf(list + strlen(list), sizeof(list) -
				    strlen(list), "%s%s", i ? ", " : "",
				    keys[i].name);
			return pf_fail(c, k, sub, "unknown key (expected one "
			    "of: %s)", list);
		}
		if (pf_set(c, &keys[i], k->val, sub, p) == -1)
			return -1;
		if (i > 0 && other == NULL)
			other = k;
	}
	/* one side written (over a preset's size): keep the aspect */
	if (keys == video_keys && (p->pos[CFG_PF_WIDTH].line == 0) !=
	    (p->pos[CFG_PF_HEIGHT].line == 0)) {
		if (p->pos[CFG_PF_WIDTH].line == 0)
			p->video.width = 0;
		else
			p->video.height = 0;
	}
	if (*codec == NULL) {
		snprintf(sub, sizeof(sub), "%s.codec", what);
		return pf_fail(c, nd, sub, "missing codec (an encoder such as "
		    "%s, or copy)", keys == video_keys ? "libx264" : "aac");
	}
	if (strcmp(*codec, "copy") == 0) {
		free(*codec);
		*codec = NULL;
		if (other != NULL) {
			snprintf(sub, sizeof(sub), "%s.%s", what, other->str);
			return pf_fail(c, other, sub, "%s copy takes no other "
			    "settings", what);
		}
	}
	return 0;
}

/* What can be wrong between settings, without asking libav. */
static int
pf_consistent(struct pf_ctx *c, const struct cfg_node *pnd,
    const struct cfg_profile *p)
{
	const struct cfg_video	*v = &p->video;
	struct cfg_node		 at;

	memset(&at, 0, sizeof(at));
	if (v->maxrate_bps != 0 && v->bitrate_bps > v->maxrate_bps &&
	    p->pos[CFG_PF_MAXRATE].line == 0) {
		/* maxrate came from the preset: the bitrate written is wrong */
		at.line = p->pos[CFG_PF_VBITRATE].line;
		at.col = p->pos[CFG_PF_VBITRATE].col;
		return pf_fail(c, &at, pf_paths[CFG_PF_VBITRATE], "bitrate "
		    "(%u bit/s) is above the preset's maxrate (%u bit/s)",
		    v->bitrate_bps, v->maxrate_bps);
	}
	if (v->maxrate_bps != 0 && v->bitrate_bps > v->maxrate_bps) {
		at.line = p->pos[CFG_PF_MAXRATE].line;
		at.col = p->pos[CFG_PF_MAXRATE].col;
		return pf_fail(c, &at, pf_paths[CFG_PF_MAXRATE], "maxrate "
		    "(%u bit/s) is below bitrate (%u bit/s)", v->maxrate_bps,
		    v->bitrate_bps);
	}
	if (v->bufsize_bps != 0 && v->maxrate_bps == 0) {
		at.line = p->pos[CFG_PF_BUFSIZE].line;
		at.col = p->pos[CFG_PF_BUFSIZE].col;
		return pf_fail(c, &at, pf_paths[CFG_PF_BUFSIZE], "bufsize "
		    "needs maxrate");
	}
	(void)pnd;
	return 0;
}

/*
 * The built-in presets, after the platforms' published ingest guidance
 * (2024): H.264 high/main with a 2 s keyframe interval, AAC 48 kHz
 * stereo; YouTube 1080p30 up to 6 Mbit/s (its 4.5-9 range), Twitch 720p30
 * 4.5 Mbit/s under its 6 Mbit/s cap, Facebook 720p30 4 Mbit/s (its
 * maximum; RTMPS is the URL's business), Kick 1080p30 6 Mbit/s under its
 * 8 Mbit/s cap.  A profile with from: NAME starts from one and overrides
 * any setting; a relay may name one directly.
 */
static const char pf_builtin_yaml[] =
    "youtube:\n"
    "  video: { codec: libx264, width: 1920, height: 1080, fps: 30,\n"
    "    bitrate: 6000k, maxrate: 6000k, bufsize: 12000k,\n"
    "    preset: veryfast, keyint: 2s, profile: high, pix_fmt: yuv420p }\n"
    "  audio: { codec: aac, bitrate: 128k, sample_rate: 48000,\n"
    "    channels: 2 }\n"
    "twitch:\n"
    "  video: { codec: libx264, width: 1280, height: 720, fps: 30,\n"
    "    bitrate: 4500k, maxrate: 6000k, bufsize: 6000k,\n"
    "    preset: veryfast, keyint: 2s, profile: main, pix_fmt: yuv420p }\n"
    "  audio: { codec: aac, bitrate: 160k, sample_rate: 48000,\n"
    "    channels: 2 }\n"
    "facebook:\n"
    "  video: { codec: libx264, width: 1280, height: 720, fps: 30,\n"
    "    bitrate: 4000k, maxrate: 4000k, bufsize: 8000k,\n"
    "    preset: veryfast, keyint: 2s, profile: main, pix_fmt: yuv420p }\n"
    "  audio: { codec: aac, bitrate: 128k, sample_rate: 48000,\n"
    "    channels: 2 }\n"
    "kick:\n"
    "  video: { codec: libx264, width: 1920, height: 1080, fps: 30,\n"
    "    bitrate: 6000k, maxrate: 8000k, bufsize: 8000k,\n"
    "    preset: veryfast, keyint: 2s, profile: high, pix_fmt: yuv420p }\n"
    "  audio: { codec: aac, bitrate: 160k, sample_rate: 48000,\n"
    "    channels: 2 }\n";

static int	pf_profile(struct pf_ctx *, const struct cfg_node *,
		    struct cfg_profile *, bool builtin);

/* The preset name into p, or -1 (unknown: *known false). */
static int
pf_builtin(const char *name, struct cfg_profile *p, bool *known,
    struct cfg_err *err)
{
	struct pf_ctx		 c = { "built-in presets", err, "" };
	struct cfg_doc		 doc;
	const struct cfg_node	*k;
	int			 rc = -1;

	*known = false;
	if (cfg_doc_parse(&doc, c.name, pf_builtin_yaml,
	    sizeof(pf_builtin_yaml) - 1, err) == -1)
		return -1;
	for (k = doc.root->kids; k != NULL; k = k->next)
		if (strcmp(k->str, name) == 0)
			break;
	if (k != NULL) {
		*known = true;
		rc = pf_profile(&c, k, p, true);
		memset(p->pos, 0, sizeof(p->pos));	/* not the user's file */
	}
	cfg_doc_clear(&doc);
	return rc;
}

/* from: NAME, looked at before the other keys. */
static int
pf_from(struct pf_ctx *c, const struct cfg_node *map, struct cfg_profile *p)
{
	const struct cfg_node	*kk;
	char			*name;
	unsigned		 line, col;
	bool			 known;
	int			 rc;

	for (kk = map->kids; kk != NULL; kk = kk->next)
		if (strcmp(kk->str, "from") == 0)
			break;
	if (kk == NULL)
		return 0;
	if (kk->val->type != CFG_N_SCALAR)
		return pf_fail(c, kk->val, "from", "expected a preset name");
	name = p->name;
	line = p->line;
	col = p->col;
	p->name = NULL;
	rc = pf_builtin(kk->val->str, p, &known, c->err);
	free(p->name);
	p->name = name;
	p->line = line;
	p->col = col;
	if (rc == -1 && !known)
		return pf_fail(c, kk->val, "from", "unknown preset %s (expected "
		    "one of: youtube, twitch, facebook, kick)",
		    Q(kk->val->str));
	return rc;
}

static int
pf_profile(struct pf_ctx *c, const struct cfg_node *k, struct cfg_profile *p,
    bool builtin)
{
	const struct cfg_node	*kk;

	p->line = k->line;
	p->col = k->col;
	snprintf(c->path, sizeof(c->path), "profiles.%s", k->str);
	if (!cfg_name_ok(k->str))
		return pf_fail(c, k, NULL, "invalid profile name %s (use A-Z "
		    "a-z 0-9 _ -, 1 to %d characters)", Q(k->str),
		    CFG_NAME_MAX);
	if (strcmp(k->str, "copy") == 0)
		return pf_fail(c, k, NULL, "copy is built in and cannot be "
		    "redefined");
	if ((p->name = strdup(k->str)) == NULL)
		return pf_fail(c, k, NULL, "out of memory");
	if (k->val->type != CFG_N_MAP)
		return pf_fail(c, k->val, NULL, "expected a mapping with "
		    "video: and audio:");
	if (!builtin && pf_from(c, k->val, p) == -1)
		return -1;
	for (kk = k->val->kids; kk != NULL; kk = kk->next) {
		if (strcmp(kk->str, "video") == 0) {
			if (pf_section(c, kk->val, "video", video_keys, p,
			    &p->video.codec) == -1)
				return -1;
		} else if (strcmp(kk->str, "audio") == 0) {
			if (pf_section(c, kk->val, "audio", audio_keys, p,
			    &p->audio.codec) == -1)
				return -1;
		} else if (strcmp(kk->str, "from") != 0 || builtin)
			return pf_fail(c, kk, kk->str, "unknown key (expected "
			    "one of: from, video, audio)");
	}
	return pf_consistent(c, k, p);
}

/* The presets the file did not define itself, after its own profiles
 * (relays link to them like to any other). */
static int
pf_builtins_add(const char *name, struct cfg *cfg, struct cfg_err *err)
{
	static const char *const names[] = { "youtube", "twitch", "facebook",
	    "kick" };
	struct cfg_profile	*v;
	size_t			 i, n = sizeof(names) / sizeof(names[0]);
	bool			 known;

	if ((v = realloc(cfg->profiles, (cfg->nprofiles + n) *
	    sizeof(*v))) == NULL) {
		cfg_errf(err, name, 0, 0, NULL, "out of memory");
		return -1;
	}
	cfg->profiles = v;
	for (i = 0; i < n; i++) {
		if (cfg_profile_find(cfg, names[i]) != NULL)
			continue;
		memset(&v[cfg->nprofiles], 0, sizeof(*v));
		if (pf_builtin(names[i], &v[cfg->nprofiles++], &known,
		    err) == -1)
			return -1;
		v[cfg->nprofiles - 1].line = 0;	/* not in the file */
	}
	return 0;
}

int
cfg_profiles_parse(const char *name, const struct cfg_node *nd,
    struct cfg *cfg, struct cfg_err *err)
{
	struct pf_ctx		 c = { name, err, "profiles" };
	const struct cfg_node	*k;

	if (nd->type != CFG_N_MAP)
		return pf_fail(&c, nd, NULL, "expected a mapping of profile "
		    "names to profiles");
	if (nd->n > 0 && (cfg->profiles = calloc(nd->n,
	    sizeof(*cfg->profiles))) == NULL)
		return pf_fail(&c, nd, NULL, "out of memory");
	for (k = nd->kids; k != NULL; k = k->next)
		/* counted first, so cfg_profiles_free sees a half-filled one */
		if (pf_profile(&c, k, &cfg->profiles[cfg->nprofiles++],
		    false) == -1)
			return -1;
	return 0;
}

const struct cfg_profile *
cfg_profile_find(const struct cfg *cfg, const char *name)
{
	size_t	i;

	for (i = 0; cfg != NULL && name != NULL && i < cfg->nprofiles; i++)
		if (strcmp(cfg->profiles[i].name, name) == 0)
			return &cfg->profiles[i];
	return NULL;
}

int
cfg_profiles_link(const char *name, struct cfg *cfg, struct cfg_err *err)
{
	struct cfg_stream	*st;
	struct cfg_relay	*r;
	char			 path[200];
	size_t			 i, j;

	if (pf_builtins_add(name, cfg, err) == -1)
		return -1;
	for (i = 0; i < cfg->nstreams; i++) {
		st = &cfg->streams[i];
		for (j = 0; j < st->nrelays; j++) {
			r = &st->relays[j];
			if (strcmp(r->profile, "copy") == 0)
				continue;
			if ((r->prof = cfg_profile_find(cfg, r->profile)) !=
			    NULL)
				continue;
			snprintf(path, sizeof(path), "streams.%s.relays.%s."
			    "profile", st->name, r->name);
			cfg_errf(err, name, r->profile_line, r->profile_col,
			    path, "unknown profile %s", Q(r->profile));
			return -1;
		}
	}
	return 0;
}

/* check's refusal of r's profile as an error at r's profile: key. */
static int
pf_relay_fail(const struct cfg *cfg, const struct cfg_stream *st,
    const struct cfg_relay *r, const char *why, struct cfg_err *err)
{
	char	path[200];

	snprintf(path, sizeof(path), "streams.%s.relays.%s.profile", st->name,
	    r->name);
	cfg_errf(err, cfg->path, r->profile_line, r->profile_col, path,
	    "profile %s: %s", Q(r->prof->name), why);
	return -1;
}

int
cfg_profiles_check(const struct cfg *cfg, cfg_profile_check_fn check,
    struct cfg_err *err)
{
	const struct cfg_profile	*p;
	const struct cfg_relay		*r;
	const struct cfg_pos		*at;
	enum cfg_pf			 f;
	char				 why[CFG_ERR_MAX / 2], path[200];
	size_t				 i, j;

	for (i = 0; i < cfg->nprofiles; i++) {
		p = &cfg->profiles[i];
		f = CFG_PF_VIDEO;
		/* presets are checked where a relay uses them */
		if (p->line == 0 || check(p, NULL, &f, why, sizeof(why)) == 0)
			continue;
		at = &p->pos[f < CFG_PF_N ? f : CFG_PF_VIDEO];
		snprintf(path, sizeof(path), "profiles.%s.%s", p->name,
		    pf_paths[f < CFG_PF_N ? f : CFG_PF_VIDEO]);
		cfg_errf(err, cfg->path, at->line ? at->line : p->line,
		    at->line ? at->col : p->col, path, "%s", why);
		return -1;
	}
	for (i = 0; i < cfg->nstreams; i++) {
		for (j = 0; j < cfg->streams[i].nrelays; j++) {
			r = &cfg->streams[i].relays[j];
			if (r->prof == NULL)
				continue;
			if ((r->prof->line == 0 && check(r->prof, NULL, &f, why,
			    sizeof(why)) == -1) || check(r->prof, r->url.value,
			    &f, why, sizeof(why)) == -1)
				return pf_relay_fail(cfg, &cfg->streams[i], r,
				    why, err);
		}
	}
	return 0;
}

/* The string members of a profile, for copying, comparing and freeing. */
#define PF_NSTR	8
static char **
pf_strs(struct cfg_profile *p, char **v[PF_NSTR])
{
	v[0] = &p->name;
	v[1] = &p->video.codec;
	v[2] = &p->video.preset;
	v[3] = &p->video.tune;
	v[4] = &p->video.profile;
	v[5] = &p->video.level;
	v[6] = &p->video.pix_fmt;
	v[7] = &p->audio.codec;
	return v[0];
}

static void
pf_clear(struct cfg_profile *p)
{
	char	**v[PF_NSTR];
	size_t	  i;

	pf_strs(p, v);
	for (i = 0; i < PF_NSTR; i++)
		free(*v[i]);
}

struct cfg_profile *
cfg_profile_dup(const struct cfg_profile *src)
{
	struct cfg_profile	*p;
	char			**v[PF_NSTR];
	size_t			  i;

	if ((p = malloc(sizeof(*p))) == NULL)
		return NULL;
	*p = *src;
	pf_strs(p, v);
	for (i = 0; i < PF_NSTR; i++)
		if (*v[i] != NULL && (*v[i] = strdup(*v[i])) == NULL)
			break;
	if (i == PF_NSTR)
		return p;
	while (++i < PF_NSTR)
		*v[i] = NULL;	/* still the source's */
	cfg_profile_free(p);
	return NULL;
}

void
cfg_profile_clear(struct cfg_profile *p)
{
	pf_clear(p);
	memset(p, 0, sizeof(*p));
}

void
cfg_profile_free(struct cfg_profile *p)
{
	if (p == NULL)
		return;
	pf_clear(p);
	free(p);
}

static bool
pf_str_eq(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

bool
cfg_profile_same(const struct cfg_profile *a, const struct cfg_profile *b)
{
	const struct cfg_video	*u, *v;
	char			**va[PF_NSTR], **vb[PF_NSTR];
	struct cfg_profile	 x, y;
	size_t			  i;

	if (a == NULL || b == NULL)
		return a == b;
	x = *a;
	y = *b;
	pf_strs(&x, va);
	pf_strs(&y, vb);
	for (i = 0; i < PF_NSTR; i++)
		if (!pf_str_eq(*va[i], *vb[i]))
			return false;
	u = &a->video;
	v = &b->video;
	return u->width == v->width && u->height == v->height &&
	    u->fps_num == v->fps_num && u->fps_den == v->fps_den &&
	    u->bitrate_bps == v->bitrate_bps &&
	    u->maxrate_bps == v->maxrate_bps &&
	    u->bufsize_bps == v->bufsize_bps &&
	    u->keyint_ms == v->keyint_ms &&
	    u->keyint_frames == v->keyint_frames &&
	    a->audio.bitrate_bps == b->audio.bitrate_bps &&
	    a->audio.sample_rate == b->audio.sample_rate &&
	    a->audio.channels == b->audio.channels;
}

void
cfg_profiles_free(struct cfg *cfg)
{
	size_t	i;

	for (i = 0; i < cfg->nprofiles; i++)
		pf_clear(&cfg->profiles[i]);
	free(cfg->profiles);
	cfg->profiles = NULL;
	cfg->nprofiles = 0;
}

int
cfg_profile_parse_spec(const char *name, const char *spec,
    struct cfg_profile *p, struct cfg_err *err)
{
	struct pf_ctx	 c = { "settings", err, "" };
	struct cfg_doc	 doc;
	struct cfg_node	 k;
	int		 rc;

	memset(p, 0, sizeof(*p));
	if (cfg_doc_parse(&doc, c.name, spec, strlen(spec), err) == -1)
		return -1;
	/* the settings are the value of a profiles: entry called name */
	memset(&k, 0, sizeof(k));
	k.type = CFG_N_SCALAR;
	k.str = (char *)name;
	k.line = k.col = 1;
	k.val = doc.root;
	if (doc.root == NULL) {
		cfg_errf(err, c.name, 0, 0, NULL, "no settings (write "
		    "{ video: ..., audio: ... })");
		rc = -1;
	} else
		rc = pf_profile(&c, &k, p, false);
	cfg_doc_clear(&doc);
	if (rc == -1) {
		pf_clear(p);
		memset(p, 0, sizeof(*p));
	}
	return rc;
}
