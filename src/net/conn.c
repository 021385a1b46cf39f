/* Drives one SSH engine over a libuv TCP socket, or a ProxyCommand's
 * stdio (net/proxy.h). */
#include "conn_int.h"

#include <stddef.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/connector.h"
#include "net/proxy.h"
#include "util/log.h"

/* Reads ask for read_want bytes: READ_MIN while the peer sends little,
 * doubled up to READ_CHUNK each time a read fills what it asked for, back
 * to READ_MIN once no read filled its buffer for READ_SHRINK_MS. The
 * engine gives back an empty buffer over twice the size asked for, so an
 * idle connection holds READ_MIN, not the largest burst it saw, and a
 * busy one never reallocates. */
#define READ_CHUNK	(256 * 1024)
#define READ_MIN	(4 * 1024)
/* reads smaller than this are ACKed at once (quickack) */
#define QUICKACK_BELOW	(16 * 1024)
#define READ_SHRINK_MS	2000
/* Output queued beyond this pauses the socket readers feeding it. */
#define CONGESTED	(4 * 1024 * 1024)
/* Past this the peer itself is not read until its output drains below
 * CONGESTED: a peer that never reads cannot make us queue replies. */
#define INPUT_PAUSE	(2 * CONGESTED)
/* The last resort: a connection whose queue grows past this anyway is
 * ended. */
#define OUTPUT_MAX	(64 * 1024 * 1024)


static void	alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void	read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

void
conn_read_start(struct net_conn *nc)
{
	uv_read_start(&nc->sock.s, alloc_cb, read_cb);
}

static void
closed_quietly(void *ud, enum net_end end, const char *why)
{
	(void)ud;
	(void)end;
	(void)why;
}

static void
nc_free(struct net_conn *nc)
{
	void (*closed)(void *, enum net_end, const char *) = nc->ops.closed;
	void *ud = nc->ud;
	char *why = nc->why;
	enum net_end end = nc->end;

	net_wake_cancel(nc->nl, &nc->wake);
	net_chans_abort(&nc->chans);
	ssh_conn_free(nc->ssh);
	wb_free(&nc->wbuf);
	free(nc);
	closed(ud, end, why ? why : "connection closed");
	free(why);
}

static void
handle_closed(uv_handle_t *h)
{
	struct net_conn *nc = h->data;

	if (--nc->handles == 0 && !nc->writing)
		nc_free(nc);
}

static void
close_handle(struct net_conn *nc, uv_handle_t *h)
{
	if (!uv_is_closing(h))
		uv_close(h, handle_closed);
}

/* What compression did, in ssh -v's words (only if it ran). */
static void
log_compression(const struct net_conn *nc)
{
	uint64_t raw, wire;
	int out;

	for (out = 1; out >= 0; out--) {
		ssh_comp_stats(nc->ssh, out, &raw, &wire);
		if (raw == 0)
			continue;
		log_verbose("%s: compress %s: raw data %llu, compressed %llu, "
		    "factor %.2f", nc->peer_ip, out ? "outgoing" : "incoming",
		    (unsigned long long)raw, (unsigned long long)wire,
		    (double)wire / (double)raw);
	}
}

/* Ends the connection (the first end counts). */
static void
end_conn(struct net_conn *nc, enum net_end end, const char *why)
{
	const uint8_t *p;
	size_t len;
	uv_buf_t b;

	if (nc->closing)
		return;
	nc->closing = true;
	nc->end = end;
	net_wake_cancel(nc->nl, &nc->wake);
	nc->why = strdup(why);
	if (nc->ssh != NULL)
		log_compression(nc);
	if (nc->ssh != NULL && ssh_late_msgs(nc->ssh) > 0)
		log_verbose("%s: dropped %llu late channel message%s (for "
		    "channels already closed)", nc->peer_ip,
		    (unsigned long long)ssh_late_msgs(nc->ssh),
		    ssh_late_msgs(nc->ssh) == 1 ? "" : "s");
	/* A DISCONNECT the engine queued goes out if the socket takes it. */
	if (nc->ssh != NULL && !nc->writing) {
		ssh_out_peek(nc->ssh, &p, &len);
		if (len > 0) {
			b = uv_buf_init((char *)p, (unsigned)len);
			uv_try_write(&nc->sock.s, &b, 1);
		}
	}
	if (nc->connector != NULL) {
		connector_cancel(nc->connector);
		nc->connector = NULL;
	}
	if (nc->proc_running)
		uv_process_kill(&nc->proc, SIGHUP);
	close_handle(nc, (uv_handle_t *)&nc->deadline);
	close_handle(nc, (uv_handle_t *)&nc->rekey);
	close_handle(nc, &nc->sock.h);
}

