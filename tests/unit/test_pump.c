/* Loop-level tests of the data path (fwd/pump.c), its half-close, the
 * connection layer (net/conn.c, net/loop.c, net/chan.c) and the -L
 * listeners (fwd/listener.c), through their public headers only: a client
 * and a server on one loop (looplab.h), real sockets at both ends of each
 * tunnel, every wait bounded by the lab's deadline. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "net/chan.h"
#include "util/log.h"
#include "looplab.h"

#define MIB		(1024 * 1024)

static const struct lab_opts defaults;

/* Whether a socket's reading is over (end of stream or error). */
static bool
ended(const struct lab_sock *s)
{
	return s->eof || s->rd_err != 0;
}

/* The stream s read ended in a clean EOF, not a reset. */
static void
clean_eof(const struct lab_sock *s)
{
	assert_true(s->eof);
	assert_false(lab_sock_reset(s));
}

/* An application connected through a -L listener and the far socket the
 * server's pump connected to. */
static void
tunnel(struct lab *lab, int port, struct lab_sock **app,
    struct lab_sock **far)
{
	*app = lab_connect(lab, port);
	*far = lab_wait_far(lab);
	LAB_WAIT(lab, (*app)->conn_status <= 0);
	assert_int_equal((*app)->conn_status, 0);
}

/* Both pump sets are empty and neither engine has a channel left. */
static void
wait_all_closed(struct lab *lab)
{
	LAB_WAIT(lab, lab->cli.pumps.count == 0 && lab->srv.pumps.count == 0);
	assert_int_equal(ssh_chan_count(lab_ssh(&lab->cli)), 0);
	LAB_WAIT(lab, ssh_chan_count(lab_ssh(&lab->srv)) == 0);
	assert_true(lab->cli.empty >= 1);
	assert_true(lab->srv.empty >= 1);
	assert_int_equal(lab->cli.stats.open, 0);
	assert_int_equal(lab->srv.stats.open, 0);
}

/* 4 MiB each way at once, both checked by SHA-256; the counters agree. */
static void
test_both_ways(void **state)
{
	const uint64_t n = 4 * MIB;
	struct lab *lab = lab_new(state, &defaults);
	struct lab_sock *app, *far;

	tunnel(lab, lab_forward(lab, lab->target_port, 0), &app, &far);
	lab_sock_send(app, n, 1, false);
	lab_sock_send(far, n, 2, false);
	LAB_WAIT(lab, (app->rcvd == n && far->rcvd == n) || ended(app) ||
	    ended(far));
	assert_false(ended(app));
	assert_false(ended(far));
	assert_true(lab_same_stream(app, far));
	assert_true(lab_same_stream(far, app));
	assert_int_equal(lab->cli.stats.bytes_out, n);
	assert_int_equal(lab->cli.stats.bytes_in, n);
	assert_int_equal(lab->srv.stats.bytes_out, n);
	assert_int_equal(lab->srv.stats.bytes_in, n);
	assert_int_equal(lab->cli.stats.conns, 1);
	assert_int_equal(lab->srv.stats.conns, 1);
	lab_sock_shutdown(app);
	lab_sock_shutdown(far);
	LAB_WAIT(lab, ended(app) && ended(far));
	clean_eof(app);
	clean_eof(far);
	wait_all_closed(lab);
	assert_int_equal(app->wr_err, 0);
	assert_int_equal(far->wr_err, 0);
}

/* The application shuts its write side: the far socket reads everything
 * then EOF, and the other direction still carries data afterwards; when
 * the far side shuts too, the channel closes and so do both pumps'
 * sockets, without a reset. */
static void
test_half_close_near_first(void **state)
{
	const uint64_t n = 256 * 1024;
	struct lab *lab = lab_new(state, &defaults);
	struct lab_sock *app, *far;

	tunnel(lab, lab_forward(lab, lab->target_port, 0), &app, &far);
	lab_sock_send(app, n, 3, true);
	LAB_WAIT(lab, ended(far));
	clean_eof(far);
	assert_true(lab_same_stream(app, far));
	assert_true(app->shut_done);
	assert_int_equal(app->shut_status, 0);
	/* half open: the channel and both pumps are still there */
	assert_false(ended(app));
	assert_int_equal(lab->cli.pumps.count, 1);
	assert_int_equal(lab->srv.pumps.count, 1);
	assert_int_equal(ssh_chan_count(lab_ssh(&lab->cli)), 1);

	lab_sock_send(far, n, 4, false);
	LAB_WAIT(lab, app->rcvd == n || ended(app));
	assert_true(lab_same_stream(far, app));
	lab_run_for(lab, 50);
	assert_false(ended(app));	/* the far side has not shut yet */
	assert_int_equal(ssh_chan_count(lab_ssh(&lab->cli)), 1);

	lab_sock_shutdown(far);
	LAB_WAIT(lab, ended(app));
	clean_eof(app);
	assert_int_equal(app->rcvd, n);
	wait_all_closed(lab);
	assert_int_equal(app->rd_err, 0);
	assert_int_equal(far->rd_err, 0);
	assert_int_equal(far->wr_err, 0);
	assert_int_equal(far->shut_status, 0);
}

