/* ferry -O (client/muxclient.h). */
#include "client/muxclient.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fwd/muxproto.h"

/* How long the master may take to answer one request. */
#define MUX_WAIT_MS	10000
#define MUX_REPLY_MAX	4096

static int
send_all(int fd, const struct wb *w)
{
	size_t off = 0;
	ssize_t n;

	while (off < w->len) {
		if ((n = send(fd, w->p + off, w->len - off, MSG_NOSIGNAL)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += (size_t)n;
	}
	return 0;
}

/* Reads exactly len bytes, each wait bounded. */
static int
read_full(int fd, uint8_t *p, size_t len)
{
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		if (poll(&pf, 1, MUX_WAIT_MS) <= 0)
			return -1;
		if ((n = read(fd, p + off, len - off)) <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return -1;
		}
		off += (size_t)n;
	}
	return 0;
}

/* Sends req and reads one answer into r. */
static int
exchange(int fd, const struct wb *req, struct mux_reply *r)
{
	uint8_t buf[MUX_REPLY_MAX];
	uint32_t n;

	if (send_all(fd, req) != 0 || read_full(fd, buf, 4) != 0)
		return -1;
	n = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
	    (uint32_t)buf[2] << 8 | buf[3];
	if (n < 4 || n > sizeof(buf) - 4 || read_full(fd, buf + 4, n) != 0)
		return -1;
	return mux_parse_reply(buf, n + 4, r);
}

static int
connect_master(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "ControlPath too long\n");
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		fprintf(stderr, "Control socket connect(%s): %s\n", path,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* The answer to a request without forwards. */
static int
simple(int fd, uint32_t type, const char *done)
{
	struct mux_reply r = { 0 };
	struct wb req;
	int rc = 255;

	wb_init(&req);
	mux_request(&req, type, 1);
	if (exchange(fd, &req, &r) != 0 && type == MUX_C_TERMINATE) {
		/* a master may end before it answers, as ssh allows */
		fprintf(stderr, "%s\n", done);
		rc = 0;
	} else if (r.type == 0)
		fprintf(stderr, "mux_client: no answer from the master\n");
	else if (r.type == MUX_S_ALIVE && type == MUX_C_ALIVE_CHECK) {
		fprintf(stderr, "Master running (pid=%u)\n", r.value);
		rc = 0;
	} else if (r.type == MUX_S_OK && done != NULL) {
		fprintf(stderr, "%s\n", done);
		rc = 0;
	} else
		fprintf(stderr, "Master refused the request: %s\n",
		    r.reason[0] ? r.reason : "unexpected answer");
	wb_free(&req);
	return rc;
}

/* -O forward / cancel: each forward of the command line in turn. */
static int
forwards(int fd, const struct options *o, bool open)
{
	const struct fwd_spec *specs[2] = { o->local, o->remote };
	int counts[2] = { o->nlocal, o->nremote }, k, i, rc = 0;
	struct mux_reply r;
	struct wb req;

	wb_init(&req);
	for (k = 0; k < 2; k++)
		for (i = 0; i < counts[k]; i++) {
			wb_reset(&req);
			mux_request_fwd(&req, open ? MUX_C_OPEN_FWD :
			    MUX_C_CLOSE_FWD, (uint32_t)(k * 1000 + i + 1),
			    &specs[k][i]);
			if (exchange(fd, &req, &r) != 0) {
				fprintf(stderr, "mux_client: no answer from "
				    "the master\n");
				rc = 255;
			} else if (r.type == MUX_S_REMOTE_PORT)
				printf("%u\n", r.value);
			else if (r.type != MUX_S_OK) {
				fprintf(stderr, "Master refused the "
				    "forward: %s\n", r.reason);
				rc = 255;
			}
		}
	wb_free(&req);
	return rc;
}

int
mux_command(const struct options *o)
{
	static const char *const cmds[] = { "check", "forward", "cancel",
	    "exit", "stop" };
	struct mux_reply r;
	struct wb hello;
	size_t c;
	int fd, rc;

	for (c = 0; c < sizeof(cmds) / sizeof(cmds[0]); c++)
		if (strcmp(cmds[c], o->mux_command) == 0)
			break;
	if (c == sizeof(cmds) / sizeof(cmds[0])) {
		fprintf(stderr, "Invalid multiplex command.\n");
		return 255;
	}
	if (o->control_path == NULL) {
		fprintf(stderr, "No ControlPath specified for \"-O\" "
		    "command\n");
		return 255;
	}
	if ((fd = connect_master(o->control_path)) < 0)
		return 255;
	wb_init(&hello);
	mux_hello(&hello);
	if (exchange(fd, &hello, &r) != 0 || r.type != MUX_MSG_HELLO ||
	    r.value != MUX_VERSION) {
		fprintf(stderr, "mux_client_hello_exchange: the master does "
		    "not speak version %d\n", MUX_VERSION);
		rc = 255;
	} else if (c == 1 || c == 2)
		rc = forwards(fd, o, c == 1);
	else
		rc = simple(fd, c == 0 ? MUX_C_ALIVE_CHECK : c == 3 ?
		    MUX_C_TERMINATE : MUX_C_STOP_LISTENING, c == 3 ?
		    "Exit request sent." : c == 4 ?
		    "Stop listening request sent." : NULL);
	wb_free(&hello);
	close(fd);
	return rc;
}
