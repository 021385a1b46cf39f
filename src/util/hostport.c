/* host:port splitting for permission lists. */
#include "hostport.h"

#include <string.h>

static int
port_value(const char *s)
{
	long v = 0;
	const char *p;

	if (strcmp(s, "*") == 0)
		return -1;
	for (p = s; *p >= '0' && *p <= '9' && v <= 65535; p++)
		v = v * 10 + (*p - '0');
	if (p == s || *p != '\0' || v < 1 || v > 65535)
		return 0;
	return (int)v;
}

enum hostport_err
hostport_split(const char *v, bool bare_port, const char **host,
    size_t *hlen, int *port)
{
	const char *rb, *colon, *ps;

	if (v[0] == '[') {
		if ((rb = strchr(v, ']')) == NULL || rb[1] != ':')
			return HP_BAD_BRACKET;
		*host = v + 1;
		*hlen = (size_t)(rb - *host);
		ps = rb + 2;
	} else if ((colon = strchr(v, ':')) != NULL) {
		*host = v;
		*hlen = (size_t)(colon - v);
		ps = colon + 1;
	} else if (bare_port) {
		*host = "*";
		*hlen = 1;
		ps = v;
	} else
		return HP_NO_PORT;
	if ((*port = port_value(ps)) == 0)
		return HP_BAD_PORT;
	return HP_OK;
}
