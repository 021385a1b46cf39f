/* ClusterRegistry's value, "etcd:URL[,URL...]" (fleet/etcd.h): the etcd
 * members a node talks to, each an http:// or https:// URL of a host and
 * an optional port, nothing a shell or a log would misread; all of them
 * http:// or all https:// (one fleet, one way to reach it). */
#include "fleet/etcd.h"

#include <stdio.h>
#include <string.h>

#include "util/err.h"
#include "util/text.h"

static bool
host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

/* ":PORT" at the end of s (n bytes) or nothing; 0 or -1. */
static int
check_port(const char *s, size_t n)
{
	size_t i;
	long port = 0;

	if (n == 0)
		return 0;
	if (s[0] != ':' || n < 2 || n > 6)
		return -1;
	for (i = 1; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		port = port * 10 + (s[i] - '0');
	}
	return port >= 1 && port <= 65535 ? 0 : -1;
}

/* host[:port], host a name, an IPv4 address or [IPv6]. */
static int
check_authority(const char *s, size_t n)
{
	size_t i = 0;

	if (n > 0 && s[0] == '[') {
		for (i = 1; i < n && s[i] != ']'; i++)
			if (!((s[i] >= '0' && s[i] <= '9') ||
			    (s[i] >= 'a' && s[i] <= 'f') ||
			    (s[i] >= 'A' && s[i] <= 'F') || s[i] == ':' ||
			    s[i] == '.'))
				return -1;
		if (i == n || i == 1)
			return -1;
		i++;
	} else {
		while (i < n && host_char(s[i]))
			i++;
		if (i == 0)
			return -1;
	}
	return check_port(s + i, n - i);
}

/* One URL of n bytes into out->url[out->n]. */
static int
add_url(const char *s, size_t n, struct etcd_endpoints *out, char *err,
    size_t errlen)
{
	char raw[ETCD_URL_MAX], safe[ETCD_URL_MAX];
	size_t skip;
	int i;

	snprintf(raw, sizeof(raw), "%.*s", (int)(n < sizeof(raw) - 1 ? n :
	    sizeof(raw) - 1), s);
	text_safe(safe, sizeof(safe), raw, false);
	if (n == 0) {
		seterr(err, errlen, "an empty URL");
		return -1;
	}
	if (n >= ETCD_URL_MAX) {
		seterr(err, errlen, "URL %s... too long (at most %d bytes)",
		    safe, ETCD_URL_MAX - 1);
		return -1;
	}
	if (out->n == ETCD_ENDPOINTS_MAX) {
		seterr(err, errlen, "more than %d URLs", ETCD_ENDPOINTS_MAX);
		return -1;
	}
	skip = strncmp(raw, "http://", 7) == 0 ? 7 :
	    strncmp(raw, "https://", 8) == 0 ? 8 : 0;
	if (n > skip && raw[n - 1] == '/')
		n--;
	if (skip == 0 || check_authority(raw + skip, n - skip) != 0) {
		seterr(err, errlen, "URL %s is not http[s]://HOST[:PORT]", safe);
		return -1;
	}
	raw[n] = '\0';
	if (out->n > 0 && out->tls != (skip == 8)) {
		seterr(err, errlen, "URL %s is %s while %s is %s: the members "
		    "are all https:// or all http://", safe, skip == 8 ?
		    "https://" : "http://", out->url[0], out->tls ? "https://" :
		    "http://");
		return -1;
	}
	out->tls = skip == 8;
	for (i = 0; i < out->n; i++) {
		if (strcmp(out->url[i], raw) == 0) {
			seterr(err, errlen, "URL %s listed twice", safe);
			return -1;
		}
	}
	memcpy(out->url[out->n++], raw, n + 1);
	return 0;
}

int
etcd_endpoints_parse(const char *spec, struct etcd_endpoints *out,
    char *err, size_t errlen)
{
	const char *p, *comma;
	char safe[ETCD_URL_MAX];

	memset(out, 0, sizeof(*out));
	if (strncmp(spec, "etcd:", 5) != 0) {
		text_safe(safe, sizeof(safe), spec, false);
		seterr(err, errlen, "\"%s\" is not etcd:URL[,URL...]", safe);
		return -1;
	}
	/* each turn takes one URL: at most ETCD_ENDPOINTS_MAX + 1 turns */
	for (p = spec + 5;; p = comma + 1) {
		comma = strchr(p, ',');
		if (add_url(p, comma != NULL ? (size_t)(comma - p) : strlen(p),
		    out, err, errlen) != 0)
			return -1;
		if (comma == NULL)
			return 0;
	}
}
