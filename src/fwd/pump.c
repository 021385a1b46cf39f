/* The data pump between a socket and an SSH channel: the plain pump, once
 * any SOCKS stage (pump_socks.c) is over. */
#include "pump_int.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/text.h"

struct ssh_conn *
pump_ssh(const struct pump *p)
{
	return net_conn_ssh(p->set->nc);
}

/* Frees p once nothing libuv holds refers to it. */
static void
pump_release(struct pump *p)
{
	struct pump_set *set = p->set;
	const struct pump_stdio_hooks *hooks = p->hooks;
	void *hooks_ud = p->hooks_ud;
	bool clean = !p->failed;

	if (!p->sock_closed || (p->osock != NULL && !p->osock_closed))
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
		FWD_SUB(set->user->chans, 1);
	if (p->stats != NULL)
		FWD_SUB(p->stats->open, 1);
	wb_free(&p->pend);
	wb_free(&p->inflight);
	wb_free(&p->early);
	free(p->sw);
	free(p->osock);
	free(p);
	if (hooks != NULL)
		hooks->gone(hooks_ud, clean);
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

static void	down_step(struct pump *p);
static void	maybe_finish(struct pump *p);

/* The separate output handle is closed: at CHANNEL_EOF (a FIFO's only
 * EOF) or by pump_close. */
static void
out_closed(uv_handle_t *h)
{
	struct pump *p = h->data;

	p->osock_closed = true;
	if (p->down == DOWN_SHUTTING) {
		down_step(p);
		maybe_finish(p);
	}
	pump_release(p);
}

/* Closes the socket (with a reset when the data cannot be complete) and
 * lets go of the channel. */
void
pump_close(struct pump *p, bool reset)
{
	if (p->closing)
		return;
	p->closing = true;
	pump_connect_over(p);
	if (p->has_chan) {
		ssh_chan_set_ud(pump_ssh(p), p->chan, NULL);
		ssh_chan_close(pump_ssh(p), p->chan);
		p->has_chan = false;
	}
	pump_stop_reading(p);
	if (reset)
		p->failed = true;
	if (p->osock != NULL && !uv_is_closing(&p->osock->h))
		uv_close(&p->osock->h, out_closed);
	/* the descriptor is closed now (its close callback comes a loop
	 * iteration later): the reserve counts it free at once */
	if (p->set->all != NULL)
		FWD_SUB(p->set->all->fds, 1);
	/* A reset is refused while a shutdown is pending: close then. A
	 * Unix socket (or a pipe) has no reset. */
	if (!reset || p->sock.h.type != UV_TCP ||
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
	if (p->up == UP_EOF_SENT && p->down == DOWN_DONE)
		ssh_chan_close(pump_ssh(p), p->chan);
}

/* socket -> channel: the socket's EOF becomes CHANNEL_EOF. */
static void
up_eof(struct pump *p)
{
	if (p->up != UP_OPEN)
		return;
	p->up = UP_EOF_SENT;
	ssh_chan_eof(pump_ssh(p), p->chan);
	maybe_finish(p);
}

static void	shutdown_cb(uv_shutdown_t *req, int status);

/* channel -> socket: one step on from the current state (see the table
 * in pump_int.h); DOWN_OPEN moves on when CHANNEL_EOF arrives,
 * DOWN_EOF_RCVD once the buffered bytes are out, DOWN_SHUTTING when the
 * shutdown completes. */
static void
down_step(struct pump *p)
{
	switch (p->down) {
	case DOWN_OPEN:
		p->down = DOWN_EOF_RCVD;
		break;
	case DOWN_EOF_RCVD:
		if (p->closing)
			break;
		p->down = DOWN_SHUTTING;
		if (p->out_close_eof) {
			uv_close(&p->osock->h, out_closed);
			break;
		}
		p->sreq.data = p;
		if (uv_shutdown(&p->sreq, p->out, shutdown_cb) < 0) {
			p->down = DOWN_DONE;
			maybe_finish(p);
		}
		break;
	case DOWN_SHUTTING:
		p->down = DOWN_DONE;
		break;
	case DOWN_DONE:
		break;
	}
}

static void
shutdown_cb(uv_shutdown_t *req, int status)
{
	struct pump *p = req->data;

	down_step(p);
	if (status < 0 && status != UV_ECANCELED && !p->closing) {
		pump_close(p, true);
		return;
	}
	maybe_finish(p);
}

static void
alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct pump *p = h->data;
	size_t len = READ_MAX;
	uint8_t *slot = NULL;

	(void)suggested;
	if (p->has_chan && !p->closing)
		slot = ssh_chan_slot(pump_ssh(p), p->chan, &len);
	*buf = slot ? uv_buf_init((char *)slot, (unsigned)len) :
	    uv_buf_init(NULL, 0);
}

/* Sends what must precede the socket's bytes on the channel, as far as
 * the window allows (the rest goes on the next window or KEX end). */
void
pump_send_early(struct pump *p)
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
	    p->early.len == 0 && p->up == UP_OPEN && !p->closing &&
	    ssh_chan_sendable(pump_ssh(p), p->chan) > 0 &&
	    !net_conn_congested(p->set->nc);
}

