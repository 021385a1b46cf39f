/* ProxyCommand (ssh_config(5)): an SSH connection carried by a command's
 * standard input and output instead of a TCP socket. The command runs
 * under the user's shell as "exec COMMAND", as ssh runs it, with stdin
 * and stdout both one end of a socketpair and stderr shared with ferry;
 * ferry keeps the other end as a uv_pipe_t. */
#ifndef FERRY_NET_PROXY_H
#define FERRY_NET_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

/* Starts command (tokens already expanded) as proc and opens pipe (which
 * the caller initialised) on ferry's end of its stdio. Once *spawned is
 * set, proc is a handle the caller closes: on success in on_exit, when
 * the command has ended (closing it earlier would leave the child
 * unreaped), on failure at once. Returns 0, or a libuv error with err
 * saying what failed. */
int	proxy_spawn(uv_loop_t *loop, const char *command, uv_process_t *proc,
	    uv_pipe_t *pipe, uv_exit_cb on_exit, bool *spawned, char *err,
	    size_t errlen);

#endif
