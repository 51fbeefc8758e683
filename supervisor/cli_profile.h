/*
 * `mirroring profile list`: the transcoding profiles a relay may name,
 * from the config's profiles: section and the built-in presets.
 */
#ifndef CLI_PROFILE_H
#define CLI_PROFILE_H

/* argv[0] is "profile".  Returns the exit status: 0, 1 (error), 2 (usage). */
int	cli_profile_main(int argc, char **argv);

#endif
