/* ProxyCommand: a command's stdio as the connection (net/proxy.h). */
#include "net/proxy.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The shell ssh runs a proxy command with: $SHELL, else /bin/sh. */
static const char *
proxy_shell(void)
{
	const char *sh = getenv("SHELL");

	return sh != NULL && sh[0] == '/' ? sh : "/bin/sh";
}

int
proxy_spawn(uv_loop_t *loop, const char *command, uv_process_t *proc,
    uv_pipe_t *pipe, uv_exit_cb on_exit, bool *spawned, char *err,
    size_t errlen)
{
	uv_process_options_t po;
	uv_stdio_container_t io[3];
	char *line, *argv[4];
	int sv[2], r;

	memset(&po, 0, sizeof(po));
	*spawned = false;
	if ((line = malloc(strlen(command) + 6)) == NULL) {
		snprintf(err, errlen, "ProxyCommand: out of memory");
		return UV_ENOMEM;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		r = -errno;
		snprintf(err, errlen, "ProxyCommand: socketpair: %s",
		    strerror(errno));
		free(line);
		return r;
	}
	sprintf(line, "exec %s", command);
	argv[0] = (char *)proxy_shell();
	argv[1] = "-c";
	argv[2] = line;
	argv[3] = NULL;
	io[0].flags = UV_INHERIT_FD;
	io[0].data.fd = sv[1];
	io[1] = io[0];
	io[2].flags = UV_INHERIT_FD;
	io[2].data.fd = STDERR_FILENO;
	po.file = argv[0];
	po.args = argv;
	po.stdio = io;
	po.stdio_count = 3;
	po.exit_cb = on_exit;
	r = uv_spawn(loop, proc, &po);
	*spawned = true;	/* a handle to close even when it failed */
	free(line);
	close(sv[1]);
	if (r != 0) {
		close(sv[0]);
		snprintf(err, errlen, "ProxyCommand: cannot run %s: %s",
		    argv[0], uv_strerror(r));
		return r;
	}
	if ((r = uv_pipe_open(pipe, sv[0])) != 0) {
		close(sv[0]);
		snprintf(err, errlen, "ProxyCommand: %s", uv_strerror(r));
		/* the caller still waits for its exit */
		uv_process_kill(proc, SIGHUP);
		return 0;
	}
	return 0;
}
