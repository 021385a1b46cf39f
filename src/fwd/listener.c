/* Listeners for forwards. */
#include "listener.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

/* Freed when the last listener's close callback ran. */
struct fwd_listener {
	struct pump_set	*set;
	uv_tcp_t	 lis[FWD_MAX_ADDRS];
	int		 nlis;
	int		 open;
	int		 port;
	int		 chan_port;
	char		 chan_type[32];
	char		 host[256];
	char		 label[320];
	char		 where[FWD_MAX_ADDRS * 48];
};

static void
lis_closed(uv_handle_t *h)
{
	struct fwd_listener *fl = h->data;

	if (--fl->open == 0)
		free(fl);
}

void
fwd_listener_stop(struct fwd_listener *fl)
{
	int i;

	if (fl->open == 0) {
		free(fl);
		return;
	}
	for (i = 0; i < fl->nlis; i++)
		if (!uv_is_closing((uv_handle_t *)&fl->lis[i]))
			uv_close((uv_handle_t *)&fl->lis[i], lis_closed);
}

int
fwd_listener_port(const struct fwd_listener *fl)
{
	return fl->port;
}

const char *
fwd_listener_where(const struct fwd_listener *fl)
{
	return fl->where;
}

static void
on_connection(uv_stream_t *server, int status)
{
	struct fwd_listener *fl = server->data;

	if (status < 0) {
		log_info("%s: accept: %s", fl->label, uv_strerror(status));
		return;
	}
	pump_accept(fl->set, server, fl->chan_type, fl->host,
	    (uint32_t)(fl->chan_port < 0 ? fl->port : fl->chan_port),
	    fl->label);
}

int
fwd_bind_addrs(enum bind_scope scope, const char *addr, int family,
    struct sockaddr_storage *out, int *n, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	int count = 0, r;

	if (scope == SCOPE_ADDR) {
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = family;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
		if (getaddrinfo(addr, NULL, &hints, &res) != 0) {
			hints.ai_flags = AI_PASSIVE;
			if ((r = getaddrinfo(addr, NULL, &hints, &res)) != 0) {
				snprintf(err, errlen, "bind address %s: %s",
				    addr, gai_strerror(r));
				return -1;
			}
		}
		for (ai = res; ai != NULL && count < FWD_MAX_ADDRS;
		    ai = ai->ai_next)
			memcpy(&out[count++], ai->ai_addr, ai->ai_addrlen);
		freeaddrinfo(res);
		*n = count;
		return 0;
	}
	if (family != AF_INET6)
		uv_ip4_addr(scope == SCOPE_ANY ? "0.0.0.0" : "127.0.0.1", 0,
		    (struct sockaddr_in *)&out[count++]);
	if (family != AF_INET)
		uv_ip6_addr(scope == SCOPE_ANY ? "::" : "::1", 0,
		    (struct sockaddr_in6 *)&out[count++]);
	*n = count;
	return 0;
}

static void
set_port(struct sockaddr_storage *ss, int port)
{
	if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
	else
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
}

static int
bound_port(uv_tcp_t *t)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	if (uv_tcp_getsockname(t, (struct sockaddr *)&ss, &len) != 0)
		return 0;
	return ntohs(ss.ss_family == AF_INET6 ?
	    ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port);
}

/* A family the host does not have: not a failure of the forward. */
static bool
family_absent(int r)
{
	return r == UV_EAFNOSUPPORT || r == UV_EADDRNOTAVAIL;
}

struct fwd_listener *
fwd_listener_start(uv_loop_t *loop, const struct sockaddr_storage *addrs,
    int n, int port, const struct fwd_listener_cfg *cfg,
    struct pump_set *set, char *err, size_t errlen)
{
	struct sockaddr_storage a;
	struct fwd_listener *fl;
	char ip[64];
	int i, r, bound = 0;
	bool failed = false;
	uv_tcp_t *t;

	if ((fl = calloc(1, sizeof(*fl))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	fl->set = set;
	fl->port = port;
	fl->chan_port = cfg->port;
	snprintf(fl->chan_type, sizeof(fl->chan_type), "%s", cfg->chan_type);
	snprintf(fl->host, sizeof(fl->host), "%s", cfg->host);
	snprintf(fl->label, sizeof(fl->label), "%s", cfg->label);
	snprintf(err, errlen, "no address to bind");
	for (i = 0; i < n && i < FWD_MAX_ADDRS; i++) {
		a = addrs[i];
		set_port(&a, fl->port);
		uv_ip_name((struct sockaddr *)&a, ip, sizeof(ip));
		t = &fl->lis[fl->nlis++];
		uv_tcp_init(loop, t);
		t->data = fl;
		fl->open++;
		r = uv_tcp_bind(t, (struct sockaddr *)&a,
		    a.ss_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0);
		if (r == 0)
			r = uv_listen((uv_stream_t *)t, SOMAXCONN,
			    on_connection);
		if (r != 0) {
			uv_close((uv_handle_t *)t, lis_closed);
			if (n > 1 && family_absent(r)) {
				log_verbose("%s: %s is not available here",
				    fl->label, ip);
				continue;
			}
			snprintf(err, errlen, "cannot listen on [%s]:%d: %s", ip,
			    fl->port, uv_strerror(r));
			log_verbose("%s: %s", fl->label, err);
			failed = true;
			continue;
		}
		if (fl->port == 0)
			fl->port = bound_port(t);
		bound++;
		snprintf(fl->where + strlen(fl->where), sizeof(fl->where) -
		    strlen(fl->where), "%s%s", fl->where[0] ? ", " : "", ip);
		log_verbose("%s: listening on %s port %d", fl->label, ip,
		    fl->port);
	}
	if (bound > 0 && !(failed && cfg->all_or_nothing))
		return fl;
	fwd_listener_stop(fl);
	return NULL;
}
