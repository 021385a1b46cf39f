/* One SSH connection over one TCP socket (or a ProxyCommand's stdio,
 * net/proxy.h), driven by libuv: asynchronous DNS and connect with a
 * timeout, reads straight into the engine's input
 * buffer, writes coalesced once per loop iteration (net/loop.h: the
 * engine wakes the connection, nobody asks for a flush). It routes each
 * channel's events to that channel's handler (net/chan.h), flushes the
 * channels after every batch of input and resumes them when its backlog
 * drained or a key exchange ended; when it dies it aborts them. On the
 * client side it also keeps two clocks for the engine, which has none:
 * the setup deadline (ConnectTimeout: connect, banner and first key
 * exchange) and the time part of RekeyLimit. */
#ifndef FERRY_NET_CONN_H
#define FERRY_NET_CONN_H

#include <stdbool.h>
#include <uv.h>

#include "net/chan.h"
#include "net/loop.h"
#include "ssh/ssh.h"

struct net_conn;
struct connector_src;

/* How a connection ended, for a role that acts on it (the text says it
 * to a person). */
enum net_end {
	NET_END_LOCAL,		/* net_conn_close: the role ended it */
	NET_END_CONNECT,	/* resolving or connecting failed, or the
				 * setup deadline passed (connect, banner or
				 * first key exchange) */
	NET_END_PEER_CLOSED,	/* the peer closed the TCP connection */
	NET_END_IO,		/* a read or write failed, or the output
				 * queue passed its bound */
	NET_END_PEER_DISCONNECT,/* the peer sent DISCONNECT */
	NET_END_NEGOTIATION,	/* no algorithm in common */
	NET_END_PROTOCOL,	/* the engine failed (ssh_fail_kind) */
};

struct net_conn_ops {
	/* Engine events except the channels' own, which go to the
	 * channels' handlers (net/chan.h). */
	void	(*event)(void *ud, struct ssh_event *ev);
	/* The TCP connection is up (the SSH handshake starts; may be
	 * NULL). */
	void	(*connected)(void *ud);
	/* A batch of input was processed and the channels flushed: the
	 * peer is alive (may be NULL). */
	void	(*input_done)(void *ud);
	/* The connection ended (why is a human message). After this the
	 * net_conn is being freed; no more calls. */
	void	(*closed)(void *ud, enum net_end end, const char *why);
};

struct net_conn_opts {
	const char	*host;
	const char	*port;
	int		 family;	/* AF_UNSPEC, AF_INET, AF_INET6 */
	/* bounds everything up to the end of the first key exchange:
	 * resolving, connecting, the banner exchange and the KEX itself,
	 * minus the time the host key check takes (it may ask the user).
	 * 0: none */
	unsigned	 connect_timeout_ms;
	/* a key exchange this long after the last one (RekeyLimit's time
	 * part; 0: none) */
	uint64_t	 rekey_interval_ms;
	bool		 tcp_keepalive;		/* SO_KEEPALIVE (TCPKeepAlive) */
	/* NULL: connect to host:port; else the command (tokens expanded)
	 * whose stdio carries the connection */
	const char	*proxy_command;
	/* the source address (BindAddress, BindInterface); NULL: any */
	const struct connector_src *src;
};

/* Creates the connection and starts resolving + connecting. The engine is
 * created from cfg once connected (cfg.event is overridden). Returns NULL
 * on failure. */
struct net_conn	*net_conn_start(struct net_loop *nl, const struct net_conn_opts *o,
		    const struct ssh_config *cfg, const struct net_conn_ops *ops,
		    void *ud);
/* Starts an engine at once on fd, a TCP connection accepted on another
 * loop's listener (ferryd); the connection owns fd, closed on failure
 * too. Returns NULL if fd could not be used. */
struct net_conn	*net_conn_accept(struct net_loop *nl, uv_os_sock_t fd,
		    const struct ssh_config *cfg, const struct net_conn_ops *ops,
		    void *ud);
/* The peer's port (0 if unknown). */
int		 net_conn_peer_port(const struct net_conn *nc);
/* The engine (NULL before the TCP connection is up). */
struct ssh_conn	*net_conn_ssh(struct net_conn *nc);
/* Routes the events of the channel whose chan_ud is ch to ops. */
void		 net_conn_attach(struct net_conn *nc, struct net_chan *ch,
		    const struct net_chan_ops *ops);
/* Whether so much output is queued that readers should pause. */
bool		 net_conn_congested(struct net_conn *nc);
/* Flushes what is queued (DISCONNECT included) and closes; closed() is
 * called with why. */
void		 net_conn_close(struct net_conn *nc, const char *why);
/* The verdict on a host key whose SSH_EV_HOSTKEY the role deferred
 * (ssh.h): the setup deadline, stopped meanwhile, runs again with what it
 * had left. Returns 0, or -1 if the connection failed (closed() was
 * called) or no verdict was owed. */
int		 net_conn_hostkey_verdict(struct net_conn *nc, bool accept);
/* Server: the verdict on a publickey request whose SSH_EV_AUTH_REQUEST
 * the role deferred (ssh_auth_answer). Returns 0, or -1 if the connection
 * failed (closed() was called) or no answer was owed. */
int		 net_conn_auth_answer(struct net_conn *nc, bool allow);
/* Server: the answer to a global request whose SSH_EV_GLOBAL_REQUEST the
 * role deferred (ssh_global_answer); the socket is not read meanwhile.
 * Returns 0, or -1 if the connection failed (closed() was called) or no
 * answer was owed. */
int		 net_conn_global_answer(struct net_conn *nc, bool success,
		    const uint8_t *reply, size_t len);
/* The address connected to, for known_hosts and logs. */
const char	*net_conn_peer_ip(const struct net_conn *nc);
/* The local end of a TCP connection (ferryd's "Connection from A port P
 * on L port LP"): 0, or -1 for a proxied one or when the socket is gone. */
int		 net_conn_local(const struct net_conn *nc, char *ip,
		    size_t iplen, int *port);

#endif
