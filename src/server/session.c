/* A ferryd client connection: its lifetime (accept, the login grace and
 * keepalive timers, the close, the user's shared counters), the events of
 * its connection handed to the files that serve them, and what status
 * shows of it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keys/revoked.h"
#include "server/loops.h"
#include "server/sess_int.h"
#include "util/log.h"
#include "util/match.h"

void
server_policy_ref(struct server_policy *p)
{
	__atomic_add_fetch(&p->refs, 1, __ATOMIC_RELAXED);
}

void
server_policy_unref(struct server_policy *p)
{
	int i;

	/* the last reference may go on any loop */
	if (p == NULL || __atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	for (i = 0; i < p->nhostkeys; i++)
		key_free(p->hostkeys[i]);
	server_policy_free_hostcerts(p);
	revoked_free(p->revoked);
	etcd_tls_free(&p->cluster_tls);
	server_config_free(&p->cfg);
	free(p);
}

/* The engine of the session's connection. */
struct ssh_conn *
sess_ssh(struct session *s)
{
	return net_conn_ssh(s->nc);
}

/* Ends the connection: DISCONNECT with code and msg to the peer, why in
 * the log line that says it closed. */
void
sess_end(struct session *s, enum ssh_disc code, const char *msg,
    const char *why)
{
	ssh_disconnect(sess_ssh(s), code, msg);
	net_conn_close(s->nc, why);
}

/* The entry of table t for name, NULL if there is none. */
const struct sess_handler *
sess_handler_find(const struct sess_handler *t, const char *name)
{
	for (; t->name != NULL; t++)
		if (strcmp(t->name, name) == 0)
			return t;
	return NULL;
}

static void
session_free(struct session *s)
{
	int i;

	sess_list_remove(s);
	sess_greq_free(s);
	for (i = 0; i < s->nnotes; i++)
		free(s->notes[i]);
	free(s->ak_pending);
	free(s->ak.file);
	free(s->ak.open);
	free(s->ak.listen);
	free(s->rfwd);
	free(s->own_cc);
	server_policy_unref(s->pol);
	free(s);
}

/* The session goes once its connection, timers and every tunnelled
 * socket have let go of it (their close callbacks use it). */
static void
maybe_free(struct session *s)
{
	if (s->timers_open == 0 && s->nc_closed && s->pumps.count == 0)
		session_free(s);
}

static void
pumps_empty(void *ud)
{
	maybe_free(ud);
}

static void
timer_closed(uv_handle_t *h)
{
	struct session *s = h->data;

	s->timers_open--;
	maybe_free(s);
}

static void
grace_expired(uv_timer_t *t)
{
	struct session *s = t->data;
	char msg[160];

	if (s->authenticated)
		return;
	snprintf(msg, sizeof(msg), "Timeout before authentication for %s "
	    "port %d", s->ip, s->port);
	log_info("%s", msg);
	session_list_limit(s->list, LIM_LOGIN_GRACE_TIME);
	sess_end(s, SSH_DISC_PROTOCOL_ERROR, "Timeout before authentication",
	    msg);
}

/* ClientAliveInterval: a keepalive for each quiet interval; too many
 * unanswered ones end the connection, as sshd does. */
static void
alive_tick(uv_timer_t *t)
{
	struct session *s = t->data;

	/* ClientAliveCountMax 0 only probes, it never disconnects */
	if (++s->alive_missed > s->cc->client_alive_count_max &&
	    s->cc->client_alive_count_max > 0) {
		log_info("Timeout, client %s port %d not responding", s->ip,
		    s->port);
		sess_end(s, SSH_DISC_PROTOCOL_ERROR,
		    "Timeout, client not responding", "client not responding");
		return;
	}
	if (ssh_authenticated(sess_ssh(s)))
		ssh_global_request(sess_ssh(s), "keepalive@openssh.com", true,
		    NULL, 0, NULL);
}

/* ChannelTimeout's seconds for a channel type: the first pattern that
 * matches it (0: none). */
static unsigned
chan_idle_s(void *ud, const char *type)
{
	const struct server_conn_cfg *c = ((struct session *)ud)->cc;
	int i;

	for (i = 0; i < c->nchan_timeouts; i++)
		if (match_glob(c->chan_timeouts[i].type,
		    strlen(c->chan_timeouts[i].type), type))
			return (unsigned)c->chan_timeouts[i].secs;
	return 0;
}

static void	idle_tick(uv_timer_t *t);

/* Starts the idle timer for ms from now (0: nothing due; then the
 * shortest interval, so that a channel opened meanwhile is closed at
 * most that much after its time). */
static void
idle_arm(struct session *s, uint64_t ms)
{
	const struct server_conn_cfg *c = s->cc;
	uint64_t unused = (uint64_t)c->unused_connection_timeout * 1000, t;
	int i;

	for (i = 0; i < c->nchan_timeouts && ms == 0; i++)
		if ((t = (uint64_t)c->chan_timeouts[i].secs * 1000) > 0 &&
		    (unused == 0 || t < unused))
			unused = t;
	if (ms == 0)
		ms = unused;
	if (ms > 0)
		uv_timer_start(&s->idle, idle_tick, ms < 1000 ? 1000 : ms, 0);
}