static void	read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

void
pump_start_reading(struct pump *p)
{
	pump_send_early(p);
	if (!p->reading && can_read(p)) {
		if (uv_read_start(&p->sock.s, alloc_cb, read_cb) == 0)
			p->reading = true;
	}
}

void
pump_stop_reading(struct pump *p)
{
	if (p->reading) {
		uv_read_stop(&p->sock.s);
		p->reading = false;
	}
}

static void
read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct pump *p = s->data;

	(void)buf;
	if (n > 0) {
		if (ssh_chan_commit(pump_ssh(p), p->chan, (size_t)n) != 0) {
			pump_close(p, true);
			return;
		}
		if (p->stats != NULL)
			FWD_ADD(p->stats->bytes_out, (uint64_t)n);
		p->active_ms = uv_now(s->loop);
		if (!can_read(p))
			pump_stop_reading(p);
		return;
	}
	if (n == 0)
		return;
	pump_stop_reading(p);
	if (n == UV_ENOBUFS)	/* no slot: window or transport full */
		return;
	if (n == UV_EOF) {
		up_eof(p);
		return;
	}
	log_verbose("%s: read: %s", p->label, uv_strerror((int)n));
	pump_close(p, true);
}

static void
delivered(struct pump *p, size_t n)
{
	size_t ours = n < p->uncredited ? n : p->uncredited;

	p->uncredited -= ours;
	n -= ours;
	if (n == 0)
		return;
	if (p->stats != NULL)
		FWD_ADD(p->stats->bytes_in, (uint64_t)n);
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
	if (uv_write(&p->wreq, p->out, &b, 1, write_cb) < 0) {
		pump_close(p, true);
		return;
	}
	p->writing = true;
}

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

/* Writes the batch's data straight from the engine's buffer; keeps what
 * the socket did not take. Returns -1 when p was closed. */
static int
flush_batch(struct pump *p)
{
	int n;

	if (p->niov == 0)
		return 0;
	n = uv_try_write(p->out, p->iov, (unsigned)p->niov);
	if (n < 0 && n != UV_EAGAIN) {
		p->niov = 0;
		pump_close(p, true);
		return -1;
	}
	if (n < 0)
		n = 0;
	if (n > 0)
		delivered(p, (size_t)n);
	if (keep_rest(p, (size_t)n) != 0) {
		pump_close(p, true);
		return -1;
	}
	return 0;
}

/* Writes what is pending: synchronously if the socket takes it, else
 * through uv_write; then a finished channel direction shuts the socket's
 * write side. */
void
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
	if (flush_batch(p) != 0)
		return;
	if (p->pend.len > p->pend_off) {
		b = uv_buf_init((char *)p->pend.p + p->pend_off,
		    (unsigned)(p->pend.len - p->pend_off));
		n = uv_try_write(p->out, &b, 1);
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
	if (p->down == DOWN_EOF_RCVD)
		down_step(p);
	else if (p->down == DOWN_OPEN)
		maybe_finish(p);
}