/* The far side sends and closes first: the application reads all of it,
 * then EOF, while its own direction stays open until it shuts. */
static void
test_far_closes_first(void **state)
{
	const uint64_t n = MIB;
	struct lab *lab = lab_new(state, &defaults);
	struct lab_sock *app, *far;

	tunnel(lab, lab_forward(lab, lab->target_port, 0), &app, &far);
	lab_sock_send(far, n, 5, false);
	LAB_WAIT(lab, far->tx_done == n || far->wr_err != 0);
	assert_int_equal(far->wr_err, 0);
	lab_sock_close(far);
	LAB_WAIT(lab, ended(app));
	clean_eof(app);
	assert_true(lab_same_stream(far, app));
	assert_int_equal(lab->cli.pumps.count, 1);	/* app -> far open */
	assert_int_equal(ssh_chan_count(lab_ssh(&lab->cli)), 1);
	lab_sock_shutdown(app);
	wait_all_closed(lab);
	assert_int_equal(app->rd_err, 0);
	assert_int_equal(app->shut_status, 0);
}

/* A far socket that does not read: the channel window fills, the client's
 * pump stops reading the application's socket, and the bytes between the
 * two pumps never exceed the window; reading again resumes everything.
 * The server's window is 16 MiB: the engine grows no window past that,
 * so it is the exact bound. */
static void
test_slow_reader(void **state)
{
	const uint32_t w = 16 * MIB;
	const uint64_t n = 40 * MIB;
	const struct lab_opts o = { .srv_window = w, .deadline_ms = 60000 };
	struct lab *lab = lab_new(state, &o);
	struct ssh_conn *cssh;
	struct lab_sock *app, *far;
	uint64_t last = 0, inflight = 0, maxfl = 0;
	int i, quiet = 0;

	lab->far_reads = false;
	tunnel(lab, lab_forward(lab, lab->target_port, 0), &app, &far);
	cssh = lab_ssh(&lab->cli);
	/* a fresh connection's only channel has id 0 (ids go next-fit) */
	assert_int_equal(ssh_chan_count(cssh), 1);
	LAB_WAIT(lab, ssh_chan_sendable(cssh, 0) > 0);
	lab_sock_send(app, n, 6, true);
	/* sample every 50 ms until, once moving, nothing moved for 300 ms */
	for (i = 0; i < 1000 && quiet < 6; i++) {
		lab_run_for(lab, 50);
		inflight = lab->cli.stats.bytes_out - lab->srv.stats.bytes_in;
		assert_true(inflight <= w);
		quiet = last > 0 && lab->cli.stats.bytes_out == last ?
		    quiet + 1 : 0;
		last = lab->cli.stats.bytes_out;
	}
	assert_int_equal(quiet, 6);
	assert_int_equal(far->rcvd, 0);
	/* stopped by the window, with the window's worth in between */
	assert_int_equal(ssh_chan_sendable(cssh, 0), 0);
	assert_true(inflight > w / 2);
	/* the application's bytes wait in a socket nobody reads */
	assert_true(app->tx_done > lab->cli.stats.bytes_out);
	assert_true(lab->cli.stats.bytes_out < n);

	lab_sock_read(far, true);
	for (i = 0; i < 2000 && !ended(far); i++) {
		lab_run_for(lab, 20);
		inflight = lab->cli.stats.bytes_out - lab->srv.stats.bytes_in;
		if (inflight > maxfl)
			maxfl = inflight;
	}
	clean_eof(far);
	assert_true(maxfl <= w);
	assert_true(lab_same_stream(app, far));
	assert_int_equal(lab->cli.stats.bytes_out, n);
	assert_int_equal(lab->srv.stats.bytes_in, n);
}

