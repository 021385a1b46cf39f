/* ferryd's acceptor, on loop 0 (the main thread): it binds every
 * ListenAddress/Port, turns connections away past MaxStartups or the
 * descriptor limit, admits the others into the session list (where
 * PerSourceMaxStartups is judged) and hands each, with a dup of its
 * socket, to the event loop serving the fewest sessions (loops.h), which
 * runs session_start.
 *
 * Ownership: ferryd's main owns struct acceptor (in its struct server)
 * and keeps it alive until loop 0 ended; loops, sessions and pol are
 * ferryd's, pol pointing at the policy new connections get (SIGHUP
 * changes it). */
#ifndef FERRY_SERVER_ACCEPTOR_H
#define FERRY_SERVER_ACCEPTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "fwd/listener.h"
#include "server/config.h"
#include "server/session.h"

#define ACCEPTOR_MAX_LISTENERS	(SC_MAX_LISTEN * FWD_MAX_ADDRS)
/* Descriptors never given to sessions: files, the resolver, key loads. */
#define FD_SLACK		16

struct srv_loops;

struct acceptor {
	uv_loop_t		*loop;		/* loop 0's */
	struct srv_loops	*loops;
	struct session_list	*sessions;
	struct server_policy	**pol;
	uv_tcp_t		 lis[ACCEPTOR_MAX_LISTENERS];
	int			 nlis;
	bool			 stopping;
	/* ClusterRegistry: nothing is accepted before the node knows it
	 * may join (the kernel queues connections meanwhile) */
	bool			 held;
	bool			 waiting[ACCEPTOR_MAX_LISTENERS];
	unsigned		 drops;		/* connections turned away */
	size_t			 fd_limit;	/* RLIMIT_NOFILE */
};

/* Raises the descriptor limit to the hard limit and sets the sessions'
 * budget: a reserve that tunnels cannot use, so that logins work while
 * one user holds many sockets. */
void	acceptor_fd_budget(struct acceptor *a);
/* The descriptors the process holds now (listeners, the loops' own,
 * stdio): they count against the limit too. */
size_t	acceptor_open_fds(void);
/* Binds and listens on every ListenAddress/Port of *pol, printing sshd's
 * "Server listening" line for each (with the kernel's port when 0 was
 * asked). 0, or -1 with err. */
int	acceptor_listen(struct acceptor *a, char *err, size_t errlen);
/* The connections held back (held) are accepted from now on. */
void	acceptor_release(struct acceptor *a);
/* SIGTERM: the listeners close; nothing more is accepted. */
void	acceptor_stop(struct acceptor *a);

#endif
