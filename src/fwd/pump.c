/* The data pump between a socket and an SSH channel. */
#include "pump.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwd/policy.h"
#include "fwd/socks.h"
#include "net/connector.h"
#include "util/log.h"

#define READ_MAX	(64 * 1024)

union pump_sock {
	uv_handle_t	 h;
	uv_stream_t	 s;
	uv_tcp_t	 tcp;
	uv_pipe_t	 pipe;
};

/* Where a SOCKS request is read from before there is a destination. */
enum socks_side {
	SOCKS_OFF,
	SOCKS_SOCKET,	/* -D: the accepted socket, before the channel */
	SOCKS_CHANNEL,	/* remote dynamic: the channel, before the connect */
	SOCKS_CHANNEL_CONNECTING,	/* request read; connecting for it */
};

struct socks_wait {
	struct socks	 s;
	uint8_t		 rbuf[1024];
	uint32_t	 oport;
	char		 oip[64];
};

/* Owned by its pump_set list; freed in the socket's close callback. The
 * engine's channel points at its nch (chan_ud) until has_chan is
 * cleared; the connection routes the channel's events to it through nch
 * from creation until it is freed or the connection is gone. An outbound
 * connect's connector owns its own handles and connects sock
 * (net/connector.h); the pump cancels it when it closes first. */
struct pump {
	struct net_chan	 nch;		/* the engine's chan_ud */
	struct pump_set	*set;
	struct pump	*next;
	struct pump	*prev;
	union pump_sock	 sock;
	uv_write_t	 wreq;
	uv_shutdown_t	 sreq;
	struct connector *connector;	/* until it called back */
	bool		 connecting;	/* outbound connect for a pending open */
	bool		 timed_out;	/* ForwardConnectTimeout ran out */
	bool		 sock_closed;	/* the handle's close callback ran */
	uint32_t	 chan;
	bool		 has_chan;
	bool		 confirmed;
	bool		 reading;
	bool		 rd_done;	/* socket EOF, CHANNEL_EOF sent */
	bool		 eof_rcvd;	/* CHANNEL_EOF from the peer */
	bool		 shutting;
	bool		 wr_done;	/* shutdown(SHUT_WR) done */
	bool		 writing;
	bool		 closing;
	enum socks_side	 socks_side;
	struct socks_wait *sw;		/* while a SOCKS request is read */
	const struct fwd_permit *permits;	/* remote dynamic */
	int		 npermits;
	/* bytes for the channel ahead of the socket's (SOCKS replies on the
	 * channel side, or what a SOCKS client sent ahead of our reply) */
	struct wb	 early;
	size_t		 early_off;
	/* bytes at the head of pend that are ours (a SOCKS reply), not
	 * channel data: the window is not credited for them */
	size_t		 uncredited;
	/* channel data of the current input batch, still in the engine's
	 * input buffer (ssh.h); gone by the end of the batch (flush) */
	uv_buf_t	 iov[16];
	int		 niov;
	struct wb	 pend;		/* channel data the socket has not taken */
	size_t		 pend_off;
	struct wb	 inflight;	/* handed to uv_write */
	size_t		 inflight_off;
	struct fwd_stats *stats;
	char		 label[160];
};

static struct ssh_conn *
pump_ssh(const struct pump *p)
{
	return net_conn_ssh(p->set->nc);
}

static void	stop_reading(struct pump *p);
static void	connect_over(struct pump *p);

/* Frees p once nothing libuv holds refers to it. */
static void
pump_release(struct pump *p)
{
	struct pump_set *set = p->set;

	if (!p->sock_closed)
		return;

	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		set->head = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	net_chan_detach(&p->nch);
	set->count--;
	if (set->user != NULL)
		set->user->chans--;
	if (p->stats != NULL)
		p->stats->open--;
	wb_free(&p->pend);
	wb_free(&p->inflight);
	wb_free(&p->early);
	free(p->sw);
	free(p);
	if (set->count == 0 && set->on_empty != NULL)
		set->on_empty(set->ud);
}

static void
pump_closed(uv_handle_t *h)
{
	struct pump *p = h->data;

	p->sock_closed = true;
	pump_release(p);
}

