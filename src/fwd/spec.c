/* Forward specification parsing. */
#include "spec.h"

#include <ctype.h>
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

int
fwd_spec_parse(const char *text, enum fwd_kind kind, struct fwd_spec *out,
    char *err, size_t errlen)
{
	char f[MAX_FIELDS][256], why[128];
	const char *what = kind == FWD_LOCAL ? "local" : "remote";
	int n, i = 0;

	memset(out, 0, sizeof(*out));
	out->kind = kind;
	if ((n = split(text, f, why, sizeof(why))) < 0)
		goto bad;
	if (n != 3 && n != 4) {
		snprintf(why, sizeof(why), "expected "
		    "[bind_address:]port:host:hostport");
		goto bad;
	}
	if (n == 4) {
		if (f[0][0] == '\0' || strcmp(f[0], "*") == 0)
			out->bind = BIND_ANY;
		else if (strcmp(f[0], "localhost") == 0)
			out->bind = BIND_LOCALHOST;
		else
			out->bind = BIND_ADDR;
		snprintf(out->bind_addr, sizeof(out->bind_addr), "%s", f[0]);
		i = 1;
	}
	if (parse_port(f[i], 0, &out->listen_port) != 0) {
		snprintf(why, sizeof(why), "bad listen port '%.64s' (expected "
		    "[bind_address:]port:host:hostport)", f[i]);
		goto bad;
	}
	if (f[i + 1][0] == '\0') {
		snprintf(why, sizeof(why), "missing destination host");
		goto bad;
	}
	snprintf(out->host, sizeof(out->host), "%s", f[i + 1]);
	if (parse_port(f[i + 2], 1, &out->port) != 0) {
		snprintf(why, sizeof(why), "bad destination port '%.64s'",
		    f[i + 2]);
		goto bad;
	}
	return 0;
bad:
	snprintf(err, errlen, "Bad %s forwarding specification '%s': %s",
	    what, text, why);
	return -1;
}

static void
fmt_host(const char *h, char *out, size_t outlen)
{
	snprintf(out, outlen, strchr(h, ':') ? "[%s]" : "%s", h);
}

void
fwd_spec_format(const struct fwd_spec *s, char *out, size_t outlen)
{
	char b[300], h[300];

	fmt_host(s->host, h, sizeof(h));
	if (s->bind == BIND_DEFAULT) {
		snprintf(out, outlen, "%d:%s:%d", s->listen_port, h, s->port);
		return;
	}
	if (s->bind == BIND_ANY)
		snprintf(b, sizeof(b), "*");
	else
		fmt_host(s->bind_addr, b, sizeof(b));
	snprintf(out, outlen, "%s:%d:%s:%d", b, s->listen_port, h, s->port);
}
