/* ferryd's acceptor, on loop 0: the listeners (ListenAddress, Port),
 * MaxStartups and the descriptor limit, and the handoff of each accepted
 * connection to the event loop that will serve it (acceptor.h). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "fwd/listener.h"
#include "server/acceptor.h"
#include "server/loops.h"
#include "util/log.h"

/* MaxStartups start:rate:full: past start, refuse unauthenticated
 * connections with a probability rising linearly from rate to 100% at
 * full (sshd's random early drop). */
static bool
should_drop(struct acceptor *a)
{
	const struct server_config *c = &(*a->pol)->cfg;
	int n = session_unauthenticated(a->sessions);
	int p;

	if (n >= c->max_startups_full)
		return true;
	if (n < c->max_startups_begin)
		return false;
	p = c->max_startups_rate + (100 - c->max_startups_rate) *
	    (n - c->max_startups_begin) /
	    (c->max_startups_full - c->max_startups_begin + 1);
	return (arc4random_uniform(100)) < (unsigned)p;
}

static bool
fds_full(struct acceptor *a)
{
	return FWD_GET(a->sessions->all.fds) + FD_SLACK >= a->fd_limit;
}

static void
log_drop(struct acceptor *a)
{
	bool fds = fds_full(a);

	session_list_limit(a->sessions, fds ? LIM_DESCRIPTORS :
	    LIM_MAX_STARTUPS);
	if (fds)
		log_info("drop connection #%u: descriptor limit %zu reached",
		    ++a->drops, a->fd_limit);
	else
		log_info("drop connection #%u: past MaxStartups (%d "
		    "unauthenticated)", ++a->drops,
		    session_unauthenticated(a->sessions));
}

static void
accepted_closed(uv_handle_t *h)
{
	free(h);
}

/* A connection handed to a loop: its socket and its session. */
struct handoff {
	uv_os_sock_t		 fd;
	struct session		*s;
};

/* On the loop the connection was given to. */
static void
serve(struct srv_loop *l, void *arg)
{
	struct handoff *h = arg;

	(void)l;
	session_start(h->s, h->fd);
	free(h);
}

/* The peer's address of an accepted socket. */
static void
peer_of(uv_tcp_t *t, char *ip, size_t iplen, int *port)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	snprintf(ip, iplen, "?");
	*port = 0;
	if (uv_tcp_getpeername(t, (struct sockaddr *)&ss, &len) != 0)
		return;
	uv_ip_name((struct sockaddr *)&ss, ip, iplen);
	*port = ntohs(ss.ss_family == AF_INET6 ?
	    ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port);
}

/* Gives the accepted socket t (closed here) to the least loaded loop, as
 * a session admitted under the current policy. */
static void
hand_off(struct acceptor *a, uv_tcp_t *t)
{
	struct handoff *h;
	struct session *s;
	char ip[64];
	uv_os_fd_t fd;
	int port, dup_fd = -1;

	peer_of(t, ip, sizeof(ip), &port);
	if ((s = session_admit(a->sessions, *a->pol, ip, port)) != NULL &&
	    uv_fileno((uv_handle_t *)t, &fd) == 0)
		dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	uv_close((uv_handle_t *)t, accepted_closed);
	if (s == NULL)
		return;		/* turned away, or out of memory */
	if (dup_fd < 0 || (h = calloc(1, sizeof(*h))) == NULL) {
		if (dup_fd >= 0)
			close(dup_fd);
		log_info("accept: out of descriptors or memory");
		session_abandon(s);
		return;
	}
	h->fd = dup_fd;
	h->s = s;
	if (session_home(s) == &a->loops->l[0])
		serve(session_home(s), h);
	else if (srv_loop_call(session_home(s), serve, h) != 0) {
		close(dup_fd);
		session_abandon(s);
		free(h);
	}
}

static void
on_connection(uv_stream_t *server, int status)
{
	struct acceptor *a = server->data;
	uv_tcp_t *t;

	if (status < 0) {
		log_info("accept: %s", uv_strerror(status));
		return;
	}
	if (a->held) {
		/* libuv keeps the connection and stops watching the
		 * listener until it is accepted (acceptor_release) */
		a->waiting[(uv_tcp_t *)server - a->lis] = true;
		return;
	}
	if ((t = malloc(sizeof(*t))) == NULL)
		return;
	uv_tcp_init(a->loop, t);
	if (uv_accept(server, (uv_stream_t *)t) != 0) {
		uv_close((uv_handle_t *)t, accepted_closed);
		return;
	}
	if (a->stopping || should_drop(a) || fds_full(a)) {
		/* closed at once: the client sees the refusal */
		if (!a->stopping)
			log_drop(a);
		uv_close((uv_handle_t *)t, accepted_closed);
		return;
	}
	hand_off(a, t);
}

/* Raises the descriptor limit to the hard limit and keeps a reserve that
 * tunnels cannot use, so that logins work while one user holds many
 * sockets. */
