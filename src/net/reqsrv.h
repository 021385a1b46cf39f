/* An operator's request servers, shared by ferry's supervisor and
 * ferryd: a Unix control socket (one line in, one answer out; mode 0600;
 * or, when the first byte is NUL and the owner serves it, OpenSSH's
 * multiplexing protocol: length-prefixed packets, each answered, on one
 * connection) and a loopback-only HTTP listener (MetricsListen: the status page,
 * /status.json, /metrics). Each connection is bounded in size
 * (REQSRV_MAX bytes of request), time (5 s) and number (max_reqs at
 * once); an answer is built in memory by the owner's callbacks and
 * written asynchronously. */
#ifndef FERRY_NET_REQSRV_H
#define FERRY_NET_REQSRV_H

#include <stdbool.h>
#include <sys/un.h>
#include <uv.h>

#include "ssh/buf.h"
#include "util/statuspage.h"

#define REQSRV_MAX	4096

struct reqsrv_ops {
	/* A control line (no NUL, no line end): the answer goes to out. */
	void	(*line)(void *ud, char *line, struct wb *out);
	/* The body for an HTTP route (SP_JSON or SP_METRICS). */
	void	(*report)(void *ud, enum sp_route route, struct wb *body);
	/* One multiplexing packet (length field included); its answer
	 * goes to out; *last ends the connection once out is written. NULL:
	 * the control socket speaks lines only. */
	void	(*packet)(void *ud, const uint8_t *p, size_t len,
		    struct wb *out, bool *last);
};

/* Embedded in its owner, which outlives the requests it serves: close
 * it (reqsrv_close) before the owner goes, and let the loop run. */
struct reqsrv {
	uv_loop_t		*loop;
	const struct reqsrv_ops	*ops;
	void			*ud;
	const char		*keyword;	/* ControlPath, ControlSocket */
	const char		*prog;		/* ferry, ferryd */
	int			 max_reqs;
	int			 nreqs;		/* being served */
	uv_pipe_t		 pipe;
	bool			 pipe_open;
	char			 path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	uv_tcp_t		 tcp;
	bool			 tcp_open;
	bool			 tcp_any_port;	/* MetricsListen asked port 0 */
};

void	reqsrv_init(struct reqsrv *r, uv_loop_t *loop,
	    const struct reqsrv_ops *ops, void *ud, const char *keyword,
	    const char *prog, int max_reqs);
/* Binds the control socket at path. A stale socket file is replaced; one
 * that answers belongs to a running program (-2); anything else at path,
 * or a failure, is -1. err names the keyword. */
int	reqsrv_listen_unix(struct reqsrv *r, const char *path, char *err,
	    size_t errlen);
/* Binds MetricsListen at sa (fwd_loopback_addr checked that it is a
 * loopback address: the numbers describe every tunnel here); spec is
 * what the operator wrote, for errors. Returns 0 or -1 with err. */
int	reqsrv_listen_http(struct reqsrv *r, const struct sockaddr *sa,
	    const char *spec, char *err, size_t errlen);
/* The HTTP listener's port (0 when none). */
int	reqsrv_http_port(struct reqsrv *r);
/* Closes the control socket only (ssh -O stop), the file too. */
void	reqsrv_close_unix(struct reqsrv *r);
/* Closes both listeners (the socket file goes); requests in flight end
 * by themselves. */
void	reqsrv_close(struct reqsrv *r);

#endif
