/* The supervisor: many clients, one loop. */
#include "supervisor.h"


#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/client.h"
#include "fwd/ctlproto.h"
#include "fwd/muxproto.h"
#include "fwd/spec.h"
#include "client/status.h"
#include "net/reqsrv.h"
#include "util/log.h"
#include "util/sdnotify.h"
#include "util/statuspage.h"

/* control and metrics connections at once */
#define MAX_REQS	64
#include "util/text.h"

struct sup {
	uv_loop_t		*loop;
	struct net_loop		 nl;
	const struct sup_config	*sc;
	struct client		**v;
	int			 n;
	int			 cap;
	int			 exit_code;
	bool			 stopping;
	bool			 ready_sent;
	int			 ready_fd;	/* -f's, until written */
	char			 status[200];	/* the last STATUS= sent */
	uv_timer_t		 watchdog;	/* WATCHDOG=1 when asked */
	bool			 watchdog_open;
	uv_signal_t		 sig[3];
	bool			 sigs_open;
	struct reqsrv		 req;		/* control socket, metrics */
};

static void	sup_changed(void *ud);
static void	sup_done(void *ud, struct client *cl, int code);

static const struct client_hooks hooks = {
	.done = sup_done,
	.changed = sup_changed,
};

static void
close_servers(struct sup *s)
{
	int i;

	for (i = 0; i < 3 && s->sigs_open; i++)
		uv_close((uv_handle_t *)&s->sig[i], NULL);
	s->sigs_open = false;
	if (s->watchdog_open) {
		s->watchdog_open = false;
		uv_close((uv_handle_t *)&s->watchdog, NULL);
	}
	reqsrv_close(&s->req);
}

/* Takes o over; the client connects now if start. */
static int
add_client(struct sup *s, struct options *o, bool start)
{
	struct client *cl, **nv;

	if (s->n == s->cap) {
		int cap = s->cap ? s->cap * 2 : 4;

		if ((nv = realloc(s->v, (size_t)cap * sizeof(*nv))) == NULL) {
			options_free(o);
			free(o);
			return -1;
		}
		s->v = nv;
		s->cap = cap;
	}
	if ((cl = client_new(&s->nl, o, &hooks, s)) == NULL)
		return -1;
	if (s->sc->name_hosts)
		client_name_logs(cl);
	s->v[s->n++] = cl;
	if (start)
		client_start(cl);
	return 0;
}

static struct client *
find_client(struct sup *s, const char *name)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (strcmp(client_name(s->v[i]), name) == 0 &&
		    !client_stopping(s->v[i]))
			return s->v[i];
	return NULL;
}

static void
sup_done(void *ud, struct client *cl, int code)
{
	struct sup *s = ud;
	int i;

	for (i = 0; i < s->n; i++)
		if (s->v[i] == cl) {
			s->v[i] = s->v[--s->n];
			break;
		}
	if (code > s->exit_code)
		s->exit_code = code;
	client_free(cl);
	if (s->n == 0) {
		s->stopping = true;
		close_servers(s);
	}
}

/* What STATUS= tells the service manager: how many hosts are up with
 * every forward, and the first one that is not. */
static void
status_line(struct sup *s, char *out, size_t outlen, bool *settled)
{
	struct client_info ci;
	const char *down = NULL;
	char line[300];
	int i, ready = 0;

	*settled = s->n > 0;
	for (i = 0; i < s->n; i++) {
		if (client_ready(s->v[i]))
			ready++;
		else if (down == NULL)
			down = client_name(s->v[i]);
		if (!client_settled(s->v[i]))
			*settled = false;
	}
	if (down == NULL) {
		snprintf(out, outlen, "%d host%s up, every forward established",
		    s->n, s->n == 1 ? "" : "s");
		return;
	}
	for (i = 0; i < s->n && strcmp(client_name(s->v[i]), down) != 0; i++)
		;
	client_info(s->v[i], &ci);
	snprintf(line, sizeof(line), "%d of %d hosts ready; %.40s %s%s%.80s",
	    ready, s->n, down, ci.state == CLIENT_UP ? "has a forward down" :
	    "is not up", ci.last_error[0] ? ": " : "", ci.last_error);
	/* the error may be a server's words: no newline may start a new
	 * assignment in the datagram */
	text_safe(out, outlen, line, false);
}

/* READY=1 once every host has had its first attempt (one unreachable
 * host must not keep the service "activating"); STATUS= on every change
 * after that. */
/* ferry -f: the foreground process is told once every host is up with
 * every forward, and exits; this one goes on in the background. */