/* An idle tunnel when its SSH connection is closed: both sockets are
 * reset (pump.h: the connection resets its pumps' sockets), so neither
 * application takes the stream for complete; the listener stays and
 * resets new connections at once. */
static void
test_connection_death(void **state)
{
	const uint64_t n = 64 * 1024;
	struct lab *lab = lab_new(state, &defaults);
	struct lab_sock *app, *far, *late;
	int port;

	port = lab_forward(lab, lab->target_port, 0);
	tunnel(lab, port, &app, &far);
	lab_sock_send(app, n, 7, false);
	lab_sock_send(far, n, 8, false);
	LAB_WAIT(lab, (app->rcvd == n && far->rcvd == n) || ended(app) ||
	    ended(far));
	assert_true(lab_same_stream(app, far));
	assert_true(lab_same_stream(far, app));

	net_conn_close(lab->cli.nc, "lab: connection killed");
	LAB_WAIT(lab, lab->cli.closed && lab->srv.closed);
	assert_string_equal(lab->cli.why, "lab: connection killed");
	assert_non_null(strstr(lab->srv.why, "Connection closed"));
	assert_int_equal(lab->cli.end, NET_END_LOCAL);
	assert_int_equal(lab->srv.end, NET_END_PEER_CLOSED);
	LAB_WAIT(lab, ended(app) && ended(far));
	assert_true(lab_sock_reset(app));
	assert_true(lab_sock_reset(far));
	LAB_WAIT(lab, lab->cli.pumps.count == 0 && lab->srv.pumps.count == 0);

	/* the tunnel is down: a new connection is reset, not left hanging */
	late = lab_connect(lab, port);
	LAB_WAIT(lab, ended(late) || late->conn_status < 0);
	/* the reset may come before libuv reports the connect done */
	assert_true(late->conn_status == UV_ECONNRESET ||
	    lab_sock_reset(late));
	assert_int_equal(lab->nfar, 1);
	LAB_WAIT(lab, lab->cli.pumps.count == 0);
}

/* The same while data is moving: both sockets are reset, the far one
 * before the stream's end. */
static void
test_connection_death_mid_transfer(void **state)
{
	const uint64_t n = 256 * MIB;
	struct lab *lab = lab_new(state, &defaults);
	struct lab_sock *app, *far;

	tunnel(lab, lab_forward(lab, lab->target_port, 0), &app, &far);
	lab_sock_send(app, n, 9, true);
	LAB_WAIT(lab, far->rcvd >= MIB || ended(far));
	assert_false(ended(far));
	net_conn_close(lab->cli.nc, "lab: connection killed");
	LAB_WAIT(lab, ended(app) && ended(far));
	assert_true(lab_sock_reset(app));
	assert_true(lab_sock_reset(far));
	assert_true(far->rcvd < n);
	LAB_WAIT(lab, lab->cli.closed && lab->srv.closed &&
	    lab->cli.pumps.count == 0 && lab->srv.pumps.count == 0);
}

/* A channel of the test's own, routed by the connection (net/chan.h). */
struct probe {
	struct net_chan	 nch;
	int		 confirmed;
	int		 failed;
	uint32_t	 reason;
	char		 msg[128];
};

static void
probe_event(struct net_chan *ch, struct ssh_event *ev)
{
	struct probe *pr = (struct probe *)ch;

	if (ev->type == SSH_EV_CHAN_CONFIRM)
		pr->confirmed++;
	if (ev->type == SSH_EV_CHAN_OPEN_FAILED) {
		pr->failed++;
		pr->reason = ev->u.open_failed.reason;
		snprintf(pr->msg, sizeof(pr->msg), "%s",
		    ev->u.open_failed.message);
	}
}

static void
probe_abort(struct net_chan *ch)
{
	(void)ch;
}

static const struct net_chan_ops probe_ops = {
	.event = probe_event,
	.abort = probe_abort,
};

/* Whether a line of the log has both strings (the second in any case). */
static bool
log_has(const char *log, const char *who, const char *what)
{
	const char *line = log, *end;
	char buf[512];
	size_t len;

	while (*line != '\0') {
		end = strchr(line, '\n');
		len = end != NULL ? (size_t)(end - line) : strlen(line);
		snprintf(buf, sizeof(buf), "%.*s", (int)len, line);
		if (strstr(buf, who) != NULL && strcasestr(buf, what) != NULL)
			return true;
		line += len + (end != NULL);
	}
	return false;
}