static void
on_data(struct pump *p, const uint8_t *data, size_t len)
{
	p->active_ms = uv_now(p->sock.h.loop);
	/* Gather without copying while nothing older waits to be written. */
	if (!p->writing && p->pend.len == p->pend_off &&
	    p->niov < (int)(sizeof(p->iov) / sizeof(p->iov[0]))) {
		p->iov[p->niov++] = uv_buf_init((char *)data, (unsigned)len);
	} else if ((p->niov > 0 && keep_rest(p, 0) != 0) ||
	    wb_put(&p->pend, data, len) != 0) {
		pump_close(p, true);
		return;
	}
	net_chan_dirty(&p->nch);
}

void
pump_chan_event(struct net_chan *ch, struct ssh_event *ev)
{
	struct pump *p = pump_of(ch);

	switch (ev->type) {
	case SSH_EV_CHAN_CONFIRM:
		p->confirmed = true;
		log_verbose("%s: channel %u open", p->label, p->chan);
		pump_start_reading(p);
		break;
	case SSH_EV_CHAN_OPEN_FAILED:
		if (p->hooks != NULL)
			pump_stdio_open_failed(p, ev);
		else
			log_info("%s: channel open failed: %s", p->label,
			    ev->u.open_failed.message);
		p->failed = true;
		p->has_chan = false;
		pump_close(p, false);
		break;
	case SSH_EV_CHAN_DATA:
		on_data(p, ev->u.data.p, ev->u.data.len);
		break;
	case SSH_EV_CHAN_EOF:
		if (p->down == DOWN_OPEN)
			down_step(p);
		net_chan_dirty(&p->nch);
		break;
	case SSH_EV_CHAN_WINDOW:
		pump_start_reading(p);
		break;
	case SSH_EV_CHAN_CLOSED:
		p->has_chan = false;
		pump_stop_reading(p);
		if (p->connecting) {
			pump_close(p, false);
			break;
		}
		maybe_finish(p);
		break;
	default:
		break;
	}
}

void
pump_chan_flush(struct net_chan *ch)
{
	pump_flush(pump_of(ch));
}

static void
chan_resume(struct net_chan *ch)
{
	pump_start_reading(pump_of(ch));
}

/* The SSH connection is gone: the socket is reset (never a clean EOF
 * after partial data). */
void
pump_chan_abort(struct net_chan *ch)
{
	struct pump *p = pump_of(ch);

	p->has_chan = false;	/* the engine is going away */
	pump_stop_reading(p);
	pump_close(p, true);
}

const struct net_chan_ops pump_chan_ops = {
	.event = pump_chan_event,
	.flush = pump_chan_flush,
	.resume = chan_resume,
	.abort = pump_chan_abort,
};

void
pump_forget_stats(struct pump_set *set, const struct fwd_stats *stats)
{
	struct pump *p;

	for (p = set->head; p != NULL; p = p->next)
		if (p->stats == stats)
			p->stats = NULL;
}

void
fwd_stats_read(const struct fwd_stats *st, struct fwd_stats *out)
{
	out->bytes_out = FWD_GET(st->bytes_out);
	out->bytes_in = FWD_GET(st->bytes_in);
	out->conns = FWD_GET(st->conns);
	out->open = FWD_GET(st->open);
}

void
fwd_stats_json(struct wb *out, const struct fwd_stats *st0)
{
	struct fwd_stats st[1];

	fwd_stats_read(st0, st);
	wb_printf(out, "\"open\":%u,\"connections\":%llu,\"bytes_in\":%llu,"
	    "\"bytes_out\":%llu", st->open, (unsigned long long)st->conns,
	    (unsigned long long)st->bytes_in,
	    (unsigned long long)st->bytes_out);
}

uint64_t
pump_expire_idle(struct pump_set *set, uint64_t now,
    unsigned (*idle_s)(void *ud, const char *type), void *ud)
{
	struct pump *p, *next;
	uint64_t soonest = 0, ms, due;

	for (p = set->head; p != NULL; p = next) {
		next = p->next;
		if (p->closing || p->type == NULL ||
		    (ms = (uint64_t)idle_s(ud, p->type) * 1000) == 0)
			continue;
		due = p->active_ms + ms;
		if (due <= now) {
			log_info("%s: closing after %llu seconds of inactivity "
			    "(ChannelTimeout)", p->label,
			    (unsigned long long)(now - p->active_ms) / 1000);
			pump_close(p, false);
		} else if (soonest == 0 || due - now < soonest)
			soonest = due - now;
	}
	return soonest;
}
