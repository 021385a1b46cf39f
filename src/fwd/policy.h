/* Forwarding policy, in one place: where a server binds a remote
 * forward (GatewayPorts, exactly OpenSSH's channel_fwd_bind_addr()), and
 * the PermitOpen / PermitListen style permission lists. */
#ifndef FERRY_FWD_POLICY_H
#define FERRY_FWD_POLICY_H

#include <stdbool.h>

#include "fwd/listener.h"

enum gw_mode {
	GW_MODE_NO,
	GW_MODE_YES,
	GW_MODE_CLIENTSPECIFIED,
};

/* One permission: host "*" is any host, port -1 any port. For listen
 * permissions the host is a pattern; empty (none written) means "*". */
struct fwd_permit {
	char	host[256];
	int	port;
};

/* Where a tcpip-forward for bind address req binds:
 *   no:              "127.0.0.1" or "::1" as asked, anything else loopback
 *   yes:             every request on all addresses
 *   clientspecified: "" or "*" all addresses, "localhost" loopback in both
 *                    families, any other address literally.
 * *addr is set for SCOPE_ADDR. why gets a sentence for the user. */
enum bind_scope fwd_policy_bind(enum gw_mode gw, const char *req,
		    const char **addr, char *why, size_t whylen);
/* The name of a mode as sshd_config writes it. */
const char	*fwd_gw_name(enum gw_mode gw);
/* PermitOpen / permitopen=: n < 0 allows everything, n == 0 nothing. */
bool		 fwd_permit_open_ok(const struct fwd_permit *v, int n,
		    const char *host, int port);
/* PermitListen / permitlisten=: the entry's host is a glob pattern for
 * the bind address as sent on the wire (sshd's remote_open_match());
 * "8080" alone allows port 8080 on any address. */
bool		 fwd_permit_listen_ok(const struct fwd_permit *v, int n,
		    const char *req, int port);

#endif
