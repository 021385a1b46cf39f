/* Resolves and connects for whoever connects out (connector.h). */
#include "connector.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

/* Freed by itself when pending reaches 0: its timer is always one of the
 * pending, so that happens in a close callback, never inside a call from
 * the caller. ai_list is its own (uv_getaddrinfo's or getaddrinfo's). */
struct connector {
	union {
		uv_handle_t	 h;
		uv_tcp_t	 tcp;
		uv_pipe_t	 pipe;
	}			 sock;		/* the attempt under way */
	uv_stream_t		*dst;		/* the caller's */
	uv_timer_t		 timer;		/* the deadline */
	uv_getaddrinfo_t	 gai;
	uv_connect_t		 creq;
	struct addrinfo		*ai_list;
	struct addrinfo		*ai_next;	/* the next address to try */
	connector_cb		 cb;		/* NULL once called or cancelled */
	void			*ud;
	int			 pending;	/* open handles + the resolver */
	int			 err;		/* the last attempt's */
	bool			 sock_open;	/* sock initialised, not closing */
	bool			 resolving;
	struct connector_src	 src;
	char			 host[256];	/* for the log */
};

static void	next_address(struct connector *c);
static void	finish(struct connector *c, enum connector_stage stage,
		    int err);

static void
release(struct connector *c)
{
	if (c->pending > 0)
		return;
	if (c->ai_list != NULL)
		uv_freeaddrinfo(c->ai_list);
	free(c);
}

static void
timer_closed(uv_handle_t *h)
{
	struct connector *c = h->data;

	c->pending--;
	release(c);
}

/* The attempt's socket is closed: after a failure the next address is
 * tried, or the failure reported once there is none. */
static void
sock_closed(uv_handle_t *h)
{
	struct connector *c = h->data;

	c->pending--;
	if (c->cb != NULL && c->ai_next != NULL)
		next_address(c);
	else if (c->cb != NULL)
		finish(c, CONNECTOR_CONNECT, c->err);
	release(c);
}

/* Stops everything under way; the memory goes in the close callbacks. */
static void
teardown(struct connector *c)
{
	c->cb = NULL;
	if (c->resolving)
		uv_cancel((uv_req_t *)&c->gai);
	if (c->sock_open) {
		c->sock_open = false;
		uv_close(&c->sock.h, sock_closed);
	}
	if (!uv_is_closing((uv_handle_t *)&c->timer))
		uv_close((uv_handle_t *)&c->timer, timer_closed);
}

static void
finish(struct connector *c, enum connector_stage stage, int err)
{
	connector_cb cb = c->cb;
	void *ud = c->ud;

	teardown(c);
	cb(ud, stage, err);
}

/* An attempt failed: its socket is closed, and sock_closed goes on. */
static void
attempt_failed(struct connector *c, int err)
{
	c->err = err;
	if (c->ai_next != NULL)
		log_verbose("connect to %s failed: %s; trying the next address",
		    c->host, uv_strerror(err));
	c->sock_open = false;
	uv_close(&c->sock.h, sock_closed);
}

/* Moves the connected socket into the caller's handle: the descriptor is
 * duplicated for dst, and ours goes with our handle. */
static int
hand_over(struct connector *c)
{
	uv_os_fd_t fd;
	int r, nfd;

	if ((r = uv_fileno(&c->sock.h, &fd)) != 0)
		return r;
	if ((nfd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0)
		return -errno;
	r = c->dst->type == UV_NAMED_PIPE ?
	    uv_pipe_open((uv_pipe_t *)c->dst, nfd) :
	    uv_tcp_open((uv_tcp_t *)c->dst, nfd);
	if (r != 0)
		close(nfd);
	return r;
}

static void
connect_cb(uv_connect_t *req, int status)
{
	struct connector *c = req->data;

	if (c->cb == NULL)
		return;		/* finished or cancelled: closing */
	if (status < 0) {
		attempt_failed(c, status);
		return;
	}
	if ((status = hand_over(c)) != 0)
		finish(c, CONNECTOR_CONNECT, status);
	else
		finish(c, CONNECTOR_CONNECTED, 0);
}

static void
open_sock(struct connector *c)
{
	if (c->dst->type == UV_NAMED_PIPE)
		uv_pipe_init(c->dst->loop, &c->sock.pipe, 0);
	else
		uv_tcp_init(c->dst->loop, &c->sock.tcp);
	c->sock.h.data = c;
	c->sock_open = true;
	c->pending++;
	c->creq.data = c;
}

/* The attempt's socket bound to the source address of its family. */
static int
bind_src(struct connector *c, int family)
{
	const struct sockaddr_storage *a = family == AF_INET6 ? &c->src.v6 :
	    &c->src.v4;

	if (!c->src.set)
		return 0;
	if (a->ss_family == AF_UNSPEC)
		return UV_EAFNOSUPPORT;
	return uv_tcp_bind(&c->sock.tcp, (const struct sockaddr *)a, 0);
}

static void
next_address(struct connector *c)
{
	struct addrinfo *ai = c->ai_next;
	int r;

	c->ai_next = ai->ai_next;
	open_sock(c);
	if ((r = bind_src(c, ai->ai_family)) < 0 ||
	    (r = uv_tcp_connect(&c->creq, &c->sock.tcp, ai->ai_addr,
	    connect_cb)) < 0)
		attempt_failed(c, r);
}

static void
gai_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct connector *c = req->data;

	c->resolving = false;
	c->pending--;
	if (c->cb == NULL) {
		if (res != NULL)
			uv_freeaddrinfo(res);
	} else if (status < 0)
		finish(c, CONNECTOR_RESOLVE, status);
	else {
		c->ai_list = c->ai_next = res;
		next_address(c);
	}
	release(c);
}