void
acceptor_fd_budget(struct acceptor *a)
{
	struct rlimit rl = { 1024, 1024 };
	size_t reserve;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	a->fd_limit = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1 << 20 ?
	    1 << 20 : (size_t)rl.rlim_cur;
	reserve = a->fd_limit / 8 > 64 ? a->fd_limit / 8 : 64;
	a->sessions->fd_budget = a->fd_limit > reserve + FD_SLACK ?
	    a->fd_limit - reserve : FD_SLACK;
	log_verbose("descriptor limit %zu, %zu kept for logins", a->fd_limit,
	    a->fd_limit - a->sessions->fd_budget);
}

/* The descriptors the daemon holds before any session (listeners, the
 * loop's own, stdio) count against the limit too. */
size_t
acceptor_open_fds(void)
{
	uv_fs_t req;
	uv_dirent_t d;
	size_t n = 0;

	if (uv_fs_scandir(NULL, &req, "/proc/self/fd", 0, NULL) < 0)
		return FD_SLACK;
	while (uv_fs_scandir_next(&req, &d) != UV_EOF)
		n++;
	uv_fs_req_cleanup(&req);
	return n;
}

/* Binds every ListenAddress/Port; prints sshd's "Server listening" line
 * for each (with the kernel's port when 0 was asked). */
int
acceptor_listen(struct acceptor *a, char *err, size_t errlen)
{
	const struct server_config *c = &(*a->pol)->cfg;
	struct sockaddr_storage addrs[FWD_MAX_ADDRS], ss;
	char host[300], ip[64], *colon;
	int i, j, k, n, r, port, len;
	uv_tcp_t *t;

	for (i = 0; i < (c->nlisten ? c->nlisten : 1); i++) {
		for (k = 0; k < c->nports; k++) {
			port = c->ports[k];
			host[0] = '\0';
			if (c->nlisten > 0) {
				snprintf(host, sizeof(host), "%s",
				    c->listen[i]);
				/* [v6]:port or v4:port overrides Port */
				if (host[0] == '[' &&
				    (colon = strstr(host, "]:")) != NULL) {
					port = atoi(colon + 2);
					*colon = '\0';
					memmove(host, host + 1, strlen(host));
				} else if ((colon = strchr(host, ':')) != NULL &&
				    strchr(colon + 1, ':') == NULL) {
					port = atoi(colon + 1);
					*colon = '\0';
				}
			}
			if (fwd_bind_addrs(host[0] ? SCOPE_ADDR : SCOPE_ANY,
			    host, AF_UNSPEC, addrs, &n, err, errlen) != 0)
				return -1;
			for (j = 0; j < n && a->nlis < ACCEPTOR_MAX_LISTENERS; j++) {
				if (addrs[j].ss_family == AF_INET6)
					((struct sockaddr_in6 *)&addrs[j])->
					    sin6_port = htons((uint16_t)port);
				else
					((struct sockaddr_in *)&addrs[j])->
					    sin_port = htons((uint16_t)port);
				t = &a->lis[a->nlis];
				uv_tcp_init(a->loop, t);
				t->data = a;
				r = uv_tcp_bind(t, (struct sockaddr *)&addrs[j],
				    addrs[j].ss_family == AF_INET6 ?
				    UV_TCP_IPV6ONLY : 0);
				if (r == 0)
					r = uv_listen((uv_stream_t *)t,
					    SOMAXCONN, on_connection);
				uv_ip_name((struct sockaddr *)&addrs[j], ip,
				    sizeof(ip));
				if (r != 0) {
					uv_close((uv_handle_t *)t, NULL);
					snprintf(err, errlen, "Bind to port %d "
					    "on %s failed: %s.", port, ip,
					    uv_strerror(r));
					if (host[0] == '\0' && n > 1 &&
					    (r == UV_EAFNOSUPPORT ||
					    r == UV_EADDRNOTAVAIL))
						continue;
					return -1;
				}
				len = sizeof(ss);
				uv_tcp_getsockname(t, (struct sockaddr *)&ss,
				    &len);
				log_info("Server listening on %s port %d.", ip,
				    ntohs(ss.ss_family == AF_INET6 ?
				    ((struct sockaddr_in6 *)&ss)->sin6_port :
				    ((struct sockaddr_in *)&ss)->sin_port));
				a->nlis++;
			}
		}
	}
	if (a->nlis == 0) {
		snprintf(err, errlen, "no listening address");
		return -1;
	}
	return 0;
}

void
acceptor_release(struct acceptor *a)
{
	int i;

	a->held = false;
	for (i = 0; i < a->nlis; i++)
		if (a->waiting[i] && !a->stopping) {
			a->waiting[i] = false;
			on_connection((uv_stream_t *)&a->lis[i], 0);
		}
}

void
acceptor_stop(struct acceptor *a)
{
	int i;

	a->stopping = true;
	for (i = 0; i < a->nlis; i++)
		uv_close((uv_handle_t *)&a->lis[i], NULL);
}
