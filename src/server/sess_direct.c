/* The channels a ferryd client opens: direct-tcpip and
 * direct-streamlocal@openssh.com are served by fwd/direct.c, which asks
 * this file which socket a path may reach and where traffic counts; a
 * session channel goes to the listing. */
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

/* Where a direct-* open's traffic counts (NULL: nowhere, out of
 * memory). */
static struct fwd_stats *
direct_stats(void *ud, const struct fwd_req *req)
{
	struct session *s = ud;
	struct flow *f;

	uv_mutex_lock(&s->list->lock);
	f = stats_flow_direct(&s->flows, req->kind == FWD_REQ_OPEN_TCP ?
	    FLOW_DIRECT_TCP : FLOW_DIRECT_UNIX, req->name,
	    req->kind == FWD_REQ_OPEN_TCP ? req->port : 0);
	uv_mutex_unlock(&s->list->lock);
	return f != NULL ? &f->st : NULL;
}

static void
direct_refused(void *ud, const char *msg)
{
	sess_refuse(ud, "%s", msg);
}

/* Which socket a direct-streamlocal path reaches for this user: placed
 * by the socket path rules, held open so that what is checked is what is
 * connected to, and never another user's remote forward. */
static enum fwd_sock
direct_socket(void *ud, const char *path, int *fdp, char *why,
    size_t whylen)
{
	struct session *s = ud;
	char canon[SLPATH_ROOT_MAX + SLPATH_MAX], holder[256];
	struct slpath p;
	struct stat st;
	int dirfd, fd;

	if ((dirfd = sess_sl_place(s, path, false, &p, canon, sizeof(canon),
	    why, whylen)) < 0)
		return FWD_SOCK_REFUSED;
	fd = openat(dirfd, p.name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	close(dirfd);
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(why, whylen, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return FWD_SOCK_MISSING;
	}
	if (S_ISSOCK(st.st_mode) && (sess_sl_holder_user(s, &st, holder,
	    sizeof(holder)) == NULL || strcmp(holder,
	    ssh_auth_user(sess_ssh(s))) == 0)) {
		*fdp = fd;
		return FWD_SOCK_OK;
	}
	snprintf(why, whylen, "%s", S_ISLNK(st.st_mode) ? "it is a symbolic "
	    "link; it is not followed" : !S_ISSOCK(st.st_mode) ? "it is not "
	    "a socket" : "it is another user's remote forward; a user never "
	    "reaches another's listeners");
	close(fd);
	return FWD_SOCK_REFUSED;
}

static const struct fwd_direct_ops direct_ops = {
	.refused = direct_refused,
	.socket = direct_socket,
	.stats = direct_stats,
};

/* The direct opens of s, once its user is known. */
void
sess_direct_init(struct session *s)
{
	s->direct = (struct fwd_direct){ .pumps = &s->pumps, .loop = s->loop,
	    .rules = &s->rules, .key = &s->ak, .ops = &direct_ops, .ud = s };
	snprintf(s->direct.who, sizeof(s->direct.who), "for %s from %s",
	    ssh_auth_user(sess_ssh(s)), s->ip);
}

static void
direct_tcpip(struct session *s, struct ssh_event *ev)
{
	fwd_direct_tcpip(&s->direct, ev);
}

static void
direct_streamlocal(struct session *s, struct ssh_event *ev)
{
	fwd_direct_streamlocal(&s->direct, ev);
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
 * refuses any other type. */
static const struct chan_type {
	const char	*name;
	void		(*open)(struct session *s, struct ssh_event *ev);
} chan_types[] = {
	{ "session", open_session },
	{ "direct-tcpip", direct_tcpip },
	{ "direct-streamlocal@openssh.com", direct_streamlocal },
	{ NULL, open_unknown },
};

/* A channel the client opens: accepted, deferred until its connect
 * ends, or refused with a reason; a bound on channels comes first. */
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
	t->open(s, ev);
}