void
net_conn_close(struct net_conn *nc, const char *why)
{
	end_conn(nc, NET_END_LOCAL, why);
}

static void __attribute__((format(printf, 3, 4)))
fail(struct net_conn *nc, enum net_end end, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	end_conn(nc, end, msg);
}

/* The engine failed: its error, classified. */
void
conn_engine_failed(struct net_conn *nc)
{
	static const enum net_end ends[] = {
		[SSH_FAIL_NONE] = NET_END_PROTOCOL,
		[SSH_FAIL_PEER] = NET_END_PEER_DISCONNECT,
		[SSH_FAIL_NEGOTIATION] = NET_END_NEGOTIATION,
		[SSH_FAIL_PROTOCOL] = NET_END_PROTOCOL,
		[SSH_FAIL_LOCAL] = NET_END_LOCAL,
	};

	end_conn(nc, ends[ssh_fail_kind(nc->ssh)], ssh_error(nc->ssh));
}

/* ConnectTimeout ran out before the first key exchange ended: ssh's
 * words for the stage it stopped in. */
void
conn_deadline_cb(uv_timer_t *t)
{
	struct net_conn *nc = t->data;

	if (nc->connector != NULL)
		fail(nc, NET_END_CONNECT, "connect to host %s port %s: "
		    "Connection timed out", nc->host, nc->port);
	else if (nc->ssh == NULL || ssh_peer_version(nc->ssh)[0] == '\0')
		fail(nc, NET_END_CONNECT, "Connection timed out during banner "
		    "exchange with %s port %s", nc->host, nc->port);
	else
		fail(nc, NET_END_CONNECT, "Connection timed out during key "
		    "exchange with %s port %s", nc->host, nc->port);
}

/* RekeyLimit's time part is up: a key exchange now. The timer repeats,
 * so an engine that cannot start one yet (still authenticating) is asked
 * again; every finished exchange restarts it. */
static void
rekey_cb(uv_timer_t *t)
{
	struct net_conn *nc = t->data;

	if (nc->closing || nc->ssh == NULL || !ssh_can_send(nc->ssh))
		return;
	log_verbose("%s: rekeying after %llu s (RekeyLimit)", nc->peer_ip,
	    (unsigned long long)nc->rekey_interval_ms / 1000);
	if (ssh_rekey(nc->ssh) != 0)
		conn_engine_failed(nc);
}

/* A key exchange ended: the first one ends the setup deadline, and each
 * one restarts RekeyLimit's clock. */
static void
kex_done(struct net_conn *nc)
{
	uint64_t ms = nc->rekey_interval_ms;

	uv_timer_stop(&nc->deadline);
	if (ms > 0)
		uv_timer_start(&nc->rekey, rekey_cb, ms, ms);
	net_chans_resume(&nc->chans);	/* data may flow again */
}

static void
ssh_event_cb(void *ud, struct ssh_event *ev)
{
	struct net_conn *nc = ud;

	if (nc->closing || net_chans_route(ev))
		return;
	if (ev->type == SSH_EV_HOSTKEY)
		conn_hostkey_event(nc, ev);
	else
		nc->ops.event(nc->ud, ev);
	if (ev->type == SSH_EV_KEX_DONE && !nc->closing)
		kex_done(nc);
}

static void	flush(struct net_conn *nc);

/* The engine queued bytes: flush before the loop sleeps. */
static void
engine_wake(void *ud)
{
	struct net_conn *nc = ud;

	if (!nc->closing)
		net_wake_queue(nc->nl, &nc->wake);
}

static void
wake_flush(struct net_wake *w)
{
	struct net_conn *nc = (struct net_conn *)((char *)w -
	    offsetof(struct net_conn, wake));

	flush(nc);
}

static size_t
backlog(const struct net_conn *nc)
{
	return (nc->ssh ? ssh_out_backlog(nc->ssh) : 0) +
	    (nc->writing ? nc->wlen : 0);
}

/* A reader that sees true here pauses; remembering that we said so
 * guarantees it a resume later (net/chan.h). */
bool
net_conn_congested(struct net_conn *nc)
{
	if (backlog(nc) <= CONGESTED)
		return false;
	nc->was_congested = true;
	return true;
}