/* A connect to a refused port: the channel open fails with the reason
 * (seen by a channel of our own, and in the -L forward's log), the
 * server's pump goes, and the client's pump closes the application's
 * socket. */
static void
test_connect_refused(void **state)
{
	struct lab *lab = lab_new(state, &defaults);
	struct probe pr;
	struct wb extra;
	struct lab_sock *app;
	char *logbuf = NULL;
	size_t loglen = 0;
	FILE *logfp;
	int id, port = lab_refused_port(lab);

	memset(&pr, 0, sizeof(pr));
	wb_init(&extra);
	ssh_direct_tcpip_extra(&extra, "127.0.0.1", (uint32_t)port,
	    "127.0.0.1", 1);
	net_conn_attach(lab->cli.nc, &pr.nch, &probe_ops);
	id = ssh_chan_open(lab_ssh(&lab->cli), "direct-tcpip", extra.p,
	    extra.len, &pr.nch);
	wb_free(&extra);
	assert_true(id >= 0);
	LAB_WAIT(lab, pr.failed + pr.confirmed > 0);
	net_chan_detach(&pr.nch);
	assert_int_equal(pr.confirmed, 0);
	assert_int_equal(pr.reason, SSH_OPEN_CONNECT_FAILED);
	assert_int_equal(strcasecmp(pr.msg, "Connection refused"), 0);
	assert_int_equal(ssh_chan_count(lab_ssh(&lab->cli)), 0);
	LAB_WAIT(lab, lab->srv.pumps.count == 0);
	assert_int_equal(lab->srv.stats.open, 0);

	logfp = open_memstream(&logbuf, &loglen);
	assert_non_null(logfp);
	log_init("test_pump", LOG_INFO, logfp);
	app = lab_connect(lab, lab_forward(lab, port, 0));
	LAB_WAIT(lab, ended(app) || app->conn_status < 0);
	LAB_WAIT(lab, lab->cli.pumps.count == 0 && lab->srv.pumps.count == 0);
	log_init("test_pump", LOG_INFO, NULL);
	fclose(logfp);
	assert_int_equal(app->conn_status, 0);
	assert_int_equal(app->rcvd, 0);
	assert_int_equal(lab->cli.stats.conns, 1);
	assert_int_equal(lab->cli.stats.open, 0);
	assert_int_equal(lab->nfar, 0);
	assert_true(log_has(logbuf, "lab-L", "connection refused"));
	free(logbuf);
}

/* MaxForwardConnections: a connection past the bound is closed at once
 * and reported; stopping the listener leaves its open connection
 * working, and the port refuses new ones. */
static void
test_listener_bound_and_stop(void **state)
{
	const uint64_t n = 128 * 1024;
	struct lab *lab = lab_new(state, &defaults);
	struct lab_sock *app, *far, *over, *after;
	int port;

	port = lab_forward(lab, lab->target_port, 1);
	assert_string_equal(fwd_listener_where(lab->lis[0]), "127.0.0.1");
	tunnel(lab, port, &app, &far);
	over = lab_connect(lab, port);
	LAB_WAIT(lab, ended(over) || over->conn_status < 0);
	assert_int_equal(over->rcvd, 0);
	assert_int_equal(lab->lis_refused, 1);
	assert_non_null(strstr(lab->lis_why, "MaxForwardConnections 1"));
	assert_int_equal(lab->nfar, 1);
	assert_int_equal(lab->cli.stats.conns, 1);

	fwd_listener_stop(lab->lis[0]);
	lab->lis[0] = NULL;
	lab_sock_send(app, n, 10, true);
	lab_sock_send(far, n, 11, true);
	LAB_WAIT(lab, ended(app) && ended(far));
	assert_true(lab_same_stream(app, far));
	assert_true(lab_same_stream(far, app));
	clean_eof(app);
	clean_eof(far);
	wait_all_closed(lab);

	after = lab_connect(lab, port);
	LAB_WAIT(lab, after->conn_status <= 0);
	assert_int_equal(after->conn_status, UV_ECONNREFUSED);
}

struct ping {
	struct lab_end	*from;
	uint64_t	 at;
};

static void
send_ping(struct lab *lab, void *arg)
{
	struct ping *p = arg;

	p->at = uv_now(&lab->loop);
	assert_int_equal(ssh_global_request(lab_ssh(p->from), "ping@lab",
	    true, NULL, 0, p), 0);
}

