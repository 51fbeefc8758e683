/*
 * mirroring-worker: one process per relay (see docs/design.md).  Relays
 * arrive with issue #3; until then this binary only reports the libav
 * libraries it was built against, so the build proves they link.
 */
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>
#include <stdio.h>
#include <string.h>

#define WORKER_EX_CONFIG	78	/* bad relay config: do not restart */

int
main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("mirroring-worker: libavformat %s, libavcodec %s, "
		    "libavutil %s, libswscale %s, libswresample %s\n",
		    AV_STRINGIFY(LIBAVFORMAT_VERSION),
		    AV_STRINGIFY(LIBAVCODEC_VERSION),
		    AV_STRINGIFY(LIBAVUTIL_VERSION),
		    AV_STRINGIFY(LIBSWSCALE_VERSION),
		    AV_STRINGIFY(LIBSWRESAMPLE_VERSION));
		return avformat_version() == LIBAVFORMAT_VERSION_INT &&
		    swscale_version() > 0 && swresample_version() > 0 &&
		    avcodec_version() > 0 ? 0 : 1;
	}
	fprintf(stderr, "mirroring-worker: relays are not implemented yet "
	    "(issue #3)\n");
	return WORKER_EX_CONFIG;
}
