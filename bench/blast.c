/* ferry-blast: bulk streams in C for bench/, so that the load generator
 * costs little next to the tunnels it measures and drives many streams
 * without a Python interpreter's lock in the way.
 *
 *   ferry-blast sink [-a ADDR]
 *       Per connection: reads to EOF, then answers the byte count on one
 *       line and closes.
 *   ferry-blast source -n BYTES [-a ADDR]
 *       Per connection: waits for one byte, then sends BYTES and closes.
 *   ferry-blast up -n BYTES -p PORT[,PORT...] [-a ADDR] [-t SECONDS]
 *       One stream per port (a port may repeat), all connected first, then
 *       released at once: each sends BYTES, shuts down its write side and
 *       reads the sink's count, which must be BYTES.
 *   ferry-blast down -n BYTES -p PORT[,PORT...] [-a ADDR] [-t SECONDS]
 *       The same the other way: each sends one byte to release its source
 *       and reads to EOF, which must come after BYTES.
 *
 * The servers print their port and serve until stdin closes (loadsrv.h).
 * up and down print one JSON line: streams, ok, bytes, seconds (from the
 * release until the last stream ended), MBps, the first error; they stop
 * at the -t cap (300 s). One thread, one libuv loop. Nothing here is part
 * of ferry or ferryd (bench/bench_pair.py runs it). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "loadsrv.h"

#define PROG		"ferry-blast"
#define CHUNK		(1024 * 1024)
#define MAX_STREAMS	1024

static char	 pattern[CHUNK];	/* what every stream sends */
static char	 rbuf[256 * 1024];	/* what every reader reads into */

/* ---- the servers -------------------------------------------------------- */

/* One server connection: owned by itself, freed in its close callback. */
struct sconn {
	uv_tcp_t	 tcp;
	uv_write_t	 wreq;
	uint64_t	 count;		/* sink: read so far */
	uint64_t	 left;		/* source: still to send */
	char		 line[32];
};

static uint64_t	 source_bytes;

static void
srv_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	(void)h, (void)hint;
	*b = uv_buf_init(rbuf, sizeof rbuf);
}

static void
srv_close(struct sconn *c)
{
	if (!uv_is_closing((uv_handle_t *)&c->tcp))
		uv_close((uv_handle_t *)&c->tcp, loadsrv_free_cb);
}

static void
srv_written_close(uv_write_t *w, int status)
{
	(void)status;
	srv_close(w->data);
}

static void
sink_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct sconn	*c = s->data;
	uv_buf_t	 out;

	(void)b;
	if (n > 0) {
		c->count += (uint64_t)n;
		return;
	}
	if (n == 0)
		return;
	uv_read_stop(s);
	if (n != UV_EOF) {
		srv_close(c);
		return;
	}
	out = uv_buf_init(c->line, (unsigned)snprintf(c->line,
	    sizeof c->line, "%llu\n", (unsigned long long)c->count));
	c->wreq.data = c;
	if (uv_write(&c->wreq, s, &out, 1, srv_written_close) != 0)
		srv_close(c);
}

static void	source_more(uv_write_t *w, int status);

static void
source_send(struct sconn *c)
{
	uv_buf_t	 out;
	size_t		 n = c->left < CHUNK ? (size_t)c->left : CHUNK;

	if (n == 0) {
		srv_close(c);
		return;
	}
	c->left -= n;
	out = uv_buf_init(pattern, (unsigned)n);
	c->wreq.data = c;
	if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &out, 1,
	    source_more) != 0)
		srv_close(c);
}

static void
source_more(uv_write_t *w, int status)
{
	if (status < 0)
		srv_close(w->data);
	else
		source_send(w->data);
}

static void
source_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	(void)b;
	if (n == 0)
		return;
	uv_read_stop(s);
	if (n < 0)
		srv_close(s->data);
	else
		source_send(s->data);
}

static void
srv_accept(uv_stream_t *srv, int status, bool sink)
{
	struct sconn	*c;

	if (status < 0 || (c = calloc(1, sizeof *c)) == NULL)
		return;
	uv_tcp_init(srv->loop, &c->tcp);
	c->tcp.data = c;
	c->left = source_bytes;
	if (uv_accept(srv, (uv_stream_t *)&c->tcp) != 0) {
		srv_close(c);
		return;
	}
	uv_read_start((uv_stream_t *)&c->tcp, srv_alloc,
	    sink ? sink_read : source_read);
}

static void
sink_accept(uv_stream_t *srv, int status)
{
	srv_accept(srv, status, true);
}

static void
source_accept(uv_stream_t *srv, int status)
{
	srv_accept(srv, status, false);
}

/* ---- the streams -------------------------------------------------------- */

struct blast;

