/* Forward specification parsing. */
#include "spec.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include <ctype.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS	4

/* Splits text at ':' outside brackets; brackets are stripped from a field
 * that is wholly bracketed. Returns the field count or -1. */
static int
split(const char *text, char fields[MAX_FIELDS][256], char *err,
    size_t errlen)
{
	const char *p = text, *start;
	int n = 0;
	size_t len;
	bool bracket;

	for (;;) {
		if (n == MAX_FIELDS) {
			snprintf(err, errlen, "too many fields");
			return -1;
		}
		start = p;
		bracket = *p == '[';
		if (bracket) {
			if ((p = strchr(p, ']')) == NULL) {
				snprintf(err, errlen, "missing ']'");
				return -1;
			}
			start++;
			len = (size_t)(p - start);
			p++;
			if (*p != ':' && *p != '\0') {
				snprintf(err, errlen, "unexpected text after "
				    "']'");
				return -1;
			}
		} else {
			while (*p != ':' && *p != '\0')
				p++;
			len = (size_t)(p - start);
		}
		if (len >= 256) {
			snprintf(err, errlen, "field too long");
			return -1;
		}
		/* a bracket anywhere else cannot be written back unambiguously */
		if (memchr(start, '[', len) != NULL ||
		    memchr(start, ']', len) != NULL) {
			snprintf(err, errlen, "unexpected '[' or ']'");
			return -1;
		}
		memcpy(fields[n], start, len);
		fields[n][len] = '\0';
		n++;
		if (*p == '\0')
			return n;
		p++;
	}
}

static int
parse_port(const char *s, int min, int *out)
{
	char *end;
	long v;

	if (*s == '\0' || !isdigit((unsigned char)*s))
		return -1;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < min || v > 65535)
		return -1;
	*out = (int)v;
	return 0;
}

static int
set_path(char *dst, const char *src, char *why, size_t whylen)
{
	if (strlen(src) >= FWD_PATH_MAX) {
		snprintf(why, whylen, "socket path '%.40s...' is longer than "
		    "%d bytes", src, FWD_PATH_MAX - 1);
		return -1;
	}
	snprintf(dst, FWD_PATH_MAX, "%s", src);
	return 0;
}

static void
set_bind(struct fwd_spec *out, const char *f)
{
	size_t n;

	if (f[0] == '\0' || strcmp(f, "*") == 0)
		out->bind = BIND_ANY;
	else if (strcmp(f, "localhost") == 0)
		out->bind = BIND_LOCALHOST;
	else
		out->bind = BIND_ADDR;
	n = strnlen(f, sizeof(out->bind_addr) - 1);	/* split bounds it */
	memcpy(out->bind_addr, f, n);
	out->bind_addr[n] = '\0';
}

/* Puts the n fields where ssh's parse_forward puts them: a field with a
 * '/' is a path; one or two fields without a destination are dynamic. */
static const char *const forms[] = {
	"[bind_address:]port:host:hostport, with a path for either side",
	"[bind_address:]port[:host:hostport], with a path for either side",
	"[bind_address:]port",
};

static int
assign(struct fwd_spec *out, char f[MAX_FIELDS][256], int n, char *why,
    size_t whylen)
{
	bool path[MAX_FIELDS];
	const char *lport = NULL, *cport = NULL, *chost = NULL;
	const char *lpath = NULL, *cpath = NULL;
	int i;

	for (i = 0; i < n; i++)
		path[i] = strchr(f[i], '/') != NULL;
	switch (n) {
	case 1:
		if (path[0])
			lpath = f[0];
		else
			lport = f[0];
		out->dynamic = true;
		break;
	case 2:
		if (path[0] && path[1]) {
			lpath = f[0];
			cpath = f[1];
		} else if (path[1]) {
			lport = f[0];
			cpath = f[1];
		} else {
			set_bind(out, f[0]);
			lport = f[1];
			out->dynamic = true;
		}
		break;
	case 3:
		if (path[0]) {
			lpath = f[0];
			chost = f[1];
			cport = f[2];
		} else if (path[2]) {
			set_bind(out, f[0]);
			lport = f[1];
			cpath = f[2];
		} else {
			lport = f[0];
			chost = f[1];
			cport = f[2];
		}
		break;
	default:
		set_bind(out, f[0]);
		lport = f[1];
		chost = f[2];
		cport = f[3];
		break;
	}
	if (out->kind == FWD_DYNAMIC && (!out->dynamic || lpath != NULL)) {
		snprintf(why, whylen, "expected %s", forms[out->kind]);
		return -1;
	}
	if (out->kind == FWD_LOCAL && out->dynamic) {
		snprintf(why, whylen, "expected %s (-D is SOCKS)",
		    forms[out->kind]);
		return -1;
	}
	if (out->kind == FWD_REMOTE && out->dynamic && lpath != NULL) {
		snprintf(why, whylen, "remote dynamic forwarding needs a "
		    "port, not a socket path");
		return -1;
	}
	if (lpath != NULL && set_path(out->listen_path, lpath, why,
	    whylen) != 0)
		return -1;
	if (cpath != NULL && set_path(out->connect_path, cpath, why,
	    whylen) != 0)
		return -1;
	if (lport != NULL && parse_port(lport, 0, &out->listen_port) != 0) {
		snprintf(why, whylen, "bad listen port '%.64s'", lport);
		return -1;
	}
	if (chost != NULL) {
		if (chost[0] == '\0') {
			snprintf(why, whylen, "missing destination host");
			return -1;
		}
		snprintf(out->host, sizeof(out->host), "%s", chost);
		if (parse_port(cport, 1, &out->port) != 0) {
			snprintf(why, whylen, "bad destination port '%.64s'",
			    cport);
			return -1;
		}
	}
	return 0;
}

