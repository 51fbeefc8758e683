/*
 * /metrics; see metrics.h.  Every family is written whole (HELP, TYPE,
 * then its samples) from tables of getters, so a new metric is one row.
 * Counters of a relay add up all its workers; they restart from zero
 * with each publish, which Prometheus reads as a counter reset.
 */
#include <event2/buffer.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "supervisor/metrics.h"
#include "supervisor/relay.h"
#include "supervisor/server.h"
#include "supervisor/stream.h"

#define M_PREFIX	"mirroring_"

struct metric {
	const char	*name;		/* without M_PREFIX */
	const char	*type;		/* "counter" or "gauge" */
	const char	*help;
};

static const char *const relay_state_names[] = {
	"starting", "connecting", "live", "stalled", "holding", "backoff",
	"stopped", "down",
};

static void
metrics_head(struct evbuffer *out, const struct metric *m)
{
	evbuffer_add_printf(out, "# HELP " M_PREFIX "%s %s\n# TYPE " M_PREFIX
	    "%s %s\n", m->name, m->help, m->name, m->type);
}

/* A label value: \\, \" and \n escaped (names are [A-Za-z0-9_-] today,
 * but the format is the format). */
static void
metrics_label(struct evbuffer *out, const char *k, const char *v, bool more)
{
	evbuffer_add_printf(out, "%s=\"", k);
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			evbuffer_add_printf(out, "\\%c", *v);
		else if (*v == '\n')
			evbuffer_add_printf(out, "\\n");
		else
			evbuffer_add(out, v, 1);
	}
	evbuffer_add_printf(out, "\"%s", more ? "," : "");
}

/* -- streams ---------------------------------------------------------- */

enum { ST_BYTES, ST_BPS, ST_FPS, ST_UPTIME, ST_N };
static const struct metric stream_metrics[ST_N] = {
	{ "stream_ingest_bytes_total", "counter",
	    "Media and metadata bytes received from the publisher." },
	{ "stream_ingest_bits_per_second", "gauge",
	    "Ingest bitrate over the last seconds." },
	{ "stream_fps", "gauge",
	    "Video frames per second, from the frames' timestamps." },
	{ "stream_uptime_seconds", "gauge",
	    "Seconds since the active publish started (0: none)." },
};

static double
stream_value(const struct stream *st, int which, uint64_t now)
{
	const struct source	*src = stream_active(st);
	double			 kbps, fps;

	stream_rates(st, &kbps, &fps);
	switch (which) {
	case ST_BYTES:
		return (double)st->bytes_in;	/* all its publishers' */
	case ST_BPS:
		return kbps * 1000;
	case ST_FPS:
		return fps;
	default:
		return src == NULL ? 0 : (double)(now - src->started_ms) /
		    1000;
	}
}

static void
metrics_streams(struct server *srv, struct evbuffer *out, uint64_t now)
{
	static const struct metric live = { "streams_live", "gauge",
	    "Streams being published now." };
	static const struct metric active = { "stream_source_active",
	    "gauge", "1 for the publisher relays follow (primary, backup, or "
	    "none while relays hold), 0 for the others." };
	static const struct metric pubs = { "stream_publishes_total",
	    "counter", "Publishes accepted since the supervisor started." };
	const struct stream	*st;
	size_t			 i;
	int			 m, n = 0;

	TAILQ_FOREACH(st, &srv->streams, entry)
		n++;
	metrics_head(out, &live);
	evbuffer_add_printf(out, M_PREFIX "%s %d\n", live.name, n);
	for (m = 0; m < ST_N; m++) {
		metrics_head(out, &stream_metrics[m]);
		TAILQ_FOREACH(st, &srv->streams, entry) {
			evbuffer_add_printf(out, M_PREFIX "%s{",
			    stream_metrics[m].name);
			metrics_label(out, "stream", st->name, false);
			evbuffer_add_printf(out, "} %.15g\n",
			    stream_value(st, m, now));
		}
	}
	metrics_head(out, &active);
	TAILQ_FOREACH(st, &srv->streams, entry)
		for (m = -1; m < SOURCE_N; m++) {
			evbuffer_add_printf(out, M_PREFIX "%s{", active.name);
			metrics_label(out, "stream", st->name, true);
			metrics_label(out, "source", m < 0 ? "none" :
			    source_label(m), false);
			evbuffer_add_printf(out, "} %d\n", st->active == m);
		}
	metrics_head(out, &pubs);
	for (i = 0; i < srv->npublishes; i++) {
		evbuffer_add_printf(out, M_PREFIX "%s{", pubs.name);
		metrics_label(out, "stream", srv->publishes[i].name, false);
		evbuffer_add_printf(out, "} %llu\n",
		    (unsigned long long)srv->publishes[i].n);
	}
}

/* -- relays ----------------------------------------------------------- */

enum { RL_BYTES, RL_BPS, RL_DROPS, RL_RECONNECTS, RL_RESTARTS, RL_N };
static const struct metric relay_metrics[RL_N] = {
	{ "relay_bytes_out_total", "counter",
	    "Bytes the relay's workers wrote to the destination (muxed)." },
	{ "relay_bits_per_second", "gauge",
	    "Output bitrate the worker measured over the last seconds." },
	{ "relay_dropped_packets_total", "counter",
	    "Packets dropped: queue budget in the supervisor, stalls and "
	    "reconnects in the worker." },
	{ "relay_reconnects_total", "counter",
	    "Reconnects to the destination." },
	{ "relay_restarts_total", "counter",
	    "Worker processes restarted." },
};

