/* The connection protocol (RFC 4254): channels with flow control in both
 * directions, and global requests whose replies come back in order. */
#include "ssh_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_WINDOW	(2 * 1024 * 1024)
/* Receive windows grow toward the bandwidth-delay product up to here. */
#define MAX_WINDOW	(16 * 1024 * 1024)
#define MAX_CHANNELS	(64 * 1024)
/* Room after a channel data slot for padding and the largest MAC. */
#define SLOT_TRAILER	(2 * 16 + 64)
#define SLOT_HEADER	14	/* length, padlen, type, recipient, len */

void
chan_free_all(struct ssh_conn *c)
{
	free(c->chans);
	c->chans = NULL;
	c->nchans = 0;
	c->open_chans = 0;
}

size_t
ssh_chan_count(const struct ssh_conn *c)
{
	return c->open_chans;
}

uint64_t
ssh_late_msgs(const struct ssh_conn *c)
{
	return c->late_msgs;
}

static bool
chan_unused(const struct chan *ch)
{
	return ch->state == CH_FREE || ch->state == CH_CLOSED;
}

static struct chan *
chan_get(struct ssh_conn *c, uint32_t id)
{
	if (id >= c->nchans || chan_unused(&c->chans[id]))
		return NULL;
	return &c->chans[id];
}

/* Starts an event about channel id, carrying its user data. */
static void
chan_event(struct ssh_event *ev, enum ssh_ev_type type, uint32_t id,
    const struct chan *ch)
{
	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	ev->chan = id;
	ev->chan_ud = ch->ud;
}

/* Emits an event about channel id that says nothing more. */
static void
chan_emit(struct ssh_conn *c, enum ssh_ev_type type, uint32_t id,
    const struct chan *ch)
{
	struct ssh_event ev;

	chan_event(&ev, type, id, ch);
	conn_emit(c, &ev);
}

/* Queues a message whose only field is the peer's id for the channel. */
static int
send_chan_msg(struct ssh_conn *c, uint8_t type, const struct chan *ch)
{
	if (pkt_begin(c, type) != 0)
		return -1;
	wb_u32(&c->out, ch->remote_id);
	return pkt_end(c);
}

/* Ids are handed out next-fit, so a just-closed id is the last to be
 * reused and a late message for it does not land on a new channel. */
static int
chan_alloc(struct ssh_conn *c, void *ud)
{
	struct chan *nc, *ch;
	uint32_t i, k, n;

	for (k = 0; k < c->nchans; k++) {
		i = (c->chan_next + k) % c->nchans;
		if (chan_unused(&c->chans[i]))
			break;
	}
	if (k == c->nchans) {
		if (c->nchans >= MAX_CHANNELS)
			return -1;
		i = c->nchans;
		n = c->nchans ? c->nchans * 2 : 16;
		if ((nc = realloc(c->chans, n * sizeof(*nc))) == NULL)
			return -1;
		memset(nc + c->nchans, 0, (n - c->nchans) * sizeof(*nc));
		c->chans = nc;
		c->nchans = n;
	}
	c->chan_next = i + 1;
	ch = &c->chans[i];
	memset(ch, 0, sizeof(*ch));
	ch->ud = ud;
	ch->lwin = ch->lwin_max = c->cfg.window ? c->cfg.window :
	    DEFAULT_WINDOW;
	c->open_chans++;
	return (int)i;
}

static void
chan_release(struct ssh_conn *c, uint32_t id)
{
	struct ssh_event ev;
	struct chan *ch = &c->chans[id];

	chan_event(&ev, SSH_EV_CHAN_CLOSED, id, ch);
	ch->state = CH_CLOSED;
	c->open_chans--;
	conn_emit(c, &ev);
}

void
ssh_chan_set_ud(struct ssh_conn *c, uint32_t id, void *ud)
{
	struct chan *ch = chan_get(c, id);

	if (ch != NULL)
		ch->ud = ud;
}