int
fwd_spec_parse(const char *text, enum fwd_kind kind, struct fwd_spec *out,
    char *err, size_t errlen)
{
	static const char *const what[] = { "local", "remote", "dynamic" };
	char f[MAX_FIELDS][256], why[200];
	int n;

	memset(out, 0, sizeof(*out));
	out->kind = kind;
	if ((n = split(text, f, why, sizeof(why))) < 0)
		goto bad;
	if (assign(out, f, n, why, sizeof(why)) != 0)
		goto bad;
	return 0;
bad:
	snprintf(err, errlen, "Bad %s forwarding specification '%s': %s",
	    what[kind], text, why);
	return -1;
}

static void
fmt_host(const char *h, char *out, size_t outlen)
{
	snprintf(out, outlen, strchr(h, ':') ? "[%s]" : "%s", h);
}

void
fwd_spec_target(const struct fwd_spec *s, char *out, size_t outlen)
{
	char h[300];

	if (s->dynamic)
		snprintf(out, outlen, "socks");
	else if (s->connect_path[0] != '\0')
		snprintf(out, outlen, "%s", s->connect_path);
	else {
		fmt_host(s->host, h, sizeof(h));
		snprintf(out, outlen, "%s:%d", h, s->port);
	}
}

void
fwd_spec_format(const struct fwd_spec *s, char *out, size_t outlen)
{
	char b[300], lis[400], dst[300];

	if (s->listen_path[0] != '\0')
		snprintf(lis, sizeof(lis), "%s", s->listen_path);
	else if (s->bind == BIND_DEFAULT)
		snprintf(lis, sizeof(lis), "%d", s->listen_port);
	else {
		if (s->bind == BIND_ANY)
			snprintf(b, sizeof(b), "*");
		else
			fmt_host(s->bind_addr, b, sizeof(b));
		snprintf(lis, sizeof(lis), "%s:%d", b, s->listen_port);
	}
	if (s->dynamic) {
		snprintf(out, outlen, "%s", lis);
		return;
	}
	fwd_spec_target(s, dst, sizeof(dst));
	snprintf(out, outlen, "%s:%s", lis, dst);
}

static bool
is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr)
		    >> 24) == 127;
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(
		    &((const struct sockaddr_in6 *)sa)->sin6_addr);
	return false;
}

int
fwd_loopback_addr(const char *spec, struct sockaddr_storage *ss, char *err,
    size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	struct fwd_spec fs;

	if (fwd_spec_parse(spec, FWD_DYNAMIC, &fs, err, errlen) != 0 ||
	    fs.bind != BIND_ADDR) {
		snprintf(err, errlen, "MetricsListen '%s': expected "
		    "address:port on loopback", spec);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST;
	if (getaddrinfo(fs.bind_addr, NULL, &hints, &res) != 0 ||
	    !is_loopback(res->ai_addr)) {
		if (res != NULL)
			freeaddrinfo(res);
		snprintf(err, errlen, "MetricsListen '%s': the address must "
		    "be a loopback address literal (127.0.0.1, ::1)", spec);
		return -1;
	}
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	((struct sockaddr_in *)ss)->sin_port =
	    htons((uint16_t)fs.listen_port);	/* same offset in v6 */
	return 0;
}
