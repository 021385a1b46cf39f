/* OpenSSH's ssh-agent and its tools for the unit tests (test_agent_client.c,
 * test_agent_cert.c): commands run with their output to /dev/null, an
 * agent started on a socket and waited for, within bounds, and stopped.
 * Nothing here uses cmocka: failures are returned and said on stderr. */
#ifndef FERRY_TESTS_AGENTLAB_H
#define FERRY_TESTS_AGENTLAB_H

#include <sys/types.h>

/* Runs argv (searched in PATH) with SSH_AUTH_SOCK set to auth_sock (NULL:
 * left as it is) and waits for it. Returns its exit status, or -1. */
int	agentlab_run(char *const argv[], const char *auth_sock);
/* Starts "ssh-agent -D -a sock" and waits up to 5 s for the socket.
 * Returns its pid, or -1 (nothing left running). */
pid_t	agentlab_start(const char *sock);
/* Stops the agent *pid (SIGTERM, then reaped) and sets *pid to -1; a pid
 * of -1 is left alone. */
void	agentlab_stop(pid_t *pid);

#endif
