/* ferryd's remote forwards: tcpip-forward and
 * streamlocal-forward@openssh.com start a listener whose connections
 * become channels to the client; their cancels stop it; ReclaimForwards
 * hands one over from an older session of the same user and key. */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fwd/listener.h"
#include "fwd/slpath.h"
#include "server/registry.h"
#include "server/sess_int.h"
#include "util/log.h"

#define MAX_RFWD	64

/* A connection a listener of ours refused for a bound: counted with the
 * session's refusals (the listener logged it). */
static void
listener_refused(void *ud, const char *why)
{
	struct session *s = ud;

	sess_list_refusal(s, why);
}

/* A TCP forward's record in the registry goes (port 0 and paths have
 * none; a fleet-wide forward's is by the port it holds). */
static void
unclaim(struct session *s, const char *host, int port, int wide_port)
{
	if (wide_port > 0)
		sess_wide_release(s, wide_port);
	else if (port > 0)
		registry_release(s->list->reg, host, port, s->id);
}

/* A remote forward goes: its counters leave the listing, its slot is
 * filled by the last one, and its listener stops. */
void
sess_rfwd_drop(struct session *s, struct rfwd *f)
{
	struct fwd_listener *fl = f->fl;

	unclaim(s, f->req_host, f->req_port, f->wide_port);
	uv_mutex_lock(&s->list->lock);
	stats_flow_end(&s->flows, &s->pumps, f->flow);
	*f = s->rfwd[--s->nrfwd];
	uv_mutex_unlock(&s->list->lock);
	fwd_listener_stop(fl);
}

/* A forward's counters join the listing. */
static struct flow *
flow_add(struct session *s, enum flow_kind kind, const char *name, int port)
{
	struct flow *f;

	uv_mutex_lock(&s->list->lock);
	f = stats_flow_add(&s->flows, kind, name, port);
	uv_mutex_unlock(&s->list->lock);
	return f;
}

static void
flow_drop(struct session *s, struct flow *f)
{
	uv_mutex_lock(&s->list->lock);
	stats_flow_end(&s->flows, &s->pumps, f);
	uv_mutex_unlock(&s->list->lock);
}

/* Status shows where a remote forward's listener really is. */
static struct flow *
flow_placed(struct flow *f, const struct fwd_listener *fl)
{
	snprintf(f->where, sizeof(f->where), "%s", fwd_listener_where(fl));
	f->port = f->kind == FLOW_REMOTE_TCP ? fwd_listener_port(fl) : 0;
	return f;
}

static struct rfwd *
rfwd_find(struct session *s, const char *host, int port)
{
	int i;

	for (i = 0; i < s->nrfwd; i++)
		if (strcmp(s->rfwd[i].req_host, host) == 0 &&
		    (s->rfwd[i].req_port == port || (port >= 0 &&
		    s->rfwd[i].req_port >= 0 &&
		    fwd_listener_port(s->rfwd[i].fl) == port)))
			return &s->rfwd[i];
	return NULL;
}

/* Where a peer's path lands for this session's user (StreamLocalDirectory;
 * the rules are in fwd/slpath.h): the socket's directory as an O_PATH
 * descriptor, its name in p and its canonical path in canon. Returns the
 * descriptor, or -1 with the rule that refuses the path in why. */
int
sess_sl_place(struct session *s, const char *path, bool create,
    struct slpath *p, char *canon, size_t canonlen, char *why, size_t whylen)
{
	const char *tmpl = s->pol->cfg.streamlocal_dir;
	char root[SLPATH_ROOT_MAX], real[SLPATH_ROOT_MAX], link[64], e2[64];
	int rootfd = -1, dirfd, r;
	ssize_t n;

	if (strcasecmp(tmpl, "none") == 0)
		r = slpath_parse(NULL, path, strlen(path), p, why, whylen);
	else {
		if (slpath_expand(tmpl, ssh_auth_user(sess_ssh(s)), root,
		    sizeof(root), why, whylen) != 0)
			return -1;
		r = slpath_parse(root, path, strlen(path), p, why, whylen);
		if ((r == SLPATH_OK || r == SLPATH_OUTSIDE) && (rootfd =
		    slpath_root(root, create, r == SLPATH_OK ? why : e2,
		    r == SLPATH_OK ? whylen : sizeof(e2))) < 0)
			return -1;
		/* the directory's canonical spelling is inside it too */
		if (r == SLPATH_OUTSIDE && slpath_fd_path(rootfd, NULL, link,
		    sizeof(link)) == 0 && (n = readlink(link, real,
		    sizeof(real))) > 0 && (size_t)n < sizeof(real)) {
			real[n] = '\0';
			if (slpath_parse(real, path, strlen(path), p, e2,
			    sizeof(e2)) == SLPATH_OK)
				r = SLPATH_OK;
		}
	}
	if (r != SLPATH_OK) {
		if (rootfd >= 0)
			close(rootfd);
		return -1;
	}
	dirfd = slpath_dir(rootfd, p, why, whylen);
	if (rootfd >= 0)
		close(rootfd);
	if (dirfd >= 0)
		slpath_canon(dirfd, p->name, canon, canonlen);
	return dirfd;
}