int
ssh_chan_open(struct ssh_conn *c, const char *type, const uint8_t *extra,
    size_t extra_len, void *ud)
{
	struct chan *ch;
	int id;

	if (c->state != ST_OPEN || (id = chan_alloc(c, ud)) < 0)
		return -1;
	ch = &c->chans[id];
	ch->state = CH_OPENING;
	if (pkt_begin(c, MSG_CHANNEL_OPEN) != 0)
		return -1;
	wb_cstring(&c->out, type);
	wb_u32(&c->out, (uint32_t)id);
	wb_u32(&c->out, ch->lwin);
	wb_u32(&c->out, SSH_CHAN_MAX_PACKET);
	wb_put(&c->out, extra, extra_len);
	if (pkt_end(c) != 0)
		return -1;
	return id;
}

int
ssh_direct_tcpip_extra(struct wb *w, const char *host, uint32_t port,
    const char *orig_host, uint32_t orig_port)
{
	wb_cstring(w, host);
	wb_u32(w, port);
	wb_cstring(w, orig_host);
	wb_u32(w, orig_port);
	return w->err ? -1 : 0;
}

size_t
ssh_chan_sendable(const struct ssh_conn *c, uint32_t id)
{
	const struct chan *ch;
	uint64_t n;

	if (id >= c->nchans || !ssh_can_send(c))
		return 0;
	ch = &c->chans[id];
	if (ch->state != CH_OPEN || ch->eof_sent || ch->close_sent)
		return 0;
	n = ch->rwin;
	if (n > ch->rmaxpkt)
		n = ch->rmaxpkt;
	if (n > SSH_SEND_CHUNK)
		n = SSH_SEND_CHUNK;
	return (size_t)n;
}

uint8_t *
ssh_chan_slot(struct ssh_conn *c, uint32_t id, size_t *len)
{
	size_t n = ssh_chan_sendable(c, id);
	uint8_t *p;

	if (n > *len)
		n = *len;
	if (n == 0 || c->building)
		return NULL;
	if ((p = wb_reserve(&c->out, SLOT_HEADER + n + SLOT_TRAILER)) == NULL)
		return NULL;
	*len = n;
	return p + SLOT_HEADER;
}

int
ssh_chan_commit(struct ssh_conn *c, uint32_t id, size_t n)
{
	struct chan *ch = &c->chans[id];
	uint8_t *p = c->out.p + c->out.len;

	if (n == 0)
		return 0;
	p[5] = MSG_CHANNEL_DATA;
	put_u32(p + 6, ch->remote_id);
	put_u32(p + 10, (uint32_t)n);
	c->pkt_start = c->out.len;
	c->out.len += SLOT_HEADER + n;
	c->building = true;
	ch->rwin -= n;
	return pkt_end(c);
}

