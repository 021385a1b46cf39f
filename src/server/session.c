/* A ferryd client connection. */
#include "session.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fwd/listener.h"
#include "fwd/policy.h"
#include "fwd/pump.h"
#include "fwd/slpath.h"
#include "fwd/spec.h"
#include "keys/authkeys.h"
#include "net/conn.h"
#include "util/log.h"
#include "util/tokens.h"

#define MAX_RFWD	64
/* Channels one connection may hold open at once (a per-session bound on
 * the sockets and buffers a client can make ferryd keep). */
#define MAX_CHANNELS	4096
#define MAX_NOTES	32
#define SESSION_CHAN_NONE UINT32_MAX

/* A remote forward this session holds. */
struct rfwd {
	char			 req_host[256];	/* as the client sent it */
	int			 req_port;	/* -1: req_host is a path */
	struct fwd_listener	*fl;
	struct flow		*flow;		/* its counters (s->flows) */
};

/* Owned by the session list; freed once its net_conn and timers closed. */
struct session {
	struct session		*next;
	struct session		*prev;
	struct session_list	*list;
	struct server_policy	*pol;
	uv_loop_t		*loop;
	struct net_conn		*nc;
	struct pump_set		 pumps;
	struct fwd_limits	 lim;		/* the pumps' bounds */
	struct fwd_srv_rules	 rules;		/* pol's, for the decisions */
	struct user_usage	*user;		/* once authenticated */
	uv_timer_t		 grace;
	uv_timer_t		 alive;
	int			 timers_open;
	bool			 nc_closed;
	int			 alive_missed;
	bool			 authenticated;
	bool			 closing;
	char			 ip[64];
	int			 port;
	struct fwd_key_rules	 ak;		/* the key that logged in */
	char			 key_fp[128];	/* its fingerprint */
	struct ak_opts		*ak_pending;	/* the key being tried */
	struct rfwd		*rfwd;
	int			 nrfwd;
	int			 rfwd_cap;
	char			*notes[MAX_NOTES];	/* what to tell a shell */
	int			 nnotes;
	uint32_t		 session_chan;
	struct net_chan		 session_nch;	/* its handler */
	bool			 shell;		/* the session channel shows */
	time_t			 since;
	struct flow_list	 flows;		/* status: forwards, traffic */
};

void
server_policy_ref(struct server_policy *p)
{
	p->refs++;
}

void
server_policy_unref(struct server_policy *p)
{
	int i;

	if (p == NULL || --p->refs > 0)
		return;
	for (i = 0; i < p->nhostkeys; i++)
		key_free(p->hostkeys[i]);
	server_config_free(&p->cfg);
	free(p);
}

static struct ssh_conn *
sess_ssh(struct session *s)
{
	return net_conn_ssh(s->nc);
}

/* The user's shared counters, made at its first login. */
static struct user_usage *
user_get(struct session_list *list, const char *name)
{
	struct user_usage *u;

	for (u = list->users; u != NULL; u = u->next)
		if (strcmp(u->name, name) == 0)
			break;
	if (u == NULL) {
		if ((u = calloc(1, sizeof(*u))) == NULL)
			return NULL;
		snprintf(u->name, sizeof(u->name), "%s", name);
		u->next = list->users;
		list->users = u;
	}
	u->refs++;
	return u;
}

static void
user_put(struct session_list *list, struct user_usage *u)
{
	struct user_usage **pp;

	if (u == NULL || --u->refs > 0)
		return;
	for (pp = &list->users; *pp != u; pp = &(*pp)->next)
		;
	*pp = u->next;
	free(u);
}