/* Idle channels are closed (ChannelTimeout); a connection without a
 * channel for UnusedConnectionTimeout is ended. */
static void
idle_tick(uv_timer_t *t)
{
	struct session *s = t->data;
	uint64_t now = uv_now(s->loop), next, unused;

	if (s->closing)
		return;
	next = pump_expire_idle(&s->pumps, now, chan_idle_s, s);
	unused = (uint64_t)s->cc->unused_connection_timeout * 1000;
	if (s->pumps.count > 0 || s->session_chan != SESSION_CHAN_NONE)
		s->unused_since = now;
	else if (unused > 0 && now - s->unused_since >= unused) {
		log_info("Connection from %s port %d for %s has had no channel "
		    "for %llu s: closing (UnusedConnectionTimeout)", s->ip,
		    s->port, ssh_auth_user(sess_ssh(s)),
		    (unsigned long long)(now - s->unused_since) / 1000);
		sess_end(s, SSH_DISC_BY_APPLICATION, "unused connection "
		    "timeout", "unused connection timeout");
		return;
	} else if (unused > 0)
		next = next == 0 || unused - (now - s->unused_since) < next ?
		    unused - (now - s->unused_since) : next;
	idle_arm(s, next);
}

/* The client logged in: its user's shared counters, the rules of its
 * key's line, and ClientAlive in place of LoginGraceTime. */
static void
auth_success(struct session *s)
{
	if (sess_list_logged_in(s) == 0)
		s->pumps.user = &s->user->u;
	sess_direct_init(s);
	uv_timer_stop(&s->grace);
	/* ClientAlive watches authenticated clients (sshd's rule) */
	if (s->cc->client_alive_interval > 0)
		uv_timer_start(&s->alive, alive_tick,
		    (uint64_t)s->cc->client_alive_interval * 1000,
		    (uint64_t)s->cc->client_alive_interval * 1000);
	if (s->user == NULL || sess_auth_keep(s) != 0) {
		sess_end(s, SSH_DISC_BY_APPLICATION, "out of memory",
		    "out of memory");
		return;
	}
	s->unused_since = uv_now(s->loop);
	idle_arm(s, 0);
}

/* MaxCompressedSessions: compression is offered while fewer sessions
 * hold a slot than the bound; a session holds one from the offer until
 * its first key exchange shows that neither direction compresses, or
 * until it goes. zlib's state and the inflate store (about 0.8 MiB) are
 * made only for a slot holder that authenticates, so at most that many
 * sessions hold them. */
static bool
compress_offer(struct session *s)
{
	const struct server_config *c = &s->pol->cfg;

	if (!c->compression)
		return false;
	uv_mutex_lock(&s->list->lock);
	if (s->list->compress_slots < c->max_compressed) {
		s->compress_slot = true;
		s->list->compress_slots++;
	}
	uv_mutex_unlock(&s->list->lock);
	return s->compress_slot;
}

static void
compress_declined(struct session *s)
{
	struct ssh_conn *c = sess_ssh(s);

	if (!s->compress_slot || strcmp(ssh_comp_name(c, true), "none") != 0 ||
	    strcmp(ssh_comp_name(c, false), "none") != 0)
		return;
	uv_mutex_lock(&s->list->lock);
	s->compress_slot = false;
	s->list->compress_slots--;
	uv_mutex_unlock(&s->list->lock);
}

/* The connection's own events; the channels' go straight to their
 * handlers (net/chan.h). */
static void
on_event(void *ud, struct ssh_event *ev)
{
	struct session *s = ud;

	switch (ev->type) {
	case SSH_EV_AUTH_REQUEST:
		sess_auth_request(s, ev);
		break;
	case SSH_EV_AUTH_SUCCESS:
		auth_success(s);
		break;
	case SSH_EV_GLOBAL_REQUEST:
		sess_rfwd_request(s, ev);
		break;
	case SSH_EV_CHAN_OPEN_REQUEST:
		sess_open_request(s, ev);
		break;
	case SSH_EV_KEX_DONE:
		compress_declined(s);
		break;
	default:
		break;
	}
}

static void
on_input_done(void *ud)
{
	struct session *s = ud;
	const char *asked;

	s->alive_missed = 0;
	/* for the log at its close (the engine is gone by then) */
	if (!s->greeted)
		s->greeted = ssh_peer_version(sess_ssh(s))[0] != '\0';
	/* a request of another method (none, password) names the user too:
	 * sshd judges it at the first request, whatever its method */
	if (s->user_state == SESS_USER_UNSEEN && !s->authenticated &&
	    (asked = ssh_auth_user_asked(sess_ssh(s)))[0] != '\0')
		sess_auth_judge(s, asked);
}

