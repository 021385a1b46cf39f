/* ferryd's operator interfaces: the control socket (ControlSocket, mode
 * 0600; one request line in, one answer out, the protocol of
 * client/ctlproto.h: status, status-json, metrics) and the loopback-only
 * MetricsListen (HTTP: the status page, /status.json, /metrics); and the
 * `ferryd status|metrics` commands that ask the socket. */
#ifndef FERRY_SERVER_CTL_H
#define FERRY_SERVER_CTL_H

#include <stdbool.h>
#include <sys/un.h>
#include <uv.h>

#include "net/reqsrv.h"
#include "server/session.h"

/* Embedded in the daemon; the sessions it reports outlive it. */
struct ctl_server {
	struct session_list	*sessions;
	struct reqsrv			 req;
};

/* Binds the control socket at path (NULL or "none": none; a stale socket
 * file is replaced, a live one refused; optional: a failure is logged and
 * ferryd goes on without it) and the metrics listener at
 * metrics ("address:port" on loopback; NULL: none). Returns 0, or -1 with
 * err (nothing left open). */
int	ctl_start(struct ctl_server *c, uv_loop_t *loop,
	    struct session_list *sessions, const char *path,
	    bool optional, const char *metrics, char *err, size_t errlen);
/* Whether path is the default ControlSocket under state_dir. The default
 * is optional: a StateDirectory that is missing, or whose name is too long
 * for a socket address, runs without one (logged) instead of failing to
 * start; a configured path must work. */
bool	ctl_is_default(const char *path, const char *state_dir);
/* Closes both (the socket file goes); requests in flight finish. */
void	ctl_stop(struct ctl_server *c);
/* `ferryd status [-j] [-S path] [-f config]` and `ferryd metrics [-S path]
 * [-f config]`; argv[0] is the command. Returns the exit status. */
int	ctl_client_main(int argc, char **argv, const char *default_config);

#endif