/* Room for one more remote forward: under MaxListeners (and MAX_RFWD),
 * and a slot for it. Returns 0 or -1. */
static int
rfwd_room(struct session *s)
{
	struct rfwd *n;
	int cap;

	if (s->nrfwd >= MAX_RFWD || s->nrfwd >= s->pol->cfg.max_listeners)
		return -1;
	if (s->nrfwd < s->rfwd_cap)
		return 0;
	cap = s->rfwd_cap ? s->rfwd_cap * 2 : 2;
	if ((n = realloc(s->rfwd, (size_t)cap * sizeof(*n))) == NULL)
		return -1;
	s->rfwd = n;
	s->rfwd_cap = cap;
	return 0;
}

/* What a remote forward's listener is told: its channels' kind and name,
 * its counters and its bounds. s and label outlive the call. */
static void
rfwd_listener_cfg(struct session *s, struct fwd_listener_cfg *lc,
    enum pump_open kind, const char *name, int port, struct flow *flow,
    const char *label)
{
	lc->kind = kind;
	lc->name = name;
	lc->stats = &flow->st;
	lc->max_conns = (size_t)s->pol->cfg.max_forward_connections;
	lc->refused = listener_refused;
	lc->ud = s;
	lc->port = port;
	lc->all_or_nothing = true;
	lc->label = label;
}

/* The listener started: the session holds the forward in the slot
 * rfwd_room made, and the request succeeds. */
static void
rfwd_add(struct session *s, struct ssh_event *ev, const char *name,
    int port, int wide_port, struct fwd_listener *fl, struct flow *flow)
{
	struct rfwd *f;

	uv_mutex_lock(&s->list->lock);
	f = &s->rfwd[s->nrfwd++];
	snprintf(f->req_host, sizeof(f->req_host), "%s", name);
	f->req_port = port;
	f->wide_port = wide_port;
	f->fl = fl;
	f->flow = flow_placed(flow, fl);
	uv_mutex_unlock(&s->list->lock);
	ev->u.request.success = true;
}

/* The record of host:port (or of a fleet-wide port, then *wide its port
 * and *lport where to listen): 0 when s holds it, else the request is
 * refused or waits (sess_reclaim_tcp's, sess_wide_claim's answers). */
static int
rfwd_claim(struct session *s, struct ssh_event *ev, const char *host,
    int port, bool wide, int *wide_port, int *lport, const char *what)
{
	int r;

	*wide_port = 0;
	*lport = port;
	if (!wide)
		return sess_reclaim_tcp(s, ev, host, port, what);
	if ((r = sess_wide_claim(s, ev, host, lport, what)) == 0)
		*wide_port = *lport;
	return r;
}

