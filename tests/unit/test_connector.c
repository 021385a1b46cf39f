/* The connector (net/connector.c) on a real libuv loop: connects to a
 * listening socket (literal, name, Unix path), reports a refused port, a
 * name that does not resolve and a deadline, and can be cancelled while
 * resolving or connecting. Every test ends with the loop drained (uv_run
 * returns 0, uv_loop_close succeeds) and no descriptor left over; a guard
 * timer stops a loop that would not drain within GUARD_MS. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <uv.h>

#include "net/connector.h"

#define GUARD_MS	5000
#define NO_SUCH_NAME	"no-such-host.ferry-test.invalid"

union sock {
	uv_handle_t	 h;
	uv_stream_t	 s;
	uv_tcp_t	 tcp;
	uv_pipe_t	 pipe;
};

struct fx {
	uv_loop_t	 loop;
	uv_timer_t	 guard;		/* unreferenced: never keeps it alive */
	bool		 guard_fired;
	union sock	 server;
	bool		 server_open;
	union sock	 dst;		/* the caller's handle */
	bool		 dst_open;
	int		 accepted;
	int		 port;		/* the server's, or a closed one */
	char		 dir[64];	/* for Unix sockets */
	char		 path[128];
	int		 fds;		/* descriptors open before the loop */
	/* what the connector reported */
	int		 calls;
	enum connector_stage stage;
	int		 err;
	int		 peer_port;	/* dst's peer, seen in the callback */
	bool		 readable;
};

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void
guard_cb(uv_timer_t *t)
{
	struct fx *f = t->data;

	f->guard_fired = true;
	uv_stop(&f->loop);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->fds = count_fds();
	assert_int_equal(uv_loop_init(&f->loop), 0);
	uv_timer_init(&f->loop, &f->guard);
	f->guard.data = f;
	uv_timer_start(&f->guard, guard_cb, GUARD_MS, 0);
	uv_unref((uv_handle_t *)&f->guard);
	f->stage = (enum connector_stage)-1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	uv_close((uv_handle_t *)&f->guard, NULL);
	assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	assert_int_equal(count_fds(), f->fds);
	if (f->path[0] != '\0')
		unlink(f->path);
	if (f->dir[0] != '\0')
		rmdir(f->dir);
	free(f);
	return 0;
}

static void
close_dst(struct fx *f)
{
	if (f->dst_open) {
		f->dst_open = false;
		uv_close(&f->dst.h, NULL);
	}
}

static void
close_server(struct fx *f)
{
	if (f->server_open) {
		f->server_open = false;
		uv_close(&f->server.h, NULL);
	}
}

/* Runs the loop until nothing is left; the test fails if the guard had
 * to stop it. */
static void
drain(struct fx *f)
{
	assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
	assert_false(f->guard_fired);
}

static void
accepted_closed(uv_handle_t *h)
{
	free(h);
}

static void
on_connection(uv_stream_t *server, int status)
{
	struct fx *f = server->data;
	uv_handle_t *h;

	assert_int_equal(status, 0);
	if (server->type == UV_NAMED_PIPE) {
		assert_non_null(h = malloc(sizeof(uv_pipe_t)));
		uv_pipe_init(server->loop, (uv_pipe_t *)h, 0);
	} else {
		assert_non_null(h = malloc(sizeof(uv_tcp_t)));
		uv_tcp_init(server->loop, (uv_tcp_t *)h);
	}
	assert_int_equal(uv_accept(server, (uv_stream_t *)h), 0);
	f->accepted++;
	uv_close(h, accepted_closed);
}

/* A TCP listener on 127.0.0.1 with a port the kernel chose. */
static void
listen_tcp(struct fx *f)
{
	struct sockaddr_in sin;
	int len = sizeof(sin);

	uv_tcp_init(&f->loop, &f->server.tcp);
	f->server.h.data = f;
	f->server_open = true;
	assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &sin), 0);
	assert_int_equal(uv_tcp_bind(&f->server.tcp, (struct sockaddr *)&sin,
	    0), 0);
	assert_int_equal(uv_listen(&f->server.s, 8, on_connection), 0);
	assert_int_equal(uv_tcp_getsockname(&f->server.tcp,
	    (struct sockaddr *)&sin, &len), 0);
	f->port = ntohs(sin.sin_port);
	assert_true(f->port > 0);
}

