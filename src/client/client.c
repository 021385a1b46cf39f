/* One ferry destination: the struct's life, its SSH connection
 * (reconnected with backoff when asked), its state and the connection's
 * events, which it hands to cli_auth.c and cli_fwd.c; ServerAlive; what
 * status shows of it. */
#include "cli_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/key.h"
#include "util/log.h"

void
cli_changed(struct client *cl)
{
	if (cl->hooks->changed != NULL)
		cl->hooks->changed(cl->hooks_ud);
}

static void
set_state(struct client *cl, enum client_state st)
{
	if (cl->state == st)
		return;
	cl->state = st;
	cl->state_since = uv_now(cl->loop);
	cli_changed(cl);
}

/* Tells the owner once nothing of ours is left in the loop. */
static void
check_done(struct client *cl)
{
	if (cl->stopping && cl->handles_open == 0 && cl->nc == NULL &&
	    cl->pumps.count == 0 && cl->hooks->done != NULL)
		cl->hooks->done(cl->hooks_ud, cl, cl->exit_code);
}

static void
handle_closed(uv_handle_t *h)
{
	struct client *cl = h->data;

	cl->handles_open--;
	check_done(cl);
}

static void
pumps_empty(void *ud)
{
	check_done(ud);
}

void
cli_stop(struct client *cl, int code, const char *why)
{
	if (cl->stopping)
		return;
	cl->stopping = true;
	cl->exit_code = code;
	if (why != NULL && why[0] != '\0') {
		log_error("%s", why);
		snprintf(cl->last_error, sizeof(cl->last_error), "%s", why);
	}
	cli_drop_agent(cl);
	cli_free_locals(cl);
	uv_close((uv_handle_t *)&cl->alive, handle_closed);
	uv_close((uv_handle_t *)&cl->retry, handle_closed);
	uv_close((uv_handle_t *)&cl->rfwd_retry, handle_closed);
	uv_close((uv_handle_t *)&cl->lfwd_retry, handle_closed);
	if (cl->nc != NULL) {
		struct ssh_conn *ssh = net_conn_ssh(cl->nc);

		if (ssh != NULL && cl->authenticated) {
			fwd_remote_cancel_all(&cl->remotes, ssh);
			ssh_disconnect(ssh, SSH_DISC_BY_APPLICATION,
			    "disconnected by user");
		}
		net_conn_close(cl->nc, "");
	}
	set_state(cl, CLIENT_STOPPED);
}

/* This connection cannot go on: with Reconnect it is closed and retried
 * (closed() schedules that), else ferry exits as ssh does. */
void
cli_conn_failed(struct client *cl, const char *why)
{
	struct ssh_conn *ssh;

	if (cl->o->reconnect && !cl->fatal && cl->nc != NULL) {
		if ((ssh = net_conn_ssh(cl->nc)) != NULL)
			ssh_disconnect(ssh, SSH_DISC_BY_APPLICATION,
			    "retrying later");
		net_conn_close(cl->nc, why);
		return;
	}
	cli_stop(cl, EXIT_FAILURE_SSH, NULL);
}

/* ssh's ServerAlive: a keepalive for each interval without input; the
 * server is declared dead when CountMax of them went unanswered. */
static void
alive_tick(uv_timer_t *t)
{
	struct client *cl = t->data;
	struct ssh_conn *ssh;
	char msg[300];

	if (cl->nc == NULL || (ssh = net_conn_ssh(cl->nc)) == NULL)
		return;
	if (++cl->alive_missed > cl->o->server_alive_count_max) {
		snprintf(msg, sizeof(msg), "Timeout, server %s not responding.",
		    cl->o->hostname);
		if (cl->o->reconnect) {
			net_conn_close(cl->nc, msg);
			return;
		}
		cli_stop(cl, EXIT_FAILURE_SSH, msg);
		return;
	}
	if (ssh_authenticated(ssh))
		ssh_global_request(ssh, "keepalive@openssh.com", true, NULL, 0,
		    NULL);
}

/* The next delay of a backoff: ReconnectDelay doubling per attempt up to
 * ReconnectMaxDelay, drawn uniformly from its upper half (jitter, so
 * many clients of one server do not come back in step). */
