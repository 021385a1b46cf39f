/* Listeners for forwards. */
#include "listener.h"

#include <sys/stat.h>
#include <sys/un.h>

#include <fcntl.h>
#include <unistd.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwd/slpath.h"
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
	struct fwd_usage *all;		/* counts our descriptors; may be NULL */
	int		 port;
	int		 chan_port;
	enum pump_open	 kind;
	struct fwd_stats *stats;	/* the caller's, or own */
	struct fwd_stats own;
	size_t		 max_conns;	/* connections open at once; 0: any */
	void		(*refused_cb)(void *ud, const char *why);
	void		*ud;
	uint64_t	 refused;	/* connections refused since logged */
	uint64_t	 refused_at;	/* when a refusal was last logged */
	char		 name[256];
	char		 label[320];
	char		 where[FWD_MAX_ADDRS * 48];
	/* a Unix listener: the file's name in the directory held by dirfd
	 * (-1 for TCP), its dev/ino, and the path it is shown as; the file
	 * is removed at stop if it is still the one we made */
	int		 dirfd;
	char		 path[SLPATH_NAME_MAX + 1];
	bool		 have_file;
	dev_t		 dev;
	ino_t		 ino;
	char		*shown;
};

static void
listener_free(struct fwd_listener *fl)
{
	free(fl->shown);
	free(fl);
}

static void
lis_closed(uv_handle_t *h)
{
	struct fwd_listener *fl = h->data;

	if (fl->all != NULL)
		FWD_SUB(fl->all->fds, 1);
	if (--fl->open == 0)
		listener_free(fl);
}

void
fwd_listener_stop(struct fwd_listener *fl)
{
	struct stat st;
	int i;

	if (fl->have_file && fstatat(fl->dirfd, fl->path, &st,
	    AT_SYMLINK_NOFOLLOW) == 0 && S_ISSOCK(st.st_mode) &&
	    st.st_dev == fl->dev && st.st_ino == fl->ino &&
	    unlinkat(fl->dirfd, fl->path, 0) == 0)
		log_verbose("%s: removed %s", fl->label, fl->shown);
	fl->have_file = false;
	if (fl->dirfd >= 0)
		close(fl->dirfd);
	fl->dirfd = -1;
	if (fl->stats == &fl->own)
		pump_forget_stats(fl->set, &fl->own);
	if (fl->open == 0) {
		listener_free(fl);
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
	return fl->shown != NULL ? fl->shown : fl->where;
}

bool
fwd_listener_is_file(const struct fwd_listener *fl, dev_t dev, ino_t ino)
{
	return fl->have_file && fl->dev == dev && fl->ino == ino;
}

static void
reject_closed(uv_handle_t *h)
{
	free(h);
}

/* A connection over a bound is accepted and closed at once, so the
 * client sees the refusal instead of a hang; the log says why, at most
 * once a second per listener. */
static void
reject(struct fwd_listener *fl, uv_stream_t *server, const char *why)
{
	union {
		uv_handle_t	h;
		uv_tcp_t	tcp;
		uv_pipe_t	pipe;
	} *c;
	uint64_t now = uv_now(server->loop);

	if ((c = malloc(sizeof(*c))) == NULL)
		return;
	if (server->type == UV_NAMED_PIPE)
		uv_pipe_init(server->loop, &c->pipe, 0);
	else
		uv_tcp_init(server->loop, &c->tcp);
	uv_accept(server, (uv_stream_t *)c);
	uv_close(&c->h, reject_closed);
	if (fl->refused_cb != NULL)
		fl->refused_cb(fl->ud, why);
	fl->refused++;
	if (fl->refused_at != 0 && now - fl->refused_at < 1000)
		return;
	log_info("%s: refused %llu connection%s: %s", fl->label,
	    (unsigned long long)fl->refused, fl->refused == 1 ? "" : "s",
	    why);
	fl->refused = 0;
	fl->refused_at = now;
}

static void
on_connection(uv_stream_t *server, int status)
{
	struct fwd_listener *fl = server->data;
	struct pump_target t;
	char why[200];

	if (status < 0) {
		log_info("%s: accept: %s", fl->label, uv_strerror(status));
		return;
	}
	if (fl->max_conns > 0 && fl->stats->open >= fl->max_conns) {
		snprintf(why, sizeof(why), "MaxForwardConnections %zu reached "
		    "for this forward", fl->max_conns);
		reject(fl, server, why);
		return;
	}
	if (!pump_admit(fl->set, false, why, sizeof(why))) {
		reject(fl, server, why);
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
	fl->dirfd = -1;
	fl->all = set->all;
	fl->chan_port = cfg->port;
	fl->kind = cfg->kind;
	fl->stats = cfg->stats ? cfg->stats : &fl->own;
	fl->max_conns = cfg->max_conns;
	fl->refused_cb = cfg->refused;
	fl->ud = cfg->ud;
	snprintf(fl->name, sizeof(fl->name), "%s", cfg->name);
	snprintf(fl->label, sizeof(fl->label), "%s", cfg->label);
	return fl;
}

/* What is at name before binding: nothing, or an old socket removed when
 * unlink_old. Returns 0 or -1 with err. */
static int
clear_place(int dirfd, const char *name, const char *shown, bool unlink_old,
    char *err, size_t errlen)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return 0;
	if (S_ISLNK(st.st_mode)) {
		snprintf(err, errlen, "%s is a symbolic link; it is not "
		    "followed or replaced", shown);
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket; it is "
		    "left alone", shown);
		return -1;
	}
	if (!unlink_old) {
		snprintf(err, errlen, "%s already exists "
		    "(StreamLocalBindUnlink is off)", shown);
		return -1;
	}
	if (unlinkat(dirfd, name, 0) != 0 && errno != ENOENT) {
		snprintf(err, errlen, "cannot remove the old socket %s: %s",
		    shown, strerror(errno));
		return -1;
	}
	return 0;
}

