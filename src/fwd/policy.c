/* Forwarding policy. */
#include "policy.h"

#include "util/hostport.h"
#include "util/match.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *
fwd_gw_name(enum gw_mode gw)
{
	switch (gw) {
	case GW_MODE_YES:
		return "yes";
	case GW_MODE_CLIENTSPECIFIED:
		return "clientspecified";
	default:
		return "no";
	}
}

enum bind_scope
fwd_policy_bind(enum gw_mode gw, const char *req, const char **addr,
    char *why, size_t whylen)
{
	*addr = NULL;
	if (gw == GW_MODE_YES) {
		snprintf(why, whylen, "GatewayPorts yes: every address");
		return SCOPE_ANY;
	}
	if (gw == GW_MODE_CLIENTSPECIFIED) {
		if (req[0] == '\0' || strcmp(req, "*") == 0) {
			snprintf(why, whylen, "GatewayPorts clientspecified, "
			    "\"%s\" asked: every address", req);
			return SCOPE_ANY;
		}
		if (strcmp(req, "localhost") == 0) {
			snprintf(why, whylen, "GatewayPorts clientspecified, "
			    "\"localhost\" asked: loopback");
			return SCOPE_LOOPBACK;
		}
		*addr = req;
		snprintf(why, whylen, "GatewayPorts clientspecified: %s as "
		    "asked", req);
		return SCOPE_ADDR;
	}
	/* no: loopback only, but an explicit loopback address is honoured */
	if (strcmp(req, "127.0.0.1") == 0 || strcmp(req, "::1") == 0) {
		*addr = req;
		snprintf(why, whylen, "GatewayPorts no: %s as asked", req);
		return SCOPE_ADDR;
	}
	if (req[0] == '\0' || strcmp(req, "localhost") == 0)
		snprintf(why, whylen, "GatewayPorts no: loopback");
	else
		snprintf(why, whylen, "GatewayPorts no: loopback instead of "
		    "\"%s\" (set GatewayPorts clientspecified to honour the "
		    "client's address)", req);
	return SCOPE_LOOPBACK;
}

/* PermitOpen and permitopen= compare the host exactly, as sshd's
 * open_match() does. */
static bool
open_host_ok(const char *entry, const char *host)
{
	return strcmp(entry, "*") == 0 || strcmp(entry, host) == 0;
}

/* sshd's remote_open_match(): the entry's host is a pattern for the
 * requested bind address; a bare port means "*". */
static bool
listen_host_ok(const char *entry, const char *req)
{
	const char *h = entry[0] == '\0' ? "*" : entry;

	return match_glob(h, strlen(h), req);
}

/* Whether an entry of v[0..n) allows port (its port -1 is any) and, by
 * host_ok, host; n < 0 is no list at all, which allows anything. */
static bool
permit_find(const struct fwd_permit *v, int n, int port,
    bool (*host_ok)(const char *, const char *), const char *host)
{
	int i;

	if (n < 0)
		return true;
	for (i = 0; i < n; i++) {
		if ((v[i].port == -1 || v[i].port == port) &&
		    host_ok(v[i].host, host))
			return true;
	}
	return false;
}

bool
fwd_permit_open_ok(const struct fwd_permit *v, int n, const char *host,
    int port)
{
	return permit_find(v, n, port, open_host_ok, host);
}

bool
fwd_permit_listen_ok(const struct fwd_permit *v, int n, const char *req,
    int port)
{
	return permit_find(v, n, port, listen_host_ok, req);
}

int
fwd_permit_parse(const char *v, bool listen, struct fwd_permit *p)
{
	const char *host;
	size_t hlen;
	int port;

	if (hostport_split(v, listen, &host, &hlen, &port) != HP_OK)
		return -1;
	/* No brackets inside: what is printed must read back the same. */
	if (hlen == 0 || hlen >= sizeof(p->host) ||
	    memchr(host, '[', hlen) != NULL || memchr(host, ']', hlen) != NULL)
		return -1;
	memcpy(p->host, host, hlen);
	p->host[hlen] = '\0';
	p->port = port;
	return 0;
}