static void
tell_background(struct sup *s)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (!client_ready(s->v[i]))
			return;
	if (write(s->ready_fd, "1", 1) != 1)
		log_error("cannot tell the foreground process: %s",
		    strerror(errno));
	close(s->ready_fd);
	s->ready_fd = -1;
}

static void
sup_changed(void *ud)
{
	struct sup *s = ud;
	char line[200], msg[220];
	bool settled;

	if (s->stopping)
		return;
	if (s->ready_fd >= 0 && s->n > 0)
		tell_background(s);
	status_line(s, line, sizeof(line), &settled);
	if (!s->ready_sent && !settled)
		return;
	if (s->ready_sent && strcmp(line, s->status) == 0)
		return;
	snprintf(s->status, sizeof(s->status), "%s", line);
	snprintf(msg, sizeof(msg), "%sSTATUS=%s", s->ready_sent ? "" :
	    "READY=1\n", line);
	if (sd_notify_send(msg) == 0 && !s->ready_sent)
		log_verbose("told the service manager: ready (%s)", line);
	s->ready_sent = true;
}

static void
watchdog_tick(uv_timer_t *t)
{
	(void)t;
	sd_notify_send("WATCHDOG=1");
}

/* WatchdogSec= in the unit: systemd sets WATCHDOG_USEC (and WATCHDOG_PID,
 * which must be ours); we ping at half the interval from the loop, so a
 * stuck loop is what the watchdog sees. */
static void
start_watchdog(struct sup *s)
{
	const char *us = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	unsigned long long v;
	char *end;

	if (us == NULL || (pid != NULL && strtol(pid, NULL, 10) != getpid()))
		return;
	v = strtoull(us, &end, 10);
	if (*end != '\0' || v < 2000)
		return;
	uv_timer_init(s->loop, &s->watchdog);
	uv_timer_start(&s->watchdog, watchdog_tick, 0, v / 2000);
	s->watchdog_open = true;
}

static void
stop_all(struct sup *s, int code)
{
	int i, n = s->n;
	struct client **copy;

	if (s->stopping)
		return;
	s->stopping = true;
	sd_notify_send("STOPPING=1");
	if (n == 0) {
		close_servers(s);
		return;
	}
	/* done (and so the array) may change under client_stop */
	if ((copy = malloc((size_t)n * sizeof(*copy))) == NULL)
		return;
	memcpy(copy, s->v, (size_t)n * sizeof(*copy));
	for (i = 0; i < n; i++)
		client_stop(copy[i], code);
	free(copy);
}

/* SIGHUP: hosts added and removed, forwards of the others changed in
 * place (client_reload); a host whose connection settings changed is
 * replaced. A host whose file now has an error keeps running as it
 * was. */
static void
reload(struct sup *s)
{
	char **names, err[1024];
	struct options *o;
	struct client *cl;
	int i, j, n;
	bool keep;

	log_info("SIGHUP: reloading the configuration");
	if ((n = s->sc->loader.hosts(s->sc->loader.ud, &names, err,
	    sizeof(err))) < 0) {
		log_error("reload: %s; nothing changed", err);
		return;
	}
	for (i = 0; i < s->n; i++) {
		keep = client_stopping(s->v[i]);
		for (j = 0; j < n && !keep; j++)
			keep = strcmp(client_name(s->v[i]), names[j]) == 0;
		if (!keep) {
			log_info("reload: %s is gone from the configuration",
			    client_name(s->v[i]));
			client_stop(s->v[i], 0);
		}
	}
	for (j = 0; j < n; j++) {
		if (s->sc->loader.load(s->sc->loader.ud, names[j], &o, err,
		    sizeof(err)) != 0) {
			log_error("reload: %s: %s; it keeps its old settings",
			    names[j], err);
			continue;
		}
		if ((cl = find_client(s, names[j])) == NULL) {
			log_info("reload: %s is new", names[j]);
			if (add_client(s, o, true) != 0)
				log_error("reload: %s: out of memory",
				    names[j]);
			continue;
		}
		if (client_reload(cl, o) == 0)
			continue;
		log_info("reload: %s: connection settings changed; "
		    "reconnecting with them", names[j]);
		client_stop(cl, 0);
		if (add_client(s, o, true) != 0)
			log_error("reload: %s: out of memory", names[j]);
	}
}

