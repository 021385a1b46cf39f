/* bench/'s load tool servers (loadsrv.h). */
#include "loadsrv.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

static void
stop_on_signal(uv_signal_t *s, int signum)
{
	(void)signum;
	uv_stop(s->loop);
}

static void
stdin_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	static char	 buf[256];

	(void)h, (void)hint;
	*b = uv_buf_init(buf, sizeof buf);
}

static void
stdin_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	(void)b;
	if (n < 0)
		uv_stop(s->loop);
}

void
loadsrv_free_cb(uv_handle_t *h)
{
	free(h);
}

long long
loadsrv_num(const char *prog, const char *s, long long lo, long long hi)
{
	char		*end;
	long long	 v = strtoll(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "%s: bad number '%s' (%lld..%lld)\n", prog, s,
		    lo, hi);
		exit(2);
	}
	return v;
}

int
loadsrv_run(uv_loop_t *loop, const char *addr, uv_connection_cb on_conn)
{
	struct sockaddr_in	 sin;
	struct sockaddr_storage	 got;
	uv_tcp_t		 srv;
	uv_pipe_t		 in;
	uv_signal_t		 term, intr;
	int			 len = sizeof got;

	if (uv_ip4_addr(addr, 0, &sin) != 0 || uv_tcp_init(loop, &srv) != 0 ||
	    uv_tcp_bind(&srv, (struct sockaddr *)&sin, 0) != 0 ||
	    uv_listen((uv_stream_t *)&srv, 4096, on_conn) != 0 ||
	    uv_tcp_getsockname(&srv, (struct sockaddr *)&got, &len) != 0) {
		fprintf(stderr, "cannot listen on %s\n", addr);
		return 1;
	}
	printf("%d\n", ntohs(((struct sockaddr_in *)&got)->sin_port));
	fflush(stdout);
	signal(SIGPIPE, SIG_IGN);
	uv_signal_init(loop, &term);
	uv_signal_start(&term, stop_on_signal, SIGTERM);
	uv_signal_init(loop, &intr);
	uv_signal_start(&intr, stop_on_signal, SIGINT);
	uv_pipe_init(loop, &in, 0);
	if (uv_pipe_open(&in, 0) == 0)
		uv_read_start((uv_stream_t *)&in, stdin_alloc, stdin_read);
	uv_run(loop, UV_RUN_DEFAULT);
	return 0;
}
