/*
 * What both workers (mirroring-worker, mirroring-copy) owe the
 * supervisor besides STATUS (report.c): the HELLO and CONFIG handshake,
 * the config error that ends a worker with 78, the destination backoff,
 * and hiding the stream key in texts.  No libav.
 */
#ifndef CONTRACT_H
#define CONTRACT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/ipc_msg.h"
#include "worker/report.h"
#include "worker/worker.h"

/* Validates the parts of CONFIG the worker itself cares about: 0, or an
 * exit code from contract_config_error. */
typedef int	(*contract_check_cb)(void *arg, const struct ipc_config *);

/* HELLO both ways, then CONFIG into cfg (copies; log settings applied);
 * check may be NULL.  0, or the exit code. */
int		 contract_handshake(int fd, struct report *, struct worker_cfg *,
		    contract_check_cb check, void *arg);
/* Logs relay.config_rejected, sends STATUS stopped with a config error;
 * returns WORKER_EX_CONFIG. */
int		 contract_config_error(struct report *,
		    const struct worker_cfg *, const char *why);
void		 contract_cfg_clear(struct worker_cfg *);
/* Logs relay.stopped with the counters, sends STATUS stopped; returns
 * the exit code: 0 after EOS, else 1. */
int		 contract_stopped(struct report *, const struct worker_cfg *,
		    const char *why, bool eos);
/* The delay before the next attempt after a failure of class cls (a
 * refusal waits the longest), with +-25% jitter; *backoff_ms doubles up
 * to the maximum and restarts from the minimum after a healthy session. */
uint32_t	 contract_backoff(const struct worker_cfg *, uint32_t *backoff_ms,
		    bool healthy, uint8_t cls);
/* A destination session failed (msg says how; the key is scrubbed from
 * it here): STATUS gets the error, relay.failed and relay.backoff are
 * logged, reconnects counted, STATUS backoff sent.  Returns the delay
 * before the next attempt (contract_backoff). */
uint32_t	 contract_failed(struct report *, const struct worker_cfg *,
		    uint32_t *backoff_ms, bool healthy, uint8_t cls, char *msg,
		    uint64_t now_ms);
/* "none", "network", "refused", "config". */
const char	*contract_err_class_name(uint8_t);
/* Hides the stream key (the URL's last path segment) wherever it is in s. */
void		 contract_scrub(const struct worker_cfg *, char *s);

#endif