static void
on_signal(uv_signal_t *h, int signum)
{
	struct sup *s = h->data;

	if (signum == SIGHUP && s->sc->supervised) {
		reload(s);
		return;
	}
	log_verbose("Killed by signal %d.", signum);
	/* a service asked to stop ends well (a manager reads 255 as a
	 * failure); an ssh-like run ends as ssh does */
	stop_all(s, s->sc->supervised && signum != SIGHUP ? 0 : 255);
}

/* ---- control socket and metrics ------------------------------------ */

static struct client *
pick_host(struct sup *s, const char *name, struct wb *out)
{
	struct client *cl;

	if (strcmp(name, "-") == 0) {
		if (s->n == 1)
			return s->v[0];
		wb_printf(out, "error: %d hosts run here: name one\n", s->n);
		return NULL;
	}
	if ((cl = find_client(s, name)) == NULL)
		wb_printf(out, "error: no host %s here\n", name);
	return cl;
}

/* ferry reconnect [host]: the named host, or all of them, try now what
 * they were waiting to retry. */
static void
retry_now(struct sup *s, const char *host, struct wb *out)
{
	struct client *cl = NULL;
	int i, n = 0;

	if (host != NULL && (cl = pick_host(s, host, out)) == NULL)
		return;
	for (i = 0; i < s->n; i++)
		if ((cl == NULL || s->v[i] == cl) && client_retry_now(s->v[i]))
			n++;
	wb_printf(out, "ok\n%d host%s retrying now\n", n, n == 1 ? "" : "s");
}

/* One control command (ctlproto.h). The answer starts with "ok" or
 * "error: ...". */
static void
control_command(struct sup *s, char *line, struct wb *out)
{
	struct ctl_cmd c;
	struct client *cl;
	char err[600];
	int r;

	if (ctl_parse(line, &c, err, sizeof(err)) != 0) {
		wb_printf(out, "error: %s\n", err);
		return;
	}
	switch (c.op) {
	case CTL_STATUS:
		wb_printf(out, "ok\n");
		status_text(s->v, s->n, out);
		return;
	case CTL_STATUS_JSON:
		wb_printf(out, "ok\n");
		status_json(s->v, s->n, out);
		return;
	case CTL_METRICS:
		wb_printf(out, "ok\n");
		status_metrics(s->v, s->n, out);
		return;
	case CTL_RECONNECT:
		retry_now(s, c.host, out);
		return;
	default:
		break;
	}
	if ((cl = pick_host(s, c.host, out)) == NULL)
		return;
	r = c.op == CTL_FORWARD ?
	    client_forward(cl, c.kind, c.spec, err, sizeof(err)) :
	    client_cancel(cl, c.kind, c.spec, err, sizeof(err));
	if (r != 0)
		wb_printf(out, "error: %s\n", err);
	else
		wb_printf(out, "ok\n");
}

/* ferry status -j is /status.json, ferry metrics /metrics. */
static void
report(void *ud, enum sp_route route, struct wb *body)
{
	struct sup *s = ud;

	if (route == SP_JSON)
		status_json(s->v, s->n, body);
	else
		status_metrics(s->v, s->n, body);
}

static void
control_line(void *ud, char *line, struct wb *out)
{
	control_command(ud, line, out);
}

/* ssh -O forward / cancel: on the only host. */
static void
mux_forward(struct sup *s, const struct mux_req *m, struct wb *out)
{
	char err[600];
	int r;

	if (s->n != 1) {
		snprintf(err, sizeof(err), "%d hosts run here: name one with "
		    "ferry forward -H", s->n);
		mux_refuse(out, MUX_S_FAILURE, m->id, err);
		return;
	}
	r = m->type == MUX_C_OPEN_FWD ?
	    client_forward(s->v[0], m->kind, m->spec, err, sizeof(err)) :
	    client_cancel(s->v[0], m->kind, m->spec, err, sizeof(err));
	if (r != 0)
		mux_refuse(out, MUX_S_FAILURE, m->id, err);
	else
		mux_ok(out, m->id);
}

/* OpenSSH's multiplexing requests (ssh -O check|forward|cancel|exit|stop
 * against ferry's ControlPath): what a forwarding master can do; a
 * session is refused. */