uint64_t
cli_backoff_ms(const struct options *o, int attempt)
{
	uint64_t d = (uint64_t)o->reconnect_delay_ms;
	int i;

	for (i = 1; i < attempt && d < (uint64_t)o->reconnect_max_delay_ms;
	    i++)
		d *= 2;
	if (d > (uint64_t)o->reconnect_max_delay_ms)
		d = (uint64_t)o->reconnect_max_delay_ms;
	return d / 2 + (uint64_t)random() % (d / 2 + 1);
}

static void
on_event(void *ud, struct ssh_event *ev)
{
	struct client *cl = ud;

	switch (ev->type) {
	case SSH_EV_HOSTKEY:
		cli_host_key_event(cl, ev);
		break;
	case SSH_EV_AUTH_READY:
		log_verbose("Remote protocol version %s; cipher %s",
		    ssh_peer_version(net_conn_ssh(cl->nc)),
		    ssh_cipher_name(net_conn_ssh(cl->nc), true));
		cli_try_next_key(cl);
		break;
	case SSH_EV_AUTH_FAILURE:
		cli_auth_failure(cl, ev->u.auth_failure.methods);
		break;
	case SSH_EV_AUTH_BANNER:
		cli_show_banner(ev->u.text.text);
		break;
	case SSH_EV_AUTH_SUCCESS:
		cl->authenticated = true;
		cli_drop_agent(cl);		/* no agent forwarding */
		log_verbose("Authenticated to %s ([%s]:%d) using \"publickey\".",
		    cl->o->hostname, net_conn_peer_ip(cl->nc), cl->o->port);
		if (cl->ever_up && cl->attempt > 0)
			log_plain("%sReconnected to %s after %d attempt%s, down "
			    "%.1f s", cl->tag, cl->o->hostname, cl->attempt,
			    cl->attempt == 1 ? "" : "s",
			    (double)(uv_now(cl->loop) - cl->down_since) / 1000);
		else if (cl->tag[0] != '\0')
			log_info("%sconnected to %s port %d as %s", cl->tag,
			    cl->o->hostname, cl->o->port, cl->o->user);
		if (cl->ever_up)
			cl->reconnects++;
		cl->ever_up = true;
		cl->attempt = 0;
		set_state(cl, CLIENT_UP);
		if (cl->o->stdio_host != NULL)
			cli_stdio_start(cl);
		else
			cli_start_forwards(cl);
		break;
	case SSH_EV_GLOBAL_REPLY:
		cli_global_reply(cl, ev);
		break;
	case SSH_EV_CHAN_OPEN_REQUEST:
		cli_open_request(cl, ev);
		break;
	case SSH_EV_KEX_DONE:
		log_verbose("SSH2_MSG_NEWKEYS received");
		break;
	case SSH_EV_DEBUG:
		/* what the server asks to be shown (ferryd: where it bound a
		 * forward and why, why it refused one) is for the user */
		if (ev->u.text.display)
			log_info("%sRemote: %s", cl->tag, ev->u.text.text);
		else
			log_verbose("Remote: %s", ev->u.text.text);
		break;
	default:
		break;
	}
}

static void
on_connected(void *ud)
{
	(void)ud;
	log_verbose("Connection established.");
}

static void
on_input_done(void *ud)
{
	struct client *cl = ud;

	cl->alive_missed = 0;
}

static void	connect_now(struct client *cl);

static void
retry_tick(uv_timer_t *t)
{
	struct client *cl = t->data;

	if (!cl->stopping)
		connect_now(cl);
}

