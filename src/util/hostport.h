/* "host:port" as permission lists write it (PermitOpen, permitopen=,
 * PermitListen, permitlisten=, PermitRemoteOpen): an IPv6 host in
 * brackets, the port a number or "*". */
#ifndef FERRY_UTIL_HOSTPORT_H
#define FERRY_UTIL_HOSTPORT_H

#include <stdbool.h>
#include <stddef.h>

enum hostport_err {
	HP_OK = 0,
	HP_BAD_BRACKET = -1,	/* "[" without "]:" */
	HP_NO_PORT = -2,	/* no ':' (and a bare port is not allowed) */
	HP_BAD_PORT = -3,	/* not 1-65535 or "*" */
};

/* Splits v: *host and *hlen point into v ("*" when bare_port allows a port
 * alone), *port is 1-65535 or -1 for "*". The host is not checked here. */
enum hostport_err hostport_split(const char *v, bool bare_port,
		    const char **host, size_t *hlen, int *port);

#endif
