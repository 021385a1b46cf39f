/* ferryd: a tunnel-only SSH server with sshd's flags and keywords. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "fwd/listener.h"
#include "keys/key.h"
#include "keys/keyfile.h"
#include "server/config.h"
#include "server/session.h"
#include "util/log.h"
#include "util/sdnotify.h"

#define DEFAULT_CONFIG	"/etc/ferryd/ferryd_config"
#define MAX_LISTENERS	(SC_MAX_LISTEN * FWD_MAX_ADDRS)
/* Descriptors never given to sessions: files, the resolver, key loads. */
#define FD_SLACK	16

/* The daemon: its listeners, the policy new connections get, sessions. */
struct server {
	uv_loop_t		*loop;
	const char		*config_path;
	bool			 config_given;
	char			*cmd_hostkeys[SC_MAX_HOSTKEYS];
	int			 ncmd_hostkeys;
	char			*cmd_lines[64];
	int			 ncmd_lines;
	struct server_policy	*pol;
	uv_tcp_t		 lis[MAX_LISTENERS];
	int			 nlis;
	struct session_list	 sessions;
	uv_signal_t		 sig[3];
	bool			 stopping;
	unsigned		 drops;
	size_t			 fd_limit;	/* RLIMIT_NOFILE */
};

static void
usage(void)
{
	fprintf(stderr, "usage: ferryd [-DdeTt] [-f config_file] "
	    "[-h host_key_file] [-o option] [-p port]\n");
}

/* Loads a host key, or generates an ed25519 one into the state directory
 * (0600) the first time, logging its fingerprint. */
static int
load_hostkeys(struct server_policy *p, char *err, size_t errlen)
{
	struct server_config *c = &p->cfg;
	char path[1024], fp[128], *text = NULL;
	struct key *k;
	int i, fd;
	FILE *f;

	for (i = 0; i < c->nhostkeys; i++) {
		if (keyfile_load_private(c->hostkeys[i], &k, err, errlen) != 0) {
			char why[512];

			snprintf(why, sizeof(why), "%s", err);
			snprintf(err, errlen, "host key %.500s: %.400s", c->hostkeys[i],
			    why);
			return -1;
		}
		p->hostkeys[p->nhostkeys++] = k;
	}
	if (p->nhostkeys > 0)
		return 0;
	snprintf(path, sizeof(path), "%s/ssh_host_ed25519_key", c->state_dir);
	if (keyfile_load_private(path, &k, err, errlen) == 0) {
		p->hostkeys[p->nhostkeys++] = k;
		return 0;
	}
	if (access(path, F_OK) == 0) {
		char why[512];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "host key %.500s: %.400s", path, why);
		return -1;
	}
	if (mkdir(c->state_dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", c->state_dir,
		    strerror(errno));
		return -1;
	}
	if (key_generate(KEY_ED25519, &k) != 0 ||
	    keyfile_format_private(k, "ferryd host key", &text) != 0) {
		snprintf(err, errlen, "cannot generate a host key");
		key_free(k);
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		snprintf(err, errlen, "cannot write %.900s: %s", path,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		explicit_bzero(text, strlen(text));
		free(text);
		key_free(k);
		return -1;
	}
	fputs(text, f);
	fclose(f);
	explicit_bzero(text, strlen(text));
	free(text);
	key_fingerprint(k, fp, sizeof(fp));
	log_info("generated host key %s: ssh-ed25519 %s", path, fp);
	p->hostkeys[p->nhostkeys++] = k;
	return 0;
}

/* Reads the configuration (file, then -o and -h and -p) into a new
 * policy. */
static struct server_policy *
load_policy(struct server *srv, char *err, size_t errlen)
{
	struct server_policy *p;
	int i;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->refs = 1;
	server_config_init(&p->cfg);
	for (i = 0; i < srv->ncmd_lines; i++)
		if (server_config_line(&p->cfg, srv->cmd_lines[i],
		    "command line", err, errlen) != 0)
			goto fail;
	if (server_config_file(&p->cfg, srv->config_path, srv->config_given,
	    err, errlen) != 0 || server_config_finish(&p->cfg, err,
	    errlen) != 0)
		goto fail;
	for (i = 0; i < srv->ncmd_hostkeys && p->cfg.nhostkeys < SC_MAX_HOSTKEYS;
	    i++) {
		/* -h keys come first, as sshd's do */
		memmove(p->cfg.hostkeys + 1, p->cfg.hostkeys,
		    (size_t)p->cfg.nhostkeys * sizeof(char *));
		p->cfg.hostkeys[0] = strdup(srv->cmd_hostkeys[i]);
		p->cfg.nhostkeys++;
	}
	if (load_hostkeys(p, err, errlen) != 0)
		goto fail;
	return p;
fail:
	server_policy_unref(p);
	return NULL;
}

