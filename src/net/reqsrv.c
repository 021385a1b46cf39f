/* An operator's request servers: the control socket and MetricsListen. */
#include "reqsrv.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "util/text.h"

#define REQ_TIMEOUT_MS	5000

/* One connection: one request, one answer. Freed when both of its
 * handles have closed. */
struct req {
	struct reqsrv	*r;
	union {
		uv_handle_t	h;
		uv_stream_t	s;
		uv_tcp_t	tcp;
		uv_pipe_t	pipe;
	}		 sock;
	uv_timer_t	 timer;
	uv_write_t	 wreq;
	bool		 http;
	bool		 mux;		/* packets, not a line */
	bool		 last;		/* close once written */
	int		 open;
	char		 buf[REQSRV_MAX];
	size_t		 len;
	struct wb	 out;
};

void
reqsrv_init(struct reqsrv *r, uv_loop_t *loop, const struct reqsrv_ops *ops,
    void *ud, const char *keyword, const char *prog, int max_reqs)
{
	memset(r, 0, sizeof(*r));
	r->loop = loop;
	r->ops = ops;
	r->ud = ud;
	r->keyword = keyword;
	r->prog = prog;
	r->max_reqs = max_reqs;
}

static void
req_closed(uv_handle_t *h)
{
	struct req *q = h->data;

	if (--q->open > 0)
		return;
	q->r->nreqs--;
	wb_free(&q->out);
	free(q);
}

static void
req_close(struct req *q)
{
	if (!uv_is_closing(&q->sock.h))
		uv_close(&q->sock.h, req_closed);
	if (!uv_is_closing((uv_handle_t *)&q->timer))
		uv_close((uv_handle_t *)&q->timer, req_closed);
}

static void	req_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b);
static void	req_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b);

/* A line or HTTP request is over once answered; a multiplexing
 * connection reads the next packet. */
static void
req_written(uv_write_t *w, int status)
{
	struct req *q = w->data;

	wb_reset(&q->out);
	if (status < 0 || !q->mux || q->last ||
	    uv_read_start(&q->sock.s, req_alloc, req_read) != 0)
		req_close(q);
}

/* A reader that does not read its answer is cut off by the timer. */
static void
req_send(struct req *q)
{
	uv_buf_t b;

	uv_read_stop(&q->sock.s);
	if (q->out.err) {
		req_close(q);
		return;
	}
	b = uv_buf_init((char *)q->out.p, (unsigned)q->out.len);
	q->wreq.data = q;
	if (uv_write(&q->wreq, &q->sock.s, &b, 1, req_written) != 0)
		req_close(q);
}

static void
http_answer(struct req *q, size_t head)
{
	enum sp_route route = statuspage_route(q->buf, head);
	struct wb body;

	wb_init(&body);
	if (route == SP_JSON || route == SP_METRICS)
		q->r->ops->report(q->r->ud, route, &body);
	if (body.err)
		wb_reset(&body);
	statuspage_answer(&q->out, route, body.len ? body.p : NULL, body.len);
	wb_free(&body);
}

/* A control line: up to its newline (a CR before it dropped), no NUL. */
static void
line_answer(struct req *q, char *eol)
{
	size_t n = (size_t)(eol - q->buf);

	if (n > 0 && q->buf[n - 1] == '\r')
		n--;
	q->buf[n] = '\0';
	if (strlen(q->buf) != n)
		wb_printf(&q->out, "error: a NUL in the request\n");
	else
		q->r->ops->line(q->r->ud, q->buf, &q->out);
}

static void
req_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct req *q = h->data;

	(void)suggested;
	*b = uv_buf_init(q->buf + q->len, (unsigned)(REQSRV_MAX - 1 - q->len));
}

/* Multiplexing: every whole packet in buf (uint32 length first) is
 * answered; a length out of bounds ends the connection. */
static void
mux_packets(struct req *q)
{
	size_t plen;
	uint32_t n;

	while (q->len >= 4 && !q->last) {
		n = (uint32_t)(uint8_t)q->buf[0] << 24 |
		    (uint32_t)(uint8_t)q->buf[1] << 16 |
		    (uint32_t)(uint8_t)q->buf[2] << 8 | (uint8_t)q->buf[3];
		if (n < 4 || n > REQSRV_MAX - 5) {
			q->last = true;
			break;
		}
		if (q->len < (size_t)n + 4)
			break;
		plen = (size_t)n + 4;
		q->r->ops->packet(q->r->ud, (const uint8_t *)q->buf, plen,
		    &q->out, &q->last);
		memmove(q->buf, q->buf + plen, q->len - plen);
		q->len -= plen;
	}
	if (q->out.len > 0)
		req_send(q);
	else if (q->last)
		req_close(q);
}

static void
req_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
	struct req *q = st->data;
	char *eol;

	(void)b;
	if (n < 0) {
		req_close(q);
		return;
	}
	q->len += (size_t)n;
	q->buf[q->len] = '\0';
	if (!q->http && q->buf[0] == '\0' && q->r->ops->packet != NULL)
		q->mux = true;
	if (q->mux) {
		mux_packets(q);
		return;
	}
	if (q->http) {
		if ((eol = strstr(q->buf, "\r\n\r\n")) == NULL &&
		    (eol = strstr(q->buf, "\n\n")) == NULL) {
			if (q->len >= REQSRV_MAX - 1)
				req_close(q);
			return;
		}
		http_answer(q, (size_t)(eol - q->buf) + 1);
	} else if ((eol = memchr(q->buf, '\n', q->len)) != NULL)
		line_answer(q, eol);
	else if (q->len >= REQSRV_MAX - 1)
		wb_printf(&q->out, "error: request too long\n");
	else
		return;
	req_send(q);
}