/* Closes the socket (with a reset when the data cannot be complete) and
 * lets go of the channel. */
static void
pump_close(struct pump *p, bool reset)
{
	if (p->closing)
		return;
	p->closing = true;
	connect_over(p);
	if (p->has_chan) {
		ssh_chan_set_ud(pump_ssh(p), p->chan, NULL);
		ssh_chan_close(pump_ssh(p), p->chan);
		p->has_chan = false;
	}
	stop_reading(p);
	/* the descriptor is closed now (its close callback comes a loop
	 * iteration later): the reserve counts it free at once */
	if (p->set->all != NULL)
		p->set->all->fds--;
	/* A reset is refused while a shutdown is pending: close then. A
	 * Unix socket has no reset. */
	if (!reset || p->sock.h.type == UV_NAMED_PIPE ||
	    uv_tcp_close_reset(&p->sock.tcp, pump_closed) != 0)
		uv_close(&p->sock.h, pump_closed);
}

static void
maybe_finish(struct pump *p)
{
	if (p->closing || p->sw != NULL)	/* SOCKS: not begun */
		return;
	if (!p->has_chan) {
		/* The channel is gone: close once our writes are out. */
		if (!p->writing && p->niov == 0 && p->pend.len == p->pend_off)
			pump_close(p, false);
		return;
	}
	if (p->rd_done && p->wr_done)
		ssh_chan_close(pump_ssh(p), p->chan);
}

static void
alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct pump *p = h->data;
	size_t len = READ_MAX;
	uint8_t *slot = NULL;

	(void)suggested;
	if (p->sw != NULL && p->socks_side == SOCKS_SOCKET) {
		*buf = uv_buf_init((char *)p->sw->rbuf, sizeof(p->sw->rbuf));
		return;
	}
	if (p->has_chan && !p->closing)
		slot = ssh_chan_slot(pump_ssh(p), p->chan, &len);
	*buf = slot ? uv_buf_init((char *)slot, (unsigned)len) :
	    uv_buf_init(NULL, 0);
}

/* Sends what must precede the socket's bytes on the channel, as far as
 * the window allows (the rest goes on the next window or KEX end). */
static void
send_early(struct pump *p)
{
	size_t n, left = p->early.len - p->early_off;

	if (left == 0 || !p->has_chan || !p->confirmed || p->closing)
		return;
	n = ssh_chan_sendable(pump_ssh(p), p->chan);
	if (n > left)
		n = left;
	if (n > 0 && ssh_chan_send(pump_ssh(p), p->chan, p->early.p +
	    p->early_off, n) == 0)
		p->early_off += n;
	if (p->early_off == p->early.len) {
		wb_free(&p->early);
		p->early_off = 0;
	}
}

static bool
can_read(const struct pump *p)
{
	return p->has_chan && p->confirmed && p->sw == NULL &&
	    p->early.len == 0 && !p->rd_done && !p->closing &&
	    ssh_chan_sendable(pump_ssh(p), p->chan) > 0 &&
	    !net_conn_congested(p->set->nc);
}

static void	read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

static void
start_reading(struct pump *p)
{
	send_early(p);
	if (!p->reading && can_read(p)) {
		if (uv_read_start(&p->sock.s, alloc_cb, read_cb) == 0)
			p->reading = true;
	}
}

static void
stop_reading(struct pump *p)
{
	if (p->reading) {
		uv_read_stop(&p->sock.s);
		p->reading = false;
	}
}

static void	socks_socket_read(struct pump *p, size_t n);

static void
read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct pump *p = s->data;

	(void)buf;
	if (n > 0 && p->sw != NULL) {
		socks_socket_read(p, (size_t)n);
		return;
	}
	if (n > 0) {
		if (ssh_chan_commit(pump_ssh(p), p->chan, (size_t)n) != 0) {
			pump_close(p, true);
			return;
		}
		if (p->stats != NULL)
			p->stats->bytes_out += (uint64_t)n;
		if (!can_read(p))
			stop_reading(p);
		return;
	}
	if (n == 0)
		return;
	if (n == UV_ENOBUFS) {	/* no slot: window or transport full */
		stop_reading(p);
		return;
	}
	stop_reading(p);
	if (p->sw != NULL) {		/* EOF or error inside the request */
		log_info("%s: the SOCKS client left before its request was "
		    "complete", p->label);
		pump_close(p, false);
		return;
	}
	if (n == UV_EOF) {
		p->rd_done = true;
		ssh_chan_eof(pump_ssh(p), p->chan);
		maybe_finish(p);
		return;
	}
	log_verbose("%s: read: %s", p->label, uv_strerror((int)n));
	pump_close(p, true);
}