/* Bytes an engine queues from a timer callback leave without anyone
 * asking for a flush (net/loop.h), in both directions; the idle
 * connection has nothing else that would move them. */
static void
test_timer_output_flushed(void **state)
{
	struct lab *lab = lab_new(state, &defaults);
	struct ping p;

	p.from = &lab->cli;
	lab_after(lab, 20, send_ping, &p);
	LAB_WAIT(lab, lab->srv.global_requests == 1);
	assert_true(uv_now(&lab->loop) - p.at < 1000);
	LAB_WAIT(lab, lab->cli.global_replies == 1);
	assert_true(lab->cli.reply_success);
	assert_ptr_equal(lab->cli.reply_ud, &p);

	p.from = &lab->srv;
	lab_after(lab, 20, send_ping, &p);
	LAB_WAIT(lab, lab->cli.global_requests == 1);
	assert_true(uv_now(&lab->loop) - p.at < 1000);
	LAB_WAIT(lab, lab->srv.global_replies == 1);
	assert_ptr_equal(lab->srv.reply_ud, &p);
	assert_int_equal(ssh_out_pending(lab_ssh(&lab->cli)), 0);
	assert_int_equal(ssh_out_pending(lab_ssh(&lab->srv)), 0);
}

/* ferry -W's pump (pump_stdio): its two descriptors are pipes; the
 * test's ends of them are libuv pipes on the lab's loop. */
struct stdio_lab {
	uv_pipe_t	 in_w;		/* writes the pump's stdin */
	uv_pipe_t	 out_r;		/* reads the pump's stdout */
	uv_write_t	 wreq;
	uint8_t		 wbuf[32 * 1024];
	bool		 written;
	uint64_t	 rcvd;
	bool		 eof;
	char		 rbuf[64 * 1024];
	int		 closed;	/* our handles' close callbacks */
	int		 gone;		/* the hooks' calls */
	bool		 clean;
	char		 failed[200];
};

static void
st_open_failed(void *ud, uint32_t chan, const char *reason, const char *msg)
{
	struct stdio_lab *st = ud;

	snprintf(st->failed, sizeof(st->failed), "%u %s: %s", chan, reason,
	    msg);
}

static void
st_gone(void *ud, bool clean)
{
	struct stdio_lab *st = ud;

	st->gone++;
	st->clean = clean;
}

static const struct pump_stdio_hooks st_hooks = {
	.open_failed = st_open_failed,
	.gone = st_gone,
};

static void
st_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct stdio_lab *st = h->data;

	(void)suggested;
	*buf = uv_buf_init(st->rbuf, sizeof(st->rbuf));
}

static void
st_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct stdio_lab *st = s->data;

	(void)buf;
	if (n > 0)
		st->rcvd += (uint64_t)n;
	else if (n == UV_EOF)
		st->eof = true;
}

static void
st_written(uv_write_t *req, int status)
{
	struct stdio_lab *st = req->data;

	assert_int_equal(status, 0);
	st->written = true;
}

static void
st_closed(uv_handle_t *h)
{
	struct stdio_lab *st = h->data;

	st->closed++;
}

/* A stdio pump on two pipes to the lab's target, or to port. */
static void
stdio_start(struct lab *lab, struct stdio_lab *st, int port)
{
	int in[2], out[2];
	char err[200];

	memset(st, 0, sizeof(*st));
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	uv_pipe_init(&lab->loop, &st->in_w, 0);
	uv_pipe_init(&lab->loop, &st->out_r, 0);
	st->in_w.data = st->out_r.data = st;
	assert_int_equal(uv_pipe_open(&st->in_w, in[1]), 0);
	assert_int_equal(uv_pipe_open(&st->out_r, out[0]), 0);
	assert_int_equal(uv_read_start((uv_stream_t *)&st->out_r, st_alloc,
	    st_read), 0);
	assert_int_equal(pump_stdio(&lab->cli.pumps, &lab->loop, "127.0.0.1",
	    (uint32_t)port, in[0], out[1], "stdio", &st_hooks, st, err,
	    sizeof(err)), 0);
}

static void
stdio_stop(struct lab *lab, struct stdio_lab *st)
{
	if (!uv_is_closing((uv_handle_t *)&st->in_w))
		uv_close((uv_handle_t *)&st->in_w, st_closed);
	uv_close((uv_handle_t *)&st->out_r, st_closed);
	LAB_WAIT(lab, st->closed == 2);
}