/* A socket bound at path under umask mask. Returns the descriptor, or a
 * negative errno. */
static int
bind_path(const char *path, int mask)
{
	struct sockaddr_un sa;
	mode_t old;
	int fd, r;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	old = umask((mode_t)mask);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r != 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

/* bind(2) takes a path, not a directory descriptor: the path (shown) is
 * the caller's spelling of name in dirfd, and the socket must turn up
 * there, else the directory changed under us and the bind is undone. */
struct fwd_listener *
fwd_listener_start_unix_at(uv_loop_t *loop, int dirfd, const char *name,
    const char *shown, int mask, bool unlink_old,
    const struct fwd_listener_cfg *cfg, struct pump_set *set, char *err,
    size_t errlen)
{
	struct fwd_listener *fl;
	struct stat st;
	int fd, r;

	if (strlen(shown) >= FWD_PATH_MAX || strlen(name) > SLPATH_NAME_MAX ||
	    strchr(name, '/') != NULL || name[0] == '\0') {
		snprintf(err, errlen, "%s: path too long for a Unix socket",
		    shown);
		return NULL;
	}
	if (clear_place(dirfd, name, shown, unlink_old, err, errlen) != 0)
		return NULL;
	if ((fl = listener_new(cfg, set, err, errlen)) == NULL)
		return NULL;
	if ((fl->shown = strdup(shown)) == NULL ||
	    (fl->dirfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "%s: %s", shown, fl->shown == NULL ?
		    "out of memory" : strerror(errno));
		listener_free(fl);
		return NULL;
	}
	fl->nlis = 1;
	fl->open = 1;
	uv_pipe_init(loop, &fl->lis[0].pipe, 0);
	fl->lis[0].h.data = fl;
	if (fl->all != NULL)
		FWD_ADD(fl->all->fds, 1);
	if ((fd = bind_path(shown, mask)) < 0)
		r = uv_translate_sys_error(-fd);
	else if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
	    !S_ISSOCK(st.st_mode)) {
		close(fd);
		r = UV_ENOENT;
	} else {
		/* from here on the file is ours to remove */
		snprintf(fl->path, sizeof(fl->path), "%s", name);
		fl->have_file = true;
		fl->dev = st.st_dev;
		fl->ino = st.st_ino;
		/* libuv does not know the path, so it never unlinks it */
		if ((r = uv_pipe_open(&fl->lis[0].pipe, fd)) != 0)
			close(fd);
	}
	if (r == 0)
		r = uv_listen((uv_stream_t *)&fl->lis[0].pipe, SOMAXCONN,
		    on_connection);
	if (r != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", shown,
		    uv_strerror(r));
		fwd_listener_stop(fl);
		return NULL;
	}
	log_verbose("%s: listening on %s", fl->label, shown);
	return fl;
}

struct fwd_listener *
fwd_listener_start_unix(uv_loop_t *loop, const char *path, int mask,
    bool unlink_old, const struct fwd_listener_cfg *cfg,
    struct pump_set *set, char *err, size_t errlen)
{
	struct fwd_listener *fl;
	const char *slash = strrchr(path, '/');
	char dir[FWD_PATH_MAX];
	int dirfd;

	if (strlen(path) >= FWD_PATH_MAX) {
		snprintf(err, errlen, "%s: path too long for a Unix socket",
		    path);
		return NULL;
	}
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 :
		    (int)(slash - path), path);
	if ((dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	fl = fwd_listener_start_unix_at(loop, dirfd, slash ? slash + 1 : path,
	    path, mask, unlink_old, cfg, set, err, errlen);
	close(dirfd);
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
		if (fl->all != NULL)
			FWD_ADD(fl->all->fds, 1);
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
	if (bound > 0 && !(failed && cfg->all_or_nothing)) {
		/* one address family bound and another not: said at the
		 * default level, and left in err for the caller */
		if (failed)
			log_info("%s: %s; listening on %s only", fl->label, err,
			    fl->where);
		else
			err[0] = '\0';
		return fl;
	}
	log_verbose("%s: %s", fl->label, err);
	fwd_listener_stop(fl);
	return NULL;
}
