/* ferry-hostile: an SSH client that misbehaves on purpose, for the tests of
 * "ferryd holds up when one of its users is hostile" (issue 10).
 *
 * It drives ferry's engine over a plain non-blocking TCP socket with poll(),
 * so it controls exactly when it reads and writes; raw packets go out with
 * pkt_begin/pkt_end. Every loop is bounded by a count and by -t seconds.
 * Results go to stdout as "word key=value ..." lines (line-buffered).
 *
 *   login                   authenticate, print how long it took
 *   exec-flood N            open a session channel, then send N exec
 *                           requests with want_reply and never read again
 *   ignore-holdback BYTES   send IGNORE packets totalling BYTES, every write
 *                           holding back its last byte (the server always
 *                           has a partial packet)
 *   open-flood N HOST PORT [BATCH]
 *                           N direct-tcpip opens (BATCH at a time, each
 *                           batch answered before the next); count
 *                           confirmations and refusals by reason and message
 *   forward BINDADDR PORT   a tcpip-forward request: reply and time taken
 *   user NAME               a signed publickey attempt as NAME (any bytes)
 *
 * After the attack the connection is kept -H seconds (exec-flood and
 * ignore-holdback without reading; the others still serving it). */
#include "ssh/ssh_int.h"
#include "keys/keyfile.h"
#include "keys/key.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_REASONS	16

struct reason {
	uint32_t	 code;
	char		 msg[128];
	unsigned	 n;
};