static unsigned long long
relay_value(const struct relay *r, int which)
{
	switch (which) {
	case RL_BYTES:
		return r->prev_bytes_out + r->status.bytes_out;
	case RL_BPS:
		return r->pid > 0 ? (unsigned long long)r->status.kbps * 1000 :
		    0;
	case RL_DROPS:
		return r->dropped + r->prev_dropped + r->status.packets_dropped;
	case RL_RECONNECTS:
		return r->prev_reconnects + r->status.reconnects;
	default:
		return r->attempts > 0 ? r->attempts - 1 : 0;
	}
}

static void
relay_labels(struct evbuffer *out, const struct relay *r, bool more)
{
	metrics_label(out, "stream", r->stream_name, true);
	metrics_label(out, "relay", r->name, more);
}

static void
metrics_relays(struct server *srv, struct evbuffer *out)
{
	static const struct metric state = { "relay_state", "gauge",
	    "1 for the relay's current state, 0 for the others." };
	const struct stream	*st;
	const struct relay	*r;
	const char		*now;
	size_t			 i;
	int			 m;

	metrics_head(out, &state);
	TAILQ_FOREACH(st, &srv->streams, entry)
		TAILQ_FOREACH(r, &st->relays, entry) {
			now = relay_state(r);
			for (i = 0; i < sizeof(relay_state_names) /
			    sizeof(*relay_state_names); i++) {
				evbuffer_add_printf(out, M_PREFIX "%s{",
				    state.name);
				relay_labels(out, r, true);
				metrics_label(out, "state",
				    relay_state_names[i], false);
				evbuffer_add_printf(out, "} %d\n",
				    strcmp(now, relay_state_names[i]) == 0);
			}
		}
	for (m = 0; m < RL_N; m++) {
		metrics_head(out, &relay_metrics[m]);
		TAILQ_FOREACH(st, &srv->streams, entry)
			TAILQ_FOREACH(r, &st->relays, entry) {
				evbuffer_add_printf(out, M_PREFIX "%s{",
				    relay_metrics[m].name);
				relay_labels(out, r, false);
				evbuffer_add_printf(out, "} %llu\n",
				    relay_value(r, m));
			}
	}
}

/* -- processes -------------------------------------------------------- */

/* /proc/PID/name into buf, NUL-terminated. */
static int
metrics_proc_read(pid_t pid, const char *name, char *buf, size_t len)
{
	char	path[64];
	ssize_t	n;
	int	fd;

	snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* CPU seconds (user + system) and resident bytes of pid from /proc. */
static int
metrics_proc(pid_t pid, double *cpu_s, double *rss)
{
	char			 buf[1024], *p;
	unsigned long long	 ut, st, pages;

	/* the command name may hold spaces and ')': fields count from the
	 * last ')'; utime and stime are fields 14 and 15 */
	if (metrics_proc_read(pid, "stat", buf, sizeof(buf)) == -1 ||
	    (p = strrchr(buf, ')')) == NULL || sscanf(p + 1,
	    " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
	    &ut, &st) != 2)
		return -1;
	*cpu_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	if (metrics_proc_read(pid, "statm", buf, sizeof(buf)) == -1 ||
	    sscanf(buf, "%*u %llu", &pages) != 1)
		return -1;
	*rss = (double)pages * (double)sysconf(_SC_PAGESIZE);
	return 0;
}

static void
metrics_procs(struct server *srv, struct evbuffer *out, bool rss)
{
	static const struct metric cpu_m = { "process_cpu_seconds_total",
	    "counter", "User and system CPU time of the process." };
	static const struct metric rss_m = { "process_resident_memory_bytes",
	    "gauge", "Resident memory of the process." };
	const struct metric	*m = rss ? &rss_m : &cpu_m;
	const struct stream	*st;
	const struct relay	*r;
	double			 cpu, mem;

	metrics_head(out, m);
	if (metrics_proc(getpid(), &cpu, &mem) == 0)
		evbuffer_add_printf(out, M_PREFIX "%s{process=\"supervisor\"} "
		    "%.15g\n", m->name, rss ? mem : cpu);
	TAILQ_FOREACH(st, &srv->streams, entry)
		TAILQ_FOREACH(r, &st->relays, entry) {
			if (r->pid <= 0 || metrics_proc(r->pid, &cpu, &mem) ==
			    -1)
				continue;
			evbuffer_add_printf(out, M_PREFIX
			    "%s{process=\"worker\",", m->name);
			relay_labels(out, r, false);
			evbuffer_add_printf(out, "} %.15g\n", rss ? mem : cpu);
		}
}

void
metrics_write(struct server *srv, struct evbuffer *out)
{
	uint64_t	now = util_mono_ms();

	metrics_streams(srv, out, now);
	metrics_relays(srv, out);
	metrics_procs(srv, out, false);
	metrics_procs(srv, out, true);
}
