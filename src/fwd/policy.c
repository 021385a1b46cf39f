/* Forwarding policy. */
#include "policy.h"

#include "util/match.h"

#include <stdio.h>
#include <string.h>

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