static void
listen_unix(struct fx *f)
{
	snprintf(f->dir, sizeof(f->dir), "/tmp/ferry-connector-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/sock", f->dir);
	uv_pipe_init(&f->loop, &f->server.pipe, 0);
	f->server.h.data = f;
	f->server_open = true;
	assert_int_equal(uv_pipe_bind(&f->server.pipe, f->path), 0);
	assert_int_equal(uv_listen(&f->server.s, 8, on_connection), 0);
}

/* Records the outcome; the caller's side of it is closed at once, as a
 * caller whose object dies would. */
static void
done_cb(void *ud, enum connector_stage stage, int err)
{
	struct fx *f = ud;
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	f->calls++;
	f->stage = stage;
	f->err = err;
	if (stage == CONNECTOR_CONNECTED && f->dst.h.type == UV_TCP &&
	    uv_tcp_getpeername(&f->dst.tcp, (struct sockaddr *)&ss,
	    &len) == 0)
		f->peer_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	f->readable = uv_is_readable(&f->dst.s) && uv_is_writable(&f->dst.s);
	close_dst(f);
	close_server(f);
}

static int
start_tcp(struct fx *f, const char *host, int port, int family,
    unsigned timeout_ms, struct connector **cp)
{
	char portstr[16];

	snprintf(portstr, sizeof(portstr), "%d", port);
	uv_tcp_init(&f->loop, &f->dst.tcp);
	f->dst_open = true;
	return connector_tcp(cp, &f->dst.tcp, host, portstr, family, NULL,
	    timeout_ms, done_cb, f);
}

static void
test_connect_literal(void **state)
{
	struct fx *f = *state;
	struct connector *c = NULL;

	listen_tcp(f);
	assert_int_equal(start_tcp(f, "127.0.0.1", f->port, AF_UNSPEC, 0,
	    &c), 0);
	assert_non_null(c);
	assert_int_equal(f->calls, 0);		/* never from inside */
	drain(f);
	assert_int_equal(f->calls, 1);
	assert_int_equal(f->stage, CONNECTOR_CONNECTED);
	assert_int_equal(f->err, 0);
	assert_int_equal(f->peer_port, f->port);
	assert_true(f->readable);
}

static void
test_connect_name(void **state)
{
	struct fx *f = *state;
	struct connector *c = NULL;

	listen_tcp(f);
	assert_int_equal(start_tcp(f, "localhost", f->port, AF_INET, 0, &c),
	    0);
	assert_int_equal(f->calls, 0);
	drain(f);
	assert_int_equal(f->calls, 1);
	assert_int_equal(f->stage, CONNECTOR_CONNECTED);
	assert_int_equal(f->peer_port, f->port);
	assert_true(f->readable);
}

static void
test_refused(void **state)
{
	struct fx *f = *state;
	struct connector *c = NULL;

	listen_tcp(f);		/* a port that was just free... */
	close_server(f);	/* ...and nobody listens on now */
	drain(f);
	assert_int_equal(start_tcp(f, "127.0.0.1", f->port, AF_UNSPEC, 0,
	    &c), 0);
	drain(f);
	assert_int_equal(f->calls, 1);
	assert_int_equal(f->stage, CONNECTOR_CONNECT);
	assert_int_equal(f->err, UV_ECONNREFUSED);
}

static void
test_unresolvable(void **state)
{
	struct fx *f = *state;
	struct connector *c = NULL;

	assert_int_equal(start_tcp(f, NO_SUCH_NAME, 22, AF_UNSPEC, 0, &c), 0);
	assert_int_equal(f->calls, 0);
	drain(f);
	assert_int_equal(f->calls, 1);
	assert_int_equal(f->stage, CONNECTOR_RESOLVE);
	assert_true(f->err < 0);
	assert_memory_equal(uv_err_name(f->err), "EAI_", 4);
}

/* The loop sleeps past the 1 ms deadline before it runs: timers run
 * before the loop polls for the resolver's or the socket's completion,
 * so the deadline comes first whatever the resolver's speed. */