static void
timeout_cb(uv_timer_t *t)
{
	struct connector *c = t->data;

	finish(c, CONNECTOR_TIMEOUT, UV_ETIMEDOUT);
}

/* A connector with its timer running if there is a deadline. */
static struct connector *
connector_new(uv_stream_t *dst, unsigned timeout_ms, connector_cb cb,
    void *ud)
{
	struct connector *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->dst = dst;
	c->cb = cb;
	c->ud = ud;
	uv_timer_init(dst->loop, &c->timer);
	c->timer.data = c;
	c->pending = 1;
	if (timeout_ms > 0)
		uv_timer_start(&c->timer, timeout_cb, timeout_ms, 0);
	return c;
}

int
connector_tcp(struct connector **cp, uv_tcp_t *dst, const char *host,
    const char *port, int family, const struct connector_src *src,
    unsigned timeout_ms, connector_cb cb, void *ud)
{
	struct connector *c;
	struct addrinfo hints, *res;
	int r;

	if ((c = connector_new((uv_stream_t *)dst, timeout_ms, cb, ud)) == NULL)
		return UV_ENOMEM;
	snprintf(c->host, sizeof(c->host), "%s", host);
	if (src != NULL)
		c->src = *src;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	/* An address literal needs no resolver: connect at once rather
	 * than through the thread pool. */
	if (getaddrinfo(host, port, &hints, &res) == 0) {
		c->ai_list = c->ai_next = res;
		next_address(c);
		*cp = c;
		return 0;
	}
	hints.ai_flags = 0;
	c->gai.data = c;
	if ((r = uv_getaddrinfo(dst->loop, &c->gai, gai_cb, host, port,
	    &hints)) < 0) {
		teardown(c);
		return r;
	}
	c->resolving = true;
	c->pending++;
	*cp = c;
	return 0;
}

int
connector_unix(struct connector **cp, uv_pipe_t *dst, const char *path,
    unsigned timeout_ms, connector_cb cb, void *ud)
{
	struct connector *c;

	if ((c = connector_new((uv_stream_t *)dst, timeout_ms, cb, ud)) == NULL)
		return UV_ENOMEM;
	open_sock(c);
	uv_pipe_connect(&c->creq, &c->sock.pipe, path, connect_cb);
	*cp = c;
	return 0;
}

void
connector_cancel(struct connector *c)
{
	teardown(c);
}

/* The first address of family on interface iface (IPv6: a global one
 * before a link-local one); 0 if it has one. */
static int
iface_addr(const struct ifaddrs *ifs, const char *iface, int family,
    struct sockaddr_storage *out)
{
	const struct ifaddrs *i;
	const struct sockaddr_in6 *s6;
	int found = -1;

	for (i = ifs; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != family ||
		    strcmp(i->ifa_name, iface) != 0)
			continue;
		s6 = (const struct sockaddr_in6 *)(const void *)i->ifa_addr;
		if (found == 0 && (family != AF_INET6 ||
		    IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr)))
			continue;
		memcpy(out, i->ifa_addr, family == AF_INET6 ?
		    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
		found = 0;
	}
	return found;
}

int
connector_src_set(struct connector_src *src, const char *addr,
    const char *iface, char *err, size_t errlen)
{
	struct addrinfo hints, *res;
	struct ifaddrs *ifs;
	int r;

	memset(src, 0, sizeof(*src));
	if (addr != NULL) {
		memset(&hints, 0, sizeof(hints));
		hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
		hints.ai_socktype = SOCK_STREAM;
		if ((r = getaddrinfo(addr, NULL, &hints, &res)) != 0) {
			snprintf(err, errlen, "BindAddress %s: not an address "
			    "(%s)", addr, gai_strerror(r));
			return -1;
		}
		memcpy(res->ai_family == AF_INET6 ? &src->v6 : &src->v4,
		    res->ai_addr, res->ai_addrlen);
		freeaddrinfo(res);
	} else if (iface != NULL) {
		if (getifaddrs(&ifs) != 0) {
			snprintf(err, errlen, "BindInterface %s: %s", iface,
			    strerror(errno));
			return -1;
		}
		r = iface_addr(ifs, iface, AF_INET, &src->v4) &
		    iface_addr(ifs, iface, AF_INET6, &src->v6);
		freeifaddrs(ifs);
		if (r != 0) {
			snprintf(err, errlen, "BindInterface %s: no address "
			    "on that interface", iface);
			return -1;
		}
	} else
		return 0;
	src->set = true;
	return 0;
}