/* Stops reading the peer while its output is backed up, resumes once it
 * drained, and ends a connection whose queue passed the hard cap.
 * Returns -1 when the connection was closed. */
int
conn_watch_backlog(struct net_conn *nc)
{
	size_t n = backlog(nc);

	if (nc->closing || nc->ssh == NULL)
		return 0;
	if (n > OUTPUT_MAX) {
		fail(nc, NET_END_IO, "output queue over %d bytes", OUTPUT_MAX);
		return -1;
	}
	if (!nc->input_paused && n > INPUT_PAUSE) {
		nc->input_paused = true;
		uv_read_stop(&nc->sock.s);
	} else if (nc->input_paused && n <= CONGESTED) {
		nc->input_paused = false;
		if (!nc->input_held)
			conn_read_start(nc);
	}
	return 0;
}

/* A read or write failed (EOF included). A proxy command that exits
 * with our bytes unread resets its end of the socketpair: for the user
 * that is its closing too. */
static void
io_failed(struct net_conn *nc, const char *op, int err)
{
	if (err == UV_EOF || (nc->proxied && (err == UV_ECONNRESET ||
	    err == UV_EPIPE)))
		fail(nc, NET_END_PEER_CLOSED, "Connection closed by %s",
		    nc->peer_ip);
	else
		fail(nc, NET_END_IO, "%s failed: %s", op, uv_strerror(err));
}

static void
write_cb(uv_write_t *req, int status)
{
	struct net_conn *nc = req->data;

	nc->writing = false;
	wb_reset(&nc->wbuf);
	nc->wlen = 0;
	if (nc->closing) {
		if (nc->handles == 0)
			nc_free(nc);
		return;
	}
	if (status < 0) {
		io_failed(nc, "write", status);
		return;
	}
	flush(nc);
}

/* Writes what the engine queued: synchronously if the socket takes it,
 * else hands the buffer to uv_write and lets the engine fill another. */
static void
flush(struct net_conn *nc)
{
	const uint8_t *p;
	size_t len;
	uv_buf_t b;
	int n;

	if (nc->closing || nc->ssh == NULL || nc->writing)
		return;
	ssh_out_peek(nc->ssh, &p, &len);
	if (len == 0)
		goto check_dead;
	b = uv_buf_init((char *)p, (unsigned)len);
	n = uv_try_write(&nc->sock.s, &b, 1);
	if (n < 0 && n != UV_EAGAIN) {
		io_failed(nc, "write", n);
		return;
	}
	if (n > 0)
		ssh_out_consume(nc->ssh, (size_t)n);
	if (ssh_out_pending(nc->ssh) == 0)
		goto check_dead;
	ssh_out_take(nc->ssh, &nc->wbuf, &nc->woff);
	nc->wlen = nc->wbuf.len - nc->woff;
	b = uv_buf_init((char *)nc->wbuf.p + nc->woff, (unsigned)nc->wlen);
	nc->wreq.data = nc;
	if ((n = uv_write(&nc->wreq, &nc->sock.s, &b, 1,
	    write_cb)) < 0) {
		io_failed(nc, "write", n);
		return;
	}
	nc->writing = true;
	goto check_drained;
check_dead:
	if (ssh_error(nc->ssh) != NULL) {
		conn_engine_failed(nc);
		return;
	}
check_drained:
	if (conn_watch_backlog(nc) != 0)
		return;
	if (nc->was_congested && backlog(nc) <= CONGESTED) {
		nc->was_congested = false;
		net_chans_resume(&nc->chans);
	}
}

static void
alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct net_conn *nc = h->data;
	size_t len = nc->read_want;
	uint8_t *p;

	(void)suggested;
	if (nc->closing || (p = ssh_in_reserve(nc->ssh, &len)) == NULL) {
		*buf = uv_buf_init(NULL, 0);
		return;
	}
	*buf = uv_buf_init((char *)p, len > READ_CHUNK ? READ_CHUNK :
	    (unsigned)len);
}

/* The next read's size from how much this one got of what it had room
 * for (see READ_MIN). */
static void
read_size_adapt(struct net_conn *nc, size_t got, size_t room)
{
	uint64_t now = uv_now(nc->nl->uv);

	if (got == room) {
		nc->read_full_at = now;
		if (nc->read_want < READ_CHUNK)
			nc->read_want *= 2;
	} else if (now - nc->read_full_at > READ_SHRINK_MS)
		nc->read_want = READ_MIN;
}