static void
timeout_case(struct fx *f, const char *host)
{
	struct connector *c = NULL;

	listen_tcp(f);
	assert_int_equal(start_tcp(f, host, f->port, AF_INET, 1, &c), 0);
	uv_sleep(20);
	drain(f);
	assert_int_equal(f->calls, 1);
	assert_int_equal(f->stage, CONNECTOR_TIMEOUT);
	assert_int_equal(f->err, UV_ETIMEDOUT);
}

static void
test_timeout_resolving(void **state)
{
	timeout_case(*state, "localhost");
}

static void
test_timeout_connecting(void **state)
{
	timeout_case(*state, "127.0.0.1");
}

/* The caller's object dies while its connect is under way: it cancels and
 * closes its own handle; the connector must not call back and must leave
 * nothing behind once the loop has run. */
static void
cancel_case(struct fx *f, const char *host)
{
	struct connector *c = NULL;
	uv_os_fd_t fd;

	listen_tcp(f);
	assert_int_equal(start_tcp(f, host, f->port, AF_INET, 1000, &c), 0);
	assert_non_null(c);
	connector_cancel(c);
	assert_int_equal(uv_fileno(&f->dst.h, &fd), UV_EBADF);
	close_dst(f);
	close_server(f);
	drain(f);
	assert_int_equal(f->calls, 0);
}

static void
test_cancel_resolving(void **state)
{
	cancel_case(*state, "localhost");
}

static void
test_cancel_connecting(void **state)
{
	cancel_case(*state, "127.0.0.1");
}

/* Cancelled after some loop iterations, with the connect possibly done
 * in the kernel but not yet reported. */
static void
test_cancel_later(void **state)
{
	struct fx *f = *state;
	struct connector *c = NULL;

	listen_tcp(f);
	assert_int_equal(start_tcp(f, "localhost", f->port, AF_INET, 0, &c),
	    0);
	uv_run(&f->loop, UV_RUN_NOWAIT);
	if (f->calls == 0)
		connector_cancel(c);
	close_dst(f);
	close_server(f);
	drain(f);
	assert_true(f->calls <= 1);
}

static void
test_unix(void **state)
{
	struct fx *f = *state;
	struct connector *c = NULL;

	listen_unix(f);
	uv_pipe_init(&f->loop, &f->dst.pipe, 0);
	f->dst_open = true;
	assert_int_equal(connector_unix(&c, &f->dst.pipe, f->path, 1000,
	    done_cb, f), 0);
	assert_int_equal(f->calls, 0);
	/* the path is not needed once connector_unix returned (ferryd
	 * connects through a /proc/self/fd path it closes right after) */
	assert_int_equal(unlink(f->path), 0);
	f->path[0] = '\0';
	drain(f);
	assert_int_equal(f->calls, 1);
	assert_int_equal(f->stage, CONNECTOR_CONNECTED);
	assert_int_equal(f->err, 0);
	assert_true(f->readable);
}

static void
test_unix_missing(void **state)
{
	struct fx *f = *state;
	struct connector *c = NULL;

	snprintf(f->dir, sizeof(f->dir), "/tmp/ferry-connector-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	uv_pipe_init(&f->loop, &f->dst.pipe, 0);
	f->dst_open = true;
	assert_int_equal(connector_unix(&c, &f->dst.pipe, "/nonexistent/"
	    "ferry-test.sock", 1000, done_cb, f), 0);
	drain(f);
	assert_int_equal(f->calls, 1);
	assert_int_equal(f->stage, CONNECTOR_CONNECT);
	assert_int_equal(f->err, UV_ENOENT);
}

/* libuv opens descriptors it keeps for the whole process (its signal
 * pipe) with the first loop: before any test counts them. */
static int
group_setup(void **state)
{
	uv_loop_t loop;

	(void)state;
	if (uv_loop_init(&loop) != 0)
		return -1;
	return uv_loop_close(&loop);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_connect_literal, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_connect_name, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unresolvable, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_timeout_resolving, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_timeout_connecting, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cancel_resolving, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cancel_connecting, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cancel_later, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unix_missing, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
