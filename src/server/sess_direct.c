/* The channels a ferryd client opens: direct-tcpip and
 * direct-streamlocal@openssh.com connect out from the server, each
 * checked against the policy first; a session channel goes to the
 * listing. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fwd/slpath.h"
#include "server/sess_int.h"
#include "util/log.h"

/* Channels one connection may hold open at once (a per-session bound on
 * the sockets and buffers a client can make ferryd keep). */
#define MAX_CHANNELS	4096

/* What a direct-* connection counts into (NULL: nothing, out of
 * memory). */
static struct fwd_stats *
direct_stats(struct session *s, enum flow_kind kind, const char *where,
    int port)
{
	struct flow *f = stats_flow_direct(&s->flows, kind, where, port);

	return f != NULL ? &f->st : NULL;
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
		sess_refuse_rule(s, d, &req);
		ev->u.open_request.message = "forwarding not permitted";
		return;
	}
	if ((dirfd = sess_sl_place(s, path, false, &p, canon, sizeof(canon),
	    why, sizeof(why))) < 0) {
		sess_refuse(s, "connection to socket %s: %s", path, why);
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
	    ((o = sess_sl_holder(s, NULL, &st, &i)) != NULL &&
	    strcmp(ssh_auth_user(sess_ssh(o)), user) != 0)) {
		sess_refuse(s, "connection to socket %s: %s", path,
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
		sess_refuse_rule(s, d, &req);
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

static void
open_unknown(struct session *s, struct ssh_event *ev)
{
	ev->u.open_request.reason = SSH_OPEN_UNKNOWN_CHANNEL_TYPE;
	ev->u.open_request.message = "ferryd serves tunnels only";
	log_info("refused a %s channel from %s: ferryd serves tunnels only",
	    ev->u.open_request.type, s->ip);
}

/* One session channel per connection, for the listing. */
static void
open_session(struct session *s, struct ssh_event *ev)
{
	if (!sess_listing_open(s, ev))
		open_unknown(s, ev);
}

/* The channel types ferryd serves, ended by a NULL name whose entry
 * refuses any other type. A tunnel comes with a socket, so the bounds on
 * descriptors and on the user's channels (pump_admit) are checked before
 * it is opened; they are for an unknown type too. */
static const struct chan_type {
	const char	*name;
	bool		 tunnel;
	void		(*open)(struct session *s, struct ssh_event *ev);
} chan_types[] = {
	{ "session", false, open_session },
	{ "direct-tcpip", true, direct_tcpip },
	{ "direct-streamlocal@openssh.com", true, direct_streamlocal },
	{ NULL, true, open_unknown },
};

/* A channel the client opens: accepted, deferred until its connect
 * ends, or refused with a reason; a bound on channels and descriptors
 * comes first. */
void
sess_open_request(struct session *s, struct ssh_event *ev)
{
	const char *type = ev->u.open_request.type;
	const struct chan_type *t;

	if (ssh_chan_count(sess_ssh(s)) > MAX_CHANNELS) {
		sess_refuse(s, "%s channel: this session already has %d "
		    "channels open, the most allowed", type, MAX_CHANNELS);
		ev->u.open_request.reason = SSH_OPEN_RESOURCE_SHORTAGE;
		ev->u.open_request.message = "too many channels";
		return;
	}
	for (t = chan_types; t->name != NULL; t++)
		if (strcmp(t->name, type) == 0)
			break;
	if (t->tunnel && !pump_admit(&s->pumps, true, s->open_why,
	    sizeof(s->open_why))) {
		sess_refuse(s, "%s channel: %s", type, s->open_why);
		ev->u.open_request.reason = SSH_OPEN_RESOURCE_SHORTAGE;
		ev->u.open_request.message = s->open_why;
		return;
	}
	t->open(s, ev);
}
