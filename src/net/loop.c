/* The loop-wide list of connections owing a flush. */
#include "loop.h"

#include <stddef.h>

void
net_wake_queue(struct net_loop *nl, struct net_wake *w)
{
	if (w->queued)
		return;
	w->queued = true;
	w->prev = NULL;
	w->next = nl->head;
	if (nl->head != NULL)
		nl->head->prev = w;
	nl->head = w;
}

void
net_wake_cancel(struct net_loop *nl, struct net_wake *w)
{
	if (!w->queued)
		return;
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		nl->head = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	w->queued = false;
	w->prev = w->next = NULL;
}

/* One at a time from the head: a flush may queue its own item again (the
 * engine queued more while it ran) or take others off the list. */
void
net_loop_flush(struct net_loop *nl)
{
	struct net_wake *w;

	while ((w = nl->head) != NULL) {
		net_wake_cancel(nl, w);
		w->flush(w);
	}
}

static void
check_cb(uv_check_t *h)
{
	net_loop_flush(h->data);
}

static void
prepare_cb(uv_prepare_t *h)
{
	net_loop_flush(h->data);
}

void
net_loop_init(struct net_loop *nl, uv_loop_t *uv)
{
	nl->uv = uv;
	nl->head = NULL;
	uv_check_init(uv, &nl->check);
	uv_prepare_init(uv, &nl->prepare);
	nl->check.data = nl->prepare.data = nl;
	uv_check_start(&nl->check, check_cb);
	uv_prepare_start(&nl->prepare, prepare_cb);
	uv_unref((uv_handle_t *)&nl->check);
	uv_unref((uv_handle_t *)&nl->prepare);
}

void
net_loop_close(struct net_loop *nl)
{
	uv_close((uv_handle_t *)&nl->check, NULL);
	uv_close((uv_handle_t *)&nl->prepare, NULL);
}
