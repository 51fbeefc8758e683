/*
 * mirroring profile list [-c FILE] [--json]: one line (or JSON object) per
 * profile with its video and audio settings.  Reads the config only (the
 * same checks as `mirroring check`); profiles are not kept in the
 * database.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "config/cfg.h"
#include "supervisor/cli.h"
#include "supervisor/cli_profile.h"
#include "supervisor/profile_check.h"

static const char usage[] =
    "usage: mirroring profile list [-c FILE] [--json]\n"
    "  Lists the transcoding profiles relays may name (profile: NAME,\n"
    "  relay add --profile NAME): the config's profiles: and the presets\n"
    "  youtube, twitch, facebook, kick.  copy is always there.\n";

/* "libx264 640x360 30000/1001fps 800k keyint 2000ms ..." into buf. */
static const char *
cli_profile_video(const struct cfg_video *v, char *buf, size_t n)
{
	size_t	o;

	if (v->codec == NULL)
		return "copy";
	o = (size_t)snprintf(buf, n, "%s", v->codec);
#define ADD(...)	do { if (o < n) o += (size_t)snprintf(buf + o, n - o, \
			    __VA_ARGS__); } while (0)
	if (v->width && v->height)
		ADD(" %ux%u", v->width, v->height);
	else if (v->width || v->height)	/* the other keeps the aspect */
		ADD(v->width ? " %u wide" : " %u high", v->width ?
		    v->width : v->height);
	if (v->fps_num)
		ADD(v->fps_den == 1 ? " %ufps" : " %u/%ufps", v->fps_num,
		    v->fps_den);
	if (v->bitrate_bps)
		ADD(" %uk", v->bitrate_bps / 1000);
	if (v->maxrate_bps)
		ADD(" max %uk/%uk", v->maxrate_bps / 1000,
		    v->bufsize_bps / 1000);
	if (v->keyint_ms)
		ADD(" keyint %ums", v->keyint_ms);
	if (v->keyint_frames)
		ADD(" keyint %u", v->keyint_frames);
	if (v->preset)
		ADD(" %s", v->preset);
	if (v->tune)
		ADD(" tune %s", v->tune);
	if (v->profile)
		ADD(" %s", v->profile);
	if (v->level)
		ADD(" level %s", v->level);
	if (v->pix_fmt)
		ADD(" %s", v->pix_fmt);
#undef ADD
	return buf;
}

static const char *
cli_profile_audio(const struct cfg_audio *a, char *buf, size_t n)
{
	size_t	o;

	if (a->codec == NULL)
		return "copy";
	o = (size_t)snprintf(buf, n, "%s", a->codec);
	if (a->bitrate_bps && o < n)
		o += (size_t)snprintf(buf + o, n - o, " %uk",
		    a->bitrate_bps / 1000);
	if (a->sample_rate && o < n)
		o += (size_t)snprintf(buf + o, n - o, " %uHz", a->sample_rate);
	if (a->channels && o < n)
		snprintf(buf + o, n - o, " %uch", a->channels);
	return buf;
}

static void
cli_profile_print(const struct cfg *cfg, bool json)
{
	const struct cfg_profile	*p;
	char				 v[256], a[128];
	size_t				 i;

	if (json)
		printf("[{\"name\": \"copy\", \"source\": \"builtin\", "
		    "\"video\": \"copy\", \"audio\": \"copy\"}");
	else
		printf("%-16s %-7s %-52s %s\n%-16s %-7s %-52s %s\n", "NAME",
		    "SOURCE", "VIDEO", "AUDIO", "copy", "builtin", "copy",
		    "copy");
	for (i = 0; i < cfg->nprofiles; i++) {
		p = &cfg->profiles[i];
		if (!json) {
			printf("%-16s %-7s %-52s %s\n", p->name, p->line ?
			    "file" : "preset", cli_profile_video(&p->video, v,
			    sizeof(v)), cli_profile_audio(&p->audio, a,
			    sizeof(a)));
			continue;
		}
		printf(", {\"name\": ");
		cli_json_str(p->name);
		printf(", \"source\": \"%s\", \"video\": ", p->line ? "file" :
		    "preset");
		cli_json_str(cli_profile_video(&p->video, v, sizeof(v)));
		printf(", \"audio\": ");
		cli_json_str(cli_profile_audio(&p->audio, a, sizeof(a)));
		printf("}");
	}
	if (json)
		printf("]\n");
}

int
cli_profile_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char	*cpath = NULL;
	struct cfg	*cfg;
	struct cfg_err	 err;
	bool		 json = false;
	int		 ch;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		fprintf(argc < 2 ? stderr : stdout, "%s", usage);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "list") != 0) {
		fprintf(stderr, "mirroring profile: unknown command \"%s\"\n%s",
		    argv[1], usage);
		return 2;
	}
	optind = 1;
	while ((ch = getopt_long(argc - 1, argv + 1, "c:h", opts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'c':
			cpath = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			printf("%s", usage);
			return 0;
		default:
			fprintf(stderr, "%s", usage);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "%s", usage);
		return 2;
	}
	if (profile_check_load(cli_config_path(cpath), &cfg, &err) == -1) {
		fprintf(stderr, "mirroring profile: %s\n", err.msg);
		return 1;
	}
	cli_profile_print(cfg, json);
	cfg_free(cfg);
	return 0;
}