/* One stream: owned by the blast's array. */
struct stream {
	struct blast	*b;
	uv_tcp_t	 tcp;
	uv_connect_t	 creq;
	uv_write_t	 wreq;
	uv_shutdown_t	 sreq;
	uint64_t	 left;		/* up: still to send */
	uint64_t	 got;		/* down: read so far */
	char		 reply[32];	/* up: the sink's count */
	size_t		 rlen;
	bool		 ended;
};

struct blast {
	uv_loop_t		*loop;
	bool			 up;
	uint64_t		 bytes;		/* per stream */
	int			 n, connected, ended, ok;
	struct stream		*s;
	uint64_t		 t0, t_end;
	uv_timer_t		 cap;
	char			 error[200];
};

static void	stream_send(struct stream *st);

static void
blast_fail(struct blast *b, const char *what, int port_index, const char *e)
{
	if (b->error[0] == '\0')
		snprintf(b->error, sizeof b->error, "stream %d: %s: %s",
		    port_index, what, e);
}

static void
stream_end(struct stream *st, bool ok, const char *why)
{
	struct blast	*b = st->b;

	if (st->ended)
		return;
	st->ended = true;
	if (ok)
		b->ok++;
	else
		blast_fail(b, "failed", (int)(st - b->s), why);
	b->t_end = uv_hrtime();
	uv_close((uv_handle_t *)&st->tcp, NULL);
	if (++b->ended == b->n) {
		uv_timer_stop(&b->cap);
		uv_close((uv_handle_t *)&b->cap, NULL);
	}
}

static void
stream_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	(void)h, (void)hint;
	*buf = uv_buf_init(rbuf, sizeof rbuf);
}

static void
up_reply(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct stream	*st = s->data;
	char		 want[32];

	if (n > 0) {
		if (st->rlen + (size_t)n >= sizeof st->reply) {
			stream_end(st, false, "the sink's answer is too long");
			return;
		}
		memcpy(st->reply + st->rlen, buf->base, (size_t)n);
		st->rlen += (size_t)n;
		return;
	}
	if (n == 0)
		return;
	st->reply[st->rlen] = '\0';
	snprintf(want, sizeof want, "%llu\n", (unsigned long long)st->b->bytes);
	if (n != UV_EOF)
		stream_end(st, false, uv_strerror((int)n));
	else
		stream_end(st, strcmp(st->reply, want) == 0,
		    "the sink counted another number of bytes");
}

static void
down_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct stream	*st = s->data;

	(void)buf;
	if (n > 0) {
		st->got += (uint64_t)n;
		return;
	}
	if (n == 0)
		return;
	if (n != UV_EOF)
		stream_end(st, false, uv_strerror((int)n));
	else
		stream_end(st, st->got == st->b->bytes,
		    "the source sent another number of bytes");
}

static void
up_shut(uv_shutdown_t *r, int status)
{
	struct stream	*st = r->data;

	if (status < 0)
		stream_end(st, false, uv_strerror(status));
}

static void
stream_sent(uv_write_t *w, int status)
{
	struct stream	*st = w->data;

	if (status < 0) {
		stream_end(st, false, uv_strerror(status));
		return;
	}
	if (st->b->up)
		stream_send(st);
}

static void
stream_send(struct stream *st)
{
	size_t		 n = st->left < CHUNK ? (size_t)st->left : CHUNK;
	uv_buf_t	 out;

	if (st->ended)
		return;
	if (n == 0) {
		st->sreq.data = st;
		if (uv_shutdown(&st->sreq, (uv_stream_t *)&st->tcp,
		    up_shut) != 0)
			stream_end(st, false, "shutdown failed");
		return;
	}
	st->left -= n;
	out = uv_buf_init(pattern, (unsigned)n);
	st->wreq.data = st;
	if (uv_write(&st->wreq, (uv_stream_t *)&st->tcp, &out, 1,
	    stream_sent) != 0)
		stream_end(st, false, "write failed");
}

/* Every stream is connected: the clock starts. */
static void
release(struct blast *b)
{
	static char	 go = 'g';
	uv_buf_t	 one = uv_buf_init(&go, 1);
	int		 i;

	b->t0 = uv_hrtime();
	for (i = 0; i < b->n; i++) {
		struct stream *st = &b->s[i];

		st->left = b->up ? b->bytes : 0;
		uv_read_start((uv_stream_t *)&st->tcp, stream_alloc,
		    b->up ? up_reply : down_read);
		if (b->up)
			stream_send(st);
		else {
			st->wreq.data = st;
			if (uv_write(&st->wreq, (uv_stream_t *)&st->tcp, &one,
			    1, stream_sent) != 0)
				stream_end(st, false, "write failed");
		}
	}
}

