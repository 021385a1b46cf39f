/* Client side of remote forwarding (RFC 4254 §7.1, §7.2). */
#include "remote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/log.h"

void
fwd_remote_set_init(struct fwd_remote_set *rs, struct pump_set *pumps,
    uv_loop_t *loop)
{
	memset(rs, 0, sizeof(rs[0]));
	rs->pumps = pumps;
	rs->loop = loop;
	rs->npermits = -1;
	rs->tag = "";
}

static void
unlink_free(struct fwd_remote_set *rs, struct fwd_remote *r)
{
	struct fwd_remote **pp;

	for (pp = &rs->head; *pp != NULL; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	pump_forget_stats(rs->pumps, &r->stats);
	free(r);
}

void
fwd_remote_set_free(struct fwd_remote_set *rs)
{
	struct fwd_remote *r;

	while ((r = rs->head) != NULL)
		unlink_free(rs, r);
}

struct fwd_remote *
fwd_remote_add(struct fwd_remote_set *rs, const struct fwd_spec *spec)
{
	struct fwd_remote *r, **pp;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->spec = *spec;
	for (pp = &rs->head; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = r;		/* in the order given */
	return r;
}

const char *
fwd_remote_bind_address(const struct fwd_spec *s)
{
	switch (s->bind) {
	case BIND_ANY:
		return "";
	case BIND_ADDR:
		return s->bind_addr;
	default:
		return "localhost";
	}
}

/* tcpip-forward, or streamlocal-forward@openssh.com for a path (and
 * their cancel-* forms) */
static int
send_forward(struct ssh_conn *ssh, bool cancel, const struct fwd_spec *s,
    int port, bool want_reply, void *ud)
{
	const char *name;
	struct wb w;
	int r;

	wb_init(&w);
	if (s->listen_path[0] != '\0') {
		name = cancel ? "cancel-streamlocal-forward@openssh.com" :
		    "streamlocal-forward@openssh.com";
		wb_cstring(&w, s->listen_path);
	} else {
		name = cancel ? "cancel-tcpip-forward" : "tcpip-forward";
		wb_cstring(&w, fwd_remote_bind_address(s));
		wb_u32(&w, (uint32_t)port);
	}
	r = w.err ? -1 : ssh_global_request(ssh, name, want_reply, w.p, w.len,
	    ud);
	wb_free(&w);
	return r;
}

int
fwd_remote_request_all(struct fwd_remote_set *rs, struct ssh_conn *ssh)
{
	struct fwd_remote *r;

	for (r = rs->head; r != NULL; r = r->next) {
		if (r->state == RF_ACTIVE || r->state == RF_REQUESTED ||
		    r->doomed)
			continue;
		if (send_forward(ssh, false, &r->spec, r->spec.listen_port,
		    true, r) != 0)
			return -1;
		r->state = RF_REQUESTED;
		rs->pending++;
	}
	return 0;
}

/* Marks r refused for why and warns as ssh does. Returns -1. */
static int
refused(const struct fwd_remote_set *rs, struct fwd_remote *r,
    const char *spec, const char *why)
{
	r->state = RF_REFUSED;
	snprintf(r->error, sizeof(r->error), "%s", why);
	if (r->spec.listen_path[0] != '\0')
		log_plain("%sWarning: remote port forwarding failed for listen "
		    "path %s (forward -R %s: %s)", rs->tag,
		    r->spec.listen_path, spec, why);
	else
		log_plain("%sWarning: remote port forwarding failed for listen "
		    "port %d (forward -R %s: %s)", rs->tag,
		    r->spec.listen_port, spec, why);
	return -1;
}

int
fwd_remote_reply(struct fwd_remote_set *rs, struct fwd_remote *r,
    const struct ssh_event *ev, struct ssh_conn *ssh)
{
	char spec[600], target[300];
	struct rd rd;
	uint32_t port;

	rs->pending--;
	if (r->doomed) {
		if (ev->u.global_reply.success && ssh != NULL) {
			r->port = r->spec.listen_port;
			rd_init(&rd, ev->u.global_reply.p,
			    ev->u.global_reply.len);
			if (r->port == 0 && rd_u32(&rd, &port) == 0)
				r->port = (int)port;
			send_forward(ssh, true, &r->spec, r->port, false,
			    NULL);
		}
		unlink_free(rs, r);
		return 1;
	}
	fwd_spec_format(&r->spec, spec, sizeof(spec));
	fwd_spec_target(&r->spec, target, sizeof(target));
	if (!ev->u.global_reply.success)
		return refused(rs, r, spec, "the server refused it");
	r->port = r->spec.listen_port;
	if (r->port == 0 && r->spec.listen_path[0] == '\0') {
		rd_init(&rd, ev->u.global_reply.p, ev->u.global_reply.len);
		if (rd_u32(&rd, &port) != 0 || port == 0 || port > 65535)
			return refused(rs, r, spec, "the server sent no allocated "
			    "port");
		r->port = (int)port;
		if (r->spec.dynamic)
			log_plain("%sAllocated port %d for remote forward "
			    "(dynamic: SOCKS)", rs->tag, r->port);
		else
			log_plain("%sAllocated port %d for remote forward to %s",
			    rs->tag, r->port, target);
	}
	r->state = RF_ACTIVE;
	r->error[0] = '\0';
	if (r->spec.listen_path[0] != '\0')
		log_verbose("remote forward %s: the server listens on %s",
		    spec, r->spec.listen_path);
	else
		log_verbose("remote forward %s: listening on the server's "
		    "port %d", spec, r->port);
	return 0;
}

/* A forwarded-tcpip naming port 0: some servers (asyncssh 2.10) name
 * the port that was asked for instead of the one they allocated. The
 * only active port-0 forward of that address takes it; with none or
 * several it matches nothing (refused, as before). No weaker than the
 * exact match: the server could name the allocated port just as well. */
static struct fwd_remote *
match_port0(struct fwd_remote_set *rs, const char *addr)
{
	struct fwd_remote *found = NULL, *r;

	for (r = rs->head; r != NULL; r = r->next) {
		if (r->state != RF_ACTIVE || r->spec.listen_path[0] != '\0' ||
		    r->spec.listen_port != 0 ||
		    strcasecmp(fwd_remote_bind_address(&r->spec), addr) != 0)
			continue;
		if (found != NULL)
			return NULL;	/* ambiguous */
		found = r;
	}
	if (found != NULL)
		log_verbose("forwarded-tcpip for %s port 0: taken as the port-0 "
		    "forward on port %d (the server did not name the port it "
		    "allocated)", addr, found->port);
	return found;
}

/* The forward a forwarded-tcpip channel belongs to: its port must be one
 * we listen on; among several on that port the address decides. */
static struct fwd_remote *
match(struct fwd_remote_set *rs, const char *addr, uint32_t port)
{
	struct fwd_remote *found = NULL, *r;

	for (r = rs->head; r != NULL; r = r->next) {
		if (r->state != RF_ACTIVE || r->spec.listen_path[0] != '\0' ||
		    (uint32_t)r->port != port)
			continue;
		if (strcmp(fwd_remote_bind_address(&r->spec), addr) == 0)
			return r;
		if (found == NULL)
			found = r;
	}
	if (found == NULL && port == 0)
		return match_port0(rs, addr);
	return found;
}

static struct fwd_remote *
match_path(struct fwd_remote_set *rs, const char *path)
{
	struct fwd_remote *r;

	for (r = rs->head; r != NULL; r = r->next)
		if (r->state == RF_ACTIVE &&
		    strcmp(r->spec.listen_path, path) == 0)
			return r;
	return NULL;
}

void
fwd_remote_open(struct fwd_remote_set *rs, struct ssh_event *ev)
{
	bool streamlocal = strcmp(ev->u.open_request.type,
	    "forwarded-streamlocal@openssh.com") == 0;
	struct fwd_remote *r;
	struct rd rd;
	char addr[256], orig[256], spec[600], label[700];
	uint32_t port = 0, oport = 0;
	int ret;

	rd_init(&rd, ev->u.open_request.extra, ev->u.open_request.extra_len);
	if (streamlocal ? rd_cstring(&rd, addr, sizeof(addr)) != 0 :
	    (rd_cstring(&rd, addr, sizeof(addr)) != 0 ||
	    rd_u32(&rd, &port) != 0 || rd_cstring(&rd, orig, sizeof(orig)) ||
	    rd_u32(&rd, &oport) != 0)) {
		ev->u.open_request.message = "malformed forwarded channel";
		log_info("refused a %s channel: malformed",
		    ev->u.open_request.type);
		return;
	}
	r = streamlocal ? match_path(rs, addr) : match(rs, addr, port);
	if (r == NULL) {
		ev->u.open_request.message = "no such forward";
		if (streamlocal)
			log_info("refused a %s channel for %s: no remote "
			    "forward of ours listens there",
			    ev->u.open_request.type, addr);
		else
			log_info("refused a forwarded-tcpip channel for %s "
			    "port %u: no remote forward of ours listens there",
			    addr, port);
		return;
	}
	fwd_spec_format(&r->spec, spec, sizeof(spec));
	snprintf(label, sizeof(label), "remote forward %s", spec);
	if (!streamlocal)
		log_verbose("%s: connection from %s port %u", label, orig,
		    oport);
	if (r->spec.dynamic)
		ret = pump_socks_channel(rs->pumps, rs->loop, ev->chan,
		    rs->permits, rs->npermits, label, &r->stats);
	else if (r->spec.connect_path[0] != '\0')
		ret = pump_connect_unix(rs->pumps, rs->loop, ev->chan,
		    r->spec.connect_path, label, &r->stats);
	else
		ret = pump_connect(rs->pumps, rs->loop, ev->chan, r->spec.host,
		    (uint32_t)r->spec.port, label, &r->stats);
	if (ret != 0) {
		ev->u.open_request.reason = SSH_OPEN_RESOURCE_SHORTAGE;
		ev->u.open_request.message = "out of memory";
		return;
	}
	ev->u.open_request.defer = true;
}

void
fwd_remote_remove(struct fwd_remote_set *rs, struct fwd_remote *r,
    struct ssh_conn *ssh)
{
	if (r->state == RF_REQUESTED && ssh != NULL) {
		r->doomed = true;
		return;
	}
	if (r->state == RF_ACTIVE && ssh != NULL)
		send_forward(ssh, true, &r->spec, r->port, false, NULL);
	unlink_free(rs, r);
}

void
fwd_remote_reset(struct fwd_remote_set *rs)
{
	struct fwd_remote *r, *next;

	for (r = rs->head; r != NULL; r = next) {
		next = r->next;
		if (r->doomed)		/* its reply will never come */
			unlink_free(rs, r);
		else
			r->state = RF_IDLE;
	}
	rs->pending = 0;
}

bool
fwd_remote_any_refused(const struct fwd_remote_set *rs)
{
	const struct fwd_remote *r;

	for (r = rs->head; r != NULL; r = r->next)
		if (r->state == RF_REFUSED)
			return true;
	return false;
}

void
fwd_remote_cancel_all(struct fwd_remote_set *rs, struct ssh_conn *ssh)
{
	struct fwd_remote *r;

	for (r = rs->head; r != NULL; r = r->next) {
		if (r->state != RF_ACTIVE)
			continue;
		send_forward(ssh, true, &r->spec, r->port, false, NULL);
		r->state = RF_IDLE;
	}
}