static void
shutdown_cb(uv_shutdown_t *req, int status)
{
	struct pump *p = req->data;

	p->wr_done = true;
	if (status < 0 && status != UV_ECANCELED && !p->closing) {
		pump_close(p, true);
		return;
	}
	maybe_finish(p);
}

static void
do_shutdown(struct pump *p)
{
	if (p->shutting || p->closing)
		return;
	p->shutting = true;
	p->sreq.data = p;
	if (uv_shutdown(&p->sreq, &p->sock.s, shutdown_cb) < 0) {
		p->wr_done = true;
		maybe_finish(p);
	}
}

static void	pump_flush(struct pump *p);

static void
delivered(struct pump *p, size_t n)
{
	size_t ours = n < p->uncredited ? n : p->uncredited;

	p->uncredited -= ours;
	n -= ours;
	if (n == 0)
		return;
	if (p->stats != NULL)
		p->stats->bytes_in += n;
	if (p->has_chan)
		ssh_chan_consumed(pump_ssh(p), p->chan, n);
}

static void
write_cb(uv_write_t *req, int status)
{
	struct pump *p = req->data;
	size_t n = p->inflight.len - p->inflight_off;

	p->writing = false;
	wb_reset(&p->inflight);
	p->inflight_off = 0;
	if (p->closing)
		return;
	if (status < 0) {
		log_verbose("%s: write: %s", p->label, uv_strerror(status));
		pump_close(p, true);
		return;
	}
	delivered(p, n);
	pump_flush(p);
}

static void
start_write(struct pump *p)
{
	struct wb t = p->inflight;
	uv_buf_t b;

	p->inflight = p->pend;
	p->inflight_off = p->pend_off;
	p->pend = t;
	p->pend_off = 0;
	b = uv_buf_init((char *)p->inflight.p + p->inflight_off,
	    (unsigned)(p->inflight.len - p->inflight_off));
	p->wreq.data = p;
	if (uv_write(&p->wreq, &p->sock.s, &b, 1, write_cb) < 0) {
		pump_close(p, true);
		return;
	}
	p->writing = true;
}

/* Writes what is pending: synchronously if the socket takes it, else
 * through uv_write; then a finished channel direction shuts the socket's
 * write side. */
/* Copies batch data the socket did not take (skip bytes of it were
 * written) into pend, which owns its bytes. */
static int
keep_rest(struct pump *p, size_t skip)
{
	int i;
	size_t n;

	for (i = 0; i < p->niov; i++) {
		n = p->iov[i].len;
		if (skip >= n) {
			skip -= n;
			continue;
		}
		if (wb_put(&p->pend, p->iov[i].base + skip, n - skip) != 0)
			return -1;
		skip = 0;
	}
	p->niov = 0;
	return 0;
}

/* Writes what is pending: synchronously if the socket takes it, else
 * through uv_write; then a finished channel direction shuts the socket's
 * write side. Batch data goes out straight from the engine's buffer. */
static void
pump_flush(struct pump *p)
{
	uv_buf_t b;
	int n;

	if (p->closing || p->writing || p->connecting) {
		if (p->niov > 0 && !p->closing && keep_rest(p, 0) != 0)
			pump_close(p, true);
		p->niov = 0;
		return;
	}
	if (p->niov > 0) {
		n = uv_try_write(&p->sock.s, p->iov,
		    (unsigned)p->niov);
		if (n < 0 && n != UV_EAGAIN) {
			p->niov = 0;
			pump_close(p, true);
			return;
		}
		if (n < 0)
			n = 0;
		if (n > 0)
			delivered(p, (size_t)n);
		if (keep_rest(p, (size_t)n) != 0) {
			pump_close(p, true);
			return;
		}
	}
	if (p->pend.len > p->pend_off) {
		b = uv_buf_init((char *)p->pend.p + p->pend_off,
		    (unsigned)(p->pend.len - p->pend_off));
		n = uv_try_write(&p->sock.s, &b, 1);
		if (n < 0 && n != UV_EAGAIN) {
			pump_close(p, true);
			return;
		}
		if (n > 0) {
			p->pend_off += (size_t)n;
			delivered(p, (size_t)n);
		}
		if (p->pend_off == p->pend.len) {
			wb_reset(&p->pend);
			p->pend_off = 0;
		} else {
			start_write(p);
			return;
		}
	}
	if (p->eof_rcvd)
		do_shutdown(p);
	else
		maybe_finish(p);
}

