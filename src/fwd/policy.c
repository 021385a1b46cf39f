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

bool
fwd_permit_open_ok(const struct fwd_permit *v, int n, const char *host,
    int port)
{
	int i;

	if (n < 0)
		return true;
	for (i = 0; i < n; i++) {
		if (v[i].port != -1 && v[i].port != port)
			continue;
		/* exact, as sshd's open_match() compares */
		if (strcmp(v[i].host, "*") == 0 || strcmp(v[i].host, host) == 0)
			return true;
	}
	return false;
}

bool
fwd_permit_listen_ok(const struct fwd_permit *v, int n, const char *req,
    int port)
{
	const char *h;
	int i;

	if (n < 0)
		return true;
	for (i = 0; i < n; i++) {
		if (v[i].port != -1 && v[i].port != port)
			continue;
		/* sshd's remote_open_match(): the entry's host is a pattern
		 * for the requested bind address; a bare port means "*" */
		h = v[i].host[0] == '\0' ? "*" : v[i].host;
		if (match_glob(h, strlen(h), req))
			return true;
	}
	return false;
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