int
fwd_permit_words(struct fwd_permit *arr, int max, int *np, bool listen,
    const char *kw, char **a, int n, char *err, size_t errlen)
{
	struct fwd_permit tmp;
	int i, count;
	bool store = *np == FWD_PERMIT_UNSET;

	if (strcasecmp(a[0], "any") == 0 || strcasecmp(a[0], "none") == 0) {
		if (n > 1) {
			snprintf(err, errlen, "%s: '%s' must appear alone", kw,
			    a[0]);
			return -1;
		}
		if (store)
			*np = strcasecmp(a[0], "any") == 0 ? -1 : 0;
		return 0;
	}
	if (n > max) {
		snprintf(err, errlen, "%s: too many entries (max %d)", kw,
		    max);
		return -1;
	}
	for (i = 0, count = 0; i < n; i++) {
		if (strcasecmp(a[i], "any") == 0 ||
		    strcasecmp(a[i], "none") == 0) {
			snprintf(err, errlen, "%s: '%s' must appear alone", kw,
			    a[i]);
			goto bad;
		}
		if (fwd_permit_parse(a[i], listen, store ? &arr[count] :
		    &tmp) != 0) {
			snprintf(err, errlen, "%s: bad value '%s' (%s, any or "
			    "none)", kw, a[i], listen ? "[host:]port" :
			    "host:port");
			goto bad;
		}
		count++;
	}
	if (store)
		*np = count;
	return 0;
bad:
	if (store)
		memset(arr, 0, sizeof(*arr) * max);
	return -1;
}

bool
fwd_addr_is_literal(const char *a)
{
	struct in6_addr buf;

	return inet_pton(AF_INET, a, &buf) == 1 ||
	    inet_pton(AF_INET6, a, &buf) == 1;
}

static bool
req_remote(const struct fwd_req *req)
{
	return req->kind == FWD_REQ_LISTEN_TCP ||
	    req->kind == FWD_REQ_LISTEN_UNIX;
}

static bool
req_unix(const struct fwd_req *req)
{
	return req->kind == FWD_REQ_OPEN_UNIX ||
	    req->kind == FWD_REQ_LISTEN_UNIX;
}

static bool
dirs_allow(enum fwd_dirs d, bool remote)
{
	return d == FWD_DIRS_ALL ||
	    d == (remote ? FWD_DIRS_REMOTE : FWD_DIRS_LOCAL);
}

/* What every forward must pass, whichever its kind; the key's
 * no-port-forwarding (or restrict) rules out Unix sockets too, as in
 * sshd. */
static enum fwd_deny
check_common(const struct fwd_srv_rules *r, const struct fwd_key_rules *k,
    const struct fwd_req *req)
{
	if (r->disable_forwarding)
		return FWD_DENY_DISABLE_FORWARDING;
	if (req_unix(req) && !dirs_allow(r->allow_streamlocal, req_remote(req)))
		return FWD_DENY_ALLOW_STREAMLOCAL;
	if (!req_unix(req) && !dirs_allow(r->allow_tcp, req_remote(req)))
		return FWD_DENY_ALLOW_TCP;
	if (!k->port_forwarding)
		return FWD_DENY_KEY_NO_PORT_FORWARDING;
	return FWD_OK;
}

static enum fwd_deny
check_listen_tcp(const struct fwd_srv_rules *r, const struct fwd_key_rules *k,
    const struct fwd_req *req)
{
	if (req->port == 0 && !req->want_reply)
		return FWD_DENY_PORT0_NO_REPLY;
	if (req->port > 0 && req->port < 1024)
		return FWD_DENY_PRIVILEGED_PORT;
	if (!fwd_permit_listen_ok(r->permit_listen, r->npermit_listen,
	    req->name, req->port))
		return FWD_DENY_PERMIT_LISTEN;
	if (!fwd_permit_listen_ok(k->listen, k->nlisten ? k->nlisten : -1,
	    req->name, req->port))
		return FWD_DENY_KEY_PERMIT_LISTEN;
	return FWD_OK;
}

