/* Unit tests for the lists under the connection layer: net/loop.c's
 * connections owing a flush and net/chan.c's channel routing, dirty list,
 * resume and abort. No loop runs: both are plain lists. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "net/chan.h"
#include "net/loop.h"

/* A flushable item that counts its flushes and may act on the list. */
struct item {
	struct net_wake	 w;
	struct net_loop	*nl;
	int		 flushed;
	int		 requeue;	/* queue itself again this many times */
	struct item	*cancel;	/* take this one off when flushed */
};

static void
item_flush(struct net_wake *w)
{
	struct item *it = (struct item *)w;

	it->flushed++;
	if (it->requeue > 0) {
		it->requeue--;
		net_wake_queue(it->nl, &it->w);
	}
	if (it->cancel != NULL)
		net_wake_cancel(it->nl, &it->cancel->w);
}

static void
items_init(struct net_loop *nl, struct item *its, int n)
{
	int i;

	memset(nl, 0, sizeof(*nl));
	memset(its, 0, sizeof(*its) * (size_t)n);
	for (i = 0; i < n; i++) {
		its[i].w.flush = item_flush;
		its[i].nl = nl;
	}
}

/* Queued twice, flushed once; the list is empty after a flush. */
static void
test_wake_once(void **state)
{
	struct net_loop nl;
	struct item it[2];

	(void)state;
	items_init(&nl, it, 2);
	net_wake_queue(&nl, &it[0].w);
	net_wake_queue(&nl, &it[0].w);
	net_wake_queue(&nl, &it[1].w);
	net_loop_flush(&nl);
	assert_int_equal(it[0].flushed, 1);
	assert_int_equal(it[1].flushed, 1);
	assert_null(nl.head);
	assert_false(it[0].w.queued);
	net_loop_flush(&nl);
	assert_int_equal(it[0].flushed, 1);
}

/* A cancelled item is not flushed; cancelling one not queued is safe,
 * from the head, the middle or the tail. */
static void
test_wake_cancel(void **state)
{
	struct net_loop nl;
	struct item it[4];
	int i;

	(void)state;
	items_init(&nl, it, 4);
	net_wake_cancel(&nl, &it[3].w);
	for (i = 0; i < 3; i++)
		net_wake_queue(&nl, &it[i].w);
	net_wake_cancel(&nl, &it[1].w);		/* middle */
	net_wake_cancel(&nl, &it[1].w);
	net_wake_cancel(&nl, &it[2].w);		/* head: queued last */
	net_wake_cancel(&nl, &it[0].w);		/* the last one */
	assert_null(nl.head);
	net_wake_queue(&nl, &it[1].w);
	net_loop_flush(&nl);
	assert_int_equal(it[0].flushed, 0);
	assert_int_equal(it[1].flushed, 1);
	assert_int_equal(it[2].flushed, 0);
}

/* A flush that queues its own item again is flushed again in the same
 * pass; one that takes another item off the list keeps it from being
 * flushed. */
static void
test_wake_during_flush(void **state)
{
	struct net_loop nl;
	struct item it[3];

	(void)state;
	items_init(&nl, it, 3);
	it[0].requeue = 2;
	it[1].cancel = &it[2];
	net_wake_queue(&nl, &it[2].w);
	net_wake_queue(&nl, &it[0].w);
	net_wake_queue(&nl, &it[1].w);		/* head: flushed first */
	net_loop_flush(&nl);
	assert_int_equal(it[0].flushed, 3);
	assert_int_equal(it[1].flushed, 1);
	assert_int_equal(it[2].flushed, 0);
	assert_null(nl.head);
}

/* A channel handler that counts its calls. */
struct hch {
	struct net_chan	 ch;
	int		 events;
	int		 flushes;
	int		 resumes;
	int		 aborts;
	bool		 detach_on_resume;
	bool		 attached_at_abort;
};

static void
h_event(struct net_chan *ch, struct ssh_event *ev)
{
	(void)ev;
	((struct hch *)ch)->events++;
}

static void
h_flush(struct net_chan *ch)
{
	((struct hch *)ch)->flushes++;
}

