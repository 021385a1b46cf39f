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

/* A permission list that no keyword has set yet (the first value
 * obtained for a keyword wins). */
#define FWD_PERMIT_UNSET	(-2)

/* One PermitOpen host:port / PermitListen [host:]port entry; a bare port
 * is a listen permission for any host, as in sshd. "*" for the port is
 * any port. Returns 0 or -1. */
int		 fwd_permit_parse(const char *v, bool listen,
		    struct fwd_permit *p);
/* A keyword's words: "any" (*np = -1), "none" (0) or up to max entries.
 * Stored only while *np is FWD_PERMIT_UNSET. Returns 0, or -1 with err
 * naming kw and the bad word. */
int		 fwd_permit_words(struct fwd_permit *arr, int max, int *np,
		    bool listen, const char *kw, char **a, int n, char *err,
		    size_t errlen);

/* Where a tcpip-forward for bind address req binds:
 *   no:              "127.0.0.1" or "::1" as asked, anything else loopback
 *   yes:             every request on all addresses
 *   clientspecified: "" or "*" all addresses, "localhost" loopback in both
 *                    families, any other address literally.
 * *addr is set for SCOPE_ADDR. why gets a sentence for the user. */
enum bind_scope fwd_policy_bind(enum gw_mode gw, const char *req,
		    const char **addr, char *why, size_t whylen);
/* Whether a is an IPv4 or IPv6 address literal: ferryd binds only those,
 * so a request never waits on a resolver in the event loop. */
bool		fwd_addr_is_literal(const char *a);
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