/* MaxStartups start:rate:full: past start, refuse unauthenticated
 * connections with a probability rising linearly from rate to 100% at
 * full (sshd's random early drop). */
static bool
should_drop(struct server *srv)
{
	const struct server_config *c = &srv->pol->cfg;
	int n = srv->sessions.unauthenticated;
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

static void
reject_closed(uv_handle_t *h)
{
	free(h);
}

static void
log_drop(struct server *srv)
{
	if (srv->sessions.all.fds + FD_SLACK >= srv->fd_limit)
		log_info("drop connection #%u: descriptor limit %zu reached",
		    ++srv->drops, srv->fd_limit);
	else
		log_info("drop connection #%u: past MaxStartups (%d "
		    "unauthenticated)", ++srv->drops,
		    srv->sessions.unauthenticated);
}

static void
on_connection(uv_stream_t *server, int status)
{
	struct server *srv = server->data;
	uv_tcp_t *t;

	if (status < 0) {
		log_info("accept: %s", uv_strerror(status));
		return;
	}
	if (srv->stopping || should_drop(srv) ||
	    srv->sessions.all.fds + FD_SLACK >= srv->fd_limit) {
		/* accept and close at once: the client sees the refusal */
		if ((t = malloc(sizeof(*t))) == NULL)
			return;
		uv_tcp_init(srv->loop, t);
		if (uv_accept(server, (uv_stream_t *)t) == 0 && !srv->stopping)
			log_drop(srv);
		uv_close((uv_handle_t *)t, reject_closed);
		return;
	}
	session_accept(srv->loop, server, srv->pol, &srv->sessions);
}

/* Raises the descriptor limit to the hard limit and keeps a reserve that
 * tunnels cannot use, so that logins work while one user holds many
 * sockets. */
static void
set_fd_budget(struct server *srv)
{
	struct rlimit rl = { 1024, 1024 };
	size_t reserve;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	srv->fd_limit = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1 << 20 ?
	    1 << 20 : (size_t)rl.rlim_cur;
	reserve = srv->fd_limit / 8 > 64 ? srv->fd_limit / 8 : 64;
	srv->sessions.fd_budget = srv->fd_limit > reserve + FD_SLACK ?
	    srv->fd_limit - reserve : FD_SLACK;
	log_verbose("descriptor limit %zu, %zu kept for logins", srv->fd_limit,
	    srv->fd_limit - srv->sessions.fd_budget);
}

/* The descriptors the daemon holds before any session (listeners, the
 * loop's own, stdio) count against the limit too. */
static size_t
open_fds(void)
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
static int
listen_all(struct server *srv, char *err, size_t errlen)
{
	const struct server_config *c = &srv->pol->cfg;
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
			for (j = 0; j < n && srv->nlis < MAX_LISTENERS; j++) {
				if (addrs[j].ss_family == AF_INET6)
					((struct sockaddr_in6 *)&addrs[j])->
					    sin6_port = htons((uint16_t)port);
				else
					((struct sockaddr_in *)&addrs[j])->
					    sin_port = htons((uint16_t)port);
				t = &srv->lis[srv->nlis];
				uv_tcp_init(srv->loop, t);
				t->data = srv;
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
				srv->nlis++;
			}
		}
	}
	if (srv->nlis == 0) {
		snprintf(err, errlen, "no listening address");
		return -1;
	}
	return 0;
}

/* Started as root with RunAsUser: give up root once the sockets are
 * bound. */
static int
drop_privileges(const struct server_config *c, char *err, size_t errlen)
{
	struct passwd *pw;

	if (getuid() != 0 || c->user == NULL)
		return 0;
	if ((pw = getpwnam(c->user)) == NULL) {
		snprintf(err, errlen, "RunAsUser %s: no such user", c->user);
		return -1;
	}
	if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0 || setuid(0) == 0) {
		snprintf(err, errlen, "cannot drop privileges to %s: %s",
		    c->user, strerror(errno));
		return -1;
	}
	log_info("running as %s", c->user);
	return 0;
}

/* PidFile, as sshd writes it (after detaching); "none" writes nothing. */
static void
write_pid_file(const struct server_config *c)
{
	FILE *f;

	if (c->pid_file == NULL || strcasecmp(c->pid_file, "none") == 0)
		return;
	if ((f = fopen(c->pid_file, "w")) == NULL) {
		log_error("cannot write PidFile %s: %s", c->pid_file,
		    strerror(errno));
		return;
	}
	fprintf(f, "%ld\n", (long)getpid());
	fclose(f);
}

