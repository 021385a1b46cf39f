/* ferry -W's pump: stdin read into a direct-tcpip channel, the channel
 * written to stdout. Two descriptors, so the pump gets a separate output
 * handle (pump_int.h: out, osock); the rest is the plain pump. */
#include "pump_int.h"

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/log.h"

/* RFC 4254 §5.1's reason codes as ssh names them. */
static const char *
open_reason(uint32_t reason)
{
	switch (reason) {
	case SSH_OPEN_ADMINISTRATIVELY_PROHIBITED:
		return "administratively prohibited";
	case SSH_OPEN_CONNECT_FAILED:
		return "connect failed";
	case SSH_OPEN_UNKNOWN_CHANNEL_TYPE:
		return "unknown channel type";
	case SSH_OPEN_RESOURCE_SHORTAGE:
		return "resource shortage";
	}
	return "unknown reason";
}

void
pump_stdio_open_failed(struct pump *p, const struct ssh_event *ev)
{
	log_verbose("%s: channel open failed: %s: %s", p->label,
	    open_reason(ev->u.open_failed.reason), ev->u.open_failed.message);
	p->hooks->open_failed(p->hooks_ud, p->chan,
	    open_reason(ev->u.open_failed.reason), ev->u.open_failed.message);
}

/* What a descriptor is, for a stream handle: UV_NAMED_PIPE (a pipe, a
 * FIFO or a Unix socket) or UV_TCP; anything else is refused with why. */
static uv_handle_type
stdio_kind(int fd, const char *name, char *err, size_t errlen)
{
	uv_handle_type t = uv_guess_handle(fd);

	switch (t) {
	case UV_NAMED_PIPE:
	case UV_TCP:
		return t;
	case UV_TTY:
		snprintf(err, errlen, "%s is a terminal: -W forwards a pipe or "
		    "a socket (ferry -W is meant as a ProxyCommand)", name);
		break;
	case UV_FILE:
		snprintf(err, errlen, "%s is a file or a device: -W forwards a "
		    "pipe or a socket", name);
		break;
	default:
		snprintf(err, errlen, "%s is not open or not a stream: -W "
		    "forwards a pipe or a socket", name);
		break;
	}
	return UV_UNKNOWN_HANDLE;
}

int
pump_stdio_check(int in_fd, int out_fd, char *err, size_t errlen)
{
	if (stdio_kind(in_fd, "stdin", err, errlen) == UV_UNKNOWN_HANDLE ||
	    stdio_kind(out_fd, "stdout", err, errlen) == UV_UNKNOWN_HANDLE)
		return -1;
	return 0;
}

/* Opens an initialised handle of kind t on fd. */
static int
stdio_open(union pump_sock *s, uv_handle_type t, int fd)
{
	if (t == UV_TCP)
		return uv_tcp_open(&s->tcp, fd);
	return uv_pipe_open(&s->pipe, fd);
}

static void
stdio_init(uv_loop_t *loop, union pump_sock *s, uv_handle_type t)
{
	if (t == UV_TCP)
		uv_tcp_init(loop, &s->tcp);
	else
		uv_pipe_init(loop, &s->pipe, 0);
}

/* A FIFO has no shutdown: its reader sees EOF when it is closed. */
static bool
is_fifo(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
}

int
pump_stdio(struct pump_set *set, uv_loop_t *loop, const char *host,
    uint32_t port, int in_fd, int out_fd, const char *label,
    const struct pump_stdio_hooks *hooks, void *ud, char *err,
    size_t errlen)
{
	struct pump_target t = { OPEN_DIRECT_TCPIP, host, port, NULL };
	uv_handle_type tin, tout;
	struct pump *p = NULL;
	int r;

	if (pump_stdio_check(in_fd, out_fd, err, errlen) != 0)
		goto fail;
	tin = uv_guess_handle(in_fd);
	tout = uv_guess_handle(out_fd);
	if ((p = pump_new(set, loop, tin == UV_NAMED_PIPE, label, NULL)) ==
	    NULL ||
	    (p->osock = calloc(1, sizeof(*p->osock))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	stdio_init(loop, p->osock, tout);
	p->osock->h.data = p;
	p->out = &p->osock->s;
	p->out_close_eof = is_fifo(out_fd);
	if ((r = stdio_open(&p->sock, tin, in_fd)) < 0) {
		snprintf(err, errlen, "cannot use stdin: %s", uv_strerror(r));
		goto fail;
	}
	if ((r = stdio_open(p->osock, tout, out_fd)) < 0) {
		snprintf(err, errlen, "cannot use stdout: %s", uv_strerror(r));
		close(out_fd);
		pump_close(p, false);	/* closes in_fd */
		return -1;
	}
	if (pump_open_channel(p, &t, "127.0.0.1", 65535) != 0) {
		snprintf(err, errlen, "cannot open a channel");
		pump_close(p, false);	/* closes both */
		return -1;
	}
	/* from here on the hooks tell the owner how it ends */
	p->hooks = hooks;
	p->hooks_ud = ud;
	log_verbose("%s: channel %u: direct-tcpip to %s port %u", label,
	    p->chan, host, port);
	return 0;
fail:
	/* no handle took them */
	close(in_fd);
	close(out_fd);
	if (p != NULL)
		pump_close(p, false);
	return -1;
}
