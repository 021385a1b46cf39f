/* ferryd's event loops and the calls that cross them (loops.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/loops.h"
#include "util/log.h"

static _Thread_local struct srv_loop *current;

struct srv_loop *
srv_loop_current(void)
{
	return current;
}

/* Runs what was queued, in order; a call may queue more (they run in
 * the next batch, after the loop polled again). */
static void
run_calls(struct srv_loop *l)
{
	struct srv_call *c, *next;

	uv_mutex_lock(&l->lock);
	c = l->head;
	l->head = l->tail = NULL;
	uv_mutex_unlock(&l->lock);
	for (; c != NULL; c = next) {
		next = c->next;
		c->fn(l, c->arg);
		free(c);
	}
}

static void
wake_cb(uv_async_t *h)
{
	run_calls(h->data);
}

int
srv_loop_call(struct srv_loop *l, srv_loop_fn fn, void *arg)
{
	struct srv_call *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -1;
	c->fn = fn;
	c->arg = arg;
	uv_mutex_lock(&l->lock);
	if (l->closed) {
		uv_mutex_unlock(&l->lock);
		free(c);
		return -1;
	}
	if (l->tail != NULL)
		l->tail->next = c;
	else
		l->head = c;
	l->tail = c;
	/* under the lock: the handle is not closed meanwhile */
	uv_async_send(&l->wake);
	uv_mutex_unlock(&l->lock);
	return 0;
}

void
srv_loops_call_all(struct srv_loops *ls, srv_loop_fn fn, void *arg)
{
	int i;

	for (i = 0; i < ls->n; i++)
		srv_loop_call(&ls->l[i], fn, arg);
}

static void
thread_main(void *arg)
{
	struct srv_loop *l = arg;

	current = l;
	uv_run(l->uv, UV_RUN_DEFAULT);
}

static int
loop_init(struct srv_loop *l, int index, uv_loop_t *main, char *err,
    size_t errlen)
{
	int r;

	l->index = index;
	l->uv = main;
	if (main == NULL) {
		if ((r = uv_loop_init(&l->own)) != 0) {
			snprintf(err, errlen, "event loop %d: %s", index,
			    uv_strerror(r));
			return -1;
		}
		l->uv = &l->own;
	}
	if (uv_mutex_init(&l->lock) != 0) {
		snprintf(err, errlen, "event loop %d: no mutex", index);
		return -1;
	}
	uv_async_init(l->uv, &l->wake, wake_cb);
	l->wake.data = l;
	uv_tcp_init(l->uv, &l->first);
	net_loop_init(&l->nl, l->uv);
	return 0;
}

int
srv_loops_start(struct srv_loops *ls, uv_loop_t *main, int n, char *err,
    size_t errlen)
{
	int i, r;

	memset(ls, 0, sizeof(*ls));
	if (n < 1 || n > SRV_LOOPS_MAX) {
		snprintf(err, errlen, "EventLoops %d: between 1 and %d", n,
		    SRV_LOOPS_MAX);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (loop_init(&ls->l[i], i, i == 0 ? main : NULL, err,
		    errlen) != 0)
			return -1;
		ls->n = i + 1;
	}
	current = &ls->l[0];
	for (i = 1; i < n; i++) {
		if ((r = uv_thread_create(&ls->l[i].thread, thread_main,
		    &ls->l[i])) != 0) {
			snprintf(err, errlen, "event loop %d: %s", i,
			    uv_strerror(r));
			return -1;
		}
		ls->l[i].started = true;
	}
	log_verbose("%d event loops", n);
	return 0;
}

/* On the loop's own thread: no call is taken after this, and those
 * queued run now; the loop ends once its sessions' handles closed. */
static void
close_one(struct srv_loop *l, void *arg)
{
	(void)arg;
	uv_mutex_lock(&l->lock);
	l->closed = true;
	uv_mutex_unlock(&l->lock);
	run_calls(l);
	uv_close((uv_handle_t *)&l->wake, NULL);
	uv_close((uv_handle_t *)&l->first, NULL);
	net_loop_close(&l->nl);
}

void
srv_loops_close(struct srv_loops *ls)
{
	int i;

	for (i = 1; i < ls->n; i++)
		srv_loop_call(&ls->l[i], close_one, NULL);
	if (ls->n > 0)
		close_one(&ls->l[0], NULL);
}

void
srv_loops_join(struct srv_loops *ls)
{
	int i;

	for (i = 1; i < ls->n; i++) {
		if (ls->l[i].started)
			uv_thread_join(&ls->l[i].thread);
		uv_run(ls->l[i].uv, UV_RUN_NOWAIT);
		uv_loop_close(ls->l[i].uv);
		uv_mutex_destroy(&ls->l[i].lock);
	}
	if (ls->n > 0)
		uv_mutex_destroy(&ls->l[0].lock);
}