static void
on_closed(void *ud, enum net_end end, const char *why)
{
	struct session *s = ud;

	sess_set_closing(s, true);
	s->nc_closed = true;
	sess_akc_end(s);
	sess_apc_end(s);
	sess_rfwd_stop_all(s);
	if (!s->authenticated && end == NET_END_NEGOTIATION)
		log_error("Unable to negotiate with %s port %d: %s [preauth]",
		    s->ip, s->port, why);	/* sshd's words */
	else {
		/* ferryd's line first: sshd's closing lines end what log
		 * readers (fail2ban) keep of the connection */
		log_info("Connection from %s port %d closed: %s", s->ip,
		    s->port, why[0] ? why : "closed");
		sess_auth_log_close(s, end, why);
	}
	if (!uv_is_closing((uv_handle_t *)&s->grace))
		uv_close((uv_handle_t *)&s->grace, timer_closed);
	if (!uv_is_closing((uv_handle_t *)&s->alive))
		uv_close((uv_handle_t *)&s->alive, timer_closed);
	if (!uv_is_closing((uv_handle_t *)&s->idle))
		uv_close((uv_handle_t *)&s->idle, timer_closed);
}

struct srv_loop *
session_home(const struct session *s)
{
	return s->home;
}

void
session_abandon(struct session *s)
{
	session_free(s);
}

int
session_start(struct session *s, uv_os_sock_t fd)
{
	static const struct net_conn_ops ops = {
		.event = on_event,
		.input_done = on_input_done,
		.closed = on_closed,
	};
	struct server_policy *pol = s->pol;
	struct ssh_config cfg;
	char lip[64];
	int lport;

	s->loop = s->home->uv;
	s->cc = &pol->conn;
	s->session_chan = SESSION_CHAN_NONE;
	memset(&cfg, 0, sizeof(cfg));
	cfg.role = SSH_ROLE_SERVER;
	cfg.hostkeys = pol->hostkeys;
	cfg.nhostkeys = (size_t)pol->nhostkeys;
	cfg.hostcerts = pol->hostcerts, cfg.nhostcerts = (size_t)pol->nhostcerts;
	cfg.max_auth_tries = (unsigned)pol->cfg.max_auth_tries;
	cfg.ciphers = pol->cfg.ciphers;
	cfg.macs = pol->cfg.macs;
	cfg.compression = compress_offer(s) ? ssh_comp_no : "none";
	cfg.kex_algs = pol->cfg.kex_algs;
	cfg.hostkey_algs = pol->cfg.hostkey_algs;
	cfg.pubkey_algs = pol->cfg.pubkey_algs;
	cfg.banner = pol->conn.banner_text;	/* the session's policy */
	uv_timer_init(s->loop, &s->grace);
	uv_timer_init(s->loop, &s->alive);
	uv_timer_init(s->loop, &s->idle);
	s->grace.data = s->alive.data = s->idle.data = s;
	s->timers_open = 3;
	if ((s->nc = net_conn_accept(&s->home->nl, fd, &cfg, &ops,
	    s)) == NULL) {
		s->nc_closed = true;
		uv_close((uv_handle_t *)&s->grace, timer_closed);
		uv_close((uv_handle_t *)&s->alive, timer_closed);
		uv_close((uv_handle_t *)&s->idle, timer_closed);
		return -1;
	}
	s->pumps.nc = s->nc;
	s->pumps.on_empty = pumps_empty;
	s->pumps.ud = s;
	s->pumps.all = &s->list->all;
	s->pumps.lim = &s->lim;
	s->lim.user_chans = (size_t)pol->cfg.max_user_channels;
	s->lim.user_pending = (size_t)pol->cfg.max_pending_connects;
	s->lim.fd_budget = s->list->fd_budget;
	s->lim.connect_timeout_ms = (unsigned)pol->cfg.forward_connect_timeout *
	    1000;
	if (net_conn_local(s->nc, lip, sizeof(lip), &lport) == 0)
		log_verbose("Connection from %s port %d on %s port %d", s->ip,
		    s->port, lip, lport);
	else
		log_verbose("Connection from %s port %d", s->ip, s->port);
	if (pol->cfg.compression && !s->compress_slot)
		log_verbose("Compression not offered to %s port %d: "
		    "MaxCompressedSessions (%d) reached", s->ip, s->port,
		    pol->cfg.max_compressed);
	if (sess_match_apply(s, NULL) != 0) {
		sess_set_closing(s, false);
		net_conn_close(s->nc, "out of memory");
		return 0;
	}
	if (pol->cfg.login_grace_time > 0)
		uv_timer_start(&s->grace, grace_expired,
		    (uint64_t)pol->cfg.login_grace_time * 1000, 0);
	return 0;
}

const struct session *
session_next(const struct session_list *list, const struct session *prev)
{
	return prev == NULL ? list->head : prev->next;
}

void
session_view(const struct session *s, struct session_view *v)
{
	v->user = s->user != NULL ? s->user->name : "";
	v->key_fp = s->authenticated ? s->key_fp : "";
	v->ip = s->ip;
	v->port = s->port;
	v->since = s->since;
	v->authenticated = s->authenticated;
	v->loop = s->home->index;
	v->flows = &s->flows;
}