int
ssh_chan_send(struct ssh_conn *c, uint32_t id, const uint8_t *p, size_t len)
{
	size_t n;
	uint8_t *slot;

	while (len > 0) {
		n = len;
		if ((slot = ssh_chan_slot(c, id, &n)) == NULL)
			return -1;
		memcpy(slot, p, n);
		if (ssh_chan_commit(c, id, n) != 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/* Re-opens the window by what was delivered; doubles the window when the
 * peer nearly ran out, since then the window, not the reader, limits. */
void
ssh_chan_consumed(struct ssh_conn *c, uint32_t id, size_t n)
{
	struct chan *ch = chan_get(c, id);
	uint32_t add;

	if (ch == NULL || ch->state != CH_OPEN || ch->close_sent)
		return;
	ch->consumed += (uint32_t)n;
	if (ch->consumed < ch->lwin_max / 4 || ch->eof_rcvd)
		return;
	add = ch->consumed;
	if (ch->lwin < ch->lwin_max / 4 && ch->lwin_max < MAX_WINDOW) {
		add += ch->lwin_max;
		ch->lwin_max *= 2;
	}
	if (pkt_begin(c, MSG_CHANNEL_WINDOW_ADJUST) != 0)
		return;
	wb_u32(&c->out, ch->remote_id);
	wb_u32(&c->out, add);
	if (pkt_end(c) != 0)
		return;
	ch->lwin += add;
	ch->consumed = 0;
}

int
ssh_chan_eof(struct ssh_conn *c, uint32_t id)
{
	struct chan *ch = chan_get(c, id);

	if (ch == NULL || ch->state != CH_OPEN || ch->eof_sent ||
	    ch->close_sent)
		return 0;
	ch->eof_sent = true;
	return send_chan_msg(c, MSG_CHANNEL_EOF, ch);
}

int
ssh_chan_close(struct ssh_conn *c, uint32_t id)
{
	struct chan *ch = chan_get(c, id);

	if (ch == NULL || ch->close_sent)
		return 0;
	if (ch->state == CH_PENDING)
		return ssh_chan_refuse(c, id, SSH_OPEN_CONNECT_FAILED,
		    "closed before it was opened");
	if (ch->state == CH_OPENING) {
		/* Cannot CLOSE before the reply: do it when it comes. */
		ch->close_sent = true;
		return 0;
	}
	ch->close_sent = true;
	ch->state = CH_CLOSING;
	return send_chan_msg(c, MSG_CHANNEL_CLOSE, ch);
}

static int
send_open_failure(struct ssh_conn *c, uint32_t sender, uint32_t reason,
    const char *msg)
{
	if (pkt_begin(c, MSG_CHANNEL_OPEN_FAILURE) != 0)
		return -1;
	wb_u32(&c->out, sender);
	wb_u32(&c->out, reason);
	wb_cstring(&c->out, msg);
	wb_cstring(&c->out, "");
	return pkt_end(c);
}

int
ssh_chan_accept(struct ssh_conn *c, uint32_t id, void *ud)
{
	struct chan *ch = chan_get(c, id);

	if (ch == NULL || ch->state != CH_PENDING)
		return -1;
	ch->state = CH_OPEN;
	ch->ud = ud;
	if (pkt_begin(c, MSG_CHANNEL_OPEN_CONFIRMATION) != 0)
		return -1;
	wb_u32(&c->out, ch->remote_id);
	wb_u32(&c->out, id);
	wb_u32(&c->out, ch->lwin);
	wb_u32(&c->out, SSH_CHAN_MAX_PACKET);
	return pkt_end(c);
}

int
ssh_chan_refuse(struct ssh_conn *c, uint32_t id, uint32_t reason,
    const char *msg)
{
	struct chan *ch = chan_get(c, id);

	if (ch == NULL || ch->state != CH_PENDING)
		return -1;
	ch->state = CH_FREE;
	c->open_chans--;
	return send_open_failure(c, ch->remote_id, reason, msg);
}

static int
open_input(struct ssh_conn *c, struct rd *r)
{
	struct ssh_event ev;
	char type[64];
	uint32_t sender, win, maxpkt;
	struct chan *ch;
	int id;

	if (rd_cstring(r, type, sizeof(type)) != 0 ||
	    rd_u32(r, &sender) != 0 || rd_u32(r, &win) != 0 ||
	    rd_u32(r, &maxpkt) != 0)
		return conn_fail(c, DISC_PROTOCOL_ERROR,
		    "malformed CHANNEL_OPEN");
	if (maxpkt < 64)
		return send_open_failure(c, sender,
		    SSH_OPEN_ADMINISTRATIVELY_PROHIBITED, "max packet too small");
	if ((id = chan_alloc(c, NULL)) < 0)
		return send_open_failure(c, sender, SSH_OPEN_RESOURCE_SHORTAGE,
		    "too many channels");
	ch = &c->chans[id];
	ch->state = CH_PENDING;
	ch->remote_id = sender;
	ch->rwin = win;
	ch->rmaxpkt = maxpkt;
	memset(&ev, 0, sizeof(ev));
	ev.type = SSH_EV_CHAN_OPEN_REQUEST;
	ev.chan = (uint32_t)id;
	ev.u.open_request.type = type;
	ev.u.open_request.extra = r->p + r->off;
	ev.u.open_request.extra_len = rd_left(r);
	ev.u.open_request.reason = SSH_OPEN_ADMINISTRATIVELY_PROHIBITED;
	ev.u.open_request.message = "open refused";
	conn_emit(c, &ev);
	if (ev.u.open_request.defer)
		return 0;
	if (ev.u.open_request.accept)
		return ssh_chan_accept(c, (uint32_t)id, ev.u.open_request.ud);
	return ssh_chan_refuse(c, (uint32_t)id, ev.u.open_request.reason,
	    ev.u.open_request.message);
}

static int
confirm_input(struct ssh_conn *c, struct chan *ch, uint32_t id, struct rd *r)
{
	uint32_t sender, win, maxpkt;

	if (rd_u32(r, &sender) != 0 || rd_u32(r, &win) != 0 ||
	    rd_u32(r, &maxpkt) != 0 || ch->state != CH_OPENING)
		return conn_fail(c, DISC_PROTOCOL_ERROR,
		    "unexpected channel open confirmation");
	ch->remote_id = sender;
	ch->rwin = win;
	ch->rmaxpkt = maxpkt;
	ch->state = CH_OPEN;
	if (ch->close_sent) {	/* closed by us while opening */
		ch->state = CH_CLOSING;
		return send_chan_msg(c, MSG_CHANNEL_CLOSE, ch);
	}
	chan_emit(c, SSH_EV_CHAN_CONFIRM, id, ch);
	return 0;
}

static int
failure_input(struct ssh_conn *c, struct chan *ch, uint32_t id, struct rd *r)
{
	struct ssh_event ev;
	uint32_t reason;
	char msg[256];

	if (ch->state != CH_OPENING || rd_u32(r, &reason) != 0)
		return conn_fail(c, DISC_PROTOCOL_ERROR,
		    "unexpected channel open failure");
	if (rd_cstring(r, msg, sizeof(msg)) != 0)
		snprintf(msg, sizeof(msg), "(no reason given)");
	chan_event(&ev, SSH_EV_CHAN_OPEN_FAILED, id, ch);
	ev.u.open_failed.reason = reason;
	ev.u.open_failed.message = msg;
	ch->state = CH_FREE;
	c->open_chans--;
	conn_emit(c, &ev);
	return 0;
}

static int
data_input(struct ssh_conn *c, struct chan *ch, uint32_t id, struct rd *r,
    bool extended)
{
	struct ssh_event ev;
	const uint8_t *p;
	size_t len;
	uint32_t code;

	if ((extended && rd_u32(r, &code) != 0) ||
	    rd_string(r, &p, &len) != 0 || ch->state == CH_OPENING)
		return conn_fail(c, DISC_PROTOCOL_ERROR, "bad channel data");
	if (len > ch->lwin)
		return conn_fail(c, DISC_PROTOCOL_ERROR, "channel %u: peer "
		    "sent %zu bytes with window %u", id, len, ch->lwin);
	ch->lwin -= (uint32_t)len;
	if (ch->close_sent) {
		/* our CLOSE is in flight: the peer may not have seen it */
		c->late_msgs++;
		return 0;
	}
	if (ch->eof_rcvd)
		return conn_fail(c, DISC_PROTOCOL_ERROR,
		    "channel %u: data after EOF", id);
	if (extended || ch->state != CH_OPEN)
		return 0;	/* nowhere to deliver it */
	chan_event(&ev, SSH_EV_CHAN_DATA, id, ch);
	ev.u.data.p = p;
	ev.u.data.len = len;
	conn_emit(c, &ev);
	return 0;
}

/* A request name; one too long for any name we know becomes "" (an
 * unknown request, answered with failure), not a protocol error. */
static int
request_name(struct rd *r, char *out, size_t outlen)
{
	const uint8_t *p;
	size_t n;

	if (rd_string(r, &p, &n) != 0)
		return -1;
	if (n >= outlen || memchr(p, '\0', n) != NULL)
		n = 0;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

static int
request_input(struct ssh_conn *c, struct chan *ch, uint32_t id, struct rd *r)
{
	struct ssh_event ev;
	char name[64];
	bool want_reply;

	if (request_name(r, name, sizeof(name)) != 0 ||
	    rd_bool(r, &want_reply) != 0)
		return conn_fail(c, DISC_PROTOCOL_ERROR,
		    "malformed channel request");
	memset(&ev, 0, sizeof(ev));
	if (ch->state == CH_OPEN && !ch->close_sent) {
		chan_event(&ev, SSH_EV_CHAN_REQUEST, id, ch);
		ev.u.request.name = name;
		ev.u.request.want_reply = want_reply;
		ev.u.request.extra = r->p + r->off;
		ev.u.request.extra_len = rd_left(r);
		conn_emit(c, &ev);
	}
	if (!want_reply || ch->close_sent || chan_get(c, id) != ch)
		return 0;
	return send_chan_msg(c, ev.u.request.success ? MSG_CHANNEL_SUCCESS :
	    MSG_CHANNEL_FAILURE, ch);
}

static int
window_input(struct ssh_conn *c, struct chan *ch, uint32_t id, struct rd *r)
{
	uint32_t add;

	if (rd_u32(r, &add) != 0 || ch->state == CH_OPENING)
		return conn_fail(c, DISC_PROTOCOL_ERROR, "bad window adjust");
	if (ch->rwin + add > UINT32_MAX)
		return conn_fail(c, DISC_PROTOCOL_ERROR,
		    "channel %u: window adjust overflows", id);
	ch->rwin += add;
	if (ch->state == CH_OPEN)
		chan_emit(c, SSH_EV_CHAN_WINDOW, id, ch);
	return 0;
}

static int
eof_input(struct ssh_conn *c, struct chan *ch, uint32_t id)
{
	if (ch->eof_rcvd && ch->close_sent) {
		c->late_msgs++;		/* raced our CLOSE */
		return 0;
	}
	if (ch->state == CH_OPENING || ch->eof_rcvd)
		return conn_fail(c, DISC_PROTOCOL_ERROR, "bad EOF");
	ch->eof_rcvd = true;
	if (ch->state == CH_OPEN)
		chan_emit(c, SSH_EV_CHAN_EOF, id, ch);
	return 0;
}

/* Messages a peer may have sent before it saw our CLOSE (or, sloppily,
 * after its own): for a closed channel they are counted and dropped, as
 * OpenSSH does, instead of ending every other channel with it. */
static bool
late_ok(uint8_t type)
{
	return type == MSG_CHANNEL_WINDOW_ADJUST ||
	    type == MSG_CHANNEL_DATA || type == MSG_CHANNEL_EXTENDED_DATA ||
	    type == MSG_CHANNEL_EOF || type == MSG_CHANNEL_REQUEST ||
	    type == MSG_CHANNEL_SUCCESS || type == MSG_CHANNEL_FAILURE;
}

int
chan_input(struct ssh_conn *c, uint8_t type, const uint8_t *p, size_t len)
{
	struct chan *ch;
	struct rd r;
	uint32_t id;

	rd_init(&r, p, len);
	if (type == MSG_CHANNEL_OPEN)
		return open_input(c, &r);
	if (rd_u32(&r, &id) == 0 && id < c->nchans &&
	    c->chans[id].state == CH_CLOSED && late_ok(type)) {
		c->late_msgs++;
		return 0;
	}
	if (r.err || (ch = chan_get(c, id)) == NULL ||
	    ch->state == CH_PENDING)
		return conn_fail(c, DISC_PROTOCOL_ERROR,
		    "message %u for unknown channel", type);
	switch (type) {
	case MSG_CHANNEL_OPEN_CONFIRMATION:
		return confirm_input(c, ch, id, &r);
	case MSG_CHANNEL_OPEN_FAILURE:
		return failure_input(c, ch, id, &r);
	case MSG_CHANNEL_WINDOW_ADJUST:
		return window_input(c, ch, id, &r);
	case MSG_CHANNEL_DATA:
	case MSG_CHANNEL_EXTENDED_DATA:
		return data_input(c, ch, id, &r,
		    type == MSG_CHANNEL_EXTENDED_DATA);
	case MSG_CHANNEL_EOF:
		return eof_input(c, ch, id);
	case MSG_CHANNEL_CLOSE:
		if (ch->state == CH_OPENING || ch->close_rcvd)
			return conn_fail(c, DISC_PROTOCOL_ERROR, "bad CLOSE");
		ch->close_rcvd = true;
		if (!ch->close_sent) {
			ch->close_sent = true;
			if (send_chan_msg(c, MSG_CHANNEL_CLOSE, ch) != 0)
				return -1;
		}
		chan_release(c, id);
		return 0;
	case MSG_CHANNEL_REQUEST:
		return request_input(c, ch, id, &r);
	default:	/* SUCCESS / FAILURE: we send no channel requests */
		return 0;
	}
}

int
ssh_global_request(struct ssh_conn *c, const char *name, bool want_reply,
    const uint8_t *extra, size_t extra_len, void *ud)
{
	struct greq *ng;
	size_t i, n;

	if (c->state != ST_OPEN)
		return -1;
	if (want_reply) {
		if (c->ngreqs == c->greq_cap) {
			/* Grow and unwrap the ring. */
			n = c->greq_cap ? c->greq_cap * 2 : 8;
			if ((ng = calloc(n, sizeof(*ng))) == NULL)
				return -1;
			for (i = 0; i < c->ngreqs; i++)
				ng[i] = c->greqs[(c->greq_head + i) %
				    c->greq_cap];
			free(c->greqs);
			c->greqs = ng;
			c->greq_cap = n;
			c->greq_head = 0;
		}
		c->greqs[(c->greq_head + c->ngreqs) % c->greq_cap].ud = ud;
		c->ngreqs++;
	}
	if (pkt_begin(c, MSG_GLOBAL_REQUEST) != 0)
		return -1;
	wb_cstring(&c->out, name);
	wb_bool(&c->out, want_reply);
	wb_put(&c->out, extra, extra_len);
	return pkt_end(c);
}

static int
global_reply(struct ssh_conn *c, bool success, const uint8_t *p, size_t len)
{
	int ret;

	ret = pkt_begin(c, success ? MSG_REQUEST_SUCCESS : MSG_REQUEST_FAILURE);
	if (ret == 0 && success && len > 0)
		wb_put(&c->out, p, len);
	return ret == 0 ? pkt_end(c) : ret;
}

int
ssh_global_answer(struct ssh_conn *c, bool success, const uint8_t *reply,
    size_t len)
{
	if (c->state == ST_DEAD || !c->greq_wait)
		return -1;
	c->greq_wait = false;
	if (global_reply(c, success, reply, len) != 0 || c->state == ST_DEAD)
		return -1;
	return transport_resume(c);
}

bool
ssh_global_waiting(const struct ssh_conn *c)
{
	return c->greq_wait;
}

int
global_input(struct ssh_conn *c, uint8_t type, const uint8_t *p, size_t len)
{
	struct ssh_event ev;
	struct rd r;
	bool want_reply;

	rd_init(&r, p, len);
	if (type == MSG_GLOBAL_REQUEST) {
		struct wb reply;
		char name[64];
		int ret;

		if (request_name(&r, name, sizeof(name)) != 0 ||
		    rd_bool(&r, &want_reply) != 0)
			return conn_fail(c, DISC_PROTOCOL_ERROR,
			    "malformed global request");
		wb_init(&reply);
		memset(&ev, 0, sizeof(ev));
		ev.type = SSH_EV_GLOBAL_REQUEST;
		ev.u.request.name = name;
		ev.u.request.want_reply = want_reply;
		ev.u.request.extra = r.p + r.off;
		ev.u.request.extra_len = rd_left(&r);
		ev.u.request.reply = &reply;
		conn_emit(c, &ev);
		ret = 0;
		if (want_reply && ev.u.request.defer && c->state != ST_DEAD)
			c->greq_wait = true;
		else if (want_reply && c->state != ST_DEAD)
			ret = global_reply(c, ev.u.request.success, reply.p,
			    reply.len);
		wb_free(&reply);
		return ret;
	}
	if (c->ngreqs == 0)
		return conn_fail(c, DISC_PROTOCOL_ERROR,
		    "reply to a global request we did not send");
	memset(&ev, 0, sizeof(ev));
	ev.type = SSH_EV_GLOBAL_REPLY;
	ev.u.global_reply.success = type == MSG_REQUEST_SUCCESS;
	ev.u.global_reply.p = p;
	ev.u.global_reply.len = len;
	ev.u.global_reply.ud = c->greqs[c->greq_head].ud;
	c->greq_head = (c->greq_head + 1) % c->greq_cap;
	c->ngreqs--;
	conn_emit(c, &ev);
	return 0;
}