static void
mark_dirty(struct pump *p)
{
	net_chan_dirty(&p->nch);
}

static void	socks_channel_data(struct pump *p, const uint8_t *data,
		    size_t len);

static void
on_data(struct pump *p, const uint8_t *data, size_t len)
{
	if (p->sw != NULL && p->socks_side == SOCKS_CHANNEL) {
		socks_channel_data(p, data, len);
		return;
	}
	/* Gather without copying while nothing older waits to be written. */
	if (!p->writing && p->pend.len == p->pend_off &&
	    p->niov < (int)(sizeof(p->iov) / sizeof(p->iov[0]))) {
		p->iov[p->niov++] = uv_buf_init((char *)data, (unsigned)len);
	} else if ((p->niov > 0 && keep_rest(p, 0) != 0) ||
	    wb_put(&p->pend, data, len) != 0) {
		pump_close(p, true);
		return;
	}
	mark_dirty(p);
}

/* Bytes of ours for the socket, ahead of any channel data. */
static void
queue_reply(struct pump *p, const struct wb *w)
{
	if (w->len == 0)
		return;
	if (wb_put(&p->pend, w->p, w->len) != 0) {
		pump_close(p, true);
		return;
	}
	p->uncredited += w->len;
	mark_dirty(p);
}

/* -D: the channel to the SOCKS destination is open or refused. */
static void
socks_socket_answer(struct pump *p, enum socks_rep rep)
{
	struct wb w;

	wb_init(&w);
	socks_reply(&p->sw->s, rep, &w);
	queue_reply(p, &w);
	wb_free(&w);
	free(p->sw);
	p->sw = NULL;
	if (rep != SOCKS_REP_OK) {
		p->has_chan = false;
		pump_flush(p);		/* closes once the reply is out */
		return;
	}
	pump_flush(p);
	start_reading(p);
}

static struct pump *
pump_of(struct net_chan *ch)
{
	return (struct pump *)((char *)ch - offsetof(struct pump, nch));
}

static void
chan_event(struct net_chan *ch, struct ssh_event *ev)
{
	struct pump *p = pump_of(ch);

	switch (ev->type) {
	case SSH_EV_CHAN_CONFIRM:
		p->confirmed = true;
		log_verbose("%s: channel %u open", p->label, p->chan);
		if (p->sw != NULL) {
			socks_socket_answer(p, SOCKS_REP_OK);
			break;
		}
		start_reading(p);
		break;
	case SSH_EV_CHAN_OPEN_FAILED:
		log_info("%s: channel open failed: %s", p->label,
		    ev->u.open_failed.message);
		if (p->sw != NULL) {
			socks_socket_answer(p, socks_rep_for_open_failure(
			    ev->u.open_failed.reason,
			    ev->u.open_failed.message));
			break;
		}
		p->has_chan = false;
		pump_close(p, false);
		break;
	case SSH_EV_CHAN_DATA:
		on_data(p, ev->u.data.p, ev->u.data.len);
		break;
	case SSH_EV_CHAN_EOF:
		p->eof_rcvd = true;
		if (p->sw != NULL && p->socks_side == SOCKS_CHANNEL) {
			/* no request will come */
			pump_close(p, false);
			break;
		}
		mark_dirty(p);
		break;
	case SSH_EV_CHAN_WINDOW:
		start_reading(p);
		break;
	case SSH_EV_CHAN_CLOSED:
		p->has_chan = false;
		stop_reading(p);
		if (p->sw != NULL || p->connecting) {
			pump_close(p, false);
			break;
		}
		maybe_finish(p);
		break;
	default:
		break;
	}
}

