/* Local (-L) forwards: listeners on this host whose connections become
 * direct-tcpip channels. */
#ifndef FERRY_FWD_LOCAL_H
#define FERRY_FWD_LOCAL_H

#include <stdbool.h>
#include <uv.h>

#include "fwd/listener.h"
#include "fwd/pump.h"
#include "fwd/spec.h"

/* Binds spec's listeners (loopback, wildcard or the given address, as ssh
 * decides with gateway_ports = -g) in family (AF_UNSPEC for both).
 * Returns 0 with *out, or -1 with the reason in err. */
int	fwd_local_start(uv_loop_t *loop, const struct fwd_spec *spec,
	    bool gateway_ports, int family, struct pump_set *set,
	    struct fwd_listener **out, char *err, size_t errlen);

#endif
