/* One SSH connection over one TCP socket, driven by libuv: asynchronous
 * DNS and connect with a timeout, reads straight into the engine's input
 * buffer, writes coalesced once per loop iteration. */
#ifndef FERRY_NET_CONN_H
#define FERRY_NET_CONN_H

#include <stdbool.h>
#include <uv.h>

#include "ssh/ssh.h"

struct net_conn;

struct net_conn_ops {
	/* Engine events, passed through. */
	void	(*event)(void *ud, struct ssh_event *ev);
	/* The TCP connection is up (the SSH handshake starts). */
	void	(*connected)(void *ud);
	/* A batch of input was processed (events delivered): a moment to
	 * flush what the events queued elsewhere. */
	void	(*input_done)(void *ud);
	/* The output backlog drained: paused readers may resume. */
	void	(*drained)(void *ud);
	/* The connection ended (why is a human message). After this the
	 * net_conn is being freed; no more calls. */
	void	(*closed)(void *ud, const char *why);
};

struct net_conn_opts {
	const char	*host;
	const char	*port;
	int		 family;	/* AF_UNSPEC, AF_INET, AF_INET6 */
	unsigned	 connect_timeout_ms;	/* 0: none */
	bool		 tcp_keepalive;		/* SO_KEEPALIVE (TCPKeepAlive) */
};

/* Creates the connection and starts resolving + connecting. The engine is
 * created from cfg once connected (cfg.event is overridden). Returns NULL
 * on failure. */
struct net_conn	*net_conn_start(uv_loop_t *loop, const struct net_conn_opts *o,
		    const struct ssh_config *cfg, const struct net_conn_ops *ops,
		    void *ud);
/* Accepts a connection from server and starts an engine on it at once
 * (ferryd). Returns NULL if the accept failed. */
struct net_conn	*net_conn_accept(uv_loop_t *loop, uv_stream_t *server,
		    const struct ssh_config *cfg, const struct net_conn_ops *ops,
		    void *ud);
/* The peer's port (0 if unknown). */
int		 net_conn_peer_port(const struct net_conn *nc);
/* The engine (NULL before the TCP connection is up). */
struct ssh_conn	*net_conn_ssh(struct net_conn *nc);
/* Asks for a flush at the end of this loop iteration. */
void		 net_conn_kick(struct net_conn *nc);
/* Whether so much output is queued that readers should pause. */
bool		 net_conn_congested(struct net_conn *nc);
/* Flushes what is queued (DISCONNECT included) and closes; closed() is
 * called with why. */
void		 net_conn_close(struct net_conn *nc, const char *why);
/* The address connected to, for known_hosts and logs. */
const char	*net_conn_peer_ip(const struct net_conn *nc);

#endif