static void
chan_flush(struct net_chan *ch)
{
	pump_flush(pump_of(ch));
}

static void
chan_resume(struct net_chan *ch)
{
	start_reading(pump_of(ch));
}

/* The SSH connection is gone: the socket is reset (never a clean EOF
 * after partial data). */
static void
chan_abort(struct net_chan *ch)
{
	struct pump *p = pump_of(ch);

	p->has_chan = false;	/* the engine is going away */
	stop_reading(p);
	pump_close(p, true);
}

static const struct net_chan_ops pump_chan_ops = {
	.event = chan_event,
	.flush = chan_flush,
	.resume = chan_resume,
	.abort = chan_abort,
};

static struct pump *
pump_new(struct pump_set *set, uv_loop_t *loop, bool pipe, const char *label,
    struct fwd_stats *stats)
{
	struct pump *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->set = set;
	if ((p->stats = stats) != NULL) {
		stats->conns++;
		stats->open++;
	}
	snprintf(p->label, sizeof(p->label), "%s", label);
	if (pipe)
		uv_pipe_init(loop, &p->sock.pipe, 0);
	else
		uv_tcp_init(loop, &p->sock.tcp);
	p->sock.h.data = p;
	if (set->nc != NULL)
		net_conn_attach(set->nc, &p->nch, &pump_chan_ops);
	p->next = set->head;
	if (set->head != NULL)
		set->head->prev = p;
	set->head = p;
	set->count++;
	if (set->user != NULL)
		set->user->chans++;
	if (set->all != NULL)
		set->all->fds++;
	return p;
}

bool
pump_admit(const struct pump_set *set, bool connect, char *why,
    size_t whylen)
{
	const struct fwd_limits *l = set->lim;

	if (l == NULL || set->user == NULL || set->all == NULL)
		return true;
	if (l->user_chans > 0 && set->user->chans >= l->user_chans)
		snprintf(why, whylen, "MaxUserChannels %zu reached for this "
		    "user", l->user_chans);
	else if (connect && l->user_pending > 0 &&
	    set->user->pending >= l->user_pending)
		snprintf(why, whylen, "MaxPendingConnects %zu reached for this "
		    "user", l->user_pending);
	else if (l->fd_budget > 0 && set->all->fds >= l->fd_budget)
		snprintf(why, whylen, "descriptor reserve: %zu descriptors in "
		    "use by tunnels, the rest is kept for logins",
		    set->all->fds);
	else
		return true;
	return false;
}

/* The channel-open extra bytes for t (RFC 4254 §7; OpenSSH's PROTOCOL
 * §2.4 for the streamlocal types). */
static const char *
open_extra(struct wb *w, const struct pump_target *t, const char *ip,
    uint32_t oport)
{
	switch (t->kind) {
	case OPEN_DIRECT_STREAMLOCAL:
		wb_cstring(w, t->name);
		wb_cstring(w, "");
		wb_u32(w, 0);
		return "direct-streamlocal@openssh.com";
	case OPEN_FORWARDED_STREAMLOCAL:
		wb_cstring(w, t->name);
		wb_cstring(w, "");
		return "forwarded-streamlocal@openssh.com";
	case OPEN_FORWARDED_TCPIP:
		ssh_direct_tcpip_extra(w, t->name, t->port, ip, oport);
		return "forwarded-tcpip";
	default:
		ssh_direct_tcpip_extra(w, t->name, t->port, ip, oport);
		return "direct-tcpip";
	}
}

/* Whether channels can be opened now (a reconnecting client has no
 * connection for a while; its listeners stay). */
static bool
tunnel_up(struct pump_set *set)
{
	struct ssh_conn *ssh;

	return set->nc != NULL && (ssh = net_conn_ssh(set->nc)) != NULL &&
	    ssh_authenticated(ssh);
}

