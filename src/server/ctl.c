/* ferryd's control socket, metrics listener and status commands. */
#include "ctl.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "client/ctlproto.h"
#include "fwd/spec.h"
#include "server/config.h"
#include "server/report.h"
#include "util/log.h"
#include "util/statuspage.h"
#include "util/text.h"

#define REQ_MAX		4096	/* a request line, or an HTTP head */
#define REQ_TIMEOUT_MS	5000
#define MAX_REQS	32	/* control and metrics connections at once */

/* One control or HTTP connection: one request, one answer. Freed when
 * both of its handles have closed. */
struct req {
	struct ctl_server *c;
	union {
		uv_handle_t	h;
		uv_stream_t	s;
		uv_tcp_t	tcp;
		uv_pipe_t	pipe;
	}		 sock;
	uv_timer_t	 timer;
	uv_write_t	 wreq;
	bool		 http;
	int		 open;
	char		 buf[REQ_MAX];
	size_t		 len;
	struct wb	 out;
};

static void
req_closed(uv_handle_t *h)
{
	struct req *q = h->data;

	if (--q->open > 0)
		return;
	q->c->nreqs--;
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

static void
req_written(uv_write_t *w, int status)
{
	(void)status;
	req_close(w->data);
}

/* The answer is built in memory from counters (no I/O), then written
 * asynchronously; a reader that does not read is cut off by the timer. */
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
control_command(struct ctl_server *c, char *line, struct wb *out)
{
	struct ctl_cmd cmd;
	char err[600];

	if (ctl_parse(line, &cmd, err, sizeof(err)) != 0) {
		wb_printf(out, "error: %s\n", err);
		return;
	}
	switch (cmd.op) {
	case CTL_STATUS:
		wb_printf(out, "ok\n");
		report_text(c->sessions, out);
		break;
	case CTL_STATUS_JSON:
		wb_printf(out, "ok\n");
		report_json(c->sessions, out);
		break;
	case CTL_METRICS:
		wb_printf(out, "ok\n");
		report_metrics(c->sessions, out);
		break;
	default:
		wb_printf(out, "error: ferryd answers status, status-json and "
		    "metrics; forwards are the clients' to make\n");
		break;
	}
}

static void
http_answer(struct ctl_server *c, struct req *q, size_t head)
{
	enum sp_route r = statuspage_route(q->buf, head);
	struct wb body;

	wb_init(&body);
	if (r == SP_JSON)
		report_json(c->sessions, &body);
	else if (r == SP_METRICS)
		report_metrics(c->sessions, &body);
	if (body.err)
		wb_reset(&body);
	statuspage_answer(&q->out, r, body.len ? body.p : NULL, body.len);
	wb_free(&body);
}

static void
req_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct req *q = h->data;

	(void)suggested;
	*b = uv_buf_init(q->buf + q->len, (unsigned)(REQ_MAX - 1 - q->len));
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
	if (q->http) {
		if ((eol = strstr(q->buf, "\r\n\r\n")) == NULL &&
		    (eol = strstr(q->buf, "\n\n")) == NULL) {
			if (q->len >= REQ_MAX - 1)
				req_close(q);
			return;
		}
		http_answer(q->c, q, (size_t)(eol - q->buf) + 1);
		req_send(q);
		return;
	}
	if ((eol = memchr(q->buf, '\n', q->len)) == NULL) {
		if (q->len >= REQ_MAX - 1) {
			wb_printf(&q->out, "error: request too long\n");
			req_send(q);
		}
		return;
	}
	*eol = '\0';
	if (strlen(q->buf) != (size_t)(eol - q->buf))
		wb_printf(&q->out, "error: a NUL in the request\n");
	else
		control_command(q->c, q->buf, &q->out);
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
	struct ctl_server *c = server->data;
	struct req *q;

	if (status < 0)
		return;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return;
	q->c = c;
	q->http = http;
	wb_init(&q->out);
	if (http)
		uv_tcp_init(c->loop, &q->sock.tcp);
	else
		uv_pipe_init(c->loop, &q->sock.pipe, 0);
	q->sock.h.data = q;
	uv_timer_init(c->loop, &q->timer);
	q->timer.data = q;
	q->open = 2;
	c->nreqs++;
	if (uv_accept(server, &q->sock.s) != 0 || c->nreqs > MAX_REQS) {
		if (c->nreqs > MAX_REQS)
			log_verbose("control: %d requests at once; one more "
			    "closed", MAX_REQS);
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
on_metrics(uv_stream_t *server, int status)
{
	on_request(server, status, true);
}

/* A socket file left by a ferryd that is gone may be replaced; one that
 * answers belongs to a running ferryd (-2); anything else is not ours
 * (-1). */
static int
path_free(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd, r;

	if (lstat(path, &st) != 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "ControlSocket %s exists and is not a "
		    "socket", path);
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "ControlSocket %s: %s", path,
		    strerror(errno));
		return -1;
	}
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	if (r == 0) {
		snprintf(err, errlen, "ControlSocket %s is in use by another "
		    "ferryd", path);
		return -2;
	}
	if (unlink(path) != 0) {
		snprintf(err, errlen, "ControlSocket %s: cannot remove the "
		    "stale socket: %s", path, strerror(errno));
		return -1;
	}
	log_info("removed the stale control socket %s", path);
	return 0;
}

