/* sshd_config keywords for where ferryd listens and how it takes
 * connections: Port, ListenAddress, AddressFamily, MaxStartups, HostKey,
 * HostCertificate. Port, ListenAddress, HostKey and HostCertificate
 * accumulate, as in sshd. */
#include "config_kw.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/err.h"

#define DEF_STARTUPS_RATE	30

int
sc_kw_port(struct server_config *c, const struct sc_keyword *kw, char **a,
    int n, char *err, size_t errlen)
{
	int port;

	if (cfgval_uint(a[0], 0, 65535, &port) != 0) {
		seterr(err, errlen, "%s: bad value '%s' (a port from 0 to "
		    "65535)", kw->name, a[0]);
		return -1;
	}
	if (c->nports >= SC_MAX_LISTEN) {
		seterr(err, errlen, "%s: too many ports (max %d)", kw->name,
		    SC_MAX_LISTEN);
		return -1;
	}
	c->ports[c->nports++] = port;
	return 0;
}

static int
colons(const char *s, size_t n)
{
	int k = 0;

	while (n-- > 0)
		k += *s++ == ':';
	return k;
}

/* Splits v into the host (*host, *hlen) and the port after it (*portstr,
 * NULL when none). 0, or -1 when brackets are not closed. */
static int
listen_split(char *v, char **host, size_t *hlen, const char **portstr)
{
	char *rb, *colon;

	*portstr = NULL;
	if (v[0] == '[') {
		if ((rb = strchr(v, ']')) == NULL ||
		    (rb[1] != '\0' && rb[1] != ':'))
			return -1;
		*host = v + 1;
		*hlen = (size_t)(rb - *host);
		if (rb[1] == ':')
			*portstr = rb + 2;
	} else if ((colon = strchr(v, ':')) != NULL &&
	    strchr(colon + 1, ':') == NULL) {
		*host = v;
		*hlen = (size_t)(colon - v);
		*portstr = colon + 1;
	} else {
		*host = v;	/* no port, or a bare IPv6 address */
		*hlen = strlen(v);
	}
	return 0;
}

/* host, host:port, [host]:port or a bare IPv6 address (two or more
 * colons, no brackets), as sshd reads ListenAddress. Stored as "host" or
 * "host:port", with brackets when host is an IPv6 address; port 0 (the
 * kernel picks) is kept, so it is not mistaken for "every Port". */