static int
open_channel(struct pump *p, const struct pump_target *t, const char *ip,
    uint32_t oport)
{
	const char *type;
	struct wb extra;
	int id;

	if (!tunnel_up(p->set))
		return -1;
	wb_init(&extra);
	type = open_extra(&extra, t, ip, oport);
	id = extra.err ? -1 : ssh_chan_open(net_conn_ssh(p->set->nc), type,
	    extra.p, extra.len, &p->nch);
	wb_free(&extra);
	if (id < 0)
		return -1;
	p->chan = (uint32_t)id;
	p->has_chan = true;
	return 0;
}

/* -D: the SOCKS request arrives on the accepted socket. */
static void
socks_socket_read(struct pump *p, size_t n)
{
	struct socks_wait *sw = p->sw;
	struct pump_target t;
	enum socks_status st;
	struct wb out;
	size_t used;

	wb_init(&out);
	st = socks_feed(&sw->s, sw->rbuf, n, &used, &out);
	queue_reply(p, &out);
	wb_free(&out);
	if (st == SOCKS_MORE) {
		pump_flush(p);
		return;
	}
	stop_reading(p);
	if (st == SOCKS_FAIL) {
		log_info("%s: bad SOCKS request from %s port %u: %s", p->label,
		    sw->oip, sw->oport, sw->s.err);
		free(p->sw);
		p->sw = NULL;
		pump_flush(p);		/* closes once the reply is out */
		return;
	}
	if (used < n && wb_put(&p->early, sw->rbuf + used, n - used) != 0) {
		pump_close(p, true);
		return;
	}
	log_verbose("%s: SOCKS%d connect to %s port %u from %s port %u",
	    p->label, sw->s.ver, sw->s.host, sw->s.port, sw->oip, sw->oport);
	t.kind = OPEN_DIRECT_TCPIP;
	t.name = sw->s.host;
	t.port = sw->s.port;
	if (open_channel(p, &t, sw->oip, sw->oport) != 0) {
		log_info("%s: cannot open a channel", p->label);
		socks_socket_answer(p, SOCKS_REP_GENERAL);
	}
}

int
pump_accept(struct pump_set *set, uv_stream_t *server,
    const struct pump_target *t, const char *label)
{
	struct pump *p;
	struct sockaddr_storage ss;
	int sslen = sizeof(ss);
	char ip[64] = "127.0.0.1";
	uint32_t oport = 65535;	/* a Unix socket's peer, as ssh reports */
	bool pipe = server->type == UV_NAMED_PIPE;

	if ((p = pump_new(set, server->loop, pipe, label, t->stats)) == NULL)
		return -1;
	if (uv_accept(server, &p->sock.s) != 0) {
		pump_close(p, false);
		return -1;
	}
	if (!pipe) {
		uv_tcp_nodelay(&p->sock.tcp, 1);
		if (uv_tcp_getpeername(&p->sock.tcp, (struct sockaddr *)&ss,
		    &sslen) == 0) {
			uv_ip_name((struct sockaddr *)&ss, ip, sizeof(ip));
			oport = ntohs(ss.ss_family == AF_INET6 ?
			    ((struct sockaddr_in6 *)&ss)->sin6_port :
			    ((struct sockaddr_in *)&ss)->sin_port);
		}
	}
	log_verbose("%s: connection from %s port %u", label, ip, oport);
	if (!tunnel_up(set)) {
		/* a reset the application sees at once, not a hang */
		log_info("%s: connection from %s port %u reset: the tunnel is "
		    "down", label, ip, oport);
		pump_close(p, true);
		return -1;
	}
	if (t->kind == OPEN_SOCKS) {
		if ((p->sw = calloc(1, sizeof(*p->sw))) == NULL) {
			pump_close(p, true);
			return -1;
		}
		socks_init(&p->sw->s);
		p->socks_side = SOCKS_SOCKET;
		snprintf(p->sw->oip, sizeof(p->sw->oip), "%s", ip);
		p->sw->oport = oport;
		if (uv_read_start(&p->sock.s, alloc_cb, read_cb) != 0) {
			pump_close(p, true);
			return -1;
		}
		p->reading = true;
		return 0;
	}
	if (open_channel(p, t, ip, oport) != 0) {
		log_info("%s: cannot open a channel", label);
		pump_close(p, true);
		return -1;
	}
	return 0;
}

static void	socks_channel_connected(struct pump *p, int status);
static void	connect_done(struct pump *p, int status);