/* ACK the peer's data at once. An OpenSSH server does not set
 * TCP_NODELAY on its SSH socket, so its small packets (a forwarded
 * connection's open, a 1-byte echo) wait for our ACK under Nagle; a
 * delayed ACK would cost 40 ms each. Linux clears the flag after use.
 * Only after a small read: a stream of full segments is ACKed every
 * other segment anyway, and a system call per read is a cost on the
 * bulk path. */
static void
quickack(struct net_conn *nc)
{
	uv_os_fd_t fd;
	int one = 1;

	if (!nc->proxied && uv_fileno(&nc->sock.h, &fd) == 0)
		setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

static void
read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct net_conn *nc = s->data;

	(void)buf;
	if (nc->closing)
		return;
	if (n < 0) {
		io_failed(nc, "read", (int)n);
		return;
	}
	if (n == 0)
		return;
	read_size_adapt(nc, (size_t)n, buf->len);
	if (n < QUICKACK_BELOW)
		quickack(nc);
	if (ssh_in_commit(nc->ssh, (size_t)n) != 0) {
		conn_engine_failed(nc);
		return;
	}
	/* a deferred global request holds the rest: read no more of it */
	if (ssh_global_waiting(nc->ssh) && !nc->input_held) {
		nc->input_held = true;
		if (!nc->input_paused)
			uv_read_stop(&nc->sock.s);
	}
	/* channel data points into the input buffer until it is fed again:
	 * written now, once per batch */
	net_chans_flush(&nc->chans);
	if (nc->ops.input_done != NULL && !nc->closing)
		nc->ops.input_done(nc->ud);
	conn_watch_backlog(nc);
}

/* The socket is connected (either way): the SSH engine takes over. */
static void
start_engine(struct net_conn *nc)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	if (!nc->proxied && uv_tcp_getpeername(&nc->sock.tcp,
	    (struct sockaddr *)&ss, &len) == 0) {
		uv_ip_name((struct sockaddr *)&ss, nc->peer_ip,
		    sizeof(nc->peer_ip));
		nc->peer_port = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
	}
	if (!nc->proxied)
		uv_tcp_nodelay(&nc->sock.tcp, 1);
	if (!nc->proxied && nc->tcp_keepalive)
		uv_tcp_keepalive(&nc->sock.tcp, 1, 60);
	nc->cfg.event = ssh_event_cb;
	nc->cfg.wake = engine_wake;
	nc->cfg.event_ud = nc;
	if ((nc->ssh = ssh_conn_new(&nc->cfg)) == NULL) {
		net_conn_close(nc, "out of memory");
		return;
	}
	if (nc->ops.connected != NULL)
		nc->ops.connected(nc->ud);
	if (nc->closing)
		return;
	conn_read_start(nc);
}

/* The connector is done: the engine starts on the socket, or the
 * connection ends with ssh's words for what failed. */
static void
connected_cb(void *ud, enum connector_stage stage, int err)
{
	struct net_conn *nc = ud;

	nc->connector = NULL;
	switch (stage) {
	case CONNECTOR_CONNECTED:
		start_engine(nc);
		break;
	case CONNECTOR_RESOLVE:
		fail(nc, NET_END_CONNECT, "Could not resolve hostname %s: %s",
		    nc->host, uv_strerror(err));
		break;
	case CONNECTOR_TIMEOUT:
		fail(nc, NET_END_CONNECT, "connect to host %s port %s: "
		    "Connection timed out", nc->host, nc->port);
		break;
	default:
		fail(nc, NET_END_CONNECT, "connect to host %s port %s: %s",
		    nc->host, nc->port, uv_strerror(err));
		break;
	}
}

/* A connection with its socket (a TCP handle connected by the connector
 * or accepted into, or a proxy command's pipe) and its two timers (idle
 * unless started). */
static struct net_conn *
nc_new(struct net_loop *nl, bool proxied, const struct ssh_config *cfg,
    const struct net_conn_ops *ops, void *ud)
{
	struct net_conn *nc;

	if ((nc = calloc(1, sizeof(*nc))) == NULL)
		return NULL;
	nc->nl = nl;
	nc->read_want = READ_MIN;
	nc->cfg = *cfg;
	nc->ops = *ops;
	nc->ud = ud;
	nc->wake.flush = wake_flush;
	wb_init(&nc->wbuf);
	nc->proxied = proxied;
	if (proxied)
		uv_pipe_init(nl->uv, &nc->sock.pipe, 0);
	else
		uv_tcp_init(nl->uv, &nc->sock.tcp);
	nc->sock.h.data = nc;
	uv_timer_init(nl->uv, &nc->deadline);
	nc->deadline.data = nc;
	uv_timer_init(nl->uv, &nc->rekey);
	nc->rekey.data = nc;
	nc->handles = 3;
	return nc;
}