static void
h_resume(struct net_chan *ch)
{
	struct hch *h = (struct hch *)ch;

	h->resumes++;
	if (h->detach_on_resume)
		net_chan_detach(ch);
}

static void
h_abort(struct net_chan *ch)
{
	struct hch *h = (struct hch *)ch;

	h->aborts++;
	h->attached_at_abort = ch->owner != NULL;
}

static const struct net_chan_ops h_ops = {
	.event = h_event,
	.flush = h_flush,
	.resume = h_resume,
	.abort = h_abort,
};

static void
chans_init(struct net_chans *set, struct hch *hs, int n)
{
	int i;

	memset(set, 0, sizeof(*set));
	memset(hs, 0, sizeof(*hs) * (size_t)n);
	for (i = 0; i < n; i++)
		net_chans_attach(set, &hs[i].ch, &h_ops);
}

/* Channel events go to the channel's handler, others are not taken; an
 * event for a channel whose handler let go is taken and dropped. */
static void
test_route(void **state)
{
	struct net_chans set;
	struct hch h;
	struct ssh_event ev;

	(void)state;
	chans_init(&set, &h, 1);
	memset(&ev, 0, sizeof(ev));
	ev.type = SSH_EV_KEX_DONE;
	ev.chan_ud = &h.ch;
	assert_false(net_chans_route(&ev));
	ev.type = SSH_EV_GLOBAL_REQUEST;
	assert_false(net_chans_route(&ev));
	assert_int_equal(h.events, 0);
	ev.type = SSH_EV_CHAN_DATA;
	assert_true(net_chans_route(&ev));
	ev.type = SSH_EV_CHAN_CLOSED;
	assert_true(net_chans_route(&ev));
	assert_int_equal(h.events, 2);
	ev.chan_ud = NULL;
	ev.type = SSH_EV_CHAN_EOF;
	assert_true(net_chans_route(&ev));
	assert_int_equal(h.events, 2);
	net_chan_detach(&h.ch);
}

/* A channel marked dirty twice is flushed once; a dirty channel that is
 * detached is not flushed, and a detached one cannot be marked. */
static void
test_dirty_flush(void **state)
{
	struct net_chans set;
	struct hch h[3];

	(void)state;
	chans_init(&set, h, 3);
	net_chan_dirty(&h[0].ch);
	net_chan_dirty(&h[0].ch);
	net_chan_dirty(&h[1].ch);
	net_chan_dirty(&h[2].ch);
	net_chan_detach(&h[1].ch);		/* in the middle of the list */
	net_chans_flush(&set);
	assert_int_equal(h[0].flushes, 1);
	assert_int_equal(h[1].flushes, 0);
	assert_int_equal(h[2].flushes, 1);
	assert_null(set.dirty);
	net_chan_dirty(&h[1].ch);
	assert_false(h[1].ch.dirty);
	net_chans_flush(&set);
	assert_int_equal(h[0].flushes, 1);
	net_chan_detach(&h[1].ch);		/* twice: harmless */
	net_chan_detach(&h[0].ch);
	net_chan_detach(&h[2].ch);
	assert_null(set.head);
}

/* Resume reaches every channel even when one detaches itself; abort
 * detaches each before telling it, and leaves the set empty. */
static void
test_resume_abort(void **state)
{
	struct net_chans set;
	struct hch h[3];
	int i;

	(void)state;
	chans_init(&set, h, 3);
	h[1].detach_on_resume = true;
	net_chans_resume(&set);
	for (i = 0; i < 3; i++)
		assert_int_equal(h[i].resumes, 1);
	assert_null(h[1].ch.owner);
	net_chan_dirty(&h[0].ch);
	net_chans_abort(&set);
	assert_null(set.head);
	assert_int_equal(h[0].aborts, 1);
	assert_int_equal(h[1].aborts, 0);	/* it had let go */
	assert_int_equal(h[2].aborts, 1);
	assert_false(h[0].attached_at_abort);
	assert_false(h[2].attached_at_abort);
	assert_null(set.dirty);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wake_once),
		cmocka_unit_test(test_wake_cancel),
		cmocka_unit_test(test_wake_during_flush),
		cmocka_unit_test(test_route),
		cmocka_unit_test(test_dirty_flush),
		cmocka_unit_test(test_resume_abort),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
