/*
 * /metrics in the Prometheus text exposition format (version 0.0.4):
 * per stream and per relay counters and gauges from the supervisor's
 * memory, and CPU and resident memory of the supervisor and each worker
 * from /proc (procfs reads never block on disk).
 */
#ifndef METRICS_H
#define METRICS_H

struct evbuffer;
struct server;

#define METRICS_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

/* Appends every metric family to out. */
void	metrics_write(struct server *, struct evbuffer *out);

#endif
