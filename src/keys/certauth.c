/* A server's checks of a user certificate past its CA and principal
 * (keys/certauth.h). */
#include "certauth.h"

#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cert.h"
#include "util/err.h"
#include "util/netaddr.h"
#include "util/text.h"

#define SOURCE_MAX	1024	/* longest source-address list */

/* Whether the comma-separated list names name exactly. */
static bool
list_has(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *s = list, *e;

	while (s != NULL && *s != '\0') {
		e = strchr(s, ',');
		if ((e != NULL ? (size_t)(e - s) : strlen(s)) == n &&
		    strncmp(s, name, n) == 0)
			return true;
		s = e != NULL ? e + 1 : NULL;
	}
	return false;
}

/* One "addr[/bits]" entry of n bytes: 1 if ip is in it, 0 if not, -1 if
 * malformed. */
static int
cidr_match(const char *s, size_t n, const struct netaddr *ip)
{
	const char *slash = memchr(s, '/', n);
	struct netaddr net;
	unsigned long bits;
	char num[8], *end;
	size_t alen = slash != NULL ? (size_t)(slash - s) : n;

	if (!netaddr_parse(s, alen, false, &net))
		return -1;
	bits = net.af == AF_INET6 ? 128 : 32;
	if (slash != NULL) {
		if (n - alen - 1 == 0 || n - alen - 1 >= sizeof(num))
			return -1;
		memcpy(num, slash + 1, n - alen - 1);
		num[n - alen - 1] = '\0';
		bits = strtoul(num, &end, 10);
		if (*end != '\0' || num[0] < '0' || num[0] > '9' ||
		    bits > (net.af == AF_INET6 ? 128u : 32u))
			return -1;
	}
	return net.af == ip->af && netaddr_prefix_equal(net.b, ip->b,
	    (unsigned)bits);
}

int
certauth_source_match(const char *list, const char *ip)
{
	struct netaddr a;
	const char *s = list, *e;
	size_t n;
	int found = 0, m;

	if (ip == NULL || !netaddr_parse(ip, strlen(ip), true, &a))
		return 0;
	netaddr_unmap(&a);
	if (*s == '\0')
		return -1;
	for (;;) {
		e = strchr(s, ',');
		n = e != NULL ? (size_t)(e - s) : strlen(s);
		if ((m = cidr_match(s, n, &a)) < 0)
			return -1;
		found |= m;
		if (e == NULL)
			return found;
		s = e + 1;
	}
}

/* A critical option's data as its one string (PROTOCOL.certkeys), copied
 * into out; -1 if it is not one string or too long. */
static int
opt_string(const struct cert_opt *o, char *out, size_t outlen)
{
	size_t n;

	if (o->datalen < 4)
		return -1;
	n = (size_t)o->data[0] << 24 | (size_t)o->data[1] << 16 |
	    (size_t)o->data[2] << 8 | o->data[3];
	if (n != o->datalen - 4 || n >= outlen || memchr(o->data + 4, '\0',
	    n) != NULL)
		return -1;
	memcpy(out, o->data + 4, n);
	out[n] = '\0';
	return 0;
}

enum certauth_verdict
certauth_critical(const struct cert *c, const struct certauth_req *r,
    char *why, size_t whylen)
{
	char name[64], list[SOURCE_MAX], safe[2 * SOURCE_MAX];
	int i, m;

	for (i = 0; i < c->ncrit; i++) {
		const struct cert_opt *o = &c->crit[i];

		snprintf(name, sizeof(name), "%.*s", (int)(o->namelen <
		    sizeof(name) - 1 ? o->namelen : sizeof(name) - 1),
		    (const char *)o->name);
		if (strcmp(name, "force-command") == 0) {
			seterr(why, whylen, "certificate has a force-command "
			    "critical option and ferryd runs no commands");
			return CERTAUTH_FORCE_COMMAND;
		}
		if (strcmp(name, "verify-required") == 0) {
			/* only a FIDO key's signature can show it, and
			 * ferryd takes none */
			seterr(why, whylen, "certificate requires user "
			    "verification (verify-required), which only FIDO "
			    "keys give");
			return CERTAUTH_VERIFY;
		}
		if (strcmp(name, "source-address") != 0) {
			text_safe(safe, sizeof(safe), name, false);
			seterr(why, whylen, "certificate has critical option "
			    "'%s' that ferryd does not know", safe);
			return CERTAUTH_UNKNOWN_OPT;
		}
		if (opt_string(o, list, sizeof(list)) != 0 ||
		    (m = certauth_source_match(list, r->client_ip)) < 0) {
			seterr(why, whylen, "certificate source-address "
			    "contents invalid");
			return CERTAUTH_SOURCE;
		}
		if (m == 0) {
			text_safe(safe, sizeof(safe), list, false);
			seterr(why, whylen, "not from a permitted source "
			    "address (%s)", safe);
			return CERTAUTH_SOURCE;
		}
	}
	return CERTAUTH_OK;
}

enum certauth_verdict
certauth_check(const struct cert *c, const struct certauth_req *r,
    struct certauth_grant *g, char *why, size_t whylen)
{
	char err[256], safe[128];

	g->port_forwarding = false;
	if (!list_has(r->ca_sign_algs, c->sig_alg)) {
		text_safe(safe, sizeof(safe), c->sig_alg, false);
		seterr(why, whylen, "CA signature algorithm %s not in "
		    "CASignatureAlgorithms", safe);
		return CERTAUTH_SIG_ALG;
	}
	if (cert_verify(c, err, sizeof(err)) != 0) {
		seterr(why, whylen, "certificate signature: %s", err);
		return CERTAUTH_BAD_SIG;
	}
	if (cert_check(c, CERT_USER, r->principal, false, r->now, err,
	    sizeof(err)) != 0) {
		seterr(why, whylen, "%s", err);
		return CERTAUTH_INVALID;
	}
	g->port_forwarding = cert_opt(c->ext, c->next,
	    "permit-port-forwarding") != NULL;
	return certauth_critical(c, r, why, whylen);
}