static void
on_signal(uv_signal_t *h, int signum)
{
	struct server *srv = h->data;
	struct server_policy *p;
	char err[1024];
	int i;

	if (signum == SIGHUP) {
		/* new connections get the new keys and policy */
		sd_notify_send("RELOADING=1");
		if ((p = load_policy(srv, err, sizeof(err))) == NULL) {
			log_error("reload failed, keeping the old "
			    "configuration: %s", err);
			sd_notify_send("READY=1");
			return;
		}
		server_policy_unref(srv->pol);
		srv->pol = p;
		log_info("Received SIGHUP; configuration reloaded.");
		sd_notify_send("READY=1");
		return;
	}
	log_info("Received signal %d; terminating.", signum);
	sd_notify_send("STOPPING=1");
	srv->stopping = true;
	for (i = 0; i < srv->nlis; i++)
		uv_close((uv_handle_t *)&srv->lis[i], NULL);
	for (i = 0; i < 3; i++)
		uv_close((uv_handle_t *)&srv->sig[i], NULL);
	session_close_all(&srv->sessions, "server shutting down");
}

int
main(int argc, char **argv)
{
	static const int sigs[3] = { SIGHUP, SIGTERM, SIGINT };
	struct server srv;
	char err[1024], line[1100];
	bool foreground = false, test = false, print = false;
	int ch, i, code = 0;

	memset(&srv, 0, sizeof(srv));
	srv.config_path = DEFAULT_CONFIG;
	log_init("ferryd", LOG_INFO, NULL);
	while ((ch = getopt(argc, argv, "Dedf:h:o:p:Tt")) != -1) {
		switch (ch) {
		case 'D':
		case 'e':
			foreground = true;
			break;
		case 'd':
			foreground = true;
			srv.cmd_lines[srv.ncmd_lines++] = strdup("LogLevel "
			    "DEBUG1");
			break;
		case 'f':
			srv.config_path = optarg;
			srv.config_given = true;
			break;
		case 'h':
			if (srv.ncmd_hostkeys < SC_MAX_HOSTKEYS)
				srv.cmd_hostkeys[srv.ncmd_hostkeys++] = optarg;
			break;
		case 'o':
		case 'p':
			if (srv.ncmd_lines >= 63) {
				fprintf(stderr, "ferryd: too many options\n");
				return 1;
			}
			if (ch == 'p')
				snprintf(line, sizeof(line), "Port %s", optarg);
			else
				snprintf(line, sizeof(line), "%s", optarg);
			srv.cmd_lines[srv.ncmd_lines++] = strdup(line);
			break;
		case 'T':
			print = true;
			break;
		case 't':
			test = true;
			break;
		default:
			usage();
			return 1;
		}
	}
	if (optind < argc) {
		usage();
		return 1;
	}
	if ((srv.pol = load_policy(&srv, err, sizeof(err))) == NULL) {
		fprintf(stderr, "ferryd: %s\n", err);
		code = 1;
		goto out;
	}
	log_set_level((enum log_level)srv.pol->cfg.log_level);
	if (print)
		server_config_print(&srv.pol->cfg, stdout);
	if (test || print)
		goto out;
	signal(SIGPIPE, SIG_IGN);
	set_fd_budget(&srv);
	srv.loop = uv_default_loop();
	if (listen_all(&srv, err, sizeof(err)) != 0 ||
	    drop_privileges(&srv.pol->cfg, err, sizeof(err)) != 0) {
		log_error("%s", err);
		code = 1;
		goto out;
	}
	if (!foreground && daemon(0, 0) != 0) {
		log_error("daemon: %s", strerror(errno));
		code = 1;
		goto out;
	}
	write_pid_file(&srv.pol->cfg);
	srv.sessions.all.fds = open_fds();
	for (i = 0; i < 3; i++) {
		uv_signal_init(srv.loop, &srv.sig[i]);
		srv.sig[i].data = &srv;
		uv_signal_start(&srv.sig[i], on_signal, sigs[i]);
	}
	/* Type=notify: the listeners are up */
	sd_notify_send("READY=1\nSTATUS=accepting connections");
	uv_run(srv.loop, UV_RUN_DEFAULT);
	uv_loop_close(srv.loop);
out:
	server_policy_unref(srv.pol);
	for (i = 0; i < srv.ncmd_lines; i++)
		free(srv.cmd_lines[i]);
	return code;
}
