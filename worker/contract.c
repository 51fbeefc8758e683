/*
 * The workers' side of the supervisor contract (see contract.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/ipc.h"
#include "common/log.h"
#include "common/util.h"
#include "worker/contract.h"
#include "worker/msgq.h"

static char *
contract_strdup(const char *s, size_t n)
{
	char	*p;

	if ((p = strndup(s, n)) == NULL)
		fatal("worker.oom", "what=config");
	return p;
}

int
contract_config_error(struct report *rep, const struct worker_cfg *cfg,
    const char *why)
{
	log_error("relay.config_rejected", "stream=%s relay=%s why=%s",
	    cfg->stream != NULL ? cfg->stream : "-",
	    cfg->relay != NULL ? cfg->relay : "-", LQ(why));
	report_error(rep, IPC_ERR_CONFIG, why);
	report_state(rep, IPC_ST_STOPPED, util_mono_ms());
	return WORKER_EX_CONFIG;
}

static int
contract_apply(struct report *rep, struct worker_cfg *cfg,
    const struct ipc_config *c, contract_check_cb check, void *arg)
{
	int	rc;

	cfg->stream = contract_strdup(c->stream, c->stream_len);
	cfg->relay = contract_strdup(c->relay, c->relay_len);
	cfg->url = contract_strdup(c->url, c->url_len);
	cfg->profile = contract_strdup(c->profile, c->profile_len);
	if (c->log_level > LOGL_ERROR || c->log_format > LOG_FMT_JSON)
		return contract_config_error(rep, cfg,
		    "bad log level or format");
	log_init("worker", c->log_level, c->log_format);
	if (strlen(cfg->url) != c->url_len)
		return contract_config_error(rep, cfg, "NUL in the url");
	if (check != NULL && (rc = check(arg, c)) != 0)
		return rc;
	cfg->connect_timeout_ms = c->connect_timeout_ms ?
	    c->connect_timeout_ms : 10000;
	cfg->io_timeout_ms = c->io_timeout_ms ? c->io_timeout_ms : 10000;
	cfg->backoff_min_ms = c->backoff_min_ms ? c->backoff_min_ms : 500;
	cfg->backoff_max_ms = c->backoff_max_ms > cfg->backoff_min_ms ?
	    c->backoff_max_ms : cfg->backoff_min_ms;
	return 0;
}

int
contract_handshake(int fd, struct report *rep, struct worker_cfg *cfg,
    contract_check_cb check, void *arg)
{
	uint8_t			 buf[IPC_HDR_LEN + 64];
	struct msgq_item	*it;
	struct ipc_hello	 h;
	struct ipc_config	 c;
	const char		*why = "";
	int			 n, rc;

	n = ipc_hello_pack(buf + IPC_HDR_LEN, sizeof(buf) - IPC_HDR_LEN,
	    "worker");
	ipc_hdr_pack(buf, IPC_HELLO, 0, (uint32_t)n, 0);
	if (send(fd, buf, IPC_HDR_LEN + (size_t)n, MSG_NOSIGNAL) !=
	    IPC_HDR_LEN + n) {
		log_warn("relay.ipc_failed", "what=hello");
		return WORKER_EX_FAIL;
	}
	if ((it = msgq_read_msg(fd, &why)) == NULL) {
		log_error("relay.ipc_failed", "what=hello why=%s", LQ(why));
		return WORKER_EX_FAIL;
	}
	rc = it->type != IPC_HELLO ||
	    ipc_hello_parse(it->data, it->len, &h) == -1 ||
	    h.version != IPC_VERSION;
	free(it);
	if (rc) {
		log_error("relay.ipc_rejected", "what=hello want_version=%d "
		    "why=\"not a HELLO of our version\"", IPC_VERSION);
		return WORKER_EX_CONFIG;
	}
	if ((it = msgq_read_msg(fd, &why)) == NULL) {
		log_error("relay.ipc_failed", "what=config why=%s", LQ(why));
		return WORKER_EX_FAIL;
	}
	if (it->type != IPC_CONFIG ||
	    ipc_config_parse(it->data, it->len, &c) == -1)
		rc = contract_config_error(rep, cfg, "malformed CONFIG");
	else
		rc = contract_apply(rep, cfg, &c, check, arg);
	explicit_bzero(it->data, it->len);	/* the url */
	free(it);
	return rc;
}

void
contract_cfg_clear(struct worker_cfg *cfg)
{
	free(cfg->stream);
	free(cfg->relay);
	if (cfg->url != NULL)
		explicit_bzero(cfg->url, strlen(cfg->url));
	free(cfg->url);
	free(cfg->profile);
	memset(cfg, 0, sizeof(*cfg));
}

int
contract_stopped(struct report *rep, const struct worker_cfg *cfg,
    const char *why, bool eos)
{
	log_info("relay.stopped", "stream=%s relay=%s url=%s reason=%s "
	    "packets=%llu bytes=%llu dropped=%llu reconnects=%u",
	    cfg->stream, cfg->relay, MASK(cfg->url), LQ(why),
	    (unsigned long long)rep->packets_out,
	    (unsigned long long)rep->bytes_out,
	    (unsigned long long)rep->packets_dropped, rep->reconnects);
	report_state(rep, IPC_ST_STOPPED, util_mono_ms());
	return eos ? WORKER_EX_OK : WORKER_EX_FAIL;
}

uint32_t
contract_backoff(const struct worker_cfg *cfg, uint32_t *backoff_ms,
    bool healthy, uint8_t cls)
{
	uint32_t	r = 0, delay;

	if (healthy || *backoff_ms == 0)
		*backoff_ms = cfg->backoff_min_ms;
	if (cls != IPC_ERR_NETWORK)
		*backoff_ms = cfg->backoff_max_ms;
	(void)util_random(&r, sizeof(r));
	/* 75% to 125%, so relays that failed together do not retry
	 * together */
	delay = (uint32_t)((uint64_t)*backoff_ms * (750 + r % 501) / 1000);
	*backoff_ms = *backoff_ms > cfg->backoff_max_ms / 2 ?
	    cfg->backoff_max_ms : *backoff_ms * 2;
	return delay;
}

uint32_t
contract_failed(struct report *rep, const struct worker_cfg *cfg,
    uint32_t *backoff_ms, bool healthy, uint8_t cls, char *msg,
    uint64_t now)
{
	uint32_t	delay;

	contract_scrub(cfg, msg);
	report_error(rep, cls, msg);
	log_warnx("relay.failed", "stream=%s relay=%s url=%s class=%s err=%s",
	    cfg->stream, cfg->relay, MASK(cfg->url),
	    contract_err_class_name(cls), LQ(msg));
	delay = contract_backoff(cfg, backoff_ms, healthy, cls);
	rep->reconnects++;
	log_info("relay.backoff", "stream=%s relay=%s url=%s delay_ms=%u",
	    cfg->stream, cfg->relay, MASK(cfg->url), delay);
	report_state(rep, IPC_ST_BACKOFF, now);
	return delay;
}

const char *
contract_err_class_name(uint8_t c)
{
	static const char	*names[] = { "none", "network", "refused",
	    "config" };

	return c < 4 ? names[c] : "?";
}

void
contract_scrub(const struct worker_cfg *cfg, char *s)
{
	const char	*key, *end;
	char		*p;
	size_t		 n;

	if (cfg->url == NULL || (key = strrchr(cfg->url, '/')) == NULL)
		return;
	key++;
	end = key + strcspn(key, "?");
	if ((n = (size_t)(end - key)) < 4)
		return;
	while ((p = memmem(s, strlen(s), key, n)) != NULL)
		memset(p, '*', n);
}
