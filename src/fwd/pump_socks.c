/* The SOCKS stages of a pump, before it carries data: -D's request read
 * from the accepted socket before the channel exists, and remote dynamic
 * forwarding's request read from the channel before the connect. Each
 * stage has its own handlers; the plain pump's (pump.c) take over once
 * the destination is reached. */
#include "pump_int.h"

#include <stdlib.h>

#include "fwd/policy.h"
#include "util/log.h"

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
	net_chan_dirty(&p->nch);
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
	pump_start_reading(p);
}

/* The peer closed the channel before the SOCKS stage was over. */
static void
stage_chan_closed(struct pump *p)
{
	p->has_chan = false;
	pump_stop_reading(p);
	pump_close(p, false);
}

/* -D: the channel's events while the SOCKS client waits for our answer. */
static void
socket_chan_event(struct net_chan *ch, struct ssh_event *ev)
{
	struct pump *p = pump_of(ch);

	switch (ev->type) {
	case SSH_EV_CHAN_CONFIRM:
		p->confirmed = true;
		log_verbose("%s: channel %u open", p->label, p->chan);
		p->nch.ops = &pump_chan_ops;
		socks_socket_answer(p, SOCKS_REP_OK);
		break;
	case SSH_EV_CHAN_OPEN_FAILED:
		log_info("%s: channel open failed: %s", p->label,
		    ev->u.open_failed.message);
		socks_socket_answer(p, socks_rep_for_open_failure(
		    ev->u.open_failed.reason, ev->u.open_failed.message));
		break;
	case SSH_EV_CHAN_CLOSED:
		stage_chan_closed(p);
		break;
	default:
		pump_chan_event(ch, ev);
		break;
	}
}

static void
socket_chan_resume(struct net_chan *ch)
{
	pump_send_early(pump_of(ch));
}

static const struct net_chan_ops socks_socket_ops = {
	.event = socket_chan_event,
	.flush = pump_chan_flush,
	.resume = socket_chan_resume,
	.abort = pump_chan_abort,
};

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
	pump_stop_reading(p);
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
	if (pump_open_channel(p, &t, sw->oip, sw->oport) != 0) {
		log_info("%s: cannot open a channel", p->label);
		socks_socket_answer(p, SOCKS_REP_GENERAL);
	}
}

static void
socks_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct pump *p = h->data;

	(void)suggested;
	*buf = uv_buf_init((char *)p->sw->rbuf, sizeof(p->sw->rbuf));
}

static void
socks_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct pump *p = s->data;

	(void)buf;
	if (n > 0) {
		socks_socket_read(p, (size_t)n);
		return;
	}
	if (n == 0)
		return;
	pump_stop_reading(p);
	if (n == UV_ENOBUFS)
		return;
	/* EOF or error inside the request */
	log_info("%s: the SOCKS client left before its request was complete",
	    p->label);
	pump_close(p, false);
}

int
pump_socks_socket(struct pump *p, const char *ip, uint32_t oport)
{
	if ((p->sw = calloc(1, sizeof(*p->sw))) == NULL) {
		pump_close(p, true);
		return -1;
	}
	socks_init(&p->sw->s);
	snprintf(p->sw->oip, sizeof(p->sw->oip), "%s", ip);
	p->sw->oport = oport;
	p->nch.ops = &socks_socket_ops;
	if (uv_read_start(&p->sock.s, socks_alloc_cb, socks_read_cb) != 0) {
		pump_close(p, true);
		return -1;
	}
	p->reading = true;
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
	pump_send_early(p);
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
	p->nch.ops = &pump_chan_ops;
	socks_channel_reply(p, SOCKS_REP_OK);
	pump_flush(p);		/* what the client sent ahead */
	pump_start_reading(p);
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
	pump_send_early(p);
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
	if (used < len && wb_put(&p->pend, data + used, len - used) != 0) {
		pump_close(p, true);
		return;
	}
	pump_start_connect(p, sw->s.host, sw->s.port, socks_channel_connected);
}

/* Remote dynamic: the channel's events while the request is read
 * (nothing connecting yet) and then while its connect runs (the plain
 * pump's handling keeps the channel's data and EOF for the socket). */
static void
channel_chan_event(struct net_chan *ch, struct ssh_event *ev)
{
	struct pump *p = pump_of(ch);

	switch (ev->type) {
	case SSH_EV_CHAN_DATA:
		if (!p->connecting) {
			socks_channel_data(p, ev->u.data.p, ev->u.data.len);
			break;
		}
		pump_chan_event(ch, ev);
		break;
	case SSH_EV_CHAN_EOF:
		if (!p->connecting) {	/* no request will come */
			pump_close(p, false);
			break;
		}
		pump_chan_event(ch, ev);
		break;
	case SSH_EV_CHAN_WINDOW:
		pump_send_early(p);
		break;
	case SSH_EV_CHAN_CLOSED:
		stage_chan_closed(p);
		break;
	default:
		pump_chan_event(ch, ev);
		break;
	}
}

static const struct net_chan_ops socks_channel_ops = {
	.event = channel_chan_event,
	.flush = pump_chan_flush,
	.resume = socket_chan_resume,
	.abort = pump_chan_abort,
};

int
pump_socks_channel(struct pump_set *set, uv_loop_t *loop, uint32_t chan,
    const struct fwd_permit *permits, int n, const char *label,
    struct fwd_stats *stats)
{
	struct pump *p;

	if ((p = pump_new(set, loop, false, label, stats)) == NULL)
		return -1;
	p->nch.ops = &socks_channel_ops;
	if ((p->sw = calloc(1, sizeof(*p->sw))) == NULL) {
		pump_close(p, false);
		return -1;
	}
	socks_init(&p->sw->s);
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