static enum fwd_deny
check_open_tcp(const struct fwd_srv_rules *r, const struct fwd_key_rules *k,
    const struct fwd_req *req)
{
	if (!fwd_permit_open_ok(r->permit_open, r->npermit_open, req->name,
	    req->port))
		return FWD_DENY_PERMIT_OPEN;
	if (!fwd_permit_open_ok(k->open, k->nopen ? k->nopen : -1, req->name,
	    req->port))
		return FWD_DENY_KEY_PERMIT_OPEN;
	return FWD_OK;
}

/* Unlike sshd, permitopen= (opens) or permitlisten= (listeners) confine
 * Unix sockets too: they can only name TCP, and a key confined to some
 * ports must not escape through a socket (KeyPermitsCoverStreamLocal no
 * gives sshd's rule). */
static enum fwd_deny
check_unix(const struct fwd_srv_rules *r, const struct fwd_key_rules *k,
    const struct fwd_req *req)
{
	int n = req_remote(req) ? k->nlisten : k->nopen;

	if (n > 0 && r->key_permits_cover_sl)
		return FWD_DENY_KEY_PERMITS_COVER_SL;
	return FWD_OK;
}

enum fwd_deny
fwd_srv_check(const struct fwd_srv_rules *r, const struct fwd_key_rules *k,
    const struct fwd_req *req)
{
	enum fwd_deny d;

	if ((d = check_common(r, k, req)) != FWD_OK)
		return d;
	switch (req->kind) {
	case FWD_REQ_LISTEN_TCP:
		return check_listen_tcp(r, k, req);
	case FWD_REQ_OPEN_TCP:
		return check_open_tcp(r, k, req);
	default:
		return check_unix(r, k, req);
	}
}

/* ferryd binds only address literals, so a request never waits on a
 * resolver in the event loop. */
enum fwd_deny
fwd_srv_bind(const struct fwd_srv_rules *r, const struct fwd_req *req,
    enum bind_scope *scope, const char **addr, char *why, size_t whylen)
{
	*scope = fwd_policy_bind(r->gateway_ports, req->name, addr, why,
	    whylen);
	if (*scope == SCOPE_ADDR && !fwd_addr_is_literal(*addr))
		return FWD_DENY_BIND_NOT_LITERAL;
	return FWD_OK;
}

static const char *
dirs_name(enum fwd_dirs d)
{
	return d == FWD_DIRS_NONE ? "no" : d == FWD_DIRS_LOCAL ? "local" :
	    d == FWD_DIRS_REMOTE ? "remote" : "yes";
}

static void
req_text(const struct fwd_req *req, char *out, size_t outlen)
{
	switch (req->kind) {
	case FWD_REQ_OPEN_TCP:
		snprintf(out, outlen, "connection to %s port %d", req->name,
		    req->port);
		break;
	case FWD_REQ_LISTEN_TCP:
		snprintf(out, outlen, "remote forward \"%s\":%d", req->name,
		    req->port);
		break;
	case FWD_REQ_OPEN_UNIX:
		snprintf(out, outlen, "connection to socket %s", req->name);
		break;
	default:
		snprintf(out, outlen, "remote forward of socket %s", req->name);
		break;
	}
}

/* The Allow* keyword that refused, in its words. */
static void
dirs_text(enum fwd_deny d, const struct fwd_srv_rules *r, bool remote,
    char *out, size_t outlen)
{
	if (d == FWD_DENY_ALLOW_TCP)
		snprintf(out, outlen, "AllowTcpForwarding %s forbids %s "
		    "forwarding", dirs_name(r->allow_tcp), remote ?
		    "remote (-R)" : "local (-L)");
	else
		snprintf(out, outlen, "AllowStreamLocalForwarding %s forbids "
		    "%s", dirs_name(r->allow_streamlocal), remote ? "remote "
		    "Unix-socket forwarding (streamlocal-forward)" : "local "
		    "Unix-socket forwarding (direct-streamlocal)");
}

