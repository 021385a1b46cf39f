/* Local forward listeners. */
#include "local.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util/log.h"

#define MAX_LISTENERS	4

/* Freed when the last listener's close callback ran. */
struct fwd_local {
	struct fwd_spec	 spec;
	struct pump_set	*set;
	uv_tcp_t	 lis[MAX_LISTENERS];
	int		 nlis;
	int		 open;
	int		 port;
	char		 label[320];
};

static void
lis_closed(uv_handle_t *h)
{
	struct fwd_local *fl = h->data;

	if (--fl->open == 0)
		free(fl);
}

void
fwd_local_stop(struct fwd_local *fl)
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
fwd_local_port(const struct fwd_local *fl)
{
	return fl->port;
}

static void
on_connection(uv_stream_t *server, int status)
{
	struct fwd_local *fl = server->data;

	if (status < 0) {
		log_info("%s: accept: %s", fl->label, uv_strerror(status));
		return;
	}
	pump_accept(fl->set, server, "direct-tcpip", fl->spec.host,
	    (uint32_t)fl->spec.port, fl->label);
}

/* The addresses to bind, as ssh(1) chooses them for a local forward. */
static int
bind_addrs(const struct fwd_spec *s, bool gateway_ports, int family,
    struct sockaddr_storage *out, int *n, char *err, size_t errlen)
{
	const char *names[2];
	int count = 0, i, r;
	struct addrinfo hints, *res = NULL, *ai;
	bool any = s->bind == BIND_ANY ||
	    (s->bind == BIND_DEFAULT && gateway_ports);

	if (s->bind == BIND_ADDR) {
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = family;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_PASSIVE;
		if ((r = getaddrinfo(s->bind_addr, NULL, &hints, &res)) != 0) {
			snprintf(err, errlen, "bind address %s: %s",
			    s->bind_addr, gai_strerror(r));
			return -1;
		}
		for (ai = res; ai != NULL && count < MAX_LISTENERS;
		    ai = ai->ai_next)
			memcpy(&out[count++], ai->ai_addr, ai->ai_addrlen);
		freeaddrinfo(res);
		*n = count;
		return 0;
	}
	names[0] = any ? "0.0.0.0" : "127.0.0.1";
	names[1] = any ? "::" : "::1";
	for (i = 0; i < 2; i++) {
		if ((i == 0 && family == AF_INET6) ||
		    (i == 1 && family == AF_INET))
			continue;
		if (i == 0)
			uv_ip4_addr(names[i], 0, (struct sockaddr_in *)
			    &out[count++]);
		else
			uv_ip6_addr(names[i], 0, (struct sockaddr_in6 *)
			    &out[count++]);
	}
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

struct fwd_local *
fwd_local_start(uv_loop_t *loop, const struct fwd_spec *spec,
    bool gateway_ports, int family, struct pump_set *set, char *err,
    size_t errlen)
{
	struct sockaddr_storage addrs[MAX_LISTENERS], ss;
	struct fwd_local *fl;
	char ip[64], spec_text[300];
	int naddr = 0, i, r, len;
	uv_tcp_t *t;

	if ((fl = calloc(1, sizeof(*fl))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	fl->spec = *spec;
	fl->set = set;
	fl->port = spec->listen_port;
	fwd_spec_format(spec, spec_text, sizeof(spec_text));
	snprintf(fl->label, sizeof(fl->label), "local forward %s", spec_text);
	if (bind_addrs(spec, gateway_ports, family, addrs, &naddr, err,
	    errlen) != 0) {
		free(fl);
		return NULL;
	}
	snprintf(err, errlen, "no address to bind");
	for (i = 0; i < naddr; i++) {
		set_port(&addrs[i], fl->port);
		uv_ip_name((struct sockaddr *)&addrs[i], ip, sizeof(ip));
		t = &fl->lis[fl->nlis];
		uv_tcp_init(loop, t);
		t->data = fl;
		fl->nlis++;
		fl->open++;
		r = uv_tcp_bind(t, (struct sockaddr *)&addrs[i],
		    addrs[i].ss_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0);
		if (r == 0)
			r = uv_listen((uv_stream_t *)t, SOMAXCONN,
			    on_connection);
		if (r != 0) {
			snprintf(err, errlen, "bind [%s]:%d: %s", ip, fl->port,
			    uv_strerror(r));
			/* A family without that address is not an error
			 * while another family binds (ssh does the same). */
			log_verbose("%s", err);
			uv_close((uv_handle_t *)t, lis_closed);
			continue;
		}
		len = sizeof(ss);
		if (fl->port == 0 && uv_tcp_getsockname(t, (struct sockaddr *)
		    &ss, &len) == 0)
			fl->port = ntohs(ss.ss_family == AF_INET6 ?
			    ((struct sockaddr_in6 *)&ss)->sin6_port :
			    ((struct sockaddr_in *)&ss)->sin_port);
		log_verbose("Local forwarding listening on %s port %d.", ip,
		    fl->port);
	}
	for (i = 0; i < fl->nlis; i++)
		if (!uv_is_closing((uv_handle_t *)&fl->lis[i]))
			return fl;
	/* Nothing bound: the listeners free fl as they close. */
	if (fl->open == 0)
		free(fl);
	return NULL;
}