int
sc_kw_listen(struct server_config *c, const struct sc_keyword *kw,
    char **a, int n, char *err, size_t errlen)
{
	const char *portstr, *lb;
	char *host, *out;
	size_t hlen;
	int port = 0;

	if (n > 1) {
		if (strcasecmp(a[1], "rdomain") == 0)
			seterr(err, errlen, "%s: rdomain is not supported",
			    kw->name);
		else
			seterr(err, errlen, "%s: unexpected '%s' after the "
			    "address", kw->name, a[1]);
		return -1;
	}
	if (listen_split(a[0], &host, &hlen, &portstr) != 0)
		goto bad;
	if (hlen == 0) {
		seterr(err, errlen, "%s: missing address in '%s'", kw->name,
		    a[0]);
		return -1;
	}
	/* Brackets, or a single colon ("[a:b]"), would make the stored
	 * form read back as something else. */
	if (memchr(host, '[', hlen) != NULL ||
	    memchr(host, ']', hlen) != NULL || colons(host, hlen) == 1)
		goto bad;
	if (portstr != NULL && cfgval_uint(portstr, 0, 65535, &port) != 0) {
		seterr(err, errlen, "%s: bad port in '%s'", kw->name, a[0]);
		return -1;
	}
	if (c->nlisten >= SC_MAX_LISTEN) {
		seterr(err, errlen, "%s: too many addresses (max %d)",
		    kw->name, SC_MAX_LISTEN);
		return -1;
	}
	lb = memchr(host, ':', hlen) != NULL ? "[" : "";
	if (portstr == NULL)
		out = strndup(host, hlen);
	else if (asprintf(&out, "%s%.*s%s:%d", lb, (int)hlen, host,
	    lb[0] != '\0' ? "]" : "", port) == -1)
		out = NULL;
	if (out == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	c->listen[c->nlisten++] = out;
	return 0;
bad:
	seterr(err, errlen, "%s: bad value '%s' (host, host:port or "
	    "[address]:port)", kw->name, a[0]);
	return -1;
}

/* "any" is what ferryd does; one family only is not implemented yet, and
 * ignoring it would listen and forward on the other family too. */
int
sc_kw_address_family(struct server_config *c, const struct sc_keyword *kw,
    char **a, int n, char *err, size_t errlen)
{
	if (strcasecmp(a[0], "any") == 0)
		return 0;
	if (strcasecmp(a[0], "inet") == 0 || strcasecmp(a[0], "inet6") == 0) {
		seterr(err, errlen, "%s %s is not supported yet: ferryd would "
		    "still listen and forward on every address family (name "
		    "the addresses with ListenAddress)", kw->name, a[0]);
		return -1;
	}
	seterr(err, errlen, "%s: bad value '%s' (any, inet or inet6)",
	    kw->name, a[0]);
	return -1;
}

/* N, or start:rate:full with 1 <= rate <= 100 and start <= full. N alone
 * is N:30:N, which sshd -T prints for it. */
int
sc_kw_startups(struct server_config *c, const struct sc_keyword *kw,
    char **a, int n, char *err, size_t errlen)
{
	char buf[64], *c1, *c2;
	int begin, rate = DEF_STARTUPS_RATE, full;

	snprintf(buf, sizeof(buf), "%s", a[0]);
	if (strlen(a[0]) >= sizeof(buf))
		goto bad;
	if ((c1 = strchr(buf, ':')) == NULL) {
		if (cfgval_uint(buf, 1, INT_MAX, &begin) != 0)
			goto bad;
		full = begin;
	} else {
		*c1++ = '\0';
		if ((c2 = strchr(c1, ':')) == NULL)
			goto bad;
		*c2++ = '\0';
		if (cfgval_uint(buf, 1, INT_MAX, &begin) != 0 ||
		    cfgval_uint(c1, 1, 100, &rate) != 0 ||
		    cfgval_uint(c2, 1, INT_MAX, &full) != 0 || begin > full)
			goto bad;
	}
	if (c->max_startups_begin == SC_UNSET) {
		c->max_startups_begin = begin;
		c->max_startups_rate = rate;
		c->max_startups_full = full;
	}
	return 0;
bad:
	seterr(err, errlen, "%s: bad value '%s' (N, or start:rate:full with "
	    "rate 1 to 100 and start <= full)", kw->name, a[0]);
	return -1;
}

int
sc_kw_per_source(struct server_config *c, const struct sc_keyword *kw,
    char **a, int n, char *err, size_t errlen)
{
	int v = 0;

	if (strcasecmp(a[0], "none") != 0 &&
	    cfgval_uint(a[0], 1, INT_MAX, &v) != 0) {
		seterr(err, errlen, "%s: bad value '%s' (a number, or none)",
		    kw->name, a[0]);
		return -1;
	}
	if (c->per_source_max_startups == SC_UNSET)
		c->per_source_max_startups = v;
	return 0;
}

/* PerSourceNetBlockSize v4[:v6]: the prefix lengths that group sources. */
int
sc_kw_netblock(struct server_config *c, const struct sc_keyword *kw,
    char **a, int n, char *err, size_t errlen)
{
	char buf[32], *colon;
	int v4, v6 = 128;

	snprintf(buf, sizeof(buf), "%s", a[0]);
	if ((colon = strchr(buf, ':')) != NULL)
		*colon++ = '\0';
	if (strlen(a[0]) >= sizeof(buf) || cfgval_uint(buf, 0, 32, &v4) != 0 ||
	    (colon != NULL && cfgval_uint(colon, 0, 128, &v6) != 0)) {
		seterr(err, errlen, "%s: bad value '%s' (IPv4 bits 0-32, then "
		    "optionally :IPv6 bits 0-128)", kw->name, a[0]);
		return -1;
	}
	if (c->per_source_v4_bits == SC_UNSET) {
		c->per_source_v4_bits = v4;
		c->per_source_v6_bits = v6;
	}
	return 0;
}

int
sc_kw_hostkey(struct server_config *c, const struct sc_keyword *kw,
    char **a, int n, char *err, size_t errlen)
{
	if (c->nhostkeys >= SC_MAX_HOSTKEYS) {
		seterr(err, errlen, "%s: too many host keys (max %d)",
		    kw->name, SC_MAX_HOSTKEYS);
		return -1;
	}
	if ((c->hostkeys[c->nhostkeys] = strdup(a[0])) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	c->nhostkeys++;
	return 0;
}

int
sc_kw_hostcert(struct server_config *c, const struct sc_keyword *kw,
    char **a, int n, char *err, size_t errlen)
{
	if (c->nhostcerts >= SC_MAX_HOSTKEYS) {
		seterr(err, errlen, "%s: too many host certificates (max %d)",
		    kw->name, SC_MAX_HOSTKEYS);
		return -1;
	}
	if ((c->hostcerts[c->nhostcerts] = strdup(a[0])) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	c->nhostcerts++;
	return 0;
}
