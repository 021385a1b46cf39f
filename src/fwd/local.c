/* Local (-L) forwards: where ssh(1) binds them, then a listener. */
#include "local.h"

#include <stdio.h>

int
fwd_local_start(uv_loop_t *loop, const struct fwd_spec *spec,
    bool gateway_ports, int family, struct pump_set *set,
    struct fwd_listener **out, char *err, size_t errlen)
{
	struct sockaddr_storage addrs[FWD_MAX_ADDRS];
	struct fwd_listener_cfg lc;
	enum bind_scope scope;
	char text[300], label[320];
	int n = 0;

	/* ssh: none or "localhost" is loopback unless -g; "" or "*" all */
	if (spec->bind == BIND_ADDR)
		scope = SCOPE_ADDR;
	else if (spec->bind == BIND_ANY ||
	    (spec->bind == BIND_DEFAULT && gateway_ports))
		scope = SCOPE_ANY;
	else
		scope = SCOPE_LOOPBACK;
	if (fwd_bind_addrs(scope, spec->bind_addr, family, addrs, &n, err,
	    errlen) != 0)
		return -1;
	fwd_spec_format(spec, text, sizeof(text));
	snprintf(label, sizeof(label), "local forward %s", text);
	lc.chan_type = "direct-tcpip";
	lc.host = spec->host;
	lc.port = spec->port;
	lc.all_or_nothing = false;
	lc.label = label;
	*out = fwd_listener_start(loop, addrs, n, spec->listen_port, &lc, set,
	    err, errlen);
	return *out != NULL ? 0 : -1;
}