static int
start_control(struct ctl_server *c, const char *path, char *err,
    size_t errlen)
{
	mode_t old;
	int r;

	if (strlen(path) >= sizeof(c->path)) {
		snprintf(err, errlen, "ControlSocket %s is too long (at most "
		    "%zu bytes)", path, sizeof(c->path) - 1);
		return -1;
	}
	if ((r = path_free(path, err, errlen)) != 0)
		return r;
	uv_pipe_init(c->loop, &c->pipe, 0);
	c->pipe.data = c;
	old = umask(0177);		/* 0600: the operator's */
	r = uv_pipe_bind(&c->pipe, path);
	umask(old);
	if (r == 0)
		r = uv_listen((uv_stream_t *)&c->pipe, 16, on_control);
	if (r != 0) {
		snprintf(err, errlen, "ControlSocket %s: %s", path,
		    uv_strerror(r));
		uv_close((uv_handle_t *)&c->pipe, NULL);
		return -1;
	}
	c->pipe_open = true;
	snprintf(c->path, sizeof(c->path), "%s", path);
	log_verbose("control socket %s", path);
	return 0;
}

static bool
is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr)
		    >> 24) == 127;
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(
		    &((const struct sockaddr_in6 *)sa)->sin6_addr);
	return false;
}

/* MetricsListen address:port, loopback literals only: the numbers and the
 * page describe every user's tunnels and are for this machine's
 * monitoring, never for the network. */
