/* The role's deferred answers on a connection: the host key verdict, the
 * authentication answer and a global request's reply, each resuming the
 * input the engine held for it. */
#include "conn_int.h"

/* The host key check may wait for the user (StrictHostKeyChecking ask):
 * that time is not the server's, so the deadline gets it back. A verdict
 * the role defers stops the deadline until net_conn_hostkey_verdict. */
void
conn_hostkey_event(struct net_conn *nc, struct ssh_event *ev)
{
	uint64_t left;

	if (!uv_is_active((uv_handle_t *)&nc->deadline)) {
		nc->ops.event(nc->ud, ev);
		nc->hk_deferred = ev->u.hostkey.defer;
		nc->hk_left = 0;
		return;
	}
	left = uv_timer_get_due_in(&nc->deadline);
	if (left == 0)
		left = 1;
	nc->ops.event(nc->ud, ev);
	if (nc->closing)
		return;
	if (ev->u.hostkey.defer) {
		/* the clock stops until net_conn_hostkey_verdict */
		uv_timer_stop(&nc->deadline);
		nc->hk_deferred = true;
		nc->hk_left = left;
		return;
	}
	uv_update_time(nc->nl->uv);
	uv_timer_start(&nc->deadline, conn_deadline_cb, left, 0);
}

/* Input the engine held for a verdict was processed when the verdict
 * came: what follows a batch of input follows it too. */
static void
held_input_done(struct net_conn *nc)
{
	net_chans_flush(&nc->chans);
	if (nc->ops.input_done != NULL && !nc->closing)
		nc->ops.input_done(nc->ud);
	if (!nc->closing)
		conn_watch_backlog(nc);
}

int
net_conn_hostkey_verdict(struct net_conn *nc, bool accept)
{
	if (nc->closing || nc->ssh == NULL || !nc->hk_deferred)
		return -1;
	nc->hk_deferred = false;
	if (nc->hk_left > 0) {
		uv_update_time(nc->nl->uv);
		uv_timer_start(&nc->deadline, conn_deadline_cb, nc->hk_left, 0);
	}
	if (ssh_hostkey_verdict(nc->ssh, accept) != 0) {
		conn_engine_failed(nc);
		return -1;
	}
	held_input_done(nc);
	return 0;
}

int
net_conn_auth_answer(struct net_conn *nc, bool allow)
{
	if (nc->closing || nc->ssh == NULL || !ssh_auth_waiting(nc->ssh))
		return -1;
	if (ssh_auth_answer(nc->ssh, allow) != 0) {
		conn_engine_failed(nc);
		return -1;
	}
	held_input_done(nc);
	return 0;
}

int
net_conn_global_answer(struct net_conn *nc, bool success,
    const uint8_t *reply, size_t len)
{
	if (nc->closing || nc->ssh == NULL || !ssh_global_waiting(nc->ssh))
		return -1;
	if (ssh_global_answer(nc->ssh, success, reply, len) != 0) {
		conn_engine_failed(nc);
		return -1;
	}
	if (nc->input_held && !ssh_global_waiting(nc->ssh)) {
		nc->input_held = false;
		if (!nc->input_paused)
			conn_read_start(nc);
	}
	held_input_done(nc);
	return 0;
}