static void
control_packet(void *ud, const uint8_t *p, size_t len, struct wb *out,
    bool *last)
{
	struct sup *s = ud;
	struct mux_req m;
	char err[200];

	if (mux_parse(p, len, &m, err, sizeof(err)) != 0) {
		log_verbose("ControlPath: multiplexing request: %s", err);
		if (m.id != 0)
			mux_refuse(out, MUX_S_FAILURE, m.id, err);
		*last = true;
		return;
	}
	switch (m.type) {
	case MUX_MSG_HELLO:
		if (m.version != MUX_VERSION)
			*last = true;
		else
			mux_hello(out);
		return;
	case MUX_C_ALIVE_CHECK:
		mux_alive(out, m.id, (uint32_t)getpid());
		return;
	case MUX_C_TERMINATE:
		log_info("exit requested through the control socket");
		mux_ok(out, m.id);
		*last = true;
		stop_all(s, 0);
		return;
	case MUX_C_STOP_LISTENING:
		mux_ok(out, m.id);
		*last = true;
		reqsrv_close_unix(&s->req);
		return;
	case MUX_C_OPEN_FWD:
	case MUX_C_CLOSE_FWD:
		mux_forward(s, &m, out);
		return;
	default:
		/* the connection stays: a session's client sends its
		 * descriptors before it reads the answer */
		mux_refuse(out, MUX_S_FAILURE, m.id, "ferry only forwards: it "
		    "opens no sessions");
		return;
	}
}

static const struct reqsrv_ops req_ops = {
	.line = control_line,
	.report = report,
	.packet = control_packet,
};

/* MetricsListen: with port 0 the kernel's port is printed, as for a
 * forward. */
static int
start_metrics(struct sup *s, const char *spec, char *err, size_t errlen)
{
	struct sockaddr_storage ss;

	if (fwd_loopback_addr(spec, &ss, err, errlen) != 0 ||
	    reqsrv_listen_http(&s->req, (struct sockaddr *)&ss, spec, err,
	    errlen) != 0)
		return -1;
	if (s->req.tcp_any_port)
		log_plain("Metrics on port %d", reqsrv_http_port(&s->req));
	return 0;
}

int
supervisor_run(const struct sup_config *sc)
{
	static const int sigs[3] = { SIGINT, SIGTERM, SIGHUP };
	struct sup s;
	struct options *o;
	const struct options *first;
	char **names, err[1024];
	const char *ctl;
	int i, n, code = 255;

	memset(&s, 0, sizeof(s));
	s.sc = sc;
	s.ready_fd = sc->ready_fd;
	s.loop = uv_default_loop();
	net_loop_init(&s.nl, s.loop);
	signal(SIGPIPE, SIG_IGN);
	srandom((unsigned)getpid() ^ (unsigned)uv_hrtime());
	if ((n = sc->loader.hosts(sc->loader.ud, &names, err,
	    sizeof(err))) < 0) {
		log_error("%s", err);
		return 255;
	}
	for (i = 0; i < n; i++) {
		if (sc->loader.load(sc->loader.ud, names[i], &o, err,
		    sizeof(err)) != 0) {
			log_error("%s", err);
			goto out;
		}
		o->may_prompt = true;	/* the loop is not running yet */
		if (add_client(&s, o, false) != 0) {
			log_error("out of memory");
			goto out;
		}
	}
	for (i = 0; i < 3; i++) {
		uv_signal_init(s.loop, &s.sig[i]);
		s.sig[i].data = &s;
		uv_signal_start(&s.sig[i], on_signal, sigs[i]);
	}
	s.sigs_open = true;
	first = s.n > 0 ? client_options(s.v[0]) : NULL;
	ctl = first != NULL && first->control_path != NULL ?
	    first->control_path : sc->default_control_path;
	reqsrv_init(&s.req, s.loop, &req_ops, &s, "ControlPath", "ferry",
	    MAX_REQS);
	if (ctl != NULL && reqsrv_listen_unix(&s.req, ctl, err,
	    sizeof(err)) != 0) {
		log_error("%s", err);
		stop_all(&s, 255);
	}
	if (first != NULL && first->metrics_listen != NULL && !s.stopping &&
	    start_metrics(&s, first->metrics_listen, err, sizeof(err)) != 0) {
		log_error("%s", err);
		stop_all(&s, 255);
	}
	if (!s.stopping)
		start_watchdog(&s);
	/* the hosts connect once the control socket and metrics are set */
	for (i = 0; i < s.n && !s.stopping; i++)
		client_start(s.v[i]);
	if (s.n == 0)
		close_servers(&s);
	uv_run(s.loop, UV_RUN_DEFAULT);
	code = s.exit_code;
out:
	if (s.n > 0) {		/* a load failed: end the others first */
		stop_all(&s, 255);
		uv_run(s.loop, UV_RUN_DEFAULT);
		code = 255;
	}
	free(s.v);
	net_loop_close(&s.nl);
	uv_run(s.loop, UV_RUN_DEFAULT);
	uv_loop_close(s.loop);
	return code;
}
