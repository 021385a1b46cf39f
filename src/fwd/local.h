/* Local (-L) forwards: listeners on this host whose connections become
 * direct-tcpip channels. */
#ifndef FERRY_FWD_LOCAL_H
#define FERRY_FWD_LOCAL_H

#include <stdbool.h>
#include <uv.h>

#include "fwd/pump.h"
#include "fwd/spec.h"

struct fwd_local;

/* Binds the listeners of spec (loopback, wildcard or the given address,
 * as ssh decides with gateway_ports = -g) in family (AF_UNSPEC for both).
 * Connections go through set. Returns the forward, or NULL with the
 * reason in err. */
struct fwd_local *fwd_local_start(uv_loop_t *loop, const struct fwd_spec *spec,
		    bool gateway_ports, int family, struct pump_set *set,
		    char *err, size_t errlen);
/* The port the listeners are bound to (the kernel's choice for port 0). */
int		 fwd_local_port(const struct fwd_local *fl);
/* Closes the listeners; the forward frees itself once they are closed.
 * Open connections are not affected. */
void		 fwd_local_stop(struct fwd_local *fl);

#endif
