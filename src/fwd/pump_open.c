/* Creating pumps: accepting a listener's connection and opening its
 * channel, or connecting out for a channel the peer opened. */
#include "pump_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/connector.h"
#include "util/log.h"

/* A new pump on the set, its socket initialised, attached to the
 * connection with the plain pump's handlers. */
struct pump *
pump_new(struct pump_set *set, uv_loop_t *loop, bool pipe, const char *label,
    struct fwd_stats *stats)
{
	struct pump *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->set = set;
	if ((p->stats = stats) != NULL) {
		FWD_ADD(stats->conns, 1);
		FWD_ADD(stats->open, 1);
	}
	snprintf(p->label, sizeof(p->label), "%s", label);
	if (pipe)
		uv_pipe_init(loop, &p->sock.pipe, 0);
	else
		uv_tcp_init(loop, &p->sock.tcp);
	p->sock.h.data = p;
	p->out = &p->sock.s;
	p->active_ms = uv_now(loop);
	if (set->nc != NULL)
		net_conn_attach(set->nc, &p->nch, &pump_chan_ops);
	p->next = set->head;
	if (set->head != NULL)
		set->head->prev = p;
	set->head = p;
	set->count++;
	if (set->user != NULL)
		FWD_ADD(set->user->chans, 1);
	if (set->all != NULL)
		FWD_ADD(set->all->fds, 1);
	return p;
}

