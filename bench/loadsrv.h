/* The servers of bench/'s C load tools (ferry-connrate, ferry-blast): a
 * listener on ADDR port 0 that prints its port on one line and serves
 * with on_conn until stdin closes or SIGTERM/SIGINT. Nothing here is part
 * of ferry or ferryd. */
#ifndef FERRY_BENCH_LOADSRV_H
#define FERRY_BENCH_LOADSRV_H

#include <uv.h>

/* 0 after the loop ended, 1 when it could not listen (said on stderr). */
int	loadsrv_run(uv_loop_t *loop, const char *addr, uv_connection_cb on_conn);
/* A close callback that frees the handle (malloc'd by on_conn). */
void	loadsrv_free_cb(uv_handle_t *h);
/* A number from the command line in lo..hi, or exit 2 naming it. */
long long loadsrv_num(const char *prog, const char *s, long long lo,
	    long long hi);

#endif