static void
on_closed(void *ud, enum net_end end, const char *why)
{
	struct client *cl = ud;
	bool was_up = cl->authenticated;
	char reason[300];
	uint64_t ms;
	size_t n;

	cl->nc = NULL;
	cl->pumps.nc = NULL;
	cl->authenticated = false;
	cli_hostkey_reset(cl);
	cli_drop_agent(cl);
	if (cl->stopping) {
		check_done(cl);
		return;
	}
	uv_timer_stop(&cl->rfwd_retry);
	if (cl->fail_why != NULL)
		why = cl->fail_why;
	if (why[0] != '\0')
		snprintf(cl->last_error, sizeof(cl->last_error), "%s", why);
	if (was_up && end == NET_END_PEER_CLOSED)
		why = "Connection to remote host closed by remote host.";
	/* ConnectionAttempts: a connect that failed is tried again after a
	 * second, as ssh does */
	if (!cl->o->reconnect && !cl->ever_up && end == NET_END_CONNECT &&
	    ++cl->attempt < cl->o->connection_attempts) {
		log_verbose("%s; attempt %d of %d in 1 s", why, cl->attempt + 1,
		    cl->o->connection_attempts);
		uv_timer_start(&cl->retry, retry_tick, 1000, 0);
		return;
	}
	if (!cl->o->reconnect || cl->fatal) {
		cli_stop(cl, EXIT_FAILURE_SSH, why);
		return;
	}
	fwd_remote_reset(&cl->remotes);
	snprintf(reason, sizeof(reason), "%s", why);
	if ((n = strlen(reason)) > 0 && reason[n - 1] == '.')
		reason[n - 1] = '\0';
	why = reason;
	ms = cli_backoff_ms(cl->o, ++cl->attempt);
	if (was_up) {
		cl->down_since = uv_now(cl->loop);
		log_plain("%sConnection to %s lost: %s; reconnecting in %.1f s "
		    "(attempt %d)", cl->tag, cl->o->hostname, why,
		    (double)ms / 1000, cl->attempt);
	} else
		log_plain("%sReconnect to %s failed: %s; next attempt in %.1f s "
		    "(attempt %d)", cl->tag, cl->o->hostname, why,
		    (double)ms / 1000, cl->attempt);
	uv_timer_start(&cl->retry, retry_tick, ms, 0);
	set_state(cl, CLIENT_DOWN);
}

static const struct net_conn_ops conn_ops = {
	.event = on_event,
	.connected = on_connected,
	.input_done = on_input_done,
	.closed = on_closed,
};

/* Starts one connection attempt: everything per connection starts anew
 * (keys to offer, the agent); listeners and counters stay. */
static void
connect_now(struct client *cl)
{
	struct options *o = cl->o;

	cli_drop_agent(cl);
	cl->auth_waiting = false;
	cl->alive_missed = 0;
	if (o->identity_agent != NULL) {
		cl->agent = agent_open(cl->loop, o->identity_agent, cli_agent_ready,
		    cl);
		cl->agent_pending = cl->agent != NULL;
	}
	if (o->proxy_run != NULL)
		log_verbose("Executing proxy command: exec %s", o->proxy_run);
	else
		log_verbose("Connecting to %s port %s.", o->hostname,
		    cl->portstr);
	cl->nc = net_conn_start(cl->nl, &cl->nopts, &cl->cfg, &conn_ops, cl);
	cl->pumps.nc = cl->nc;
	if (cl->nc == NULL) {
		cli_stop(cl, EXIT_FAILURE_SSH, "out of memory");
		return;
	}
	set_state(cl, CLIENT_CONNECTING);
}

