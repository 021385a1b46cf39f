/* The data pump: moves bytes between one socket (TCP or Unix) and one SSH
 * channel (or, for ferry -W, between stdin and stdout and a channel)
 * with backpressure both ways and exact half-close (DESIGN.md):
 *  - socket -> channel: read straight into the outgoing packet; a shut
 *    window or a congested transport stops reading the socket;
 *  - channel -> socket: written as it arrives; bytes the socket cannot take
 *    yet are kept (bounded by our window) and the window is re-opened only
 *    as they are written;
 *  - socket EOF -> CHANNEL_EOF; CHANNEL_EOF -> shutdown(SHUT_WR) once the
 *    buffered bytes are out; CLOSE when both directions are done. */
#ifndef FERRY_FWD_PUMP_H
#define FERRY_FWD_PUMP_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "net/conn.h"

struct pump;
struct fwd_permit;
struct wb;

/* Counters that other threads read (ferryd's status) or change too (its
 * per-user and process-wide usage, shared by its event loops) are only
 * touched through these. */
#define FWD_ADD(x, d)	((void)__atomic_fetch_add(&(x), (d), __ATOMIC_RELAXED))
#define FWD_SUB(x, d)	((void)__atomic_fetch_sub(&(x), (d), __ATOMIC_RELAXED))
#define FWD_GET(x)	__atomic_load_n(&(x), __ATOMIC_RELAXED)

/* What one forward carried, for status: its pumps count into it (with
 * FWD_ADD; fwd_stats_read reads one from another thread). */
struct fwd_stats {
	uint64_t	 bytes_out;	/* socket -> channel (into the tunnel) */
	uint64_t	 bytes_in;	/* channel -> socket */
	uint64_t	 conns;		/* connections so far */
	uint32_t	 open;		/* connections open now */
};

/* Appends st as the JSON members "open", "connections", "bytes_in" and
 * "bytes_out" (no braces, no comma around them): both roles' status-json. */
void	fwd_stats_json(struct wb *out, const struct fwd_stats *st);
/* A consistent-enough copy of st while its pumps may be counting. */
void	fwd_stats_read(const struct fwd_stats *st, struct fwd_stats *out);

/* The channel a listener's connection becomes. */
enum pump_open {
	OPEN_DIRECT_TCPIP,		/* -L: host, port */
	OPEN_FORWARDED_TCPIP,		/* server side of -R: address, port */
	OPEN_DIRECT_STREAMLOCAL,	/* -L to a path: path */
	OPEN_FORWARDED_STREAMLOCAL,	/* server side of -R path: path */
	OPEN_SOCKS,	/* -D: a direct-tcpip to where SOCKS asks */
};

struct pump_target {
	enum pump_open	 kind;
	const char	*name;		/* host, address or path */
	uint32_t	 port;
	struct fwd_stats *stats;	/* may be NULL */
};

/* What pumps and listeners hold, counted where a server bounds it: per
 * user (across that user's sessions) and for the whole process. */
struct fwd_usage {
	size_t		 chans;		/* pumps: a socket and a channel each */
	size_t		 pending;	/* outbound connects in progress */
	size_t		 fds;		/* descriptors: pump sockets, listeners */
};

/* ferryd's bounds on a user's pumps (ferry sets none). Zero: no bound. */
struct fwd_limits {
	size_t		 user_chans;	/* MaxUserChannels */
	size_t		 user_pending;	/* MaxPendingConnects */
	size_t		 fd_budget;	/* descriptors tunnels may use in all */
	unsigned	 connect_timeout_ms;	/* ForwardConnectTimeout */
};

/* All pumps riding one SSH connection. Each pump is one of the
 * connection's channels (net/chan.h): the connection delivers its events,
 * flushes it after each batch of input, resumes it, and resets its socket
 * when the connection dies. The set only counts and bounds them. */
struct pump_set {
	struct net_conn	*nc;
	/* where its pumps count, and the bounds (all may be NULL); owned by
	 * the caller and outliving the set */
	struct fwd_usage *user;
	struct fwd_usage *all;
	const struct fwd_limits *lim;
	struct pump	*head;
	size_t		 count;
	/* outbound connects in progress, and those waiting for one of them
	 * to end (past MaxPendingConnects; pump_open.c) */
	size_t		 pending;
	struct pump	*qhead;
	struct pump	*qtail;
	bool		 dequeuing;
	/* called when the last pump's memory is gone, so an owner that
	 * embeds the set knows when it may free it */
	void		(*on_empty)(void *ud);
	void		*ud;
};

