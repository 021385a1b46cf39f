/* ferry-fwdopen: times the opening of remote forwards with ferry's engine,
 * one tcpip-forward global request after another on one SSH session, so a
 * benchmark sees what a server (and its forward registry) adds to opening
 * a forward without a client process per forward.
 *
 *   ferry-fwdopen -i KEY [-l USER] [-p PORT] [-n COUNT] [-b BATCH]
 *       [-a BINDADDR] [-P FIRSTPORT] [-w WARMUP] [-t SECONDS] HOST
 *
 * After authenticating (the server's host key is accepted unchecked: a
 * benchmark's own server on loopback) it asks for COUNT remote forwards of
 * BINDADDR (default "", every address) one at a time, each with port 0,
 * or with -P the ports FIRSTPORT, FIRSTPORT+1, ...; each is timed from
 * handing the request to the engine to its reply. Every BATCH (default
 * 50) forwards, and at the end, the forwards held are cancelled
 * (cancel-tcpip-forward with the port the server bound), each timed too.
 * WARMUP (default 0) forwards opened and cancelled first are not timed.
 * Then it prints one JSON line (opened, failed, cancel_failed, open_ms,
 * cancel_ms: every latency in milliseconds, in order; first_error) and
 * ends the session. Everything stops at the -t cap (default 120 s) with
 * what it reached; failures stop it after COUNT/10 + 5 of them. Nothing
 * here is part of ferry or ferryd. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "keys/keyfile.h"
#include "net/conn.h"
#include "net/loop.h"
#include "ssh/ssh.h"

#define MAX_BATCH	1000

enum step { STEP_OPEN, STEP_CANCEL };

/* The one session and the forwards it holds; all owned here. */
struct fwdopen {
	uv_loop_t	 loop;
	struct net_loop	 nl;
	struct net_conn	*nc;
	struct key	*key;
	const char	*user, *host, *port, *bind;
	int		 count, batch, warmup, first_port;
	int		 asked;		/* forwards requested, warm-ups too */
	int		 req_port;	/* the port of the request in flight */
	int		 opened, failed, cancel_failed, max_failed;
	int		 held[MAX_BATCH], nheld, ncancelled;
	enum step	 step;
	uint64_t	 t0;		/* uv_hrtime at the request in flight */
	double		*open_ms, *cancel_ms;
	int		 nopen_ms, ncancel_ms;
	bool		 reported, done;
	uv_timer_t	 cap;
	char		 first_error[256];
};

static void	next_step(struct fwdopen *o);

/* The request's extra: string BINDADDR, uint32 port. */
static int
send_forward(struct fwdopen *o, const char *name, int port)
{
	uint8_t extra[300];
	size_t n = strlen(o->bind);

	if (n > 255)
		return -1;
	extra[0] = extra[1] = 0;
	extra[2] = (uint8_t)(n >> 8);
	extra[3] = (uint8_t)n;
	memcpy(extra + 4, o->bind, n);
	extra[4 + n] = (uint8_t)(port >> 24);
	extra[5 + n] = (uint8_t)(port >> 16);
	extra[6 + n] = (uint8_t)(port >> 8);
	extra[7 + n] = (uint8_t)port;
	o->t0 = uv_hrtime();
	return ssh_global_request(net_conn_ssh(o->nc), name, true, extra,
	    n + 8, o);
}

static void
note_error(struct fwdopen *o, const char *why)
{
	if (o->first_error[0] == '\0')
		snprintf(o->first_error, sizeof(o->first_error), "%s", why);
}

static bool
warming(const struct fwdopen *o)
{
	return o->asked <= o->warmup;
}

/* The port a reply bound: the payload's uint32 for port 0. */
static int
bound_port(struct fwdopen *o, const struct ssh_event *ev)
{
	const uint8_t *p = ev->u.global_reply.p;

	if (o->req_port > 0)
		return o->req_port;
	if (ev->u.global_reply.len < 4)
		return -1;
	return (int)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3]);
}