static void
session_free(struct session *s)
{
	int i;

	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		s->list->head = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	s->list->count--;
	s->list->all.fds--;
	if (!s->authenticated)
		s->list->unauthenticated--;
	user_put(s->list, s->user);
	stats_flows_free(&s->flows, &s->list->stats);
	for (i = 0; i < s->nnotes; i++)
		free(s->notes[i]);
	free(s->ak_pending);
	free(s->ak.file);
	free(s->ak.open);
	free(s->ak.listen);
	free(s->rfwd);
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

/* Writes a line to the client's session channel if one shows output. */
static void
to_shell(struct session *s, const char *line)
{
	struct ssh_conn *ssh = sess_ssh(s);
	size_t n = strlen(line);

	if (!s->shell || s->session_chan == SESSION_CHAN_NONE ||
	    ssh_chan_sendable(ssh, s->session_chan) < n + 2)
		return;
	ssh_chan_send(ssh, s->session_chan, (const uint8_t *)line, n);
	ssh_chan_send(ssh, s->session_chan, (const uint8_t *)"\r\n", 2);
}

/* Keeps a line for the forwards listing and shows it if a shell is up. */
static void
note(struct session *s, const char *line)
{
	if (s->nnotes == MAX_NOTES) {
		free(s->notes[0]);
		memmove(s->notes, s->notes + 1, (MAX_NOTES - 1) *
		    sizeof(s->notes[0]));
		s->nnotes--;
	}
	if ((s->notes[s->nnotes] = strdup(line)) != NULL)
		s->nnotes++;
	to_shell(s, line);
}

/* Every refused forward: logged at info with its rule, sent to the client
 * as SSH_MSG_DEBUG (ssh -v shows it), and kept for the listing. */
static void __attribute__((format(printf, 2, 3)))
refuse(struct session *s, const char *fmt, ...)
{
	char msg[600], line[700];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_info("refused for %s from %s port %d: %s",
	    ssh_auth_user(sess_ssh(s)) ? ssh_auth_user(sess_ssh(s)) : "?",
	    s->ip, s->port, msg);
	stats_refusal(&s->list->stats, ssh_auth_user(sess_ssh(s)), s->ip,
	    s->port, msg);
	ssh_send_debug(sess_ssh(s), msg);
	snprintf(line, sizeof(line), "Refused: %s", msg);
	note(s, line);
}

/* A connection a listener of ours refused for a bound: counted with the
 * session's refusals (the listener logged it). */
static void
listener_refused(void *ud, const char *why)
{
	struct session *s = ud;

	stats_refusal(&s->list->stats, ssh_auth_user(sess_ssh(s)), s->ip,
	    s->port, why);
}

static void
ak_warn(void *ud, const char *file, int line, const char *why)
{
	(void)ud;
	log_info("%s line %d: %s", file, line, why);
}

/* One AuthorizedKeysFile entry with %u, %h and %% expanded; %h and a
 * relative path mean StateDirectory (ferryd has no home directories).
 * "none" names no file. */
static int
keys_path(const struct server_config *c, const char *tmpl, const char *user,
    char *out, size_t outlen)
{
	struct tokens t;
	char exp[1024], err[128];

	if (strcasecmp(tmpl, "none") == 0)
		return -1;
	tokens_init(&t);
	tokens_set(&t, 'u', user);
	tokens_set(&t, 'h', c->state_dir);
	if (tokens_expand(tmpl, &t, exp, sizeof(exp), err, sizeof(err)) < 0)
		return -1;
	if ((size_t)snprintf(out, outlen, "%s%s%s", exp[0] == '/' ? "" :
	    c->state_dir, exp[0] == '/' ? "" : "/", exp) >= outlen)
		return -1;
	return 0;
}

/* A user name is a label: it must not be able to name another file. */
static bool
user_ok(const char *u)
{
	return u[0] != '\0' && u[0] != '.' && strchr(u, '/') == NULL &&
	    strlen(u) < 64;
}

static void
auth_request(struct session *s, struct ssh_event *ev)
{
	const char *user = ev->u.auth_request.user;
	const struct server_config *c = &s->pol->cfg;
	char path[1024], tried[1100] = "", err[256], fp[128];
	int r = 0, i;

	ev->u.auth_request.allow = false;
	key_fingerprint(ev->u.auth_request.key, fp, sizeof(fp));
	if (!user_ok(user)) {
		log_info("invalid user name from %s port %d", s->ip, s->port);
		return;
	}
	if (!ssh_algs_has(c->pubkey_algs, ev->u.auth_request.alg)) {
		log_info("refused publickey for %s from %s port %d: %s %s: "
		    "signature algorithm %s not in PubkeyAcceptedAlgorithms",
		    user, s->ip, s->port,
		    key_type_name(ev->u.auth_request.key), fp,
		    ev->u.auth_request.alg);
		return;
	}
	if (s->ak_pending == NULL &&
	    (s->ak_pending = malloc(sizeof(*s->ak_pending))) == NULL)
		return;
	for (i = 0; i < c->nauthorized_keys && r != 1; i++) {
		if (keys_path(c, c->authorized_keys[i], user, path,
		    sizeof(path)) != 0)
			continue;
		snprintf(tried + strlen(tried), sizeof(tried) - strlen(tried),
		    "%s%s", tried[0] ? ", " : "", path);
		memset(s->ak_pending, 0, sizeof(*s->ak_pending));
		r = ak_find_file(path, ev->u.auth_request.key, s->ip,
		    s->ak_pending, ak_warn, s, err, sizeof(err));
		if (r < 0)
			log_info("%s", err);
	}
	if (r != 1) {
		if (ev->u.auth_request.has_sig)
			log_info("Failed publickey for %s from %s port %d: %s "
			    "%s not in %s", user, s->ip, s->port,
			    key_type_name(ev->u.auth_request.key), fp,
			    tried[0] ? tried : "any file (AuthorizedKeysFile "
			    "none)");
		return;
	}
	ev->u.auth_request.allow = true;
	if (ev->u.auth_request.has_sig)
		snprintf(s->key_fp, sizeof(s->key_fp), "%s", fp);
	if (ev->u.auth_request.has_sig)
		log_info("Accepted publickey for %s from %s port %d: %s %s "
		    "(%s line %d)", user, s->ip, s->port,
		    key_type_name(ev->u.auth_request.key), fp,
		    s->ak_pending->file, s->ak_pending->line);
}

/* A permission list of authorized_keys in the policy's terms. */
static struct fwd_permit *
ak_permits(const struct ak_permit *v, int n)
{
	struct fwd_permit *out;
	int i;

	if (n == 0 || (out = calloc((size_t)n, sizeof(*out))) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		memcpy(out[i].host, v[i].host, sizeof(out[i].host));
		out[i].host[sizeof(out[i].host) - 1] = '\0';
		out[i].port = v[i].port;
	}
	return out;
}

/* Keeps what the successful key's line allows; the bulky parse result
 * goes. Returns 0 or -1 (out of memory). */
static int
keep_rules(struct session *s)
{
	struct ak_opts *a = s->ak_pending;
	struct fwd_key_rules *k = &s->ak;

	k->port_forwarding = a->port_forwarding;
	k->restricted = a->restricted;
	k->line = a->line;
	k->file = strdup(a->file);
	k->open = ak_permits(a->open, a->nopen);
	k->nopen = a->nopen;
	k->listen = ak_permits(a->listen, a->nlisten);
	k->nlisten = a->nlisten;
	free(s->ak_pending);
	s->ak_pending = NULL;
	if (k->file == NULL || (k->nopen > 0 && k->open == NULL) ||
	    (k->nlisten > 0 && k->listen == NULL))
		return -1;
	return 0;
}

/* A forward the policy refused: rule d, told as refuse() tells. */
static void
refuse_rule(struct session *s, enum fwd_deny d, const struct fwd_req *req)
{
	char msg[1024];

	fwd_deny_text(d, &s->rules, &s->ak, req, msg, sizeof(msg));
	refuse(s, "%s", msg);
}

/* A remote forward goes: its listener stops, its counters leave the
 * listing, and its slot is filled by the last one. */
static void
rfwd_drop(struct session *s, struct rfwd *f)
{
	fwd_listener_stop(f->fl);
	stats_flow_end(&s->flows, &s->pumps, f->flow);
	*f = s->rfwd[--s->nrfwd];
}

/* Status shows where a remote forward's listener really is. */
static struct flow *
flow_placed(struct flow *f, const struct fwd_listener *fl)
{
	snprintf(f->where, sizeof(f->where), "%s", fwd_listener_where(fl));
	f->port = f->kind == FLOW_REMOTE_TCP ? fwd_listener_port(fl) : 0;
	return f;
}

/* What a direct-* connection counts into (NULL: nothing, out of
 * memory). */
static struct fwd_stats *
direct_stats(struct session *s, enum flow_kind kind, const char *where,
    int port)
{
	struct flow *f = stats_flow_direct(&s->flows, kind, where, port);

	return f != NULL ? &f->st : NULL;
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

/* ReclaimForwards: the remote forward o->rfwd[i], which another session
 * holds, goes to this one if both logged in as the same user with the
 * same key; a client that reconnects gets its listener back at once
 * instead of waiting for the stale session to time out. Returns 0 when
 * it was taken over, -1 when the request was refused (and the reason
 * told). */
static int
take_over(struct session *s, struct session *o, int i, const char *what)
{
	const char *user = ssh_auth_user(sess_ssh(s));

	{
		if (!s->pol->cfg.reclaim_forwards) {
			refuse(s, "%s: held by another session from %s port %d "
			    "(ReclaimForwards no)", what, o->ip, o->port);
			return -1;
		}
		if (strcmp(o->key_fp, s->key_fp) != 0 ||
		    strcmp(ssh_auth_user(sess_ssh(o)), user) != 0) {
			refuse(s, "%s: held by a session from %s port %d that "
			    "logged in with another user or key; only that "
			    "user and key may take it over", what, o->ip,
			    o->port);
			return -1;
		}
		log_info("%s: %s: taken over from the older session from %s "
		    "port %d (same key %s; ReclaimForwards yes)", user, what,
		    o->ip, o->port, s->key_fp);
		note(o, "A newer session with the same key took over a "
		    "forward of this session.");
		rfwd_drop(o, &o->rfwd[i]);
		return 0;
	}
}

/* The TCP forward (host and port) another session holds: take_over.
 * Returns 0 when nothing stands in the way, -1 when refused. */
static int
reclaim(struct session *s, const char *host, int port, const char *what)
{
	struct session *o;
	int i;

	if (port == 0)
		return 0;
	for (o = s->list->head; o != NULL; o = o->next) {
		if (o == s || !o->authenticated || o->closing)
			continue;
		for (i = 0; i < o->nrfwd; i++)
			if (o->rfwd[i].req_port == port &&
			    strcmp(o->rfwd[i].req_host, host) == 0)
				return take_over(s, o, i, what);
	}
	return 0;
}

/* The session (and in *idx its forward) whose live Unix listener is the
 * socket canon names (NULL: any) or the file st (NULL: none there). A
 * socket's identity is its file, never the spelling of a request. */
static struct session *
sl_holder(struct session *s, const char *canon, const struct stat *st,
    int *idx)
{
	struct fwd_listener *fl;
	struct session *o;
	int i;

	for (o = s->list->head; o != NULL; o = o->next) {
		if (!o->authenticated || o->closing)
			continue;
		for (i = 0; i < o->nrfwd; i++) {
			fl = o->rfwd[i].fl;
			if (o->rfwd[i].req_port == -1 && ((canon != NULL &&
			    strcmp(fwd_listener_where(fl), canon) == 0) ||
			    (st != NULL && fwd_listener_is_file(fl, st->st_dev,
			    st->st_ino)))) {
				*idx = i;
				return o;
			}
		}
	}
	return NULL;
}

/* ReclaimForwards for a Unix socket, checked before anything at the path
 * is unlinked: whoever holds the same file (canonical path, or device
 * and inode) decides, however this request spells the path. */
static int
reclaim_socket(struct session *s, const char *canon, const struct stat *st,
    const char *what)
{
	struct session *o;
	int i;

	if ((o = sl_holder(s, canon, st, &i)) == NULL)
		return 0;
	if (o == s) {
		refuse(s, "%s: this session already forwards %s", what, canon);
		return -1;
	}
	return take_over(s, o, i, what);
}

/* Where a peer's path lands for this session's user (StreamLocalDirectory;
 * the rules are in fwd/slpath.h): the socket's directory as an O_PATH
 * descriptor, its name in p and its canonical path in canon. Returns the
 * descriptor, or -1 with the rule that refuses the path in why. */
static int
sl_place(struct session *s, const char *path, bool create, struct slpath *p,
    char *canon, size_t canonlen, char *why, size_t whylen)
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

static int
rfwd_grow(struct session *s)
{
	struct rfwd *n;
	int cap;

	if (s->nrfwd < s->rfwd_cap)
		return 0;
	cap = s->rfwd_cap ? s->rfwd_cap * 2 : 2;
	if ((n = realloc(s->rfwd, (size_t)cap * sizeof(*n))) == NULL)
		return -1;
	s->rfwd = n;
	s->rfwd_cap = cap;
	return 0;
}

static void
tcpip_forward(struct session *s, struct ssh_event *ev)
{
	struct server_config *c = &s->pol->cfg;
	struct sockaddr_storage addrs[FWD_MAX_ADDRS];
	struct fwd_listener_cfg lc;
	struct fwd_listener *fl;
	struct flow *flow;
	char host[256], why[400], label[400], line[800];
	const char *addr;
	struct fwd_req req = { .kind = FWD_REQ_LISTEN_TCP };
	enum bind_scope scope;
	enum fwd_deny d;
	uint32_t port;
	struct rd r;
	int n = 0;

	rd_init(&r, ev->u.request.extra, ev->u.request.extra_len);
	if (rd_cstring(&r, host, sizeof(host)) != 0 || rd_u32(&r, &port) != 0 ||
	    port > 65535) {
		refuse(s, "malformed tcpip-forward request");
		return;
	}
	req.name = host;
	req.port = (int)port;
	req.want_reply = ev->u.request.want_reply;
	if ((d = fwd_srv_check(&s->rules, &s->ak, &req)) != FWD_OK) {
		refuse_rule(s, d, &req);
		return;
	}
	if (s->nrfwd >= MAX_RFWD || s->nrfwd >= c->max_listeners ||
	    rfwd_grow(s) != 0) {
		refuse(s, "remote forward \"%s\":%u: this session has %d "
		    "listeners, the most allowed", host, port, s->nrfwd);
		return;
	}
	snprintf(label, sizeof(label), "remote forward \"%s\":%u", host, port);
	if (reclaim(s, host, (int)port, label) != 0)
		return;
	if ((d = fwd_srv_bind(&s->rules, &req, &scope, &addr, why,
	    sizeof(why))) != FWD_OK) {
		refuse_rule(s, d, &req);
		return;
	}
	if (fwd_bind_addrs(scope, addr, AF_UNSPEC, addrs, &n, label,
	    sizeof(label)) != 0) {
		refuse(s, "remote forward \"%s\":%u: %s", host, port, label);
		return;
	}
	snprintf(label, sizeof(label), "remote forward for %s from %s "
	    "(\"%s\":%u)", ssh_auth_user(sess_ssh(s)), s->ip, host, port);
	lc.kind = OPEN_FORWARDED_TCPIP;
	lc.name = host;
	if ((flow = stats_flow_add(&s->flows, FLOW_REMOTE_TCP, host,
	    (int)port)) == NULL) {
		refuse(s, "remote forward \"%s\":%u: out of memory", host, port);
		return;
	}
	lc.stats = &flow->st;
	lc.max_conns = (size_t)c->max_forward_connections;
	lc.refused = listener_refused;
	lc.ud = s;
	lc.port = -1;
	lc.all_or_nothing = true;
	lc.label = label;
	fl = fwd_listener_start(s->loop, addrs, n, (int)port, &lc, &s->pumps,
	    line, sizeof(line));
	if (fl == NULL) {
		stats_flow_end(&s->flows, &s->pumps, flow);
		refuse(s, "remote forward \"%s\":%u: %s", host, port, line);
		return;
	}
	snprintf(s->rfwd[s->nrfwd].req_host, sizeof(host), "%s", host);
	s->rfwd[s->nrfwd].req_port = (int)port;
	s->rfwd[s->nrfwd].fl = fl;
	s->rfwd[s->nrfwd].flow = flow_placed(flow, fl);
	s->nrfwd++;
	ev->u.request.success = true;
	if (port == 0)
		wb_u32(ev->u.request.reply, (uint32_t)fwd_listener_port(fl));
	snprintf(line, sizeof(line), "Forwarding %s port %d to the client "
	    "(asked \"%s\":%u; %s)", fwd_listener_where(fl),
	    fwd_listener_port(fl), host, port, why);
	log_info("%s: %s", ssh_auth_user(sess_ssh(s)), line);
	note(s, line);
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
	rfwd_drop(s, f);
	ev->u.request.success = true;
	note(s, line);
}

static void
streamlocal_forward(struct session *s, struct ssh_event *ev)
{
	struct server_config *c = &s->pol->cfg;
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
		refuse(s, "malformed streamlocal-forward request (the path "
		    "must be at most %d bytes)", SLPATH_MAX - 1);
		return;
	}
	req.name = path;
	if ((d = fwd_srv_check(&s->rules, &s->ak, &req)) != FWD_OK) {
		refuse_rule(s, d, &req);
		return;
	}
	if (s->nrfwd >= MAX_RFWD || s->nrfwd >= c->max_listeners ||
	    rfwd_grow(s) != 0) {
		refuse(s, "remote forward of socket %s: this session has %d "
		    "listeners, the most allowed", path, s->nrfwd);
		return;
	}
	if ((dirfd = sl_place(s, path, true, &p, canon, sizeof(canon), why,
	    sizeof(why))) < 0) {
		refuse(s, "remote forward of socket %s: %s", path, why);
		return;
	}
	snprintf(label, sizeof(label), "remote forward of socket %s", path);
	if (reclaim_socket(s, canon, fstatat(dirfd, p.name, &st,
	    AT_SYMLINK_NOFOLLOW) == 0 ? &st : NULL, label) != 0) {
		close(dirfd);
		return;
	}
	snprintf(label, sizeof(label), "remote forward for %s from %s "
	    "(socket %s)", ssh_auth_user(sess_ssh(s)), s->ip, path);
	lc.kind = OPEN_FORWARDED_STREAMLOCAL;
	lc.name = path;
	if ((flow = stats_flow_add(&s->flows, FLOW_REMOTE_UNIX, path,
	    0)) == NULL) {
		close(dirfd);
		refuse(s, "remote forward of socket %s: out of memory", path);
		return;
	}
	lc.stats = &flow->st;
	lc.max_conns = (size_t)c->max_forward_connections;
	lc.refused = listener_refused;
	lc.ud = s;
	lc.port = 0;
	lc.all_or_nothing = true;
	lc.label = label;
	fl = fwd_listener_start_unix_at(s->loop, dirfd, p.name, canon,
	    c->streamlocal_bind_mask, c->streamlocal_bind_unlink == 1, &lc,
	    &s->pumps, why, sizeof(why));
	close(dirfd);
	if (fl == NULL) {
		stats_flow_end(&s->flows, &s->pumps, flow);
		refuse(s, "remote forward of socket %s: %s", path, why);
		return;
	}
	snprintf(s->rfwd[s->nrfwd].req_host, sizeof(s->rfwd[0].req_host),
	    "%s", path);
	s->rfwd[s->nrfwd].req_port = -1;
	s->rfwd[s->nrfwd].fl = fl;
	s->rfwd[s->nrfwd].flow = flow_placed(flow, fl);
	s->nrfwd++;
	ev->u.request.success = true;
	if (strcmp(path, canon) == 0)
		snprintf(line, sizeof(line), "Forwarding socket %s to the "
		    "client", path);
	else
		snprintf(line, sizeof(line), "Forwarding socket %s (%s) to "
		    "the client", path, canon);
	log_info("%s: %s", ssh_auth_user(sess_ssh(s)), line);
	note(s, line);
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
	rfwd_drop(s, f);
	ev->u.request.success = true;
	note(s, line);
}

static void
direct_streamlocal(struct session *s, struct ssh_event *ev)
{
	const char *user = ssh_auth_user(sess_ssh(s));
	char path[SLPATH_MAX], canon[SLPATH_ROOT_MAX + SLPATH_MAX];
	char why[1200], label[600], via[64];
	struct fwd_req req = { .kind = FWD_REQ_OPEN_UNIX };
	struct session *o;
	enum fwd_deny d;
	struct slpath p;
	struct stat st;
	int dirfd, fd, i, r;
	struct rd rd;

	rd_init(&rd, ev->u.open_request.extra, ev->u.open_request.extra_len);
	if (rd_cstring(&rd, path, sizeof(path)) != 0 || path[0] == '\0') {
		ev->u.open_request.message = "malformed direct-streamlocal";
		return;
	}
	req.name = path;
	if ((d = fwd_srv_check(&s->rules, &s->ak, &req)) != FWD_OK) {
		refuse_rule(s, d, &req);
		ev->u.open_request.message = "forwarding not permitted";
		return;
	}
	if ((dirfd = sl_place(s, path, false, &p, canon, sizeof(canon), why,
	    sizeof(why))) < 0) {
		refuse(s, "connection to socket %s: %s", path, why);
		ev->u.open_request.message = "not permitted by the socket "
		    "path rules";
		return;
	}
	/* the socket itself, held so that what is checked is what is
	 * connected to */
	fd = openat(dirfd, p.name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	close(dirfd);
	if (fd < 0 || fstat(fd, &st) != 0) {
		log_verbose("%s: connection to socket %s: %s", user, path,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		ev->u.open_request.reason = SSH_OPEN_CONNECT_FAILED;
		ev->u.open_request.message = "no such socket";
		return;
	}
	if (!S_ISSOCK(st.st_mode) ||
	    ((o = sl_holder(s, NULL, &st, &i)) != NULL &&
	    strcmp(ssh_auth_user(sess_ssh(o)), user) != 0)) {
		refuse(s, "connection to socket %s: %s", path,
		    S_ISLNK(st.st_mode) ? "it is a symbolic link; it is not "
		    "followed" : !S_ISSOCK(st.st_mode) ? "it is not a socket" :
		    "it is another user's remote forward; a user never "
		    "reaches another's listeners");
		close(fd);
		ev->u.open_request.message = "not permitted by the socket "
		    "path rules";
		return;
	}
	snprintf(label, sizeof(label), "direct-streamlocal for %s from %s to "
	    "%s", user, s->ip, path);
	slpath_fd_path(fd, NULL, via, sizeof(via));
	/* uv_pipe_connect connects (or fails) before it returns, so the
	 * descriptor may go right after */
	r = pump_connect_unix(&s->pumps, s->loop, ev->chan, via, label,
	    direct_stats(s, FLOW_DIRECT_UNIX, path, 0));
	close(fd);
	if (r != 0) {
		ev->u.open_request.reason = SSH_OPEN_RESOURCE_SHORTAGE;
		ev->u.open_request.message = "out of memory";
		return;
	}
	ev->u.open_request.defer = true;
}

static void
direct_tcpip(struct session *s, struct ssh_event *ev)
{
	struct fwd_req req = { .kind = FWD_REQ_OPEN_TCP };
	char host[256], orig[256], label[600];
	enum fwd_deny d;
	uint32_t port, oport;
	struct rd r;

	rd_init(&r, ev->u.open_request.extra, ev->u.open_request.extra_len);
	if (rd_cstring(&r, host, sizeof(host)) != 0 || rd_u32(&r, &port) != 0 ||
	    rd_cstring(&r, orig, sizeof(orig)) != 0 || rd_u32(&r, &oport) != 0 ||
	    port == 0 || port > 65535) {
		ev->u.open_request.message = "malformed direct-tcpip";
		return;
	}
	req.name = host;
	req.port = (int)port;
	if ((d = fwd_srv_check(&s->rules, &s->ak, &req)) != FWD_OK) {
		refuse_rule(s, d, &req);
		ev->u.open_request.message = d == FWD_DENY_PERMIT_OPEN ?
		    "not permitted by PermitOpen" : d ==
		    FWD_DENY_KEY_PERMIT_OPEN ? "not permitted by permitopen" :
		    "forwarding not permitted";
		return;
	}
	snprintf(label, sizeof(label), "direct-tcpip for %s from %s to %s "
	    "port %u", ssh_auth_user(sess_ssh(s)), s->ip, host, port);
	if (pump_connect(&s->pumps, s->loop, ev->chan, host, port, label,
	    direct_stats(s, FLOW_DIRECT_TCP, host, (int)port)) != 0) {
		ev->u.open_request.reason = SSH_OPEN_RESOURCE_SHORTAGE;
		ev->u.open_request.message = "out of memory";
		return;
	}
	ev->u.open_request.defer = true;
}

static void	session_chan_event(struct net_chan *ch, struct ssh_event *ev);
static void	session_chan_abort(struct net_chan *ch);

static void
open_request(struct session *s, struct ssh_event *ev)
{
	const char *type = ev->u.open_request.type;
	char why[200];

	if (ssh_chan_count(sess_ssh(s)) > MAX_CHANNELS) {
		refuse(s, "%s channel: this session already has %d channels "
		    "open, the most allowed", type, MAX_CHANNELS);
		ev->u.open_request.reason = SSH_OPEN_RESOURCE_SHORTAGE;
		ev->u.open_request.message = "too many channels";
		return;
	}
	if (strcmp(type, "session") != 0 &&
	    !pump_admit(&s->pumps, true, why, sizeof(why))) {
		refuse(s, "%s channel: %s", type, why);
		ev->u.open_request.reason = SSH_OPEN_RESOURCE_SHORTAGE;
		ev->u.open_request.message = why;
		return;
	}
	if (strcmp(type, "direct-tcpip") == 0) {
		direct_tcpip(s, ev);
		return;
	}
	if (strcmp(type, "direct-streamlocal@openssh.com") == 0) {
		direct_streamlocal(s, ev);
		return;
	}
	if (strcmp(type, "session") == 0 &&
	    s->session_chan == SESSION_CHAN_NONE) {
		static const struct net_chan_ops ops = {
			.event = session_chan_event,
			.abort = session_chan_abort,
		};

		s->session_chan = ev->chan;
		net_conn_attach(s->nc, &s->session_nch, &ops);
		ev->u.open_request.ud = &s->session_nch;
		ev->u.open_request.accept = true;
		return;
	}
	ev->u.open_request.reason = SSH_OPEN_UNKNOWN_CHANNEL_TYPE;
	ev->u.open_request.message = "ferryd serves tunnels only";
	log_info("refused a %s channel from %s: ferryd serves tunnels only",
	    type, s->ip);
}

static void
show_listing(struct session *s, bool command)
{
	char line[200];
	int i;

	s->shell = true;
	snprintf(line, sizeof(line), "ferryd: this server only forwards "
	    "ports%s. Your forwards:", command ? " and runs no commands" : "");
	to_shell(s, line);
	if (s->nnotes == 0)
		to_shell(s, "  (none yet)");
	for (i = 0; i < s->nnotes; i++)
		to_shell(s, s->notes[i]);
	to_shell(s, "Press Ctrl-C or close the session to end them.");
}

static void
session_request(struct session *s, struct ssh_event *ev)
{
	const char *name = ev->u.request.name;

	if (strcmp(name, "pty-req") == 0 || strcmp(name, "env") == 0)
		ev->u.request.success = strcmp(name, "pty-req") == 0;
	else if ((strcmp(name, "shell") == 0 || strcmp(name, "exec") == 0) &&
	    !s->shell) {
		/* once per channel, as sshd runs one command per session:
		 * a repeated request must not replay the listing */
		ev->u.request.success = true;
		show_listing(s, strcmp(name, "exec") == 0);
	}
}

static void
session_data(struct session *s, struct ssh_event *ev)
{
	ssh_chan_consumed(sess_ssh(s), ev->chan, ev->u.data.len);
	/* Ctrl-C on a terminal ends the session and its forwards */
	if (memchr(ev->u.data.p, 0x03, ev->u.data.len) != NULL) {
		log_info("%s from %s ended the session", ssh_auth_user(
		    sess_ssh(s)), s->ip);
		ssh_disconnect(sess_ssh(s), SSH_DISC_BY_APPLICATION,
		    "session ended");
		net_conn_close(s->nc, "session ended by the client");
	}
}

static void
session_chan_event(struct net_chan *ch, struct ssh_event *ev)
{
	struct session *s = (struct session *)((char *)ch -
	    offsetof(struct session, session_nch));

	switch (ev->type) {
	case SSH_EV_CHAN_DATA:
		session_data(s, ev);
		break;
	case SSH_EV_CHAN_EOF:
		ssh_chan_close(sess_ssh(s), ev->chan);
		break;
	case SSH_EV_CHAN_REQUEST:
		session_request(s, ev);
		break;
	case SSH_EV_CHAN_CLOSED:
		net_chan_detach(&s->session_nch);
		/* the session was the client's way of holding the forwards */
		s->session_chan = SESSION_CHAN_NONE;
		s->shell = false;
		if (!s->closing) {
			ssh_disconnect(sess_ssh(s), SSH_DISC_BY_APPLICATION,
			    "session closed");
			net_conn_close(s->nc, "session closed by the client");
		}
		break;
	default:
		break;
	}
}

/* The connection is gone: the session channel has nothing to undo. */
static void
session_chan_abort(struct net_chan *ch)
{
	(void)ch;
}

static void	alive_tick(uv_timer_t *t);

static void
on_event(void *ud, struct ssh_event *ev)
{
	struct session *s = ud;

	switch (ev->type) {
	case SSH_EV_AUTH_REQUEST:
		auth_request(s, ev);
		break;
	case SSH_EV_AUTH_SUCCESS:
		s->authenticated = true;
		s->list->stats.handshakes_ok++;
		s->list->unauthenticated--;
		if ((s->user = user_get(s->list,
		    ssh_auth_user(sess_ssh(s)))) != NULL)
			s->pumps.user = &s->user->u;
		uv_timer_stop(&s->grace);
		/* ClientAlive watches authenticated clients (sshd's rule) */
		if (s->pol->cfg.client_alive_interval > 0)
			uv_timer_start(&s->alive, alive_tick,
			    (uint64_t)s->pol->cfg.client_alive_interval * 1000,
			    (uint64_t)s->pol->cfg.client_alive_interval * 1000);
		if (s->user == NULL || keep_rules(s) != 0) {
			ssh_disconnect(sess_ssh(s), SSH_DISC_BY_APPLICATION,
			    "out of memory");
			net_conn_close(s->nc, "out of memory");
		}
		break;
	case SSH_EV_GLOBAL_REQUEST:
		if (strcmp(ev->u.request.name, "tcpip-forward") == 0)
			tcpip_forward(s, ev);
		else if (strcmp(ev->u.request.name,
		    "cancel-tcpip-forward") == 0)
			cancel_forward(s, ev);
		else if (strcmp(ev->u.request.name,
		    "streamlocal-forward@openssh.com") == 0)
			streamlocal_forward(s, ev);
		else if (strcmp(ev->u.request.name,
		    "cancel-streamlocal-forward@openssh.com") == 0)
			cancel_streamlocal(s, ev);
		break;
	case SSH_EV_CHAN_OPEN_REQUEST:
		open_request(s, ev);
		break;
	default:
		break;
	}
}

static void
on_connected(void *ud)
{
	(void)ud;
}

static void
on_input_done(void *ud)
{
	struct session *s = ud;

	s->alive_missed = 0;
}

static void
on_closed(void *ud, enum net_end end, const char *why)
{
	struct session *s = ud;
	int i;

	s->closing = true;
	s->nc_closed = true;
	if (!s->authenticated)
		s->list->stats.handshakes_failed++;
	for (i = 0; i < s->nrfwd; i++)
		fwd_listener_stop(s->rfwd[i].fl);
	s->nrfwd = 0;
	if (!s->authenticated && end == NET_END_NEGOTIATION)
		log_error("Unable to negotiate with %s port %d: %s", s->ip,
		    s->port, why);	/* sshd's words */
	else
		log_info("Connection from %s port %d closed: %s", s->ip,
		    s->port, why[0] ? why : "closed");
	if (!uv_is_closing((uv_handle_t *)&s->grace))
		uv_close((uv_handle_t *)&s->grace, timer_closed);
	if (!uv_is_closing((uv_handle_t *)&s->alive))
		uv_close((uv_handle_t *)&s->alive, timer_closed);
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
	s->list->stats.limits[LIM_LOGIN_GRACE_TIME]++;
	ssh_disconnect(sess_ssh(s), SSH_DISC_PROTOCOL_ERROR,
	    "Timeout before authentication");
	net_conn_close(s->nc, msg);
}

/* ClientAliveInterval: a keepalive for each quiet interval; too many
 * unanswered ones end the connection, as sshd does. */
static void
alive_tick(uv_timer_t *t)
{
	struct session *s = t->data;

	/* ClientAliveCountMax 0 only probes, it never disconnects */
	if (++s->alive_missed > s->pol->cfg.client_alive_count_max &&
	    s->pol->cfg.client_alive_count_max > 0) {
		log_info("Timeout, client %s port %d not responding", s->ip,
		    s->port);
		ssh_disconnect(sess_ssh(s), SSH_DISC_PROTOCOL_ERROR,
		    "Timeout, client not responding");
		net_conn_close(s->nc, "client not responding");
		return;
	}
	if (ssh_authenticated(sess_ssh(s)))
		ssh_global_request(sess_ssh(s), "keepalive@openssh.com", true,
		    NULL, 0, NULL);
}

static enum fwd_dirs
fwd_dirs(enum allow_fwd a)
{
	switch (a) {
	case FWD_ALLOW_ALL:
		return FWD_DIRS_ALL;
	case FWD_ALLOW_LOCAL:
		return FWD_DIRS_LOCAL;
	case FWD_ALLOW_REMOTE:
		return FWD_DIRS_REMOTE;
	default:
		return FWD_DIRS_NONE;
	}
}

static enum gw_mode
gw_mode(enum gateway_ports g)
{
	switch (g) {
	case GW_YES:
		return GW_MODE_YES;
	case GW_CLIENTSPECIFIED:
		return GW_MODE_CLIENTSPECIFIED;
	default:
		return GW_MODE_NO;
	}
}

/* The configuration as the forwarding decisions read it; the lists stay
 * c's, which lives as long as the session's reference to its policy. */
static void
rules_init(struct fwd_srv_rules *r, const struct server_config *c)
{
	r->disable_forwarding = c->disable_forwarding;
	r->allow_tcp = fwd_dirs(c->allow_tcp_forwarding);
	r->allow_streamlocal = fwd_dirs(c->allow_streamlocal_forwarding);
	r->key_permits_cover_sl = c->key_permits_cover_sl != 0;
	r->permit_open = c->permit_open;
	r->npermit_open = c->npermit_open;
	r->permit_listen = c->permit_listen;
	r->npermit_listen = c->npermit_listen;
	r->gateway_ports = gw_mode(c->gateway_ports);
}

int
session_accept(struct net_loop *nl, uv_stream_t *server,
    struct server_policy *pol, struct session_list *list)
{
	static const struct net_conn_ops ops = {
		.event = on_event,
		.connected = on_connected,
		.input_done = on_input_done,
		.closed = on_closed,
	};
	uv_loop_t *loop;
	struct ssh_config cfg;
	struct session *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -1;
	s->loop = loop = nl->uv;
	s->list = list;
	s->pol = pol;
	rules_init(&s->rules, &pol->cfg);
	s->session_chan = SESSION_CHAN_NONE;
	s->since = time(NULL);
	list->stats.sessions_total++;
	server_policy_ref(pol);
	memset(&cfg, 0, sizeof(cfg));
	cfg.role = SSH_ROLE_SERVER;
	cfg.hostkeys = pol->hostkeys;
	cfg.nhostkeys = (size_t)pol->nhostkeys;
	cfg.max_auth_tries = (unsigned)pol->cfg.max_auth_tries;
	cfg.ciphers = pol->cfg.ciphers;
	cfg.macs = pol->cfg.macs;
	cfg.kex_algs = pol->cfg.kex_algs;
	cfg.hostkey_algs = pol->cfg.hostkey_algs;
	cfg.pubkey_algs = pol->cfg.pubkey_algs;
	uv_timer_init(loop, &s->grace);
	uv_timer_init(loop, &s->alive);
	s->grace.data = s->alive.data = s;
	s->timers_open = 2;
	s->next = list->head;
	if (list->head != NULL)
		list->head->prev = s;
	list->head = s;
	list->count++;
	list->all.fds++;
	list->unauthenticated++;
	if ((s->nc = net_conn_accept(nl, server, &cfg, &ops, s)) == NULL) {
		s->nc_closed = true;
		uv_close((uv_handle_t *)&s->grace, timer_closed);
		uv_close((uv_handle_t *)&s->alive, timer_closed);
		return -1;
	}
	s->pumps.nc = s->nc;
	s->pumps.on_empty = pumps_empty;
	s->pumps.ud = s;
	s->pumps.all = &list->all;
	s->pumps.lim = &s->lim;
	s->lim.user_chans = (size_t)pol->cfg.max_user_channels;
	s->lim.user_pending = (size_t)pol->cfg.max_pending_connects;
	s->lim.fd_budget = list->fd_budget;
	s->lim.connect_timeout_ms = (unsigned)pol->cfg.forward_connect_timeout *
	    1000;
	snprintf(s->ip, sizeof(s->ip), "%s", net_conn_peer_ip(s->nc));
	s->port = net_conn_peer_port(s->nc);
	log_verbose("Connection from %s port %d", s->ip, s->port);
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
	v->flows = &s->flows;
}

void
session_close_all(struct session_list *list, const char *why)
{
	struct session *s;

	for (s = list->head; s != NULL; s = s->next) {
		if (s->closing || s->nc == NULL)
			continue;
		s->closing = true;
		ssh_disconnect(sess_ssh(s), SSH_DISC_BY_APPLICATION, why);
		net_conn_close(s->nc, why);
	}
}