/* An outbound connect starts: it counts as pending for the user. Returns
 * the set's deadline for it (0: none). */
static unsigned
connect_begin(struct pump *p)
{
	const struct fwd_limits *l = p->set->lim;

	p->connecting = true;
	if (p->set->user != NULL)
		p->set->user->pending++;
	return l != NULL ? l->connect_timeout_ms : 0;
}

/* The connect is over: done, failed, timed out or abandoned. */
static void
connect_over(struct pump *p)
{
	if (!p->connecting)
		return;
	p->connecting = false;
	if (p->set->user != NULL)
		p->set->user->pending--;
	if (p->connector != NULL) {
		connector_cancel(p->connector);
		p->connector = NULL;
	}
}

/* The channel the peer opened is answered only now that we know whether
 * the connect worked (DESIGN.md: confirm after the connect succeeded). */
static void
connect_done(struct pump *p, int status)
{
	struct ssh_conn *ssh = pump_ssh(p);
	char msg[160];

	connect_over(p);
	if (p->socks_side == SOCKS_CHANNEL_CONNECTING) {
		socks_channel_connected(p, status);
		return;
	}
	if (status < 0) {
		/* the client prefixes "connect failed" from the reason */
		snprintf(msg, sizeof(msg), "%s", p->timed_out ?
		    "connect timed out" : uv_strerror(status));
		log_info("%s: connect failed: %s", p->label, msg);
		if (p->has_chan)
			ssh_chan_refuse(ssh, p->chan, SSH_OPEN_CONNECT_FAILED,
			    msg);
		p->has_chan = false;
		pump_close(p, false);
		return;
	}
	if (p->sock.h.type == UV_TCP)
		uv_tcp_nodelay(&p->sock.tcp, 1);
	if (!p->has_chan || ssh_chan_accept(ssh, p->chan, &p->nch) != 0) {
		p->has_chan = false;
		pump_close(p, true);
		return;
	}
	p->confirmed = true;
	start_reading(p);
}

static void
connector_done(void *ud, enum connector_stage stage, int err)
{
	struct pump *p = ud;

	p->connector = NULL;
	p->timed_out = stage == CONNECTOR_TIMEOUT;
	connect_done(p, err);
}

/* Resolves (literals at once, names through the thread pool) and
 * connects p's socket. */
static void
start_connect(struct pump *p, const char *host, uint32_t port)
{
	unsigned ms = connect_begin(p);
	char portstr[16];
	int r;

	snprintf(portstr, sizeof(portstr), "%u", port);
	if ((r = connector_tcp(&p->connector, &p->sock.tcp, host, portstr,
	    AF_UNSPEC, ms, connector_done, p)) < 0)
		connect_done(p, r);
}

int
pump_connect(struct pump_set *set, uv_loop_t *loop, uint32_t chan,
    const char *host, uint32_t port, const char *label,
    struct fwd_stats *stats)
{
	struct pump *p;

	if ((p = pump_new(set, loop, false, label, stats)) == NULL)
		return -1;
	p->chan = chan;
	p->has_chan = true;
	start_connect(p, host, port);
	return 0;
}

int
pump_connect_unix(struct pump_set *set, uv_loop_t *loop, uint32_t chan,
    const char *path, const char *label, struct fwd_stats *stats)
{
	struct pump *p;
	unsigned ms;
	int r;

	if ((p = pump_new(set, loop, true, label, stats)) == NULL)
		return -1;
	p->chan = chan;
	p->has_chan = true;
	ms = connect_begin(p);
	if ((r = connector_unix(&p->connector, &p->sock.pipe, path, ms,
	    connector_done, p)) < 0)
		connect_done(p, r);
	return 0;
}

/* Remote dynamic: the SOCKS answer goes back on the channel. */
static void
socks_channel_reply(struct pump *p, enum socks_rep rep)
{
	struct wb w;

	wb_init(&w);
	socks_reply(&p->sw->s, rep, &w);
	if (wb_put(&p->early, w.p, w.len) != 0)
		rep = SOCKS_REP_GENERAL;
	wb_free(&w);
	free(p->sw);
	p->sw = NULL;
	send_early(p);
	if (rep != SOCKS_REP_OK) {
		if (p->has_chan)
			ssh_chan_eof(pump_ssh(p), p->chan);
		pump_close(p, false);
	}
}