static void
req_timeout(uv_timer_t *t)
{
	req_close(t->data);
}

static void
on_request(uv_stream_t *server, int status, bool http)
{
	struct reqsrv *r = server->data;
	struct req *q;

	if (status < 0 || (q = calloc(1, sizeof(*q))) == NULL)
		return;
	q->r = r;
	q->http = http;
	wb_init(&q->out);
	if (http)
		uv_tcp_init(r->loop, &q->sock.tcp);
	else
		uv_pipe_init(r->loop, &q->sock.pipe, 0);
	q->sock.h.data = q;
	uv_timer_init(r->loop, &q->timer);
	q->timer.data = q;
	q->open = 2;
	r->nreqs++;
	if (uv_accept(server, &q->sock.s) != 0 || r->nreqs > r->max_reqs) {
		if (r->nreqs > r->max_reqs)
			log_verbose("%s: %d requests at once; one more closed",
			    r->keyword, r->max_reqs);
		req_close(q);
		return;
	}
	uv_timer_start(&q->timer, req_timeout, REQ_TIMEOUT_MS, 0);
	if (uv_read_start(&q->sock.s, req_alloc, req_read) != 0)
		req_close(q);
}

static void
on_control(uv_stream_t *server, int status)
{
	on_request(server, status, false);
}

static void
on_http(uv_stream_t *server, int status)
{
	on_request(server, status, true);
}

/* A socket file left by a program that is gone may be replaced; one that
 * answers belongs to a running one (-2); anything else is not ours. */
static int
path_free(struct reqsrv *r, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd, c;

	if (lstat(path, &st) != 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s %s exists and is not a socket",
		    r->keyword, path);
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "%s %s: %s", r->keyword, path,
		    strerror(errno));
		return -1;
	}
	c = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	if (c == 0) {
		snprintf(err, errlen, "%s %s is in use by another %s",
		    r->keyword, path, r->prog);
		return -2;
	}
	if (unlink(path) != 0) {
		snprintf(err, errlen, "%s %s: cannot remove the stale socket: "
		    "%s", r->keyword, path, strerror(errno));
		return -1;
	}
	log_verbose("removed the stale control socket %s", path);
	return 0;
}

int
reqsrv_listen_unix(struct reqsrv *r, const char *path, char *err,
    size_t errlen)
{
	mode_t old;
	int rc;

	if (strlen(path) >= sizeof(r->path)) {
		snprintf(err, errlen, "%s %s is too long (at most %zu bytes)",
		    r->keyword, path, sizeof(r->path) - 1);
		return -1;
	}
	if ((rc = path_free(r, path, err, errlen)) != 0)
		return rc;
	uv_pipe_init(r->loop, &r->pipe, 0);
	r->pipe.data = r;
	old = umask(0177);		/* 0600: the operator's */
	rc = uv_pipe_bind(&r->pipe, path);
	umask(old);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&r->pipe, 16, on_control);
	if (rc != 0) {
		snprintf(err, errlen, "%s %s: %s", r->keyword, path,
		    uv_strerror(rc));
		uv_close((uv_handle_t *)&r->pipe, NULL);
		return -1;
	}
	r->pipe_open = true;
	snprintf(r->path, sizeof(r->path), "%s", path);
	log_verbose("control socket %s", path);
	return 0;
}

int
reqsrv_listen_http(struct reqsrv *r, const struct sockaddr *sa,
    const char *spec, char *err, size_t errlen)
{
	int rc;

	uv_tcp_init(r->loop, &r->tcp);
	r->tcp.data = r;
	rc = uv_tcp_bind(&r->tcp, sa,
	    sa->sa_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&r->tcp, 16, on_http);
	if (rc != 0) {
		snprintf(err, errlen, "MetricsListen %s: %s", spec,
		    uv_strerror(rc));
		uv_close((uv_handle_t *)&r->tcp, NULL);
		return -1;
	}
	r->tcp_open = true;
	/* the same offset in a sockaddr_in6 */
	r->tcp_any_port = ((const struct sockaddr_in *)sa)->sin_port == 0;
	return 0;
}

int
reqsrv_http_port(struct reqsrv *r)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	if (!r->tcp_open ||
	    uv_tcp_getsockname(&r->tcp, (struct sockaddr *)&ss, &len) != 0)
		return 0;
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

void
reqsrv_close_unix(struct reqsrv *r)
{
	if (r->pipe_open) {
		r->pipe_open = false;
		uv_close((uv_handle_t *)&r->pipe, NULL);
		unlink(r->path);
	}
}

void
reqsrv_close(struct reqsrv *r)
{
	reqsrv_close_unix(r);
	if (r->tcp_open) {
		r->tcp_open = false;
		uv_close((uv_handle_t *)&r->tcp, NULL);
	}
}
