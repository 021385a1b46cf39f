/* Local (-L, -D) forwards: where ssh(1) binds them, then a listener. */
#include "local.h"

#include <stdio.h>

int
fwd_local_start(uv_loop_t *loop, const struct fwd_spec *spec,
    const struct fwd_local_opts *lo, struct pump_set *set,
    struct fwd_stats *stats, struct fwd_listener **out, char *err,
    size_t errlen)
{
	struct sockaddr_storage addrs[FWD_MAX_ADDRS];
	struct fwd_listener_cfg lc;
	enum bind_scope scope;
	char text[600], label[640];
	int n = 0;

	fwd_spec_format(spec, text, sizeof(text));
	snprintf(label, sizeof(label), "%s forward %s", spec->dynamic ?
	    "dynamic" : "local", text);
	lc.kind = spec->dynamic ? OPEN_SOCKS : spec->connect_path[0] ?
	    OPEN_DIRECT_STREAMLOCAL : OPEN_DIRECT_TCPIP;
	lc.name = spec->connect_path[0] ? spec->connect_path : spec->host;
	lc.port = spec->port;
	lc.all_or_nothing = false;
	lc.label = label;
	lc.stats = stats;
	lc.max_conns = 0;
	lc.refused = NULL;
	lc.ud = NULL;
	if (spec->listen_path[0] != '\0') {
		*out = fwd_listener_start_unix(loop, spec->listen_path,
		    lo->bind_mask, lo->bind_unlink, &lc, set, err, errlen);
		return *out != NULL ? 0 : -1;
	}
	/* ssh: none or "localhost" is loopback unless -g; "" or "*" all */
	if (spec->bind == BIND_ADDR)
		scope = SCOPE_ADDR;
	else if (spec->bind == BIND_ANY ||
	    (spec->bind == BIND_DEFAULT && lo->gateway_ports))
		scope = SCOPE_ANY;
	else
		scope = SCOPE_LOOPBACK;
	if (fwd_bind_addrs(scope, spec->bind_addr, lo->family, addrs, &n, err,
	    errlen) != 0)
		return -1;
	*out = fwd_listener_start(loop, addrs, n, spec->listen_port, &lc, set,
	    err, errlen);
	return *out != NULL ? 0 : -1;
}