/* Both directions through pipes; the far end closes first: stdout (a
 * FIFO, which has no shutdown) ends while stdin still carries data, then
 * stdin's end closes the channel cleanly and frees the pump. */
static void
test_stdio_pipes(void **state)
{
	const uint64_t n = 48 * 1024;
	struct lab *lab = lab_new(state, &defaults);
	struct stdio_lab st;
	struct lab_sock *far;
	uv_buf_t b;

	stdio_start(lab, &st, lab->target_port);
	far = lab_wait_far(lab);
	lab_sock_send(far, n, 21, true);
	LAB_WAIT(lab, st.eof);
	assert_int_equal(st.rcvd, n);
	assert_int_equal(lab->cli.pumps.count, 1);	/* stdin still open */
	assert_int_equal(st.gone, 0);

	memset(st.wbuf, 0x5a, sizeof(st.wbuf));
	b = uv_buf_init((char *)st.wbuf, sizeof(st.wbuf));
	st.wreq.data = &st;
	assert_int_equal(uv_write(&st.wreq, (uv_stream_t *)&st.in_w, &b, 1,
	    st_written), 0);
	LAB_WAIT(lab, st.written && far->rcvd == sizeof(st.wbuf));
	assert_false(ended(far));
	uv_close((uv_handle_t *)&st.in_w, st_closed);	/* stdin's EOF */
	LAB_WAIT(lab, ended(far));
	clean_eof(far);
	LAB_WAIT(lab, st.gone == 1);
	assert_true(st.clean);
	assert_string_equal(st.failed, "");
	assert_int_equal(lab->cli.pumps.count, 0);
	LAB_WAIT(lab, ssh_chan_count(lab_ssh(&lab->srv)) == 0);
	stdio_stop(lab, &st);
}

/* A refused open reaches the hook with ssh's reason, and the pump goes
 * away unclean. */
static void
test_stdio_refused(void **state)
{
	struct lab *lab = lab_new(state, &defaults);
	struct stdio_lab st;

	stdio_start(lab, &st, lab_refused_port(lab));
	LAB_WAIT(lab, st.gone == 1);
	assert_false(st.clean);
	assert_int_equal(strncmp(st.failed, "0 connect failed: ", 18), 0);
	LAB_WAIT(lab, st.eof);	/* stdout closed, nothing written */
	assert_int_equal(st.rcvd, 0);
	stdio_stop(lab, &st);
}

/* A file is no stream: refused at once, the descriptors closed. */
static void
test_stdio_not_a_stream(void **state)
{
	struct lab *lab = lab_new(state, &defaults);
	char err[200];
	int fd = open("/dev/null", O_RDONLY), fd2 = dup(fd);

	assert_true(fd >= 0 && fd2 >= 0);
	assert_int_equal(pump_stdio(&lab->cli.pumps, &lab->loop, "127.0.0.1",
	    1, fd, fd2, "stdio", &st_hooks, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "stdin is a file"));
	assert_int_equal(fcntl(fd, F_GETFD), -1);	/* closed */
	assert_int_equal(fcntl(fd2, F_GETFD), -1);
	assert_int_equal(lab->cli.pumps.count, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_both_ways, lab_free),
		cmocka_unit_test_teardown(test_half_close_near_first, lab_free),
		cmocka_unit_test_teardown(test_far_closes_first, lab_free),
		cmocka_unit_test_teardown(test_slow_reader, lab_free),
		cmocka_unit_test_teardown(test_connection_death, lab_free),
		cmocka_unit_test_teardown(test_connection_death_mid_transfer,
		    lab_free),
		cmocka_unit_test_teardown(test_connect_refused, lab_free),
		cmocka_unit_test_teardown(test_listener_bound_and_stop,
		    lab_free),
		cmocka_unit_test_teardown(test_timer_output_flushed, lab_free),
		cmocka_unit_test_teardown(test_stdio_pipes, lab_free),
		cmocka_unit_test_teardown(test_stdio_refused, lab_free),
		cmocka_unit_test_teardown(test_stdio_not_a_stream, lab_free),
	};

	log_init("test_pump", LOG_INFO, NULL);
	return cmocka_run_group_tests(tests, lab_group_setup,
	    lab_group_teardown);
}