static enum socks_rep
rep_for_uv(int status)
{
	switch (status) {
	case UV_ECONNREFUSED:
		return SOCKS_REP_REFUSED;
	case UV_ENETUNREACH:
		return SOCKS_REP_NET_UNREACH;
	case UV_EHOSTUNREACH:
	case UV_EAI_NONAME:
	case UV_EAI_AGAIN:
	case UV_EAI_FAIL:
	case UV_EAI_NODATA:
		return SOCKS_REP_HOST_UNREACH;
	case UV_ETIMEDOUT:
		return SOCKS_REP_TTL_EXPIRED;
	default:
		return SOCKS_REP_GENERAL;
	}
}

static void
socks_channel_connected(struct pump *p, int status)
{
	if (status < 0) {
		log_info("%s: connect to %s port %u failed: %s", p->label,
		    p->sw->s.host, p->sw->s.port, uv_strerror(status));
		socks_channel_reply(p, rep_for_uv(status));
		return;
	}
	uv_tcp_nodelay(&p->sock.tcp, 1);
	socks_channel_reply(p, SOCKS_REP_OK);
	pump_flush(p);		/* what the client sent ahead */
	start_reading(p);
}

static void
socks_channel_data(struct pump *p, const uint8_t *data, size_t len)
{
	struct socks_wait *sw = p->sw;
	enum socks_status st;
	struct wb out;
	size_t used;

	wb_init(&out);
	st = socks_feed(&sw->s, data, len, &used, &out);
	if (out.len > 0 && wb_put(&p->early, out.p, out.len) != 0)
		st = SOCKS_FAIL;
	wb_free(&out);
	ssh_chan_consumed(pump_ssh(p), p->chan, used);
	send_early(p);
	if (st == SOCKS_MORE)
		return;
	if (st == SOCKS_FAIL) {
		log_info("%s: bad SOCKS request: %s", p->label, sw->s.err);
		free(p->sw);
		p->sw = NULL;
		if (p->has_chan)
			ssh_chan_eof(pump_ssh(p), p->chan);
		pump_close(p, false);
		return;
	}
	if (!fwd_permit_open_ok(p->permits, p->npermits, sw->s.host,
	    sw->s.port)) {
		log_info("%s: SOCKS connect to %s port %u refused: not allowed "
		    "by PermitRemoteOpen", p->label, sw->s.host, sw->s.port);
		socks_channel_reply(p, SOCKS_REP_NOT_ALLOWED);
		return;
	}
	log_verbose("%s: SOCKS%d connect to %s port %u", p->label, sw->s.ver,
	    sw->s.host, sw->s.port);
	/* what came after the request waits for the socket (pend owns it;
	 * the window is credited as it is written), and so does what comes
	 * before the connect is done */
	p->socks_side = SOCKS_CHANNEL_CONNECTING;
	if (used < len && wb_put(&p->pend, data + used, len - used) != 0) {
		pump_close(p, true);
		return;
	}
	start_connect(p, sw->s.host, sw->s.port);
}

int
pump_socks_channel(struct pump_set *set, uv_loop_t *loop, uint32_t chan,
    const struct fwd_permit *permits, int n, const char *label,
    struct fwd_stats *stats)
{
	struct pump *p;

	if ((p = pump_new(set, loop, false, label, stats)) == NULL)
		return -1;
	if ((p->sw = calloc(1, sizeof(*p->sw))) == NULL) {
		pump_close(p, false);
		return -1;
	}
	socks_init(&p->sw->s);
	p->socks_side = SOCKS_CHANNEL;
	p->permits = permits;
	p->npermits = n;
	p->chan = chan;
	if (ssh_chan_accept(net_conn_ssh(set->nc), chan, &p->nch) != 0) {
		pump_close(p, false);
		return -1;
	}
	p->has_chan = true;
	p->confirmed = true;
	return 0;
}

void
pump_forget_stats(struct pump_set *set, const struct fwd_stats *stats)
{
	struct pump *p;

	for (p = set->head; p != NULL; p = p->next)
		if (p->stats == stats)
			p->stats = NULL;
}