static void
tcpip_forward(struct session *s, struct ssh_event *ev)
{
	struct sockaddr_storage addrs[FWD_MAX_ADDRS];
	struct fwd_listener_cfg lc;
	struct fwd_listener *fl;
	struct flow *flow;
	char host[256], why[400], label[400], line[800], said[1800];
	const char *addr;
	struct fwd_req req = { .kind = FWD_REQ_LISTEN_TCP };
	enum bind_scope scope;
	enum fwd_deny d;
	uint32_t port;
	struct rd r;
	int n = 0, wide_port, lport;
	bool wide;

	rd_init(&r, ev->u.request.extra, ev->u.request.extra_len);
	if (rd_cstring(&r, host, sizeof(host)) != 0 || rd_u32(&r, &port) != 0 ||
	    port > 65535) {
		sess_refuse(s, "malformed tcpip-forward request");
		return;
	}
	req.name = host;
	req.port = (int)port;
	req.want_reply = ev->u.request.want_reply;
	if ((d = fwd_srv_check(&s->rules, &s->ak, &req)) != FWD_OK) {
		sess_refuse_rule(s, d, &req);
		return;
	}
	if (rfwd_room(s) != 0) {
		sess_refuse(s, "remote forward \"%s\":%u: this session has %d "
		    "listeners, the most allowed", host, port, s->nrfwd);
		return;
	}
	if ((d = fwd_srv_bind(&s->rules, &req, &scope, &addr, why,
	    sizeof(why))) != FWD_OK) {
		sess_refuse_rule(s, d, &req);
		return;
	}
	wide = sess_wide_place(s, &scope, &addr);
	if (fwd_bind_addrs(scope, addr, AF_UNSPEC, addrs, &n, label,
	    sizeof(label)) != 0) {
		sess_refuse(s, "remote forward \"%s\":%u: %s", host, port,
		    label);
		return;
	}
	/* the registry's record, taken over from an older session if need
	 * be (then perhaps later: the request waits for another loop or for
	 * the fleet's registry) */
	snprintf(label, sizeof(label), "remote forward \"%s\":%u", host, port);
	if (rfwd_claim(s, ev, host, (int)port, wide, &wide_port, &lport,
	    label) != 0)
		return;
	snprintf(label, sizeof(label), "remote forward for %s from %s "
	    "(\"%s\":%u)", ssh_auth_user(sess_ssh(s)), s->ip, host, port);
	if ((flow = flow_add(s, FLOW_REMOTE_TCP, host, (int)port)) == NULL) {
		unclaim(s, host, (int)port, wide_port);
		sess_refuse(s, "remote forward \"%s\":%u: out of memory", host,
		    port);
		return;
	}
	rfwd_listener_cfg(s, &lc, OPEN_FORWARDED_TCPIP, host, -1, flow, label);
	fl = fwd_listener_start(s->loop, addrs, n, lport, &lc, &s->pumps,
	    line, sizeof(line));
	if (fl == NULL) {
		flow_drop(s, flow);
		unclaim(s, host, (int)port, wide_port);
		sess_refuse(s, "remote forward \"%s\":%u: %s", host, port,
		    line);
		return;
	}
	rfwd_add(s, ev, host, (int)port, wide_port, fl, flow);
	if (port == 0)
		wb_u32(ev->u.request.reply, (uint32_t)fwd_listener_port(fl));
	/* line: "" or why an address could not be bound */
	snprintf(said, sizeof(said), "Forwarding %s port %d to the client "
	    "(asked \"%s\":%u; %s%s)%s%s", fwd_listener_where(fl),
	    fwd_listener_port(fl), host, port, why, wide ? "; fleet-wide" :
	    "", line[0] ? "; " : "", line);
	log_info("%s: %s", ssh_auth_user(sess_ssh(s)), said);
	/* the client learns where it was bound and why (ferry shows it) */
	ssh_send_debug(sess_ssh(s), true, said);
	sess_note(s, said);
}

static void
cancel_forward(struct session *s, struct ssh_event *ev)
{
	char host[256], line[400];
	struct rfwd *f;
	uint32_t port;
	struct rd r;

	rd_init(&r, ev->u.request.extra, ev->u.request.extra_len);
	if (rd_cstring(&r, host, sizeof(host)) != 0 || rd_u32(&r, &port) != 0 ||
	    (f = rfwd_find(s, host, (int)port)) == NULL)
		return;
	snprintf(line, sizeof(line), "Cancelled forwarding of port %d",
	    fwd_listener_port(f->fl));
	log_info("%s: %s", ssh_auth_user(sess_ssh(s)), line);
	sess_rfwd_drop(s, f);
	ev->u.request.success = true;
	sess_note(s, line);
}