static void
on_reply(struct fwdopen *o, const struct ssh_event *ev)
{
	double ms = (double)(uv_hrtime() - o->t0) / 1e6;
	bool ok = ev->u.global_reply.success;
	int port;

	if (o->step == STEP_CANCEL) {
		o->ncancelled++;
		if (!ok) {
			o->cancel_failed++;
			note_error(o, "cancel-tcpip-forward refused");
		} else if (!warming(o) || o->nopen_ms > 0)
			o->cancel_ms[o->ncancel_ms++] = ms;
	} else if (!ok || (port = bound_port(o, ev)) <= 0) {
		o->failed++;
		note_error(o, ok ? "no port in the reply" :
		    "tcpip-forward refused");
	} else {
		if (!warming(o)) {
			o->opened++;
			o->open_ms[o->nopen_ms++] = ms;
		}
		o->held[o->nheld++] = port;
	}
	next_step(o);
}

static void
report(struct fwdopen *o)
{
	int i;

	if (o->reported)
		return;
	o->reported = true;
	printf("{\"opened\": %d, \"failed\": %d, \"cancel_failed\": %d, "
	    "\"open_ms\": [", o->opened, o->failed, o->cancel_failed);
	for (i = 0; i < o->nopen_ms; i++)
		printf("%s%.4f", i ? ", " : "", o->open_ms[i]);
	printf("], \"cancel_ms\": [");
	for (i = 0; i < o->ncancel_ms; i++)
		printf("%s%.4f", i ? ", " : "", o->cancel_ms[i]);
	printf("], \"first_error\": \"");
	for (const char *p = o->first_error; *p; p++)
		if (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
			putchar(*p);
	printf("\"}\n");
	fflush(stdout);
}

static void
finish(struct fwdopen *o, const char *why)
{
	if (o->done)
		return;
	o->done = true;
	report(o);
	uv_timer_stop(&o->cap);
	uv_close((uv_handle_t *)&o->cap, NULL);
	if (o->nc != NULL)
		net_conn_close(o->nc, why);
	net_loop_close(&o->nl);
}

/* Cancel the held forwards once a batch is full (or all were asked, or
 * the warm-ups are done), else ask for the next one. */
static void
next_step(struct fwdopen *o)
{
	int total = o->warmup + o->count, port;
	bool flush = o->nheld >= o->batch || o->asked == total ||
	    (o->asked == o->warmup && o->nheld > 0) ||
	    o->failed > o->max_failed;

	if (o->ncancelled < o->nheld && (o->step == STEP_CANCEL || flush)) {
		o->step = STEP_CANCEL;
		if (send_forward(o, "cancel-tcpip-forward",
		    o->held[o->ncancelled]) != 0)
			finish(o, "cancel-tcpip-forward could not be sent");
		return;
	}
	if (o->step == STEP_CANCEL)		/* the batch is gone */
		o->nheld = o->ncancelled = 0;
	o->step = STEP_OPEN;
	if (o->asked == total || o->failed > o->max_failed) {
		finish(o, "fwdopen done");
		return;
	}
	port = 0;
	if (o->first_port > 0 && o->asked >= o->warmup)
		port = o->first_port + (o->asked - o->warmup);
	o->asked++;
	o->req_port = port;
	if (port > 65535 || send_forward(o, "tcpip-forward", port) != 0)
		finish(o, "tcpip-forward could not be sent");
}

static void
on_event(void *ud, struct ssh_event *ev)
{
	struct fwdopen *o = ud;

	switch (ev->type) {
	case SSH_EV_HOSTKEY:
		ev->u.hostkey.accept = true;
		break;
	case SSH_EV_AUTH_READY:
		if (ssh_auth_pubkey(net_conn_ssh(o->nc), o->user, o->key) != 0)
			finish(o, "auth request failed");
		break;
	case SSH_EV_AUTH_FAILURE:
		note_error(o, "publickey refused");
		finish(o, "publickey refused");
		break;
	case SSH_EV_AUTH_SUCCESS:
		next_step(o);
		break;
	case SSH_EV_GLOBAL_REPLY:
		if (ev->u.global_reply.ud == o && !o->done)
			on_reply(o, ev);
		break;
	default:
		break;
	}
}

static void
on_closed(void *ud, enum net_end end, const char *why)
{
	struct fwdopen *o = ud;

	(void)end;
	o->nc = NULL;
	if (!o->done) {
		note_error(o, why);
		finish(o, why);
	}
}

static const struct net_conn_ops conn_ops = {
	.event = on_event,
	.closed = on_closed,
};

static void
on_cap(uv_timer_t *t)
{
	struct fwdopen *o = t->data;

	note_error(o, "time cap reached");
	finish(o, "time cap reached");
}

static void
usage(void)
{
	fprintf(stderr, "usage: ferry-fwdopen -i KEY [-l USER] [-p PORT] "
	    "[-n COUNT] [-b BATCH] [-a BINDADDR] [-P FIRSTPORT] [-w WARMUP] "
	    "[-t SECONDS] HOST\n");
	exit(2);
}

static void
parse_args(struct fwdopen *o, int argc, char **argv, const char **keypath,
    int *cap_s)
{
	int ch;

	o->user = getenv("USER") ? getenv("USER") : "root";
	o->port = "22";
	o->bind = "";
	o->count = 100;
	o->batch = 50;
	while ((ch = getopt(argc, argv, "i:l:p:n:b:a:P:w:t:")) != -1) {
		switch (ch) {
		case 'i': *keypath = optarg; break;
		case 'l': o->user = optarg; break;
		case 'p': o->port = optarg; break;
		case 'n': o->count = atoi(optarg); break;
		case 'b': o->batch = atoi(optarg); break;
		case 'a': o->bind = optarg; break;
		case 'P': o->first_port = atoi(optarg); break;
		case 'w': o->warmup = atoi(optarg); break;
		case 't': *cap_s = atoi(optarg); break;
		default: usage();
		}
	}
	if (optind + 1 != argc || *keypath == NULL || o->count < 1 ||
	    o->count > 100000 || o->batch < 1 || o->batch > MAX_BATCH ||
	    o->warmup < 0 || o->warmup > 1000 || o->first_port < 0 ||
	    o->first_port + o->count > 65536 || *cap_s < 1)
		usage();
	o->host = argv[optind];
}

int
main(int argc, char **argv)
{
	static struct fwdopen o;
	struct net_conn_opts no = { .family = AF_UNSPEC,
	    .connect_timeout_ms = 30000 };
	struct ssh_config cfg = { .role = SSH_ROLE_CLIENT };
	const char *keypath = NULL;
	char err[256];
	int cap_s = 120;

	signal(SIGPIPE, SIG_IGN);
	parse_args(&o, argc, argv, &keypath, &cap_s);
	if (keyfile_load_private(keypath, &o.key, err, sizeof(err)) != 0) {
		fprintf(stderr, "fwdopen: %s\n", err);
		return 1;
	}
	o.max_failed = o.count / 10 + 5;
	o.open_ms = calloc((size_t)o.count, sizeof(double));
	o.cancel_ms = calloc((size_t)o.count, sizeof(double));
	if (o.open_ms == NULL || o.cancel_ms == NULL ||
	    uv_loop_init(&o.loop) != 0)
		return 1;
	net_loop_init(&o.nl, &o.loop);
	uv_timer_init(&o.loop, &o.cap);
	o.cap.data = &o;
	uv_timer_start(&o.cap, on_cap, (uint64_t)cap_s * 1000, 0);
	no.host = o.host;
	no.port = o.port;
	if ((o.nc = net_conn_start(&o.nl, &no, &cfg, &conn_ops, &o)) == NULL) {
		note_error(&o, "connection could not start");
		finish(&o, "connection could not start");
	}
	uv_run(&o.loop, UV_RUN_DEFAULT);
	uv_loop_close(&o.loop);
	key_free(o.key);
	free(o.open_ms);
	free(o.cancel_ms);
	return o.opened == o.count && o.failed == 0 &&
	    o.cancel_failed == 0 ? 0 : 1;
}
