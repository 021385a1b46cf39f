/* One outbound connect: resolves a name (asynchronously; an address
 * literal connects at once), tries each address in turn, and reports
 * once, with the socket moved into the caller's own handle or with the
 * stage that failed. Used by the SSH connection (net/conn.c) and by the
 * data pump's outbound connects (fwd/pump.c).
 *
 * Ownership: the caller owns dst, a handle it initialised (uv_tcp_init,
 * uv_pipe_init) on the loop to connect on and whose memory it frees in
 * dst's own close callback, as always. The connector never initialises
 * or closes dst; on success it opens the connected socket in it
 * (uv_tcp_open, uv_pipe_open on a duplicate of the descriptor) just
 * before cb. Every other handle and request (the attempts' sockets, the
 * resolver request, the deadline timer) is the connector's: it allocates
 * them in its own memory and frees that memory itself once its last close
 * callback has run, which may be after cb or connector_cancel returned.
 * So the caller may free its own object as soon as cb was called or
 * connector_cancel returned (dst aside, which it closes). */
#ifndef FERRY_NET_CONNECTOR_H
#define FERRY_NET_CONNECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <uv.h>

struct connector;

/* Where outbound connections come from (ssh's BindAddress,
 * BindInterface): an address per family, or none (family AF_UNSPEC) for
 * the kernel's choice. With set, an address of a family it lacks is not
 * tried. */
struct connector_src {
	bool			 set;
	struct sockaddr_storage	 v4;
	struct sockaddr_storage	 v6;
};

/* Fills src from a BindAddress literal (addr), else from the addresses
 * of interface iface (a global IPv6 address preferred); both NULL: unset.
 * Returns 0, or -1 with err naming what was wrong. */
int	connector_src_set(struct connector_src *src, const char *addr,
	    const char *iface, char *err, size_t errlen);

/* How a connect ended. */
enum connector_stage {
	CONNECTOR_CONNECTED,	/* dst holds the connected socket; err 0 */
	CONNECTOR_RESOLVE,	/* the name did not resolve; err UV_EAI_* */
	CONNECTOR_CONNECT,	/* no address took it; err the last one's */
	CONNECTOR_TIMEOUT,	/* the deadline came first; err UV_ETIMEDOUT */
};

/* Called exactly once unless connector_cancel came first, never from
 * inside connector_tcp or connector_unix. err is 0 or a libuv error
 * code. From the call on, the connector pointer is no longer the
 * caller's to use (nor to cancel); cb may close dst or free the caller's
 * object. */
typedef void	(*connector_cb)(void *ud, enum connector_stage stage, int err);

/* Connects dst (an initialised, unconnected uv_tcp_t) to host (a name or
 * an address literal) and port (a number or a service name), trying the
 * addresses of family (AF_UNSPEC, AF_INET, AF_INET6) in the resolver's
 * order, from src (NULL: the kernel's choice; copied); a failed attempt
 * is logged at verbose before the next.
 * timeout_ms (0: none) bounds the whole, resolving included. Returns 0
 * and sets *cp, or a libuv error code (out of memory, or the resolver
 * refused the request) and then cb is never called. host and port need
 * not outlive the call. */
int	connector_tcp(struct connector **cp, uv_tcp_t *dst, const char *host,
	    const char *port, int family, const struct connector_src *src,
	    unsigned timeout_ms, connector_cb cb, void *ud);
/* The same for a Unix socket path (stage CONNECTOR_CONNECT or
 * CONNECTOR_TIMEOUT on failure). The path is used before the call
 * returns: the connect itself is started (and on Linux done) by then. */
int	connector_unix(struct connector **cp, uv_pipe_t *dst, const char *path,
	    unsigned timeout_ms, connector_cb cb, void *ud);
/* Abandons the connect at whatever stage it is: cb is not called, dst is
 * left as it was (initialised, unconnected), and the connector frees
 * itself once its handles are closed and its resolver request is back.
 * Only before cb was called. */
void	connector_cancel(struct connector *c);

#endif
