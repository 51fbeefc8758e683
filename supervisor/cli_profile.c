/*
 * mirroring profile add|rm|list: profiles kept in the database (for CLI
 * relays), next to the YAML's and the presets that list also shows.  A
 * profile's settings are a YAML flow mapping, checked by config/ and
 * profile_check.c like a profiles: entry before they are stored.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "config/cfg.h"
#include "supervisor/cli.h"
#include "supervisor/cli_profile.h"
#include "supervisor/db.h"
#include "supervisor/profile_check.h"

static const char usage[] =
    "usage: mirroring profile list [-c FILE] [--json]\n"
    "       mirroring profile add NAME SETTINGS [-c FILE]\n"
    "       mirroring profile rm NAME [-c FILE]\n"
    "  list: the transcoding profiles relays may name: copy, the config's\n"
    "  profiles:, the presets youtube, twitch, facebook, kick, and those\n"
    "  added here (for `relay add --profile NAME`).\n"
    "  add: SETTINGS as in a profiles: entry, one YAML flow mapping:\n"
    "    '{ video: { codec: libx264, height: 480, bitrate: 1M },\n"
    "       audio: copy }'  or  '{ from: twitch, video: { fps: 60 } }'\n"
    "  rm: refused while a relay uses it.\n";

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
cli_profile_row(const struct cfg_profile *p, const char *source, bool json)
{
	char	v[256], a[128];

	if (!json) {
		printf("%-16s %-7s %-52s %s\n", p->name, source,
		    cli_profile_video(&p->video, v, sizeof(v)),
		    cli_profile_audio(&p->audio, a, sizeof(a)));
		return;
	}
	printf(", {\"name\": ");
	cli_json_str(p->name);
	printf(", \"source\": \"%s\", \"video\": ", source);
	cli_json_str(cli_profile_video(&p->video, v, sizeof(v)));
	printf(", \"audio\": ");
	cli_json_str(cli_profile_audio(&p->audio, a, sizeof(a)));
	printf("}");
}

static int
cli_profile_list(const struct cfg *cfg, struct db *db, bool json)
{
	struct db_profile	*d;
	struct cfg_profile	 p;
	struct cfg_err		 cerr;
	char			 err[DB_ERR_MAX];
	size_t			 i, n;

	if (db_profiles_load(db, &d, &n, err, sizeof(err)) == -1) {
		fprintf(stderr, "mirroring profile: %s\n", err);
		return 1;
	}
	if (json)
		printf("[{\"name\": \"copy\", \"source\": \"builtin\", "
		    "\"video\": \"copy\", \"audio\": \"copy\"}");
	else
		printf("%-16s %-7s %-52s %s\n%-16s %-7s %-52s %s\n", "NAME",
		    "SOURCE", "VIDEO", "AUDIO", "copy", "builtin", "copy",
		    "copy");
	for (i = 0; i < cfg->nprofiles; i++)
		cli_profile_row(&cfg->profiles[i], cfg->profiles[i].line ?
		    "file" : "preset", json);
	for (i = 0; i < n; i++) {
		if (cfg_profile_parse_spec(d[i].name, d[i].spec, &p,
		    &cerr) == -1) {
			fprintf(stderr, "mirroring profile: warning: %s no "
			    "longer parses: %s\n", d[i].name, cerr.msg);
			continue;
		}
		cli_profile_row(&p, "cli", json);
		cfg_profile_clear(&p);
	}
	if (json)
		printf("]\n");
	db_profiles_free(d, n);
	return 0;
}

static int
cli_profile_add(const struct cfg *cfg, struct db *db, const char *name,
    const char *spec)
{
	struct cfg_profile	 p;
	struct cfg_err		 cerr;
	enum cfg_pf		 f;
	char			 why[CFG_ERR_MAX / 2], err[DB_ERR_MAX];
	int			 rc = 1;

	if (!cfg_name_ok(name) || strcmp(name, "copy") == 0 ||
	    cfg_profile_find(cfg, name) != NULL) {
		fprintf(stderr, "mirroring profile: %s \"%s\": use 1-%d of "
		    "A-Z a-z 0-9 _ -, not copy, a preset or a profile of %s\n",
		    cfg_profile_find(cfg, name) != NULL ? "name taken" :
		    "invalid name", cfg_name_ok(name) ? name : "?",
		    CFG_NAME_MAX, cfg->path);
		return 1;
	}
	if (cfg_profile_parse_spec(name, spec, &p, &cerr) == -1) {
		fprintf(stderr, "mirroring profile: %s\n", cerr.msg);
		return 1;
	}
	if (profile_check(&p, NULL, &f, why, sizeof(why)) == -1)
		fprintf(stderr, "mirroring profile: profiles.%s: %s\n", name,
		    why);
	else if (db_profile_add(db, name, spec, err, sizeof(err)) == -1)
		fprintf(stderr, "mirroring profile: %s\n", err);
	else
		rc = 0;
	cfg_profile_clear(&p);
	return rc;
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
	const char	*cpath = NULL, *verb;
	struct cfg	*cfg;
	struct db	*db;
	char		 err[DB_ERR_MAX];
	bool		 json = false;
	int		 ch, nargs, rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		fprintf(argc < 2 ? stderr : stdout, "%s", usage);
		return argc < 2 ? 2 : 0;
	}
	verb = argv[1];
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
	nargs = argc - 1 - optind;
	if (!((strcmp(verb, "list") == 0 && nargs == 0) ||
	    (strcmp(verb, "add") == 0 && nargs == 2 && !json) ||
	    (strcmp(verb, "rm") == 0 && nargs == 1 && !json))) {
		fprintf(stderr, "%s", usage);
		return 2;
	}
	if ((rc = cli_db_open("profile", cli_config_path(cpath), &cfg,
	    &db)) != 0)
		return rc;
	argv += 1 + optind;
	if (strcmp(verb, "list") == 0)
		rc = cli_profile_list(cfg, db, json);
	else if (strcmp(verb, "add") == 0)
		rc = cli_profile_add(cfg, db, argv[0], argv[1]);
	else if ((rc = db_profile_rm(db, argv[0], err, sizeof(err))) == -1) {
		fprintf(stderr, "mirroring profile: %s\n", err);
		rc = 1;
	}
	if (rc == 0 && strcmp(verb, "list") != 0)
		cli_notify(cfg, "profile");
	cli_db_close(cfg, db);
	return rc;
}
