/* Listeners for forwards. */
#include "listener.h"

#include <sys/stat.h>

#include <unistd.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwd/spec.h"
#include "util/log.h"

/* Freed when the last listener's close callback ran. */
struct fwd_listener {
	struct pump_set	*set;
	union {
		uv_handle_t	h;
		uv_tcp_t	tcp;
		uv_pipe_t	pipe;
	}		 lis[FWD_MAX_ADDRS];
	int		 nlis;
	int		 open;
	int		 port;
	int		 chan_port;
	enum pump_open	 kind;
	struct fwd_stats *stats;
	char		 name[256];
	char		 label[320];
	char		 where[FWD_MAX_ADDRS * 48];
	/* a Unix listener's file, removed at stop if still ours */
	char		 path[FWD_PATH_MAX];
	dev_t		 dev;
	ino_t		 ino;
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
	struct stat st;
	int i;

	if (fl->path[0] != '\0' && lstat(fl->path, &st) == 0 &&
	    S_ISSOCK(st.st_mode) && st.st_dev == fl->dev &&
	    st.st_ino == fl->ino && unlink(fl->path) == 0)
		log_verbose("%s: removed %s", fl->label, fl->path);
	fl->path[0] = '\0';
	if (fl->open == 0) {
		free(fl);
		return;
	}
	for (i = 0; i < fl->nlis; i++)
		if (!uv_is_closing(&fl->lis[i].h))
			uv_close(&fl->lis[i].h, lis_closed);
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
	struct pump_target t;

	if (status < 0) {
		log_info("%s: accept: %s", fl->label, uv_strerror(status));
		return;
	}
	t.kind = fl->kind;
	t.name = fl->name;
	t.port = (uint32_t)(fl->chan_port < 0 ? fl->port : fl->chan_port);
	t.stats = fl->stats;
	pump_accept(fl->set, server, &t, fl->label);
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

static struct fwd_listener *
listener_new(const struct fwd_listener_cfg *cfg, struct pump_set *set,
    char *err, size_t errlen)
{
	struct fwd_listener *fl;

	if ((fl = calloc(1, sizeof(*fl))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	fl->set = set;
	fl->chan_port = cfg->port;
	fl->kind = cfg->kind;
	fl->stats = cfg->stats;
	snprintf(fl->name, sizeof(fl->name), "%s", cfg->name);
	snprintf(fl->label, sizeof(fl->label), "%s", cfg->label);
	return fl;
}

struct fwd_listener *
fwd_listener_start_unix(uv_loop_t *loop, const char *path, int mask,
    bool unlink_old, const struct fwd_listener_cfg *cfg,
    struct pump_set *set, char *err, size_t errlen)
{
	struct fwd_listener *fl;
	struct stat st;
	mode_t old;
	int r;

	if (strlen(path) >= FWD_PATH_MAX) {
		snprintf(err, errlen, "%s: path too long for a Unix socket",
		    path);
		return NULL;
	}
	if (lstat(path, &st) == 0) {
		if (S_ISLNK(st.st_mode)) {
			snprintf(err, errlen, "%s is a symbolic link; it is "
			    "not followed or replaced", path);
			return NULL;
		}
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket; "
			    "it is left alone", path);
			return NULL;
		}
		if (!unlink_old) {
			snprintf(err, errlen, "%s already exists "
			    "(StreamLocalBindUnlink is off)", path);
			return NULL;
		}
		if (unlink(path) != 0 && errno != ENOENT) {
			snprintf(err, errlen, "cannot remove the old socket %s: "
			    "%s", path, strerror(errno));
			return NULL;
		}
	}
	if ((fl = listener_new(cfg, set, err, errlen)) == NULL)
		return NULL;
	fl->nlis = 1;
	fl->open = 1;
	uv_pipe_init(loop, &fl->lis[0].pipe, 0);
	fl->lis[0].h.data = fl;
	old = umask((mode_t)mask);
	r = uv_pipe_bind(&fl->lis[0].pipe, path);
	umask(old);
	if (r == 0 && lstat(path, &st) == 0) {
		/* from here on the file is ours to remove */
		snprintf(fl->path, sizeof(fl->path), "%s", path);
		fl->dev = st.st_dev;
		fl->ino = st.st_ino;
	}
	if (r == 0)
		r = uv_listen((uv_stream_t *)&fl->lis[0].pipe, SOMAXCONN,
		    on_connection);
	if (r != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", path,
		    uv_strerror(r));
		fwd_listener_stop(fl);
		return NULL;
	}
	snprintf(fl->where, sizeof(fl->where), "%s", path);
	log_verbose("%s: listening on %s", fl->label, path);
	return fl;
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

	if ((fl = listener_new(cfg, set, err, errlen)) == NULL)
		return NULL;
	fl->port = port;
	snprintf(err, errlen, "no address to bind");
	for (i = 0; i < n && i < FWD_MAX_ADDRS; i++) {
		a = addrs[i];
		set_port(&a, fl->port);
		uv_ip_name((struct sockaddr *)&a, ip, sizeof(ip));
		t = &fl->lis[fl->nlis++].tcp;
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
