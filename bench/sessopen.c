/* ferry-sessopen: holds many authenticated SSH sessions from one process
 * with ferry's engine, so that a benchmark can put 10,000 sessions on a
 * server without 10,000 client processes.
 *
 *   ferry-sessopen -i KEY [-l USER] [-p PORT] [-n COUNT] [-c INFLIGHT]
 *       [-t SECONDS] [-R] HOST
 *
 * It opens COUNT connections, at most INFLIGHT of them handshaking at
 * once, each authenticating with KEY (the server's host key is accepted
 * unchecked: a benchmark's own server on loopback) and, with -R, asking
 * for a remote forward of 127.0.0.1 port 0 as `ssh -N -R` would. Then it
 * prints one JSON line with what it reached (ready, failed, seconds, the
 * p50/p99 time from connect to ready) and holds the sessions until
 * SIGTERM or SIGINT, or until stdin closes. Opening stops at the -t cap
 * (default 300 s) with what it reached; failures stop it after COUNT/10
 * + 20 of them. Nothing here is part of ferry or ferryd. */
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

struct opener;

/* One session: owned by the opener's array; nc is NULL once closed. */
struct sess {
	struct opener	*o;
	struct net_conn	*nc;
	uint64_t	 t0;		/* uv_hrtime at start */
	bool		 ready;
};

struct opener {
	uv_loop_t	 loop;
	struct net_loop	 nl;
	struct key	*key;
	const char	*user, *host, *port;
	bool		 remote;
	int		 count, inflight_max, inflight, started;
	int		 ready, failed, lost, max_failed;
	double		*lat_ms;	/* count entries, ready ones filled */
	struct sess	*s;
	uint64_t	 t_begin;
	bool		 reported, stopping;
	uv_timer_t	 cap;
	uv_signal_t	 sigterm, sigint;
	uv_poll_t	 in;
	char		 first_error[256];
};

static void	start_more(struct opener *o);
static void	report(struct opener *o);

static void
sess_ready(struct sess *s)
{
	struct opener *o = s->o;

	s->ready = true;
	o->lat_ms[o->ready++] = (double)(uv_hrtime() - s->t0) / 1e6;
	o->inflight--;
	start_more(o);
}

static void
forward_request(struct sess *s)
{
	static const uint8_t extra[] = { 0, 0, 0, 9, '1', '2', '7', '.', '0',
	    '.', '0', '.', '1', 0, 0, 0, 0 };

	if (ssh_global_request(net_conn_ssh(s->nc), "tcpip-forward", true,
	    extra, sizeof(extra), s) != 0)
		net_conn_close(s->nc, "tcpip-forward could not be sent");
}

static void
on_event(void *ud, struct ssh_event *ev)
{
	struct sess *s = ud;

	switch (ev->type) {
	case SSH_EV_HOSTKEY:
		ev->u.hostkey.accept = true;
		break;
	case SSH_EV_AUTH_READY:
		if (ssh_auth_pubkey(net_conn_ssh(s->nc), s->o->user,
		    s->o->key) != 0)
			net_conn_close(s->nc, "auth request failed");
		break;
	case SSH_EV_AUTH_FAILURE:
		net_conn_close(s->nc, "publickey refused");
		break;
	case SSH_EV_AUTH_SUCCESS:
		if (s->o->remote)
			forward_request(s);
		else
			sess_ready(s);
		break;
	case SSH_EV_GLOBAL_REPLY:
		if (ev->u.global_reply.success && !s->ready)
			sess_ready(s);
		else if (!s->ready)
			net_conn_close(s->nc, "tcpip-forward refused");
		break;
	default:
		break;
	}
}

static void
on_closed(void *ud, enum net_end end, const char *why)
{
	struct sess *s = ud;
	struct opener *o = s->o;

	(void)end;
	s->nc = NULL;
	if (o->stopping)
		return;
	if (s->ready) {
		o->lost++;
		fprintf(stderr, "sessopen: a ready session ended: %s\n", why);
		return;
	}
	if (o->first_error[0] == '\0')
		snprintf(o->first_error, sizeof(o->first_error), "%s", why);
	o->failed++;
	o->inflight--;
	start_more(o);
}

static const struct net_conn_ops sess_ops = {
	.event = on_event,
	.closed = on_closed,
};

static void
start_one(struct opener *o)
{
	struct sess *s = &o->s[o->started++];
	struct net_conn_opts no = { .host = o->host, .port = o->port,
	    .family = AF_UNSPEC, .connect_timeout_ms = 60000 };
	struct ssh_config cfg = { .role = SSH_ROLE_CLIENT };

	s->o = o;
	s->t0 = uv_hrtime();
	o->inflight++;
	if ((s->nc = net_conn_start(&o->nl, &no, &cfg, &sess_ops, s)) ==
	    NULL) {
		o->failed++;
		o->inflight--;
	}
}