static int
start_metrics(struct ctl_server *c, const char *spec, char *err,
    size_t errlen)
{
	struct sockaddr_storage ss;
	struct addrinfo hints, *res = NULL;
	struct fwd_spec fs;
	int r, len;

	if (fwd_spec_parse(spec, FWD_DYNAMIC, &fs, err, errlen) != 0 ||
	    fs.bind != BIND_ADDR) {
		snprintf(err, errlen, "MetricsListen '%s': expected "
		    "address:port on loopback", spec);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST;
	if (getaddrinfo(fs.bind_addr, NULL, &hints, &res) != 0 ||
	    !is_loopback(res->ai_addr)) {
		if (res != NULL)
			freeaddrinfo(res);
		snprintf(err, errlen, "MetricsListen '%s': the address must "
		    "be a loopback address literal (127.0.0.1, ::1)", spec);
		return -1;
	}
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	((struct sockaddr_in *)&ss)->sin_port =
	    htons((uint16_t)fs.listen_port);	/* same offset in v6 */
	uv_tcp_init(c->loop, &c->tcp);
	c->tcp.data = c;
	r = uv_tcp_bind(&c->tcp, (struct sockaddr *)&ss,
	    ss.ss_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0);
	if (r == 0)
		r = uv_listen((uv_stream_t *)&c->tcp, 16, on_metrics);
	if (r != 0) {
		snprintf(err, errlen, "MetricsListen %s: %s", spec,
		    uv_strerror(r));
		uv_close((uv_handle_t *)&c->tcp, NULL);
		return -1;
	}
	c->tcp_open = true;
	len = sizeof(ss);
	uv_tcp_getsockname(&c->tcp, (struct sockaddr *)&ss, &len);
	log_info("Metrics on port %d",
	    ntohs(((struct sockaddr_in *)&ss)->sin_port));
	return 0;
}

bool
ctl_is_default(const char *path, const char *state_dir)
{
	size_t n = strlen(state_dir);

	return path != NULL && strncmp(path, state_dir, n) == 0 &&
	    strcmp(path + n, "/ferryd.sock") == 0;
}

int
ctl_start(struct ctl_server *c, uv_loop_t *loop,
    const struct session_list *sessions, const char *path, bool optional,
    const char *metrics, char *err, size_t errlen)
{
	int r;

	memset(c, 0, sizeof(*c));
	c->loop = loop;
	c->sessions = sessions;
	if (path != NULL && strcasecmp(path, "none") != 0 &&
	    (r = start_control(c, path, err, errlen)) != 0) {
		/* two ferryds on one socket: always an error */
		if (!optional || r == -2)
			return -1;
		log_info("no control socket: %s (set ControlSocket)", err);
	}
	if (metrics != NULL && strcasecmp(metrics, "none") != 0 &&
	    start_metrics(c, metrics, err, errlen) != 0) {
		ctl_stop(c);
		return -1;
	}
	return 0;
}

void
ctl_stop(struct ctl_server *c)
{
	if (c->pipe_open) {
		c->pipe_open = false;
		uv_close((uv_handle_t *)&c->pipe, NULL);
		unlink(c->path);
	}
	if (c->tcp_open) {
		c->tcp_open = false;
		uv_close((uv_handle_t *)&c->tcp, NULL);
	}
}

/* ---- ferryd status / metrics ------------------------------------- */

static int
client_usage(void)
{
	fprintf(stderr, "usage: ferryd status [-j] [-f config_file] "
	    "[-S control_socket]\n"
	    "       ferryd metrics [-f config_file] [-S control_socket]\n");
	return 2;
}

/* The configuration's ControlSocket (or its default). */
static char *
configured_path(const char *config, bool given)
{
	struct server_config sc;
	char err[1024], *p = NULL;

	server_config_init(&sc);
	if (server_config_file(&sc, config, given, err, sizeof(err)) != 0 ||
	    server_config_finish(&sc, err, sizeof(err)) != 0)
		fprintf(stderr, "ferryd: %s\n", err);
	else if (sc.control_socket != NULL)
		p = strdup(sc.control_socket);
	server_config_free(&sc);
	return p;
}

int
ctl_client_main(int argc, char **argv, const char *default_config)
{
	const char *cmd = argv[0], *config = default_config;
	char *path = NULL, req[64], buf[8192];
	struct sockaddr_un sun;
	bool json = false, ok = false, first = true, given = false;
	ssize_t n;
	int ch, fd, code = 1;
	FILE *in;

	opterr = 0;
	optind = 1;
	while ((ch = getopt(argc, argv, "jf:S:")) != -1) {
		switch (ch) {
		case 'j':
			json = true;
			break;
		case 'f':
			config = optarg;
			given = true;
			break;
		case 'S':
			free(path);
			path = strdup(optarg);
			break;
		default:
			free(path);
			return client_usage();
		}
	}
	if (optind != argc || (json && strcmp(cmd, "status") != 0)) {
		free(path);
		return client_usage();
	}
	if (path == NULL && (path = configured_path(config, given)) == NULL)
		return 1;
	if (strcasecmp(path, "none") == 0) {
		fprintf(stderr, "ferryd: ControlSocket is none\n");
		goto out;
	}
	snprintf(req, sizeof(req), "%s\n", strcmp(cmd, "metrics") == 0 ?
	    "metrics" : json ? "status-json" : "status");
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "ferryd: control socket %s is too long\n", path);
		goto out;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		fprintf(stderr, "ferryd: cannot reach ferryd at %s: %s\n",
		    path, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req) ||
	    (in = fdopen(fd, "r")) == NULL) {
		fprintf(stderr, "ferryd: %s: %s\n", path, strerror(errno));
		close(fd);
		goto out;
	}
	/* the first line is "ok" or "error: why"; the rest is the answer */
	while ((n = (ssize_t)fread(buf, 1, sizeof(buf) - 1, in)) > 0) {
		char *body = buf;

		buf[n] = '\0';
		if (first) {
			first = false;
			if ((ok = strncmp(buf, "ok\n", 3) == 0))
				body = buf + 3;
		}
		fwrite(body, 1, (size_t)n - (size_t)(body - buf), ok ? stdout :
		    stderr);
	}
	fclose(in);
	if (first)
		fprintf(stderr, "ferryd: no answer from %s\n", path);
	code = ok ? 0 : 1;
out:
	free(path);
	return code;
}