static void
proxy_exited(uv_process_t *proc, int64_t status, int sig)
{
	struct net_conn *nc = proc->data;

	nc->proc_running = false;
	if (sig != 0 && sig != SIGHUP)
		log_verbose("ProxyCommand for %s ended by signal %d", nc->host,
		    sig);
	else if (status != 0)
		log_verbose("ProxyCommand for %s exited with status %lld",
		    nc->host, (long long)status);
	close_handle(nc, (uv_handle_t *)proc);
}

/* The command carries the connection: the engine starts at once, as it
 * does on a connected socket. */
static void
start_proxy(struct net_conn *nc, const char *command)
{
	char err[300];
	bool spawned;

	nc->proc.data = nc;
	if (proxy_spawn(nc->nl->uv, command, &nc->proc, &nc->sock.pipe,
	    proxy_exited, &spawned, err, sizeof(err)) != 0) {
		if (spawned) {
			nc->handles++;
			close_handle(nc, (uv_handle_t *)&nc->proc);
		}
		fail(nc, NET_END_CONNECT, "%s", err);
		return;
	}
	nc->handles++;
	nc->proc_running = true;
	start_engine(nc);
}

struct net_conn *
net_conn_start(struct net_loop *nl, const struct net_conn_opts *o,
    const struct ssh_config *cfg, const struct net_conn_ops *ops, void *ud)
{
	struct net_conn *nc;
	int r;

	if ((nc = nc_new(nl, o->proxy_command != NULL, cfg, ops, ud)) == NULL)
		return NULL;
	nc->tcp_keepalive = o->tcp_keepalive;
	nc->rekey_interval_ms = o->rekey_interval_ms;
	snprintf(nc->host, sizeof(nc->host), "%s", o->host);
	snprintf(nc->port, sizeof(nc->port), "%s", o->port);
	snprintf(nc->peer_ip, sizeof(nc->peer_ip), "%s", o->host);
	/* one deadline for connect, banner and KEX: the connector gets
	 * none of its own, and conn_deadline_cb cancels it */
	if (o->connect_timeout_ms > 0)
		uv_timer_start(&nc->deadline, conn_deadline_cb, o->connect_timeout_ms,
		    0);
	if (nc->proxied)
		start_proxy(nc, o->proxy_command);
	else if ((r = connector_tcp(&nc->connector, &nc->sock.tcp, nc->host,
	    nc->port, o->family, o->src, 0, connected_cb, nc)) < 0)
		fail(nc, NET_END_CONNECT, "Could not resolve hostname: %s",
		    uv_strerror(r));
	return nc;
}

struct net_conn *
net_conn_accept(struct net_loop *nl, uv_os_sock_t fd,
    const struct ssh_config *cfg, const struct net_conn_ops *ops, void *ud)
{
	struct net_conn *nc;

	if ((nc = nc_new(nl, false, cfg, ops, ud)) == NULL) {
		close(fd);
		return NULL;
	}
	nc->tcp_keepalive = true;
	if (uv_tcp_open(&nc->sock.tcp, fd) != 0) {
		close(fd);
		/* closed() must not run for a connection never handed out */
		nc->ops.closed = closed_quietly;
		net_conn_close(nc, "accept failed");
		return NULL;
	}
	start_engine(nc);
	return nc;
}

int
net_conn_peer_port(const struct net_conn *nc)
{
	return nc->peer_port;
}

struct ssh_conn *
net_conn_ssh(struct net_conn *nc)
{
	return nc->ssh;
}

const char *
net_conn_peer_ip(const struct net_conn *nc)
{
	return nc->peer_ip;
}

int
net_conn_local(const struct net_conn *nc, char *ip, size_t iplen, int *port)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	if (nc->proxied || uv_tcp_getsockname(&nc->sock.tcp,
	    (struct sockaddr *)&ss, &len) != 0 ||
	    uv_ip_name((struct sockaddr *)&ss, ip, iplen) != 0)
		return -1;
	*port = ntohs(ss.ss_family == AF_INET6 ?
	    ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

void
net_conn_attach(struct net_conn *nc, struct net_chan *ch,
    const struct net_chan_ops *ops)
{
	net_chans_attach(&nc->chans, ch, ops);
}
