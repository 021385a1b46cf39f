/* Local forwards: -L (listeners on this host whose connections become
 * direct-tcpip or direct-streamlocal channels) and -D (SOCKS). */
#ifndef FERRY_FWD_LOCAL_H
#define FERRY_FWD_LOCAL_H

#include <stdbool.h>
#include <uv.h>

#include "fwd/listener.h"
#include "fwd/pump.h"
#include "fwd/spec.h"

struct fwd_local_opts {
	bool	gateway_ports;	/* -g */
	int	family;		/* AF_UNSPEC for both */
	int	bind_mask;	/* StreamLocalBindMask */
	bool	bind_unlink;	/* StreamLocalBindUnlink */
};

/* Binds spec's listener: a Unix socket path, or loopback, wildcard or
 * the given address as ssh decides. Returns 0 with *out, or -1 with the
 * reason in err. */
int	fwd_local_start(uv_loop_t *loop, const struct fwd_spec *spec,
	    const struct fwd_local_opts *lo, struct pump_set *set,
	    struct fwd_stats *stats, struct fwd_listener **out, char *err,
	    size_t errlen);

#endif
