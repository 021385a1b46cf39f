/* The in-process client and server of the loop-level tests, their
 * loop, deadline and listeners. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keys/key.h"
#include "ssh/ssh.h"
#include "looplab.h"

#define LAB_USER	"lab"
#define LAB_DEADLINE_MS	10000
#define TEARDOWN_MS	5000

struct key *lab_hostkey, *lab_userkey;

int
lab_group_setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	if (key_generate(KEY_ED25519, &lab_hostkey) != 0 ||
	    key_generate(KEY_ED25519, &lab_userkey) != 0)
		return -1;
	return 0;
}

int
lab_group_teardown(void **state)
{
	(void)state;
	key_free(lab_hostkey);
	key_free(lab_userkey);
	lab_hostkey = lab_userkey = NULL;
	return 0;
}


static void
deadline_cb(uv_timer_t *t)
{
	struct lab *lab = t->data;

	lab->expired = true;
	uv_stop(&lab->loop);
}

void
lab_step(struct lab *lab, const char *what)
{
	if (!lab->expired)
		uv_run(&lab->loop, UV_RUN_ONCE);
	if (lab->expired)
		fail_msg("deadline passed waiting for %s", what);
}

static void
once_cb(uv_timer_t *t)
{
	struct lab *lab = t->data;
	void (*fn)(struct lab *, void *) = lab->once_fn;

	lab->once_fired = true;
	lab->once_fn = NULL;
	if (fn != NULL)
		fn(lab, lab->once_arg);
}

void
lab_after(struct lab *lab, unsigned ms, void (*fn)(struct lab *, void *),
    void *arg)
{
	lab->once_fired = false;
	lab->once_fn = fn;
	lab->once_arg = arg;
	uv_timer_start(&lab->once, once_cb, ms, 0);
}

void
lab_run_for(struct lab *lab, unsigned ms)
{
	lab_after(lab, ms, NULL, NULL);
	LAB_WAIT(lab, lab->once_fired);
}


static void
on_target(uv_stream_t *server, int status)
{
	struct lab *lab = server->data;
	struct lab_sock *s;

	if (status < 0)
		return;
	s = lab_sock_new(lab);
	if (uv_accept(server, (uv_stream_t *)&s->tcp) != 0) {
		lab_sock_close(s);
		return;
	}
	s->conn_status = 0;
	lab->far = s;
	lab->nfar++;
	if (lab->far_reads)
		lab_sock_read(s, true);
}

struct lab_sock *
lab_wait_far(struct lab *lab)
{
	int n = lab->nfar;

	LAB_WAIT(lab, lab->nfar > n);
	return lab->far;
}

/* Listens on 127.0.0.1, a port the kernel picks; returns it. */
static int
listen_any(struct lab *lab, uv_tcp_t *t, uv_connection_cb cb)
{
	struct sockaddr_storage ss;
	struct sockaddr_in sin;
	int len = sizeof(ss);

	uv_tcp_init(&lab->loop, t);
	t->data = lab;
	assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &sin), 0);
	assert_int_equal(uv_tcp_bind(t, (struct sockaddr *)&sin, 0), 0);
	assert_int_equal(uv_listen((uv_stream_t *)t, 16, cb), 0);
	assert_int_equal(uv_tcp_getsockname(t, (struct sockaddr *)&ss, &len),
	    0);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

int
lab_refused_port(struct lab *lab)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	if (lab->refused_fd < 0) {
		lab->refused_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC,
		    0);
		assert_true(lab->refused_fd >= 0);
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		assert_int_equal(bind(lab->refused_fd, (struct sockaddr *)&sin,
		    sizeof(sin)), 0);
	}
	assert_int_equal(getsockname(lab->refused_fd, (struct sockaddr *)&sin,
	    &len), 0);
	return ntohs(sin.sin_port);
}

/* The client's -L listeners. */

static void
lis_refused(void *ud, const char *why)
{
	struct lab *lab = ud;

	lab->lis_refused++;
	snprintf(lab->lis_why, sizeof(lab->lis_why), "%s", why);
}