static void
stream_connected(uv_connect_t *c, int status)
{
	struct stream	*st = c->data;
	struct blast	*b = st->b;

	int		 i;

	if (status < 0) {	/* the run is void: every stream ends */
		stream_end(st, false, uv_strerror(status));
		for (i = 0; i < b->n; i++)
			stream_end(&b->s[i], false, "another stream failed");
		return;
	}
	if (++b->connected == b->n)
		release(b);
}

static void
cap_cb(uv_timer_t *t)
{
	struct blast	*b = t->data;
	int		 i;

	blast_fail(b, "time cap", -1, "reached");
	for (i = 0; i < b->n; i++)
		stream_end(&b->s[i], false, "time cap reached");
}

static int
parse_ports(const char *list, int *ports)
{
	char		 buf[8192], *tok, *save = NULL;
	int		 n = 0;

	if (strlen(list) >= sizeof buf)
		return -1;
	strcpy(buf, list);
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if (n == MAX_STREAMS)
			return -1;
		ports[n++] = (int)loadsrv_num(PROG, tok, 1, 65535);
	}
	return n;
}

static int
run_streams(uv_loop_t *loop, bool up, const char *addr, const char *list,
    uint64_t bytes, int cap_s)
{
	static int	 ports[MAX_STREAMS];
	struct blast	 b;
	double		 secs;
	int		 i;

	memset(&b, 0, sizeof b);
	b.loop = loop;
	b.up = up;
	b.bytes = bytes;
	if ((b.n = parse_ports(list, ports)) <= 0) {
		fprintf(stderr, "%s: -p wants 1..%d ports\n", PROG,
		    MAX_STREAMS);
		return 2;
	}
	if ((b.s = calloc((size_t)b.n, sizeof *b.s)) == NULL)
		abort();
	uv_timer_init(loop, &b.cap);
	b.cap.data = &b;
	uv_timer_start(&b.cap, cap_cb, (uint64_t)cap_s * 1000, 0);
	for (i = 0; i < b.n; i++) {
		struct stream		*st = &b.s[i];
		struct sockaddr_in	 to;

		st->b = &b;
		uv_tcp_init(loop, &st->tcp);
		st->tcp.data = st;
		st->creq.data = st;
		if (uv_ip4_addr(addr, ports[i], &to) != 0 ||
		    uv_tcp_connect(&st->creq, &st->tcp,
		    (struct sockaddr *)&to, stream_connected) != 0)
			stream_end(st, false, "cannot connect");
	}
	uv_run(loop, UV_RUN_DEFAULT);
	secs = b.t0 && b.t_end > b.t0 ? (double)(b.t_end - b.t0) / 1e9 : 0;
	printf("{\"streams\": %d, \"ok\": %d, \"bytes\": %llu, "
	    "\"seconds\": %.4f, \"MBps\": %.1f, \"error\": \"%s\"}\n", b.n,
	    b.ok, (unsigned long long)(bytes * (uint64_t)b.ok), secs,
	    secs > 0 ? (double)bytes * b.ok / secs / 1e6 : 0, b.error);
	free(b.s);
	return b.ok == b.n ? 0 : 1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: %s sink|source [-n BYTES] [-a ADDR]\n"
	    "       %s up|down -n BYTES -p PORT[,PORT...] [-a ADDR] "
	    "[-t SECONDS]\n", PROG, PROG);
	exit(2);
}

int
main(int argc, char **argv)
{
	const char	*addr = "127.0.0.1", *ports = NULL, *mode;
	long long	 bytes = -1;
	int		 ch, cap_s = 300, i;

	if (argc < 2)
		usage();
	mode = argv[1];
	optind = 2;
	while ((ch = getopt(argc, argv, "a:n:p:t:")) != -1) {
		switch (ch) {
		case 'a': addr = optarg; break;
		case 'n': bytes = loadsrv_num(PROG, optarg, 0, 1LL << 50); break;
		case 'p': ports = optarg; break;
		case 't': cap_s = (int)loadsrv_num(PROG, optarg, 1, 3600); break;
		default: usage();
		}
	}
	for (i = 0; i < CHUNK; i++)
		pattern[i] = (char)(i * 131 + 7);
	if (strcmp(mode, "sink") == 0)
		return loadsrv_run(uv_default_loop(), addr, sink_accept);
	if (strcmp(mode, "source") == 0 && bytes >= 0) {
		source_bytes = (uint64_t)bytes;
		return loadsrv_run(uv_default_loop(), addr, source_accept);
	}
	if ((strcmp(mode, "up") == 0 || strcmp(mode, "down") == 0) &&
	    bytes >= 0 && ports != NULL)
		return run_streams(uv_default_loop(), mode[0] == 'u', addr,
		    ports, (uint64_t)bytes, cap_s);
	usage();
	return 2;
}
