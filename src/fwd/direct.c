/* The channels a client opens to reach out from a server (fwd/direct.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fwd/direct.h"
#include "fwd/slpath.h"
#include "ssh/buf.h"
#include "util/log.h"

static void
refuse(struct ssh_event *ev, uint32_t reason, const char *msg)
{
	ev->u.open_request.reason = reason;
	ev->u.open_request.message = msg;
}

/* The bounds on descriptors and on the user's channels: a tunnel comes
 * with a socket and an outbound connect. */
static bool
admit(struct fwd_direct *d, struct ssh_event *ev)
{
	char msg[300];

	if (pump_admit(d->pumps, true, d->why, sizeof(d->why)))
		return true;
	snprintf(msg, sizeof(msg), "%s channel: %s", ev->u.open_request.type,
	    d->why);
	d->ops->refused(d->ud, msg);
	refuse(ev, SSH_OPEN_RESOURCE_SHORTAGE, d->why);
	return false;
}

/* The rules' answer on req; a refusal is told to the role. */
static enum fwd_deny
check(struct fwd_direct *d, const struct fwd_req *req)
{
	enum fwd_deny r;
	char msg[1024];

	if ((r = fwd_srv_check(d->rules, d->key, req)) != FWD_OK) {
		fwd_deny_text(r, d->rules, d->key, req, msg, sizeof(msg));
		d->ops->refused(d->ud, msg);
	}
	return r;
}

void
fwd_direct_tcpip(struct fwd_direct *d, struct ssh_event *ev)
{
	struct fwd_req req = { .kind = FWD_REQ_OPEN_TCP };
	char host[256], orig[256], label[600];
	uint32_t port, oport;
	enum fwd_deny r;
	struct rd rd;

	if (!admit(d, ev))
		return;
	rd_init(&rd, ev->u.open_request.extra, ev->u.open_request.extra_len);
	if (rd_cstring(&rd, host, sizeof(host)) != 0 ||
	    rd_u32(&rd, &port) != 0 || rd_cstring(&rd, orig,
	    sizeof(orig)) != 0 || rd_u32(&rd, &oport) != 0 || port == 0 ||
	    port > 65535) {
		ev->u.open_request.message = "malformed direct-tcpip";
		return;
	}
	req.name = host;
	req.port = (int)port;
	if ((r = check(d, &req)) != FWD_OK) {
		ev->u.open_request.message = r == FWD_DENY_PERMIT_OPEN ?
		    "not permitted by PermitOpen" : r ==
		    FWD_DENY_KEY_PERMIT_OPEN ? "not permitted by permitopen" :
		    "forwarding not permitted";
		return;
	}
	snprintf(label, sizeof(label), "direct-tcpip %s to %s port %u",
	    d->who, host, port);
	if (pump_connect(d->pumps, d->loop, ev->chan, host, port, label,
	    d->ops->stats(d->ud, &req)) != 0) {
		refuse(ev, SSH_OPEN_RESOURCE_SHORTAGE, "out of memory");
		return;
	}
	ev->u.open_request.defer = true;
}

void
fwd_direct_streamlocal(struct fwd_direct *d, struct ssh_event *ev)
{
	struct fwd_req req = { .kind = FWD_REQ_OPEN_UNIX };
	char path[SLPATH_MAX], why[1200], msg[SLPATH_MAX + 1250];
	char label[600], via[64];
	int fd = -1, r;
	struct rd rd;

	if (!admit(d, ev))
		return;
	rd_init(&rd, ev->u.open_request.extra, ev->u.open_request.extra_len);
	if (rd_cstring(&rd, path, sizeof(path)) != 0 || path[0] == '\0') {
		ev->u.open_request.message = "malformed direct-streamlocal";
		return;
	}
	req.name = path;
	if (check(d, &req) != FWD_OK) {
		ev->u.open_request.message = "forwarding not permitted";
		return;
	}
	switch (d->ops->socket(d->ud, path, &fd, why, sizeof(why))) {
	case FWD_SOCK_OK:
		break;
	case FWD_SOCK_REFUSED:
		snprintf(msg, sizeof(msg), "connection to socket %s: %s",
		    path, why);
		d->ops->refused(d->ud, msg);
		ev->u.open_request.message = "not permitted by the socket "
		    "path rules";
		return;
	case FWD_SOCK_MISSING:
		log_verbose("connection to socket %s %s: %s", path, d->who,
		    why);
		refuse(ev, SSH_OPEN_CONNECT_FAILED, "no such socket");
		return;
	}
	snprintf(label, sizeof(label), "direct-streamlocal %s to %s", d->who,
	    path);
	/* the held socket is reached through its descriptor, so what was
	 * checked is what is connected to; uv_pipe_connect connects (or
	 * fails) before it returns, so the descriptor may go right after */
	slpath_fd_path(fd, NULL, via, sizeof(via));
	r = pump_connect_unix(d->pumps, d->loop, ev->chan, via, label,
	    d->ops->stats(d->ud, &req));
	close(fd);
	if (r != 0) {
		refuse(ev, SSH_OPEN_RESOURCE_SHORTAGE, "out of memory");
		return;
	}
	ev->u.open_request.defer = true;
}
