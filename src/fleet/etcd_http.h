/* HTTP POSTs to etcd members through libcurl's multi interface on a
 * libuv loop: curl_multi_socket_action driven by one uv_poll per socket
 * curl opens (CURLMOPT_SOCKETFUNCTION) and one uv_timer for curl's
 * timeouts (CURLMOPT_TIMERFUNCTION). Nothing here blocks the loop:
 * names resolve in curl's resolver thread, connects and transfers are
 * non-blocking.
 *
 * Transfers are added to and removed from curl only from a zero-delay
 * timer of this layer, never from inside a curl callback, so every call
 * here is safe from any callback, including a transfer's own.
 *
 * Ownership: the caller owns struct etcd_http until etcd_http_close; it
 * is freed once its handles closed (closed(arg) then). A transfer is
 * this layer's: it is freed right after its done callback returns, or
 * at etcd_http_cancel (done is then never called). */
#ifndef FERRY_FLEET_ETCD_HTTP_H
#define FERRY_FLEET_ETCD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "fleet/etcd_tls.h"

enum etcd_http_result {
	ETCD_HTTP_OK,		/* the whole answer came; see status */
	ETCD_HTTP_CONNECT,	/* the member was not reached */
	ETCD_HTTP_TIMEOUT,	/* the transfer's time ran out */
	ETCD_HTTP_TOO_BIG,	/* an answer over its bound */
	ETCD_HTTP_TLS,		/* TLS failed: the member's certificate
				 * or name did not verify, it refused
				 * ours (or we had none to offer) */
	ETCD_HTTP_FAILED,	/* any other transport failure */
};

struct etcd_http_outcome {
	enum etcd_http_result result;
	long		 status;	/* HTTP status (0: none came) */
	const char	*body;		/* what was collected (unary) */
	size_t		 len;
	const char	*err;		/* curl's reason, "" when OK */
};

/* A piece of a streamed answer as it arrives; return 0 to go on, -1 to
 * end the transfer (done then gets ETCD_HTTP_FAILED). */
typedef int	(*etcd_http_data_fn)(void *arg, const char *data, size_t n);
/* The transfer is over; o and what it points to live during the call. */
typedef void	(*etcd_http_done_fn)(void *arg,
		    const struct etcd_http_outcome *o);

struct etcd_http_req {
	const char	*url;		/* copied */
	char		*body;		/* taken: freed with the transfer */
	size_t		 bodylen;
	size_t		 max;		/* bound of a collected answer */
	unsigned	 timeout_ms;	/* the whole transfer; 0: none */
	unsigned	 connect_ms;
	bool		 require_leader; /* etcd ends a stream whose member
					  * has no leader */
	etcd_http_data_fn data;		/* NULL: collect up to max */
	etcd_http_done_fn done;
	void		*arg;
};

struct etcd_http;
struct etcd_http_xfer;

/* tls (copied; NULL: none) serves https:// URLs: the member's
 * certificate and name are always verified. 0, or -1 with err. */
int	 etcd_http_new(uv_loop_t *loop, const struct etcd_tls *tls,
	    struct etcd_http **out, char *err, size_t errlen);
/* Starts a POST on the next turn of the loop. NULL when out of memory or
 * closing (r->body is freed all the same). */
struct etcd_http_xfer *etcd_http_post(struct etcd_http *h,
	    const struct etcd_http_req *r);
/* Ends x before it completed; its done is never called. Not after done
 * was called (x is gone then). */
void	 etcd_http_cancel(struct etcd_http_xfer *x);
/* Ends every transfer (no done is called) and frees h once its handles
 * closed, then calls closed(arg) (may be NULL). */
void	 etcd_http_close(struct etcd_http *h, void (*closed)(void *),
	    void *arg);

#endif