static void
start_more(struct opener *o)
{
	if (o->stopping || o->reported)
		return;
	if (o->failed > o->max_failed) {
		report(o);
		return;
	}
	while (o->started < o->count && o->inflight < o->inflight_max &&
	    o->failed <= o->max_failed)
		start_one(o);
	if (o->inflight == 0 && o->started == o->count)
		report(o);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
pct(struct opener *o, int p)
{
	if (o->ready == 0)
		return 0;
	return o->lat_ms[(o->ready - 1) * p / 100];
}

/* One JSON line with what opening reached; the sessions stay. */
static void
report(struct opener *o)
{
	double secs = (double)(uv_hrtime() - o->t_begin) / 1e9;

	if (o->reported)
		return;
	o->reported = true;
	uv_timer_stop(&o->cap);
	qsort(o->lat_ms, (size_t)o->ready, sizeof(double), cmp_double);
	printf("{\"ready\": %d, \"failed\": %d, \"seconds\": %.3f, "
	    "\"p50_ms\": %.2f, \"p99_ms\": %.2f, \"first_error\": \"",
	    o->ready, o->failed, secs, pct(o, 50), pct(o, 99));
	for (const char *p = o->first_error; *p; p++)
		if (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
			putchar(*p);
	printf("\"}\n");
	fflush(stdout);
}

static void
stop_all(struct opener *o)
{
	int i;

	if (o->stopping)
		return;
	o->stopping = true;
	report(o);
	for (i = 0; i < o->started; i++)
		if (o->s[i].nc != NULL)
			net_conn_close(o->s[i].nc, "sessopen stops");
	uv_timer_stop(&o->cap);
	uv_close((uv_handle_t *)&o->cap, NULL);
	uv_close((uv_handle_t *)&o->sigterm, NULL);
	uv_close((uv_handle_t *)&o->sigint, NULL);
	uv_close((uv_handle_t *)&o->in, NULL);
	net_loop_close(&o->nl);
}

static void
on_cap(uv_timer_t *t)
{
	report(t->data);
}

static void
on_signal(uv_signal_t *h, int signum)
{
	(void)signum;
	stop_all(h->data);
}

static void
on_stdin(uv_poll_t *h, int status, int events)
{
	char buf[256];

	(void)status;
	(void)events;
	if (read(STDIN_FILENO, buf, sizeof(buf)) <= 0)
		stop_all(h->data);
}

static void
usage(void)
{
	fprintf(stderr, "usage: ferry-sessopen -i KEY [-l USER] [-p PORT] "
	    "[-n COUNT] [-c INFLIGHT] [-t SECONDS] [-R] HOST\n");
	exit(2);
}

static void
parse_args(struct opener *o, int argc, char **argv, const char **keypath,
    int *cap_s)
{
	int ch;

	o->user = getenv("USER") ? getenv("USER") : "root";
	o->port = "22";
	o->count = 100;
	o->inflight_max = 64;
	while ((ch = getopt(argc, argv, "i:l:p:n:c:t:R")) != -1) {
		switch (ch) {
		case 'i': *keypath = optarg; break;
		case 'l': o->user = optarg; break;
		case 'p': o->port = optarg; break;
		case 'n': o->count = atoi(optarg); break;
		case 'c': o->inflight_max = atoi(optarg); break;
		case 't': *cap_s = atoi(optarg); break;
		case 'R': o->remote = true; break;
		default: usage();
		}
	}
	if (optind + 1 != argc || *keypath == NULL || o->count < 1 ||
	    o->count > 1000000 || o->inflight_max < 1 || *cap_s < 1)
		usage();
	o->host = argv[optind];
}

static void
watch(struct opener *o, int cap_s)
{
	uv_timer_init(&o->loop, &o->cap);
	o->cap.data = o;
	uv_timer_start(&o->cap, on_cap, (uint64_t)cap_s * 1000, 0);
	uv_signal_init(&o->loop, &o->sigterm);
	o->sigterm.data = o;
	uv_signal_start(&o->sigterm, on_signal, SIGTERM);
	uv_signal_init(&o->loop, &o->sigint);
	o->sigint.data = o;
	uv_signal_start(&o->sigint, on_signal, SIGINT);
	uv_poll_init(&o->loop, &o->in, STDIN_FILENO);
	o->in.data = o;
	uv_poll_start(&o->in, UV_READABLE | UV_DISCONNECT, on_stdin);
}

int
main(int argc, char **argv)
{
	static struct opener o;
	const char *keypath = NULL;
	char err[256];
	int cap_s = 300;

	signal(SIGPIPE, SIG_IGN);
	parse_args(&o, argc, argv, &keypath, &cap_s);
	if (keyfile_load_private(keypath, &o.key, err, sizeof(err)) != 0) {
		fprintf(stderr, "sessopen: %s\n", err);
		return 1;
	}
	o.max_failed = o.count / 10 + 20;
	o.s = calloc((size_t)o.count, sizeof(*o.s));
	o.lat_ms = calloc((size_t)o.count, sizeof(double));
	if (o.s == NULL || o.lat_ms == NULL || uv_loop_init(&o.loop) != 0)
		return 1;
	net_loop_init(&o.nl, &o.loop);
	watch(&o, cap_s);
	o.t_begin = uv_hrtime();
	start_more(&o);
	uv_run(&o.loop, UV_RUN_DEFAULT);
	uv_loop_close(&o.loop);
	key_free(o.key);
	free(o.s);
	free(o.lat_ms);
	return o.ready > 0 && o.lost == 0 ? 0 : 1;
}