static void
streamlocal_forward(struct session *s, struct ssh_event *ev)
{
	struct fwd_listener_cfg lc;
	struct fwd_listener *fl;
	struct flow *flow;
	char path[SLPATH_MAX], canon[SLPATH_ROOT_MAX + SLPATH_MAX];
	char why[1200], label[400], line[SLPATH_ROOT_MAX + 600];
	struct fwd_req req = { .kind = FWD_REQ_LISTEN_UNIX };
	enum fwd_deny d;
	struct slpath p;
	struct stat st;
	struct rd r;
	int dirfd;

	rd_init(&r, ev->u.request.extra, ev->u.request.extra_len);
	if (rd_cstring(&r, path, sizeof(path)) != 0 || path[0] == '\0') {
		sess_refuse(s, "malformed streamlocal-forward request (the "
		    "path must be at most %d bytes)", SLPATH_MAX - 1);
		return;
	}
	req.name = path;
	if ((d = fwd_srv_check(&s->rules, &s->ak, &req)) != FWD_OK) {
		sess_refuse_rule(s, d, &req);
		return;
	}
	if (rfwd_room(s) != 0) {
		sess_refuse(s, "remote forward of socket %s: this session has "
		    "%d listeners, the most allowed", path, s->nrfwd);
		return;
	}
	if ((dirfd = sess_sl_place(s, path, true, &p, canon, sizeof(canon),
	    why, sizeof(why))) < 0) {
		sess_refuse(s, "remote forward of socket %s: %s", path, why);
		return;
	}
	snprintf(label, sizeof(label), "remote forward of socket %s", path);
	if (sess_reclaim_socket(s, ev, canon, fstatat(dirfd, p.name, &st,
	    AT_SYMLINK_NOFOLLOW) == 0 ? &st : NULL, label) != 0) {
		close(dirfd);
		return;
	}
	snprintf(label, sizeof(label), "remote forward for %s from %s "
	    "(socket %s)", ssh_auth_user(sess_ssh(s)), s->ip, path);
	if ((flow = flow_add(s, FLOW_REMOTE_UNIX, path, 0)) == NULL) {
		close(dirfd);
		sess_refuse(s, "remote forward of socket %s: out of memory",
		    path);
		return;
	}
	rfwd_listener_cfg(s, &lc, OPEN_FORWARDED_STREAMLOCAL, path, 0, flow,
	    label);
	fl = fwd_listener_start_unix_at(s->loop, dirfd, p.name, canon,
	    s->cc->streamlocal_bind_mask, s->cc->streamlocal_bind_unlink == 1,
	    &lc, &s->pumps, why, sizeof(why));
	close(dirfd);
	if (fl == NULL) {
		flow_drop(s, flow);
		sess_refuse(s, "remote forward of socket %s: %s", path, why);
		return;
	}
	rfwd_add(s, ev, path, -1, 0, fl, flow);
	if (strcmp(path, canon) == 0)
		snprintf(line, sizeof(line), "Forwarding socket %s to the "
		    "client", path);
	else
		snprintf(line, sizeof(line), "Forwarding socket %s (%s) to "
		    "the client", path, canon);
	log_info("%s: %s", ssh_auth_user(sess_ssh(s)), line);
	sess_note(s, line);
}

static void
cancel_streamlocal(struct session *s, struct ssh_event *ev)
{
	char path[SLPATH_MAX], line[400];
	struct rfwd *f;
	struct rd r;

	rd_init(&r, ev->u.request.extra, ev->u.request.extra_len);
	if (rd_cstring(&r, path, sizeof(path)) != 0 ||
	    (f = rfwd_find(s, path, -1)) == NULL)
		return;
	snprintf(line, sizeof(line), "Cancelled forwarding of socket %s",
	    path);
	log_info("%s: %s", ssh_auth_user(sess_ssh(s)), line);
	sess_rfwd_drop(s, f);
	ev->u.request.success = true;
	sess_note(s, line);
}

/* The global requests ferryd serves: the remote forwards. */
static const struct sess_handler global_requests[] = {
	{ "tcpip-forward", tcpip_forward },
	{ "cancel-tcpip-forward", cancel_forward },
	{ "streamlocal-forward@openssh.com", streamlocal_forward },
	{ "cancel-streamlocal-forward@openssh.com", cancel_streamlocal },
	{ NULL, NULL },
};

/* A global request: the remote forwards and their cancels; any other
 * is left to fail. */
void
sess_rfwd_request(struct session *s, struct ssh_event *ev)
{
	const struct sess_handler *h;

	if ((h = sess_handler_find(global_requests,
	    ev->u.request.name)) != NULL)
		h->fn(s, ev);
}

/* The connection closed: every listener stops. */
void
sess_rfwd_stop_all(struct session *s)
{
	struct fwd_listener *fl;
	struct rfwd *f;

	while (s->nrfwd > 0) {
		f = &s->rfwd[s->nrfwd - 1];
		unclaim(s, f->req_host, f->req_port, f->wide_port);
		uv_mutex_lock(&s->list->lock);
		fl = s->rfwd[--s->nrfwd].fl;
		uv_mutex_unlock(&s->list->lock);
		fwd_listener_stop(fl);
	}
}