int
lab_forward(struct lab *lab, int port, size_t max_conns)
{
	struct sockaddr_storage addrs[FWD_MAX_ADDRS];
	struct fwd_listener_cfg cfg;
	struct fwd_listener *fl;
	char err[256];
	int n;

	assert_true(lab->nlis < LAB_MAX_LISTENERS);
	assert_int_equal(fwd_bind_addrs(SCOPE_LOOPBACK, NULL, AF_INET, addrs,
	    &n, err, sizeof(err)), 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.kind = OPEN_DIRECT_TCPIP;
	cfg.name = "127.0.0.1";
	cfg.port = port;
	cfg.stats = &lab->cli.stats;
	cfg.max_conns = max_conns;
	cfg.refused = lis_refused;
	cfg.ud = lab;
	cfg.label = "lab-L";
	fl = fwd_listener_start(&lab->loop, addrs, n, 0, &cfg,
	    &lab->cli.pumps, err, sizeof(err));
	if (fl == NULL)
		fail_msg("fwd_listener_start: %s", err);
	lab->lis[lab->nlis++] = fl;
	return fwd_listener_port(fl);
}

/* The two ends of the SSH connection. */

struct ssh_conn *
lab_ssh(struct lab_end *e)
{
	struct ssh_conn *ssh;

	assert_non_null(e->nc);
	ssh = net_conn_ssh(e->nc);
	assert_non_null(ssh);
	return ssh;
}

static void
end_connected(void *ud)
{
	(void)ud;
}

static void
end_closed(void *ud, enum net_end end, const char *why)
{
	struct lab_end *e = ud;

	e->closed = true;
	e->end = end;
	snprintf(e->why, sizeof(e->why), "%s", why);
	e->nc = NULL;
	e->pumps.nc = NULL;
}

static void
end_empty(void *ud)
{
	struct lab_end *e = ud;

	e->empty++;
}

/* Events both roles answer alike: global requests and replies. */
static void
end_event(struct lab_end *e, struct ssh_event *ev)
{
	switch (ev->type) {
	case SSH_EV_GLOBAL_REQUEST:
		e->global_requests++;
		ev->u.request.success = true;
		break;
	case SSH_EV_GLOBAL_REPLY:
		e->global_replies++;
		e->reply_success = ev->u.global_reply.success;
		e->reply_ud = ev->u.global_reply.ud;
		break;
	default:
		break;
	}
}

static void
cli_event(void *ud, struct ssh_event *ev)
{
	struct lab_end *e = ud;

	switch (ev->type) {
	case SSH_EV_HOSTKEY:
		ev->u.hostkey.accept = key_equal(ev->u.hostkey.key,
		    lab_hostkey);
		break;
	case SSH_EV_AUTH_READY:
		ssh_auth_pubkey(net_conn_ssh(e->nc), LAB_USER, lab_userkey);
		break;
	case SSH_EV_AUTH_SUCCESS:
		e->authed = true;
		break;
	default:
		end_event(e, ev);
		break;
	}
}

/* direct-tcpip is answered as ferryd does: connect, then confirm. */
static void
srv_open(struct lab_end *e, struct ssh_event *ev)
{
	char host[256], orig[256];
	uint32_t port, oport;
	struct rd r;

	ev->u.open_request.reason = SSH_OPEN_UNKNOWN_CHANNEL_TYPE;
	ev->u.open_request.message = "lab: unknown channel type";
	if (strcmp(ev->u.open_request.type, "direct-tcpip") != 0)
		return;
	rd_init(&r, ev->u.open_request.extra, ev->u.open_request.extra_len);
	if (rd_cstring(&r, host, sizeof(host)) != 0 ||
	    rd_u32(&r, &port) != 0 || rd_cstring(&r, orig, sizeof(orig)) != 0 ||
	    rd_u32(&r, &oport) != 0) {
		ev->u.open_request.reason = SSH_OPEN_CONNECT_FAILED;
		ev->u.open_request.message = "lab: malformed direct-tcpip";
		return;
	}
	if (pump_connect(&e->pumps, &e->lab->loop, ev->chan, host, port,
	    "lab direct-tcpip", &e->stats) != 0) {
		ev->u.open_request.reason = SSH_OPEN_RESOURCE_SHORTAGE;
		ev->u.open_request.message = "lab: pump_connect failed";
		return;
	}
	ev->u.open_request.defer = true;
}

static void
srv_event(void *ud, struct ssh_event *ev)
{
	struct lab_end *e = ud;

	switch (ev->type) {
	case SSH_EV_AUTH_REQUEST:
		ev->u.auth_request.allow = strcmp(ev->u.auth_request.user,
		    LAB_USER) == 0 && key_equal(ev->u.auth_request.key,
		    lab_userkey);
		break;
	case SSH_EV_CHAN_OPEN_REQUEST:
		srv_open(e, ev);
		break;
	default:
		end_event(e, ev);
		break;
	}
}

static const struct net_conn_ops cli_ops = {
	.event = cli_event,
	.connected = end_connected,
	.closed = end_closed,
};

static const struct net_conn_ops srv_ops = {
	.event = srv_event,
	.connected = end_connected,
	.closed = end_closed,
};

static void
free_handle(uv_handle_t *h)
{
	free(h);
}

/* The accepted connection's descriptor, as ferryd's acceptor hands it to
 * a loop (-1: none). */
static uv_os_sock_t
accept_fd(uv_stream_t *server)
{
	uv_tcp_t *t = malloc(sizeof(*t));
	uv_os_fd_t fd;
	int r = -1;

	if (t == NULL)
		return -1;
	uv_tcp_init(server->loop, t);
	if (uv_accept(server, (uv_stream_t *)t) == 0 &&
	    uv_fileno((uv_handle_t *)t, &fd) == 0)
		r = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	uv_close((uv_handle_t *)t, free_handle);
	return r;
}

static void
on_ssh(uv_stream_t *server, int status)
{
	struct lab *lab = server->data;
	struct ssh_config cfg;

	if (status < 0 || lab->srv.nc != NULL || lab->srv.closed)
		return;		/* one connection per lab */
	memset(&cfg, 0, sizeof(cfg));
	cfg.role = SSH_ROLE_SERVER;
	cfg.hostkeys = &lab_hostkey;
	cfg.nhostkeys = 1;
	cfg.window = lab->srv_window;
	lab->srv.nc = net_conn_accept(&lab->nl, accept_fd(server), &cfg,
	    &srv_ops, &lab->srv);
	lab->srv.pumps.nc = lab->srv.nc;
}

static void
end_init(struct lab_end *e, struct lab *lab)
{
	e->lab = lab;
	e->pumps.on_empty = end_empty;
	e->pumps.ud = e;
}

static bool
lab_ready(struct lab *lab)
{
	return lab->cli.authed && lab->srv.nc != NULL &&
	    net_conn_ssh(lab->srv.nc) != NULL &&
	    ssh_authenticated(net_conn_ssh(lab->srv.nc));
}

static void
start_client(struct lab *lab, int port)
{
	struct net_conn_opts o;
	struct ssh_config cfg;
	char portstr[16];

	snprintf(portstr, sizeof(portstr), "%d", port);
	memset(&o, 0, sizeof(o));
	o.host = "127.0.0.1";
	o.port = portstr;
	o.family = AF_INET;
	o.connect_timeout_ms = 5000;
	memset(&cfg, 0, sizeof(cfg));
	cfg.role = SSH_ROLE_CLIENT;
	lab->cli.nc = net_conn_start(&lab->nl, &o, &cfg, &cli_ops, &lab->cli);
	assert_non_null(lab->cli.nc);
	lab->cli.pumps.nc = lab->cli.nc;
}

struct lab *
lab_new(void **state, const struct lab_opts *o)
{
	struct lab *lab;

	lab = calloc(1, sizeof(*lab));
	assert_non_null(lab);
	*state = lab;
	assert_int_equal(uv_loop_init(&lab->loop), 0);
	net_loop_init(&lab->nl, &lab->loop);
	uv_timer_init(&lab->loop, &lab->deadline);
	uv_timer_init(&lab->loop, &lab->once);
	lab->deadline.data = lab->once.data = lab;
	uv_timer_start(&lab->deadline, deadline_cb, o->deadline_ms ?
	    o->deadline_ms : LAB_DEADLINE_MS, 0);
	lab->refused_fd = -1;
	lab->far_reads = true;
	lab->srv_window = o->srv_window;
	end_init(&lab->cli, lab);
	end_init(&lab->srv, lab);
	lab->target_port = listen_any(lab, &lab->target, on_target);
	start_client(lab, listen_any(lab, &lab->ssh_lis, on_ssh));
	LAB_WAIT(lab, lab_ready(lab) || lab->cli.closed || lab->srv.closed);
	if (!lab_ready(lab))
		fail_msg("no session: client: %s; server: %s", lab->cli.why,
		    lab->srv.why);
	return lab;
}

static void
count_handle(uv_handle_t *h, void *arg)
{
	struct lab *lab = arg;

	if (h == (uv_handle_t *)&lab->deadline ||
	    h == (uv_handle_t *)&lab->nl.check ||
	    h == (uv_handle_t *)&lab->nl.prepare)
		return;
	lab->nhandles++;
}

/* Handles on the loop (closing ones included) but the lab's own. */
static int
handles_left(struct lab *lab)
{
	lab->nhandles = 0;
	uv_walk(&lab->loop, count_handle, lab);
	return lab->nhandles;
}

static void
close_if_open(uv_handle_t *h)
{
	if (h->loop != NULL && !uv_is_closing(h))	/* inited, not closed */
		uv_close(h, NULL);
}

/* Closes everything and lets every close callback run. */
static void
lab_shut(struct lab *lab)
{
	struct lab_sock *s;
	int i;

	lab->expired = false;
	uv_timer_start(&lab->deadline, deadline_cb, TEARDOWN_MS, 0);
	for (i = 0; i < lab->nlis; i++)
		if (lab->lis[i] != NULL)
			fwd_listener_stop(lab->lis[i]);
	lab->nlis = 0;
	for (s = lab->socks; s != NULL; s = s->next)
		lab_sock_close(s);
	if (lab->cli.nc != NULL)
		net_conn_close(lab->cli.nc, "lab: done");
	if (lab->srv.nc != NULL)
		net_conn_close(lab->srv.nc, "lab: done");
	close_if_open((uv_handle_t *)&lab->ssh_lis);
	close_if_open((uv_handle_t *)&lab->target);
	close_if_open((uv_handle_t *)&lab->once);
	if (lab->refused_fd >= 0)
		close(lab->refused_fd);
	lab->refused_fd = -1;
	LAB_WAIT(lab, handles_left(lab) == 0);
	net_loop_close(&lab->nl);
	close_if_open((uv_handle_t *)&lab->deadline);
	uv_run(&lab->loop, UV_RUN_DEFAULT);
}

int
lab_free(void **state)
{
	struct lab *lab = *state;
	struct lab_sock *s;
	size_t cli_pumps, srv_pumps;
	int left, rc;

	if (lab == NULL)
		return 0;
	*state = NULL;
	lab_shut(lab);
	left = handles_left(lab);
	cli_pumps = lab->cli.pumps.count;
	srv_pumps = lab->srv.pumps.count;
	rc = uv_loop_close(&lab->loop);
	while ((s = lab->socks) != NULL) {
		lab->socks = s->next;
		lab_sock_free(s);
	}
	free(lab);
	assert_int_equal(left, 0);
	assert_int_equal(rc, 0);
	assert_int_equal(cli_pumps, 0);
	assert_int_equal(srv_pumps, 0);
	return 0;
}
