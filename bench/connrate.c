/* ferry-connrate: the connection-rate load generator and its echo server,
 * in C so that the measuring side costs little next to what it measures.
 *
 *   ferry-connrate echo [-a ADDR]
 *       Listens on ADDR (127.0.0.1) port 0, prints the port on one line,
 *       echoes every connection (on EOF: shut down its write side, close)
 *       until stdin closes or SIGTERM/SIGINT.
 *   ferry-connrate run -p PORT [-a ADDR] [-c CONCURRENT] [-n COUNT]
 *       [-t SECONDS]
 *       COUNT connections (1000), CONCURRENT of them at once (1): each
 *       connects, sets TCP_NODELAY, sends one byte, waits for its echo and
 *       closes. Prints one JSON line: done, failed, seconds, rate (done per
 *       second), p50_ms/p99_ms (connect to echo) and the first error. Stops
 *       at the -t cap (30 s) or after COUNT/10 + 20 failures.
 *
 * One thread, one libuv loop in each mode. Nothing here is part of ferry or
 * ferryd (bench/bench_pair.py runs it). */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "loadsrv.h"

#define PROG	"ferry-connrate"

struct gen;

/* One connection of the generator: owned by the generator's array, reused
 * once closed (busy false). */
struct probe {
	struct gen	*g;
	uv_tcp_t	 tcp;
	uv_connect_t	 creq;
	uv_write_t	 wreq;
	uint64_t	 t0;
	char		 in;
	bool		 busy, got;
};

struct gen {
	uv_loop_t		*loop;
	struct sockaddr_storage	 to;
	int			 count, started, done, failed, max_failed;
	double			*lat_ms;
	uint64_t		 t_begin;
	uv_timer_t		 cap;
	bool			 stopping;
	char			 first_error[200];
};

static const char	 one_byte = 'x';

static void	probe_start(struct gen *g, struct probe *p);

static void
usage(void)
{
	fprintf(stderr, "usage: ferry-connrate echo [-a ADDR]\n"
	    "       ferry-connrate run -p PORT [-a ADDR] [-c CONCURRENT] "
	    "[-n COUNT] [-t SECONDS]\n");
	exit(2);
}

/* ---- the echo server ---------------------------------------------------- */

static void
echo_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	static char	 buf[64 * 1024];

	(void)h, (void)hint;
	*b = uv_buf_init(buf, sizeof buf);
}

static void
echo_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	uv_buf_t	 out;

	if (n > 0) {
		/* Non-blocking, whole or error: the probes send one byte. */
		out = uv_buf_init(b->base, (unsigned)n);
		if (uv_try_write(s, &out, 1) == n)
			return;
	} else if (n == 0)
		return;
	uv_close((uv_handle_t *)s, loadsrv_free_cb);
}

static void
echo_accept(uv_stream_t *srv, int status)
{
	uv_tcp_t	*c;

	if (status < 0)
		return;
	if ((c = malloc(sizeof *c)) == NULL)
		abort();
	uv_tcp_init(srv->loop, c);
	if (uv_accept(srv, (uv_stream_t *)c) != 0) {
		uv_close((uv_handle_t *)c, loadsrv_free_cb);
		return;
	}
	uv_tcp_nodelay(c, 1);
	uv_read_start((uv_stream_t *)c, echo_alloc, echo_read);
}

/* ---- the generator ------------------------------------------------------ */

static int
cmp_double(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
pct(const double *sorted, int n, int p)
{
	int	 i;

	if (n == 0)
		return 0;
	i = (int)((double)p / 100 * (n - 1) + 0.5);
	return sorted[i];
}

static void
report(struct gen *g)
{
	double	 secs = (double)(uv_hrtime() - g->t_begin) / 1e9;

	qsort(g->lat_ms, (size_t)g->done, sizeof *g->lat_ms, cmp_double);
	printf("{\"done\": %d, \"failed\": %d, \"seconds\": %.4f, "
	    "\"rate\": %.1f, \"p50_ms\": %.4f, \"p99_ms\": %.4f, "
	    "\"first_error\": \"%s\"}\n", g->done, g->failed, secs,
	    secs > 0 ? g->done / secs : 0, pct(g->lat_ms, g->done, 50),
	    pct(g->lat_ms, g->done, 99), g->first_error);
	fflush(stdout);
}

static void
gen_stop(struct gen *g)
{
	if (g->stopping)
		return;
	g->stopping = true;
	uv_timer_stop(&g->cap);
	uv_stop(g->loop);
}

static void
probe_closed(uv_handle_t *h)
{
	struct probe	*p = h->data;
	struct gen	*g = p->g;

	p->busy = false;
	if (g->stopping)
		return;
	if (g->done + g->failed >= g->count || g->failed > g->max_failed)
		gen_stop(g);
	else if (g->started < g->count)
		probe_start(g, p);
}

static void
probe_end(struct probe *p, const char *err)
{
	struct gen	*g = p->g;

	if (err == NULL)
		g->lat_ms[g->done++] = (double)(uv_hrtime() - p->t0) / 1e6;
	else {
		if (g->failed++ == 0)
			snprintf(g->first_error, sizeof g->first_error, "%s",
			    err);
	}
	uv_close((uv_handle_t *)&p->tcp, probe_closed);
}

static void
probe_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct probe	*p = h->data;

	(void)hint;
	*b = uv_buf_init(&p->in, 1);
}

