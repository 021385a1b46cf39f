/* The pump's insides, shared by pump.c (the plain pump), pump_open.c
 * (creating pumps, opening channels, outbound connects), pump_socks.c
 * (the SOCKS stages before a pump carries data) and pump_stdio.c (ferry
 * -W's pump on stdin and stdout). */
#ifndef FERRY_FWD_PUMP_INT_H
#define FERRY_FWD_PUMP_INT_H

#include <stddef.h>

#include "fwd/pump.h"
#include "fwd/socks.h"
#include "net/chan.h"
#include "ssh/buf.h"

#define READ_MAX	(64 * 1024)

union pump_sock {
	uv_handle_t	 h;
	uv_stream_t	 s;
	uv_tcp_t	 tcp;
	uv_pipe_t	 pipe;
};

/* A SOCKS request being read, before there is a destination. */
struct socks_wait {
	struct socks	 s;
	uint8_t		 rbuf[1024];	/* -D: the socket's read buffer */
	uint32_t	 oport;		/* -D: the client's address */
	char		 oip[64];
};

/*
 * Each direction's half-close is a small state machine, moved on only by
 * up_eof() and down_step() in pump.c:
 *
 *   socket -> channel (up)
 *	UP_OPEN		socket read into the channel
 *	UP_EOF_SENT	socket EOF seen, CHANNEL_EOF sent; no more reads
 *
 *   channel -> socket (down)
 *	DOWN_OPEN	channel data written to the socket
 *	DOWN_EOF_RCVD	CHANNEL_EOF received; buffered bytes still going out
 *	DOWN_SHUTTING	all written, shutdown(SHUT_WR) requested
 *	DOWN_DONE	the shutdown completed (or could not be requested)
 *
 * The channel is closed once up is UP_EOF_SENT and down is DOWN_DONE.
 */
enum pump_up {
	UP_OPEN,
	UP_EOF_SENT,
};

enum pump_down {
	DOWN_OPEN,
	DOWN_EOF_RCVD,
	DOWN_SHUTTING,
	DOWN_DONE,
};

/* Owned by its pump_set list; freed in the socket's close callback. The
 * engine's channel points at its nch (chan_ud) until has_chan is
 * cleared; the connection routes the channel's events to it through nch
 * (whose ops are the SOCKS stage's table while one runs, the plain
 * pump's after) from creation until it is freed or the connection is
 * gone. An outbound connect's connector owns its own handles and
 * connects sock (net/connector.h); the pump cancels it when it closes
 * first. */
struct pump {
	struct net_chan	 nch;		/* the engine's chan_ud; ops ours */
	struct pump_set	*set;		/* not owned; outlives the pump */
	struct pump	*next;		/* the set's list */
	struct pump	*prev;
	union pump_sock	 sock;		/* owned; closed by pump_close */
	/* where channel data is written and shut: &sock.s, or osock's */
	uv_stream_t	*out;
	/* owned: a separate output handle (ferry -W writes stdout, reads
	 * stdin); NULL for a socket pump. Closed by pump_close (or at
	 * CHANNEL_EOF when out_close_eof), freed with the pump. */
	union pump_sock	*osock;
	bool		 osock_closed;	/* its close callback ran */
	bool		 out_close_eof;	/* a FIFO: closed at EOF */
	bool		 failed;	/* reset, or the open was refused */
	/* ferry -W's owner (pump_stdio); NULL for the others */
	const struct pump_stdio_hooks *hooks;
	void		*hooks_ud;
	uv_write_t	 wreq;		/* in use while writing */
	uv_shutdown_t	 sreq;		/* in use in DOWN_SHUTTING */
	struct connector *connector;	/* not owned; until it called back */
	/* called when the outbound connect is over (status < 0: failed) */
	void		(*connected)(struct pump *, int);
	bool		 connecting;	/* outbound connect for a pending open */
	bool		 timed_out;	/* ForwardConnectTimeout ran out */
	/* waiting past MaxPendingConnects for one of the set's connects to
	 * end: host (owned) and port to connect to, in the set's queue */
	bool		 queued;
	char		*qhost;
	uint32_t	 qport;
	struct pump	*qnext;
	const char	*why;		/* the connect did not start: why */
	bool		 sock_closed;	/* the handle's close callback ran */
	uint32_t	 chan;		/* the engine's channel id */
	bool		 has_chan;	/* chan is ours */
	bool		 confirmed;
	bool		 reading;	/* the socket is read */
	bool		 writing;	/* wreq in flight */
	bool		 closing;	/* pump_close ran */
	enum pump_up	 up;		/* socket -> channel half-close */
	enum pump_down	 down;		/* channel -> socket half-close */
	struct socks_wait *sw;		/* owned; while a SOCKS request is
					 * read and answered */
	const struct fwd_permit *permits;	/* remote dynamic; not owned,
						 * outlive the pump */
	int		 npermits;
	/* owned: bytes for the channel ahead of the socket's (SOCKS replies
	 * on the channel side, or what a SOCKS client sent ahead of our
	 * reply) */
	struct wb	 early;
	size_t		 early_off;
	/* bytes at the head of pend that are ours (a SOCKS reply), not
	 * channel data: the window is not credited for them */
	size_t		 uncredited;
	/* channel data of the current input batch, still in the engine's
	 * input buffer (ssh.h); gone by the end of the batch (flush) */
	uv_buf_t	 iov[16];
	int		 niov;
	struct wb	 pend;		/* owned: channel data the socket has
					 * not taken */
	size_t		 pend_off;
	struct wb	 inflight;	/* owned: handed to uv_write */
	size_t		 inflight_off;
	struct fwd_stats *stats;	/* not owned; NULL once forgotten */
	/* the SSH channel type (static string; NULL: none yet), and when
	 * data last moved either way (uv_now), for ChannelTimeout */
	const char	*type;
	uint64_t	 active_ms;
	char		 label[160];
};

static inline struct pump *
pump_of(struct net_chan *ch)
{
	return (struct pump *)((char *)ch - offsetof(struct pump, nch));
}

/* pump.c: the plain pump. */
extern const struct net_chan_ops pump_chan_ops;
struct ssh_conn	*pump_ssh(const struct pump *p);
void	pump_close(struct pump *p, bool reset);
void	pump_flush(struct pump *p);
void	pump_start_reading(struct pump *p);
void	pump_stop_reading(struct pump *p);
void	pump_send_early(struct pump *p);
void	pump_chan_event(struct net_chan *ch, struct ssh_event *ev);
void	pump_chan_flush(struct net_chan *ch);
void	pump_chan_abort(struct net_chan *ch);

/* pump_open.c: creating pumps, opening channels, outbound connects. */
struct pump	*pump_new(struct pump_set *set, uv_loop_t *loop, bool pipe,
		    const char *label, struct fwd_stats *stats);
int	pump_open_channel(struct pump *p, const struct pump_target *t,
	    const char *ip, uint32_t oport);
void	pump_start_connect(struct pump *p, const char *host, uint32_t port,
	    void (*connected)(struct pump *, int));
void	pump_connect_over(struct pump *p);

/* pump_stdio.c: ferry -W's pump. */
void	pump_stdio_open_failed(struct pump *p, const struct ssh_event *ev);

/* pump_socks.c: -D's request on the accepted socket. */
int	pump_socks_socket(struct pump *p, const char *ip, uint32_t oport);

#endif