bool
pump_admit(const struct pump_set *set, bool connect, char *why,
    size_t whylen)
{
	const struct fwd_limits *l = set->lim;

	if (l == NULL || set->user == NULL || set->all == NULL)
		return true;
	if (l->user_chans > 0 && FWD_GET(set->user->chans) >= l->user_chans)
		snprintf(why, whylen, "MaxUserChannels %zu reached for this "
		    "user", l->user_chans);
	else if (connect && l->user_pending > 0 && set->pending == 0 &&
	    FWD_GET(set->user->pending) >= l->user_pending)
		snprintf(why, whylen, "MaxPendingConnects %zu reached for this "
		    "user", l->user_pending);
	else if (l->fd_budget > 0 && FWD_GET(set->all->fds) >= l->fd_budget)
		snprintf(why, whylen, "descriptor reserve: %zu descriptors in "
		    "use by tunnels, the rest is kept for logins",
		    FWD_GET(set->all->fds));
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

int
pump_open_channel(struct pump *p, const struct pump_target *t,
    const char *ip, uint32_t oport)
{
	const char *type;
	struct wb extra;
	int id;

	if (!tunnel_up(p->set))
		return -1;
	wb_init(&extra);
	type = p->type = open_extra(&extra, t, ip, oport);
	id = extra.err ? -1 : ssh_chan_open(net_conn_ssh(p->set->nc), type,
	    extra.p, extra.len, &p->nch);
	wb_free(&extra);
	if (id < 0)
		return -1;
	p->chan = (uint32_t)id;
	p->has_chan = true;
	return 0;
}

/* An accepted TCP socket: no Nagle delay; its peer address, for logs
 * and the channel open. */
static void
tcp_accepted(struct pump *p, char *ip, size_t iplen, uint32_t *oport)
{
	struct sockaddr_storage ss;
	int sslen = sizeof(ss);

	uv_tcp_nodelay(&p->sock.tcp, 1);
	if (uv_tcp_getpeername(&p->sock.tcp, (struct sockaddr *)&ss,
	    &sslen) == 0) {
		uv_ip_name((struct sockaddr *)&ss, ip, iplen);
		*oport = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
	}
}

int
pump_accept(struct pump_set *set, uv_stream_t *server,
    const struct pump_target *t, const char *label)
{
	struct pump *p;
	char ip[64] = "127.0.0.1";
	uint32_t oport = 65535;	/* a Unix socket's peer, as ssh reports */
	bool pipe = server->type == UV_NAMED_PIPE;

	if ((p = pump_new(set, server->loop, pipe, label, t->stats)) == NULL)
		return -1;
	if (uv_accept(server, &p->sock.s) != 0) {
		pump_close(p, false);
		return -1;
	}
	if (!pipe)
		tcp_accepted(p, ip, sizeof(ip), &oport);
	log_verbose("%s: connection from %s port %u", label, ip, oport);
	if (!tunnel_up(set)) {
		/* a reset the application sees at once, not a hang */
		log_info("%s: connection from %s port %u reset: the tunnel is "
		    "down", label, ip, oport);
		pump_close(p, true);
		return -1;
	}
	if (t->kind == OPEN_SOCKS)
		return pump_socks_socket(p, ip, oport);
	if (pump_open_channel(p, t, ip, oport) != 0) {
		log_info("%s: cannot open a channel", label);
		pump_close(p, true);
		return -1;
	}
	return 0;
}

/* An outbound connect starts: it counts as pending for the user. Returns
 * the set's deadline for it (0: none). */
static unsigned
connect_begin(struct pump *p, void (*connected)(struct pump *, int))
{
	const struct fwd_limits *l = p->set->lim;

	p->connecting = true;
	p->connected = connected;
	p->set->pending++;
	if (p->set->user != NULL)
		FWD_ADD(p->set->user->pending, 1);
	return l != NULL ? l->connect_timeout_ms : 0;
}

/* Whether the user's connects in progress are at MaxPendingConnects. */
static bool
at_limit(const struct pump_set *set)
{
	const struct fwd_limits *l = set->lim;

	return l != NULL && set->user != NULL && l->user_pending > 0 &&
	    FWD_GET(set->user->pending) >= l->user_pending;
}

static void
enqueue(struct pump *p, const char *host, uint32_t port,
    void (*connected)(struct pump *, int))
{
	struct pump_set *set = p->set;

	p->connected = connected;
	if ((p->qhost = strdup(host)) == NULL) {
		connected(p, UV_ENOMEM);
		return;
	}
	p->qport = port;
	p->queued = true;
	p->qnext = NULL;
	if (set->qtail != NULL)
		set->qtail->qnext = p;
	else
		set->qhead = p;
	set->qtail = p;
}

static struct pump *
dequeue(struct pump_set *set)
{
	struct pump *p = set->qhead;

	if ((set->qhead = p->qnext) == NULL)
		set->qtail = NULL;
	p->queued = false;
	p->qnext = NULL;
	return p;
}

/* A connect of the set ended: the waiting ones start while the user is
 * under the bound; with none of the set's own left to wait for, they
 * are refused rather than left waiting for others' (no wake-up comes). */
static void
start_waiting(struct pump_set *set)
{
	struct pump *p;
	char *host;

	if (set->dequeuing)	/* a start below failed at once */
		return;
	set->dequeuing = true;
	while (set->qhead != NULL && (!at_limit(set) || set->pending == 0)) {
		p = dequeue(set);
		host = p->qhost;
		p->qhost = NULL;
		if (at_limit(set)) {
			p->why = "MaxPendingConnects reached for this user";
			p->connected(p, UV_EBUSY);
		} else
			pump_start_connect(p, host, p->qport, p->connected);
		free(host);
	}
	set->dequeuing = false;
}

/* A waiting pump closes: it leaves the queue. */
static void
unqueue(struct pump *p)
{
	struct pump_set *set = p->set;
	struct pump **pp;

	for (pp = &set->qhead; *pp != NULL && *pp != p; pp = &(*pp)->qnext)
		;
	if (*pp != NULL)
		*pp = p->qnext;
	if (set->qtail == p) {
		for (set->qtail = set->qhead; set->qtail != NULL &&
		    set->qtail->qnext != NULL; set->qtail = set->qtail->qnext)
			;
	}
	p->queued = false;
	free(p->qhost);
	p->qhost = NULL;
}

/* The connect is over: done, failed, timed out or abandoned. */
void
pump_connect_over(struct pump *p)
{
	if (p->queued) {
		unqueue(p);
		return;
	}
	if (!p->connecting)
		return;
	p->connecting = false;
	p->set->pending--;
	if (p->set->user != NULL)
		FWD_SUB(p->set->user->pending, 1);
	if (p->connector != NULL) {
		connector_cancel(p->connector);
		p->connector = NULL;
	}
	start_waiting(p->set);
}

static void
connect_end(struct pump *p, int status)
{
	pump_connect_over(p);
	p->connected(p, status);
}

/* The channel the peer opened is answered only now that we know whether
 * the connect worked (DESIGN.md: confirm after the connect succeeded). */
static void
connect_done(struct pump *p, int status)
{
	struct ssh_conn *ssh = pump_ssh(p);
	char msg[160];

	if (status < 0) {
		/* the client prefixes "connect failed" from the reason */
		snprintf(msg, sizeof(msg), "%s", p->why != NULL ? p->why :
		    p->timed_out ? "connect timed out" : uv_strerror(status));
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
	pump_start_reading(p);
}

static void
connector_done(void *ud, enum connector_stage stage, int err)
{
	struct pump *p = ud;

	p->connector = NULL;
	p->timed_out = stage == CONNECTOR_TIMEOUT;
	connect_end(p, err);
}

/* Resolves (literals at once, names through the thread pool) and
 * connects p's socket; connected is called when that is over. */
void
pump_start_connect(struct pump *p, const char *host, uint32_t port,
    void (*connected)(struct pump *, int))
{
	unsigned ms;
	char portstr[16];
	int r;

	/* past MaxPendingConnects, after one of the set's own */
	if (at_limit(p->set) && p->set->pending > 0) {
		enqueue(p, host, port, connected);
		return;
	}
	ms = connect_begin(p, connected);
	snprintf(portstr, sizeof(portstr), "%u", port);
	if ((r = connector_tcp(&p->connector, &p->sock.tcp, host, portstr,
	    AF_UNSPEC, NULL, ms, connector_done, p)) < 0)
		connect_end(p, r);
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
	p->type = "direct-tcpip";
	pump_start_connect(p, host, port, connect_done);
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
	p->type = "direct-streamlocal@openssh.com";
	ms = connect_begin(p, connect_done);
	if ((r = connector_unix(&p->connector, &p->sock.pipe, path, ms,
	    connector_done, p)) < 0)
		connect_end(p, r);
	return 0;
}