static void
probe_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct probe	*p = s->data;

	(void)b;
	if (n == 0 || p->got)
		return;
	p->got = true;
	uv_read_stop(s);
	if (n < 0)
		probe_end(p, "no echo (connection closed)");
	else
		probe_end(p, p->in == one_byte ? NULL : "wrong echo");
}

static void
probe_written(uv_write_t *w, int status)
{
	struct probe	*p = w->data;

	if (status < 0 && !p->got) {
		p->got = true;
		probe_end(p, uv_strerror(status));
	}
}

static void
probe_connected(uv_connect_t *c, int status)
{
	struct probe	*p = c->data;
	uv_buf_t	 b = uv_buf_init((char *)&one_byte, 1);

	if (status < 0) {
		probe_end(p, uv_strerror(status));
		return;
	}
	uv_tcp_nodelay(&p->tcp, 1);
	p->wreq.data = p;
	uv_write(&p->wreq, (uv_stream_t *)&p->tcp, &b, 1, probe_written);
	uv_read_start((uv_stream_t *)&p->tcp, probe_alloc, probe_read);
}

static void
probe_start(struct gen *g, struct probe *p)
{
	int	 r;

	memset(&p->tcp, 0, sizeof p->tcp);
	p->g = g;
	p->busy = true;
	p->got = false;
	p->t0 = uv_hrtime();
	g->started++;
	uv_tcp_init(g->loop, &p->tcp);
	p->tcp.data = p;
	p->creq.data = p;
	r = uv_tcp_connect(&p->creq, &p->tcp, (struct sockaddr *)&g->to,
	    probe_connected);
	if (r != 0)
		probe_end(p, uv_strerror(r));
}

static void
gen_cap(uv_timer_t *t)
{
	struct gen	*g = t->data;

	if (g->first_error[0] == '\0')
		snprintf(g->first_error, sizeof g->first_error,
		    "time cap reached");
	gen_stop(g);
}

static int
run_gen(uv_loop_t *loop, const char *addr, int port, int conc, int count,
    int cap_s)
{
	struct gen	 g;
	struct probe	*probes;
	int		 i;

	memset(&g, 0, sizeof g);
	g.loop = loop;
	g.count = count;
	g.max_failed = count / 10 + 20;
	if (uv_ip4_addr(addr, port, (struct sockaddr_in *)&g.to) != 0)
		usage();
	if ((g.lat_ms = calloc((size_t)count, sizeof *g.lat_ms)) == NULL ||
	    (probes = calloc((size_t)conc, sizeof *probes)) == NULL)
		abort();
	uv_timer_init(loop, &g.cap);
	g.cap.data = &g;
	uv_timer_start(&g.cap, gen_cap, (uint64_t)cap_s * 1000, 0);
	g.t_begin = uv_hrtime();
	for (i = 0; i < conc && g.started < count; i++)
		probe_start(&g, &probes[i]);
	uv_run(loop, UV_RUN_DEFAULT);
	report(&g);
	/* Close what is still open so the loop ends clean. */
	for (i = 0; i < conc; i++)
		if (probes[i].busy && !uv_is_closing(
		    (uv_handle_t *)&probes[i].tcp))
			uv_close((uv_handle_t *)&probes[i].tcp, NULL);
	uv_close((uv_handle_t *)&g.cap, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	free(probes);
	free(g.lat_ms);
	return g.done > 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	const char	*addr = "127.0.0.1";
	int		 ch, port = 0, conc = 1, count = 1000, cap_s = 30;
	bool		 echo;

	if (argc < 2)
		usage();
	echo = strcmp(argv[1], "echo") == 0;
	if (!echo && strcmp(argv[1], "run") != 0)
		usage();
	optind = 2;
	while ((ch = getopt(argc, argv, "a:c:n:p:t:")) != -1) {
		switch (ch) {
		case 'a': addr = optarg; break;
		case 'c': conc = (int)loadsrv_num(PROG, optarg, 1, 4096); break;
		case 'n': count = (int)loadsrv_num(PROG, optarg, 1, 10000000); break;
		case 'p': port = (int)loadsrv_num(PROG, optarg, 1, 65535); break;
		case 't': cap_s = (int)loadsrv_num(PROG, optarg, 1, 3600); break;
		default: usage();
		}
	}
	signal(SIGPIPE, SIG_IGN);
	if (echo)
		return loadsrv_run(uv_default_loop(), addr, echo_accept);
	if (port == 0)
		usage();
	return run_gen(uv_default_loop(), addr, port, conc, count, cap_s);
}