/* Accepts a connection from server (a TCP or Unix listener) into a new
 * pump and opens the channel t names; the socket is read once the channel
 * is confirmed. For OPEN_SOCKS the SOCKS request is read first and a
 * failed open is answered with the SOCKS error code. label names the
 * forward in logs. Returns 0 or -1. */
int	pump_accept(struct pump_set *set, uv_stream_t *server,
	    const struct pump_target *t, const char *label);
/* Connects to host:port for a channel the peer opened (a deferred
 * SSH_EV_CHAN_OPEN_REQUEST with local id chan); the open is confirmed once
 * connected, refused with the reason otherwise. Returns 0 or -1 (then the
 * caller refuses the open). */
int	pump_connect(struct pump_set *set, uv_loop_t *loop, uint32_t chan,
	    const char *host, uint32_t port, const char *label,
	    struct fwd_stats *stats);
/* The same for a Unix socket path. */
int	pump_connect_unix(struct pump_set *set, uv_loop_t *loop, uint32_t chan,
	    const char *path, const char *label, struct fwd_stats *stats);
/* Remote dynamic forwarding: accepts the channel at once, reads a SOCKS
 * request from it, and connects where it asks if the permission list
 * allows (n < 0: anywhere), answering in SOCKS. Returns 0 or -1. */
int	pump_socks_channel(struct pump_set *set, uv_loop_t *loop,
	    uint32_t chan, const struct fwd_permit *permits, int n,
	    const char *label, struct fwd_stats *stats);
/* What ferry -W's owner is told. open_failed: the peer refused the
 * channel (chan: ours, reason: the code as ssh names it, msg: the
 * peer's text, possibly empty, not escaped). gone: the pump's memory
 * is gone; clean unless the open failed or a stream was reset (an
 * error, or the connection lost). */
struct pump_stdio_hooks {
	void	(*open_failed)(void *ud, uint32_t chan, const char *reason,
		    const char *msg);
	void	(*gone)(void *ud, bool clean);
};

/* ferry -W: opens a direct-tcpip channel to host:port and pumps in_fd
 * (read) and out_fd (written, shut or closed at the channel's EOF)
 * through it; in_fd is read once the channel is confirmed. Each must be
 * a pipe or a socket, above 2 (libuv never closes 0 to 2). Both are
 * taken over: closed with the pump, or before returning -1. hooks and ud
 * outlive the pump. Returns 0, or -1 with err (then no hook is
 * called). */
int	pump_stdio(struct pump_set *set, uv_loop_t *loop, const char *host,
	    uint32_t port, int in_fd, int out_fd, const char *label,
	    const struct pump_stdio_hooks *hooks, void *ud, char *err,
	    size_t errlen);
/* Whether in_fd and out_fd can be pump_stdio's: pipes or sockets.
 * Returns 0, or -1 with err naming which is not and what it is. */
int	pump_stdio_check(int in_fd, int out_fd, char *err, size_t errlen);
/* Whether one more pump (connect: one more outbound connect too) fits
 * the set's bounds; if not, why names the bound. A connect past the
 * user's MaxPendingConnects fits when the set has connects of its own in
 * progress: it waits for one of them to end (bounded by MaxUserChannels,
 * each wait by ForwardConnectTimeout). */
bool	pump_admit(const struct pump_set *set, bool connect, char *why,
	    size_t whylen);
/* ChannelTimeout: every pump idle (no data either way) for idle_s of its
 * channel type seconds (0: never) at now (uv_now) is closed; returns the
 * milliseconds until the next one may be due (0: none). */
uint64_t pump_expire_idle(struct pump_set *set, uint64_t now,
	    unsigned (*idle_s)(void *ud, const char *type), void *ud);
/* A forward is going away: its pumps stop counting into stats. */
void	pump_forget_stats(struct pump_set *set, const struct fwd_stats *stats);

#endif
