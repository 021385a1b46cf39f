/* ProxyJump: hops and the command that reaches them (client/jump.h). */
#include "client/jump.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CMD_MAX		4096

/* The port of "host:PORT": a decimal from 1 to 65535. */
static int
hop_port(const char *s, size_t len)
{
	long v = 0;
	size_t i;

	if (len == 0 || len > 5)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= 1 && v <= 65535 ? (int)v : -1;
}

/* host[:port] or [host][:port], from s (len bytes), into h. */
static int
hop_host(const char *s, size_t len, struct jump_hop *h)
{
	const char *end = s + len, *colon;
	size_t hl;

	if (len > 0 && s[0] == '[') {
		if ((colon = memchr(s, ']', len)) == NULL)
			return -1;
		hl = (size_t)(colon - s - 1);
		s++;
		colon++;
		if (colon != end && *colon != ':')
			return -1;
	} else {
		colon = memchr(s, ':', len);
		hl = (size_t)((colon != NULL ? colon : end) - s);
		if (colon == NULL)
			colon = end;
	}
	if (hl == 0 || hl >= sizeof(h->host) || memchr(s, ',', hl) != NULL)
		return -1;
	memcpy(h->host, s, hl);
	h->host[hl] = '\0';
	if (colon != end && (h->port = hop_port(colon + 1,
	    (size_t)(end - colon - 1))) < 0)
		return -1;
	return 0;
}

int
jump_hop_parse(const char *s, size_t len, struct jump_hop *h)
{
	const char *at = NULL;
	size_t i;

	memset(h, 0, sizeof(*h));
	h->port = -1;
	if (len >= 6 && strncasecmp(s, "ssh://", 6) == 0) {
		s += 6;
		len -= 6;
		/* a URI's path ends it; only an empty one is allowed */
		if (len > 0 && s[len - 1] == '/')
			len--;
	}
	for (i = 0; i < len; i++)
		if (s[i] == '@')
			at = s + i;	/* the last '@' ends the user */
	if (at != NULL) {
		if (at == s || (size_t)(at - s) >= sizeof(h->user))
			return -1;
		memcpy(h->user, s, (size_t)(at - s));
		h->user[at - s] = '\0';
		len -= (size_t)(at + 1 - s);
		s = at + 1;
	}
	return hop_host(s, len, h);
}

int
jump_check(const char *spec, char *err, size_t errlen)
{
	const char *p = spec, *comma;
	struct jump_hop h;
	size_t len;

	if (strcasecmp(spec, "none") == 0)
		return 0;
	for (;;) {
		comma = strchr(p, ',');
		len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (jump_hop_parse(p, len, &h) != 0) {
			snprintf(err, errlen, "Invalid ProxyJump \"%s\": bad "
			    "hop \"%.*s\"", spec, (int)len, p);
			return -1;
		}
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

/* Appends pre and s shell-quoted to out, '%' doubled: the command's
 * tokens are expanded after. */
static void
add_quoted(char *out, size_t outlen, const char *pre, const char *s,
    size_t len)
{
	size_t o = strlen(out), i;

	o += (size_t)snprintf(out + o, o < outlen ? outlen - o : 0, "%s'",
	    pre);
	for (i = 0; i < len && o + 5 < outlen; i++) {
		if (s[i] == '\'') {
			memcpy(out + o, "'\\''", 4);
			o += 4;
		} else if (s[i] == '%') {
			memcpy(out + o, "%%", 2);
			o += 2;
		} else
			out[o++] = s[i];
	}
	if (o + 2 < outlen) {
		out[o++] = '\'';
		out[o] = '\0';
	} else
		out[outlen - 1] = '\0';
}

char *
jump_command(const char *spec, const char *self, int verbose,
    const char *config_file, char *err, size_t errlen)
{
	const char *last = strrchr(spec, ',');
	const char *lhop = last != NULL ? last + 1 : spec;
	struct jump_hop h;
	char cmd[CMD_MAX], port[16];
	char *r;

	if (jump_check(spec, err, errlen) != 0 ||
	    jump_hop_parse(lhop, strlen(lhop), &h) != 0)
		return NULL;
	cmd[0] = '\0';
	add_quoted(cmd, sizeof(cmd), "", self, strlen(self));
	if (verbose > 0)
		snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd),
		    " -%.*s", verbose > 3 ? 3 : verbose, "vvv");
	if (config_file != NULL)
		add_quoted(cmd, sizeof(cmd), " -F ", config_file,
		    strlen(config_file));
	strncat(cmd, " -W '[%h]:%p'", sizeof(cmd) - strlen(cmd) - 1);
	if (h.user[0] != '\0')
		add_quoted(cmd, sizeof(cmd), " -l ", h.user, strlen(h.user));
	if (h.port > 0) {
		snprintf(port, sizeof(port), "%d", h.port);
		add_quoted(cmd, sizeof(cmd), " -p ", port, strlen(port));
	}
	if (last != NULL)
		add_quoted(cmd, sizeof(cmd), " -J ", spec,
		    (size_t)(last - spec));
	add_quoted(cmd, sizeof(cmd), " ", h.host, strlen(h.host));
	if (strlen(cmd) >= sizeof(cmd) - 8) {
		snprintf(err, errlen, "ProxyJump \"%s\": too long", spec);
		return NULL;
	}
	if ((r = strdup(cmd)) == NULL)
		snprintf(err, errlen, "out of memory");
	return r;
}