struct client *
client_new(struct net_loop *nl, struct options *o,
    const struct client_hooks *hooks, void *ud)
{
	uv_loop_t *loop;
	struct client *cl;
	int i;

	if ((cl = calloc(1, sizeof(*cl))) == NULL)
		return NULL;
	cl->o = o;
	cl->nl = nl;
	cl->loop = loop = nl->uv;
	cl->hooks = hooks;
	cl->hooks_ud = ud;
	cl->state = CLIENT_CONNECTING;
	cl->state_since = uv_now(loop);
	cl->pumps.on_empty = pumps_empty;
	cl->pumps.ud = cl;
	fwd_remote_set_init(&cl->remotes, &cl->pumps, loop);
	cl->remotes.permits = o->permit_remote_open;
	cl->remotes.npermits = o->npermit_remote_open;
	for (i = 0; i < o->nlocal; i++)
		if (cli_add_forward(cl, &o->local[i]) != 0)
			goto nomem;
	for (i = 0; i < o->nremote; i++)
		if (cli_add_forward(cl, &o->remote[i]) != 0)
			goto nomem;
	uv_timer_init(loop, &cl->alive);
	cl->alive.data = cl;
	uv_timer_init(loop, &cl->retry);
	cl->retry.data = cl;
	uv_timer_init(loop, &cl->rfwd_retry);
	cl->rfwd_retry.data = cl;
	uv_timer_init(loop, &cl->lfwd_retry);
	cl->lfwd_retry.data = cl;
	cl->handles_open = 4;
	cli_load_identities(cl);
	cl->hk_algs = cli_hostkey_algs(cl);
	cl->cfg.role = SSH_ROLE_CLIENT;
	cl->cfg.ciphers = o->ciphers;
	cl->cfg.macs = o->macs;
	cl->cfg.kex_algs = o->kex_algs;
	cl->cfg.pubkey_algs = o->pubkey_algs;
	cl->cfg.compression = o->compression ? ssh_comp_yes : ssh_comp_no;
	cl->cfg.hostkey_algs = cl->hk_algs;
	cl->cfg.rekey_bytes = (uint64_t)o->rekey_bytes;
	snprintf(cl->portstr, sizeof(cl->portstr), "%d", o->port);
	cl->nopts.host = o->hostname;
	cl->nopts.port = cl->portstr;
	cl->nopts.family = o->family;
	cl->nopts.connect_timeout_ms = (unsigned)o->connect_timeout * 1000;
	cl->nopts.rekey_interval_ms = (uint64_t)o->rekey_seconds * 1000;
	cl->nopts.tcp_keepalive = o->tcp_keepalive;
	cl->nopts.proxy_command = o->proxy_run;
	cl->nopts.src = &o->src;
	return cl;
nomem:
	client_free(cl);
	return NULL;
}

bool
client_retry_now(struct client *cl)
{
	bool any = false;

	if (cl->stopping)
		return false;
	if (uv_is_active((uv_handle_t *)&cl->retry)) {
		uv_timer_stop(&cl->retry);
		log_info("%sreconnecting now, as asked", cl->tag);
		retry_tick(&cl->retry);
		any = true;
	}
	return cli_retry_forwards_now(cl) || any;
}

void
client_name_logs(struct client *cl)
{
	snprintf(cl->tag, sizeof(cl->tag), "%s: ", cl->o->host);
	cl->remotes.tag = cl->tag;
}

void
client_start(struct client *cl)
{
	if (cl->o->server_alive_interval > 0)
		uv_timer_start(&cl->alive, alive_tick,
		    (uint64_t)cl->o->server_alive_interval * 1000,
		    (uint64_t)cl->o->server_alive_interval * 1000);
	connect_now(cl);
}

void
client_stop(struct client *cl, int code)
{
	cli_stop(cl, code, NULL);
}

/* Only once the done hook ran (or before client_start). */
void
client_free(struct client *cl)
{
	if (cl == NULL)
		return;
	cli_free_locals(cl);
	fwd_remote_set_free(&cl->remotes);
	cli_free_files(cl);
	wb_free(&cl->sigdata);
	free(cl->hk_algs);
	cli_hostkey_reset(cl);
	options_free(cl->o);
	free(cl->o);
	free(cl);
}

const char *
client_name(const struct client *cl)
{
	return cl->o->host;
}

bool
client_stopping(const struct client *cl)
{
	return cl->stopping;
}

const struct options *
client_options(const struct client *cl)
{
	return cl->o;
}

void
client_info(const struct client *cl, struct client_info *out)
{
	out->name = cl->o->host;
	out->hostname = cl->o->hostname;
	out->user = cl->o->user;
	out->port = cl->o->port;
	out->state = cl->state;
	out->since_s = (double)(uv_now(cl->loop) - cl->state_since) / 1000;
	out->reconnects = cl->reconnects;
	out->last_error = cl->last_error;
}

bool
client_settled(const struct client *cl)
{
	struct forward_info fi;
	int i;

	if (cl->state == CLIENT_CONNECTING)
		return cl->ever_up || cl->attempt > 0;
	if (cl->state != CLIENT_UP)
		return true;
	for (i = 0; client_forward_info(cl, i, &fi) == 0; i++)
		if (!fi.up && fi.error[0] == '\0')
			return false;
	return true;
}

bool
client_ready(const struct client *cl)
{
	struct forward_info fi;
	int i;

	if (cl->state != CLIENT_UP)
		return false;
	for (i = 0; client_forward_info(cl, i, &fi) == 0; i++)
		if (!fi.up)
			return false;
	return true;
}
