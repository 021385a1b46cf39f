/* net/conn.c's insides, shared with net/conn_verdict.c (the role's
 * deferred answers). Nothing outside src/net includes this. */
#ifndef FERRY_NET_CONN_INT_H
#define FERRY_NET_CONN_INT_H

#include "net/conn.h"

/* Owns the engine and every libuv handle below; freed when the last
 * handle's close callback has run (libuv design: memory a handle uses is
 * freed only in its close callback). While connecting, the connector
 * owns its own handles and connects sock.tcp (connector.h); closing
 * cancels it. With a ProxyCommand sock is a pipe and proc the command,
 * which is closed once it has exited (asked to by SIGHUP when the
 * connection ends first). */
struct net_conn {
	struct connector	*connector;	/* while connecting */
	union {
		uv_handle_t	 h;
		uv_stream_t	 s;
		uv_tcp_t	 tcp;	/* unless proxied */
		uv_pipe_t	 pipe;	/* proxied */
	}			 sock;
	uv_process_t		 proc;
	bool			 proxied;
	bool			 proc_running;
	uv_timer_t		 deadline;	/* until the first KEX ends */
	/* the host key verdict was deferred; hk_left: what the deadline
	 * had left then (0: it was not running) */
	bool			 hk_deferred;
	uint64_t		 hk_left;
	uv_timer_t		 rekey;		/* RekeyLimit's time part */
	uv_write_t		 wreq;
	struct net_loop		*nl;
	struct net_wake		 wake;		/* owes a flush */
	struct net_chans	 chans;
	struct ssh_conn		*ssh;
	struct ssh_config	 cfg;
	struct net_conn_ops	 ops;
	void			*ud;
	struct wb		 wbuf;		/* bytes handed to uv_write */
	size_t			 woff;
	size_t			 wlen;
	bool			 writing;
	bool			 was_congested;
	bool			 input_paused;	/* by the output backlog */
	bool			 input_held;	/* a global request deferred */
	bool			 closing;
	size_t			 read_want;	/* see READ_MIN */
	uint64_t		 read_full_at;	/* loop ms of the last full read */
	int			 handles;	/* open libuv handles */
	char			*why;
	enum net_end		 end;
	char			 host[256];
	char			 port[32];
	char			 peer_ip[64];
	int			 peer_port;
	bool			 tcp_keepalive;
	uint64_t		 rekey_interval_ms;	/* 0: none */
};

/* conn.c */
void	conn_engine_failed(struct net_conn *nc);	/* ends nc */
void	conn_deadline_cb(uv_timer_t *t);
/* -1 when the backlog check closed nc */
int	conn_watch_backlog(struct net_conn *nc);
void	conn_read_start(struct net_conn *nc);

/* conn_verdict.c: a host key event, with the deadline held while the
 * role defers its verdict */
void	conn_hostkey_event(struct net_conn *nc, struct ssh_event *ev);

#endif
