/* Runs one or many clients (one SSH connection per host) in one loop:
 * signals (SIGHUP reloads when supervised), the control socket (status,
 * forward, cancel), Prometheus metrics on a loopback address, and
 * systemd readiness once every forward is up. */
#ifndef FERRY_CLIENT_SUPERVISOR_H
#define FERRY_CLIENT_SUPERVISOR_H

#include <stdbool.h>
#include <stddef.h>

#include "client/options.h"

struct sup_loader {
	/* The hosts to run (the command line's, or the config file's);
	 * returns how many (names are the loader's until the next call), or
	 * -1 with err. */
	int	(*hosts)(void *ud, char ***names, char *err, size_t errlen);
	/* One host's finished options (heap). Returns 0 or -1 with err. */
	int	(*load)(void *ud, const char *host, struct options **out,
		    char *err, size_t errlen);
	void	*ud;
};

struct sup_config {
	struct sup_loader loader;
	/* a service: SIGHUP reloads, SIGTERM/SIGINT end with status 0;
	 * otherwise ssh's behaviour (any of them ends with 255) */
	bool		 supervised;
	/* log lines name each host's alias (ferry up, several hosts) */
	bool		 name_hosts;
	/* the control socket when the hosts' ControlPath does not say;
	 * NULL: none */
	const char	*default_control_path;
	/* ferry -f: a byte is written to it, and it is closed, once every
	 * host is up with every forward; -1: none */
	int		 ready_fd;
};

/* Returns the exit status: a single host's, or the worst of several. */
int	supervisor_run(const struct sup_config *sc);

#endif
