/* Runs OpenSSH's ssh-agent and ssh-add/ssh-keygen for the unit tests. */
#include "agentlab.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define START_TRIES	500	/* of 10 ms: 5 s */

/* In a child: stdin, stdout and stderr from /dev/null. */
static void
quiet(void)
{
	int fd;

	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
	}
}

int
agentlab_run(char *const argv[], const char *auth_sock)
{
	pid_t pid;
	int st;

	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		quiet();
		if (auth_sock != NULL)
			setenv("SSH_AUTH_SOCK", auth_sock, 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

pid_t
agentlab_start(const char *sock)
{
	struct stat sb;
	pid_t pid;
	int i;

	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		quiet();
		execlp("ssh-agent", "ssh-agent", "-D", "-a", sock,
		    (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < START_TRIES; i++) {
		if (stat(sock, &sb) == 0 && S_ISSOCK(sb.st_mode))
			return pid;
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			fprintf(stderr, "ssh-agent exited\n");
			return -1;
		}
		usleep(10000);
	}
	fprintf(stderr, "ssh-agent did not create %s\n", sock);
	agentlab_stop(&pid);
	return -1;
}

void
agentlab_stop(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
		;
	*pid = -1;
}