/* The key's line that refused, in its words. */
static void
key_text(enum fwd_deny d, const struct fwd_key_rules *k, bool remote,
    char *out, size_t outlen)
{
	const char *file = k->file != NULL ? k->file : "?";

	if (d == FWD_DENY_KEY_NO_PORT_FORWARDING)
		snprintf(out, outlen, "the key's authorized_keys line (%.200s "
		    "line %d) has %s", file, k->line, k->restricted ?
		    "restrict without port-forwarding" : "no-port-forwarding");
	else if (d == FWD_DENY_KEY_PERMITS_COVER_SL)
		snprintf(out, outlen, "the key's authorized_keys line (%.200s "
		    "line %d) has %s, which names TCP %s only, so it gets no "
		    "%s Unix-socket forwarding (KeyPermitsCoverStreamLocal "
		    "yes)", file, k->line, remote ? "permitlisten=" :
		    "permitopen=", remote ? "listeners" : "destinations",
		    remote ? "remote" : "local");
	else
		snprintf(out, outlen, "not allowed by %s in %.200s line %d",
		    d == FWD_DENY_KEY_PERMIT_LISTEN ? "permitlisten" :
		    "permitopen", file, k->line);
}

static void
rule_text(enum fwd_deny d, const struct fwd_srv_rules *r,
    const struct fwd_key_rules *k, const struct fwd_req *req, char *out,
    size_t outlen)
{
	bool remote = req_remote(req);
	const char *fixed = NULL;

	switch (d) {
	case FWD_OK:
		fixed = "allowed";
		break;
	case FWD_DENY_DISABLE_FORWARDING:
		if (req_unix(req))
			snprintf(out, outlen, "DisableForwarding yes forbids "
			    "%s Unix-socket forwarding", remote ? "remote" :
			    "local");
		else
			snprintf(out, outlen, "DisableForwarding yes forbids "
			    "%s forwarding", remote ? "remote (-R)" :
			    "local (-L)");
		break;
	case FWD_DENY_ALLOW_TCP:
	case FWD_DENY_ALLOW_STREAMLOCAL:
		dirs_text(d, r, remote, out, outlen);
		break;
	case FWD_DENY_KEY_NO_PORT_FORWARDING:
	case FWD_DENY_KEY_PERMITS_COVER_SL:
	case FWD_DENY_KEY_PERMIT_LISTEN:
	case FWD_DENY_KEY_PERMIT_OPEN:
		key_text(d, k, remote, out, outlen);
		break;
	case FWD_DENY_PORT0_NO_REPLY:
		fixed = "a port-0 request must ask for a reply to learn its "
		    "port";
		break;
	case FWD_DENY_PRIVILEGED_PORT:
		fixed = "privileged ports are not forwarded";
		break;
	case FWD_DENY_PERMIT_LISTEN:
		fixed = "not allowed by PermitListen";
		break;
	case FWD_DENY_PERMIT_OPEN:
		fixed = "not allowed by PermitOpen";
		break;
	case FWD_DENY_BIND_NOT_LITERAL:
		fixed = "the bind address is not an address literal (ferryd "
		    "does not resolve names for remote forwards)";
		break;
	}
	if (fixed != NULL)
		snprintf(out, outlen, "%s", fixed);
}

void
fwd_deny_text(enum fwd_deny d, const struct fwd_srv_rules *r,
    const struct fwd_key_rules *k, const struct fwd_req *req, char *out,
    size_t outlen)
{
	char what[600], rule[600];

	req_text(req, what, sizeof(what));
	rule_text(d, r, k, req, rule, sizeof(rule));
	snprintf(out, outlen, "%s: %s", what, rule);
}
