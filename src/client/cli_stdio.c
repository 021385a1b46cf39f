/* ferry -W host:port: stdin and stdout forwarded to host:port over one
 * direct-tcpip channel (the pump does the work, fwd/pump_stdio.c), so
 * that ferry can be ssh's ProxyCommand. ferry ends with the channel.
 * stdout carries the data: everything else goes to stderr (util/log). */
#include "cli_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

/* As ssh words it: "channel 0: open failed: connect failed: ...". */
static void
stdio_open_failed(void *ud, uint32_t chan, const char *reason,
    const char *msg)
{
	struct client *cl = ud;

	log_error("channel %u: open failed: %s%s%s", chan, reason,
	    msg[0] != '\0' ? ": " : "", msg);
	cli_stop(cl, EXIT_FAILURE_SSH, "stdio forwarding failed");
}

/* The pump is gone: both directions over (0), or it failed (255; a lost
 * connection was already reported by the client). */
static void
stdio_gone(void *ud, bool clean)
{
	struct client *cl = ud;

	if (clean) {
		log_verbose("stdio forwarding to %s port %d done",
		    cl->o->stdio_host, cl->o->stdio_port);
		cli_stop(cl, 0, NULL);
		return;
	}
	cli_stop(cl, EXIT_FAILURE_SSH, cl->nc != NULL ?
	    "stdio forwarding ended with an error" : NULL);
}

static const struct pump_stdio_hooks stdio_hooks = {
	.open_failed = stdio_open_failed,
	.gone = stdio_gone,
};

/* A copy of fd above stderr, /dev/null left in its place. libuv never
 * closes descriptors 0 to 2, and closing is how the reader of a pipe
 * learns that stdout ended (and how its writer learns that stdin is no
 * longer read). Returns the copy, or -1. */
static int
take_fd(int fd)
{
	int nfd, null;

	if ((nfd = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1)) < 0)
		return -1;
	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		goto fail;
	if (dup2(null, fd) < 0) {
		close(null);
		goto fail;
	}
	close(null);
	return nfd;
fail:
	close(nfd);
	return -1;
}

void
cli_stdio_start(struct client *cl)
{
	char label[300], err[300];
	int in = -1, out = -1;

	snprintf(label, sizeof(label), "-W %s:%d", cl->o->stdio_host,
	    cl->o->stdio_port);
	if ((in = take_fd(STDIN_FILENO)) < 0 ||
	    (out = take_fd(STDOUT_FILENO)) < 0) {
		snprintf(err, sizeof(err), "cannot take over %s: %s",
		    in < 0 ? "stdin" : "stdout", strerror(errno));
		goto fail;
	}
	if (pump_stdio(&cl->pumps, cl->loop, cl->o->stdio_host,
	    (uint32_t)cl->o->stdio_port, in, out, label, &stdio_hooks, cl,
	    err, sizeof(err)) != 0)
		goto fail;
	return;
fail:
	log_error("stdio forwarding failed: %s", err);
	cli_stop(cl, EXIT_FAILURE_SSH, NULL);
}