struct h {
	int		 fd;
	struct ssh_conn	*c;
	struct key	*key;
	const char	*user;
	bool		 eof;
	bool		 auth_done, authed;
	int		 session;	/* session channel id, -1 if none */
	bool		 session_open;
	unsigned	 confirmed, refused, closed;
	struct reason	 reasons[MAX_REASONS];
	int		 nreasons;
	bool		 greply, gsuccess;
	unsigned	 greplies;
	double		 t0, deadline;
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
ms_left(const struct h *h, double cap)
{
	double left = h->deadline - now();

	if (left > cap)
		left = cap;
	return left <= 0 ? 0 : (int)(left * 1000) + 1;
}

static void
tally(struct h *h, uint32_t code, const char *msg)
{
	int i;

	h->refused++;
	for (i = 0; i < h->nreasons; i++)
		if (h->reasons[i].code == code &&
		    strcmp(h->reasons[i].msg, msg) == 0)
			break;
	if (i == h->nreasons) {
		if (h->nreasons == MAX_REASONS)
			return;
		h->nreasons++;
		h->reasons[i].code = code;
		snprintf(h->reasons[i].msg, sizeof(h->reasons[i].msg), "%s",
		    msg);
	}
	h->reasons[i].n++;
}

static void
on_event(void *ud, struct ssh_event *ev)
{
	struct h *h = ud;

	switch (ev->type) {
	case SSH_EV_HOSTKEY:
		ev->u.hostkey.accept = true;	/* a test tool: trust any */
		break;
	case SSH_EV_AUTH_READY:
		if (ssh_auth_pubkey(h->c, h->user, h->key) != 0)
			h->auth_done = true;
		break;
	case SSH_EV_AUTH_FAILURE:
		h->auth_done = true;
		break;
	case SSH_EV_AUTH_SUCCESS:
		h->auth_done = h->authed = true;
		break;
	case SSH_EV_CHAN_CONFIRM:
		if ((int)ev->chan == h->session)
			h->session_open = true;
		else
			h->confirmed++;
		break;
	case SSH_EV_CHAN_OPEN_FAILED:
		if ((int)ev->chan == h->session)
			h->session = -1;
		tally(h, ev->u.open_failed.reason,
		    ev->u.open_failed.message ? ev->u.open_failed.message : "");
		break;
	case SSH_EV_CHAN_DATA:
		ssh_chan_consumed(h->c, ev->chan, ev->u.data.len);
		break;
	case SSH_EV_CHAN_EOF:
		ssh_chan_close(h->c, ev->chan);
		break;
	case SSH_EV_CHAN_CLOSED:
		h->closed++;
		break;
	case SSH_EV_CHAN_OPEN_REQUEST:
		ev->u.open_request.reason = SSH_OPEN_ADMINISTRATIVELY_PROHIBITED;
		ev->u.open_request.message = "hostile";
		break;
	case SSH_EV_GLOBAL_REPLY:
		h->greply = true;
		h->greplies++;
		h->gsuccess = ev->u.global_reply.success;
		break;
	case SSH_EV_DEBUG:
		printf("debug %s\n", ev->u.text.text);
		break;
	default:
		break;
	}
}

/* Writes up to len bytes; returns how many (0 when the socket is full). */
static ssize_t
put(struct h *h, const uint8_t *p, size_t len)
{
	ssize_t n = write(h->fd, p, len);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	return n;
}

/* One round: waits up to cap seconds for input (if reading) or room for
 * output, then moves what it can. Returns -1 once the connection is gone. */
static int
step(struct h *h, bool reading, double cap)
{
	struct pollfd pfd = { .fd = h->fd };
	const uint8_t *p;
	uint8_t buf[65536];
	size_t len;
	ssize_t n;

	ssh_out_peek(h->c, &p, &len);
	pfd.events = (reading ? POLLIN : 0) | (len > 0 ? POLLOUT : 0);
	if (pfd.events == 0)
		return 0;
	if (poll(&pfd, 1, ms_left(h, cap)) <= 0)
		return 0;
	if (pfd.revents & POLLOUT) {
		if ((n = put(h, p, len)) < 0)
			return -1;
		ssh_out_consume(h->c, (size_t)n);
	}
	if (reading && (pfd.revents & (POLLIN | POLLHUP | POLLERR))) {
		n = read(h->fd, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			h->eof = true;
			return -1;
		}
		if (n > 0 && ssh_feed(h->c, buf, (size_t)n) != 0) {
			printf("error %s\n", ssh_error(h->c));
			return -1;
		}
	}
	return 0;
}

/* Serves the connection until *flag is set, time runs out or it ends. */
static bool
run_until(struct h *h, const bool *flag)
{
	while (!*flag && now() < h->deadline)
		if (step(h, true, 0.2) != 0)
			break;
	return *flag;
}

/* Writes everything queued, without reading. */
static bool
flush(struct h *h)
{
	while (ssh_out_pending(h->c) > 0 && now() < h->deadline)
		if (step(h, false, 0.2) != 0)
			return false;
	return ssh_out_pending(h->c) == 0;
}

static int
dial(const char *host, int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd, one = 1;

	sin.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1 ||
	    (fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

static void
hold(struct h *h, double seconds, bool reading)
{
	double end = now() + seconds;

	h->deadline = end;
	while (now() < end && !h->eof) {
		if (reading)
			step(h, true, 0.2);
		else
			usleep(50000);
	}
}

/* exec-flood: every request asks for a reply that is never read. First
 * 32 refused forwards with long names fill the server's forwards listing
 * (what a shell or exec request is shown). */
static int
exec_flood(struct h *h, long n)
{
	char name[240];
	struct wb extra;
	uint32_t rid;
	long i, sent = 0;
	bool done;

	wb_init(&extra);
	for (i = 0; i < 32; i++) {
		memset(name, 'h', sizeof(name));
		snprintf(name + 200, sizeof(name) - 200, "%ld", i);
		extra.len = 0;
		wb_cstring(&extra, name);
		wb_u32(&extra, 1);	/* privileged: refused, noted */
		ssh_global_request(h->c, "tcpip-forward", true, extra.p,
		    extra.len, NULL);
	}
	wb_free(&extra);
	while (h->greplies < 32 && now() < h->deadline)
		if (step(h, true, 0.2) != 0)
			break;
	printf("forwards refused=%u\n", h->greplies);
	h->session = ssh_chan_open(h->c, "session", NULL, 0, NULL);
	if (h->session < 0 || !run_until(h, &h->session_open)) {
		printf("error no session channel\n");
		return 1;
	}
	printf("session open\n");
	rid = h->c->chans[h->session].remote_id;
	for (i = 0; i < n && now() < h->deadline; i++) {
		if (pkt_begin(h->c, MSG_CHANNEL_REQUEST) != 0)
			return 1;
		wb_u32(&h->c->out, rid);
		wb_cstring(&h->c->out, i % 2 ? "shell" : "exec");
		wb_bool(&h->c->out, true);
		if (i % 2 == 0)
			wb_cstring(&h->c->out, "true");
		if (pkt_end(h->c) != 0)
			return 1;
		/* write in batches; never read */
		if (ssh_out_pending(h->c) >= 64 * 1024 && !flush(h))
			break;
		sent = i + 1;
	}
	done = flush(h) && sent == n;
	printf("sent requests=%ld seconds=%.3f complete=%d\n", sent,
	    now() - h->t0, done);
	return 0;
}

/* ignore-holdback: the server never sees a packet boundary at the end of
 * what it has read. */
static int
ignore_holdback(struct h *h, long long total)
{
	static uint8_t pad[32 * 1024], out[1024 * 1024];
	size_t olen = 0, len, k;
	long long queued = 0, written = 0;
	const uint8_t *p;
	ssize_t n;
	struct pollfd pfd = { .fd = h->fd, .events = POLLOUT };

	while (now() < h->deadline) {
		/* refill our buffer with whole packets */
		while (queued < total &&
		    olen + sizeof(pad) + 256 <= sizeof(out)) {
			k = sizeof(pad);
			if ((long long)k > total - queued)
				k = (size_t)(total - queued);
			if (pkt_begin(h->c, MSG_IGNORE) != 0 ||
			    wb_string(&h->c->out, pad, k) != 0 ||
			    pkt_end(h->c) != 0)
				return 1;
			queued += (long long)k;
			ssh_out_peek(h->c, &p, &len);
			memcpy(out + olen, p, len);
			olen += len;
			ssh_out_consume(h->c, len);
		}
		if (queued >= total && olen <= 1)
			break;		/* all written but the last byte */
		/* write all but the last byte */
		if (poll(&pfd, 1, ms_left(h, 0.2)) <= 0)
			continue;
		if ((n = put(h, out, olen - 1)) < 0)
			break;
		memmove(out, out + n, olen - (size_t)n);
		olen -= (size_t)n;
		written += n;
	}
	printf("sent bytes=%lld payload=%lld seconds=%.3f complete=%d\n",
	    written, queued, now() - h->t0, queued >= total && olen == 1);
	return 0;
}

/* Opens n direct-tcpip channels, batch at a time (each batch answered
 * before the next), and counts the answers. */
static int
open_flood(struct h *h, long n, const char *host, int port, long batch)
{
	struct wb extra;
	long opened = 0, k;
	int r;

	wb_init(&extra);
	ssh_direct_tcpip_extra(&extra, host, (uint32_t)port, "127.0.0.1", 4242);
	while (opened < n && now() < h->deadline && !h->eof) {
		for (k = 0; k < batch && opened < n; k++, opened++)
			if (ssh_chan_open(h->c, "direct-tcpip", extra.p,
			    extra.len, NULL) < 0)
				break;
		if (k < batch && opened < n)
			break;
		while (h->confirmed + h->refused < (unsigned long)opened &&
		    now() < h->deadline)
			if (step(h, true, 0.2) != 0)
				break;
	}
	wb_free(&extra);
	printf("result opened=%ld confirmed=%u refused=%u pending=%ld "
	    "seconds=%.3f\n", opened, h->confirmed, h->refused,
	    opened - (long)(h->confirmed + h->refused), now() - h->t0);
	for (r = 0; r < h->nreasons; r++)
		printf("refused reason=%u count=%u message=%s\n",
		    h->reasons[r].code, h->reasons[r].n, h->reasons[r].msg);
	return 0;
}

static int
forward(struct h *h, const char *addr, int port)
{
	struct wb extra;
	double t;

	wb_init(&extra);
	wb_cstring(&extra, addr);
	wb_u32(&extra, (uint32_t)port);
	t = now();
	ssh_global_request(h->c, "tcpip-forward", true, extra.p, extra.len,
	    NULL);
	wb_free(&extra);
	run_until(h, &h->greply);
	printf("forward reply=%s seconds=%.3f\n", !h->greply ? "none" :
	    h->gsuccess ? "success" : "failure", now() - t);
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: ferry-hostile -p PORT -i KEYFILE [-h HOST] "
	    "[-l USER] [-t SECONDS] [-H HOLD]\n"
	    "  login | exec-flood N | ignore-holdback BYTES |\n"
	    "  open-flood N HOST PORT [BATCH] | forward BINDADDR PORT | user NAME\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct h h = { .fd = -1, .session = -1 };
	struct ssh_config cfg = { .role = SSH_ROLE_CLIENT, .event = on_event,
	    .event_ud = &h, .rekey_bytes = 1ULL << 62 };
	const char *host = "127.0.0.1", *keyfile = NULL, *mode;
	double limit = 30, holdfor = 0;
	char err[256];
	int port = 0, ch, rc = 0;

	h.user = getenv("USER") ? getenv("USER") : "root";
	while ((ch = getopt(argc, argv, "p:h:l:i:t:H:")) != -1) {
		switch (ch) {
		case 'p': port = atoi(optarg); break;
		case 'h': host = optarg; break;
		case 'l': h.user = optarg; break;
		case 'i': keyfile = optarg; break;
		case 't': limit = atof(optarg); break;
		case 'H': holdfor = atof(optarg); break;
		default: usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || port <= 0 || keyfile == NULL)
		usage();
	mode = argv[0];
	if (!((strcmp(mode, "login") == 0 && argc == 1) ||
	    (strcmp(mode, "exec-flood") == 0 && argc == 2) ||
	    (strcmp(mode, "ignore-holdback") == 0 && argc == 2) ||
	    (strcmp(mode, "open-flood") == 0 && (argc == 4 || argc == 5)) ||
	    (strcmp(mode, "forward") == 0 && argc == 3) ||
	    (strcmp(mode, "user") == 0 && argc == 2)))
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (keyfile_load_private(keyfile, &h.key, err, sizeof(err)) != 0) {
		fprintf(stderr, "ferry-hostile: %s: %s\n", keyfile, err);
		return 1;
	}
	if (strcmp(mode, "user") == 0)
		h.user = argv[1];
	if (strcmp(mode, "exec-flood") == 0)
		cfg.window = 1U << 30;	/* let the server send all it wants */
	h.t0 = now();
	h.deadline = h.t0 + limit;
	if ((h.fd = dial(host, port)) < 0) {
		fprintf(stderr, "ferry-hostile: cannot connect to %s port %d\n",
		    host, port);
		return 1;
	}
	if ((h.c = ssh_conn_new(&cfg)) == NULL)
		return 1;
	run_until(&h, &h.auth_done);
	if (strcmp(mode, "user") == 0) {
		printf("auth result=%s seconds=%.3f\n", h.authed ? "success" :
		    h.auth_done ? "failure" : "none", now() - h.t0);
		goto out;
	}
	if (!h.authed) {
		printf("error not authenticated as %s%s%s\n", h.user,
		    ssh_error(h.c) ? ": " : "",
		    ssh_error(h.c) ? ssh_error(h.c) : "");
		rc = 1;
		goto out;
	}
	printf("authenticated user=%s seconds=%.3f\n", h.user, now() - h.t0);
	if (strcmp(mode, "exec-flood") == 0)
		rc = exec_flood(&h, atol(argv[1]));
	else if (strcmp(mode, "ignore-holdback") == 0)
		rc = ignore_holdback(&h, atoll(argv[1]));
	else if (strcmp(mode, "open-flood") == 0)
		rc = open_flood(&h, atol(argv[1]), argv[2], atoi(argv[3]),
		    argc == 5 && atol(argv[4]) > 0 ? atol(argv[4]) :
		    atol(argv[1]));
	else if (strcmp(mode, "forward") == 0)
		rc = forward(&h, argv[1], atoi(argv[2]));
	if (holdfor > 0) {
		printf("holding seconds=%.1f\n", holdfor);
		hold(&h, holdfor, strcmp(mode, "exec-flood") != 0 &&
		    strcmp(mode, "ignore-holdback") != 0);
	}
out:
	printf("done\n");
	ssh_conn_free(h.c);
	key_free(h.key);
	close(h.fd);
	return rc;
}
