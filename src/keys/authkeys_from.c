/* from= pattern lists of authorized_keys (sshd(8)): wildcards on the
 * client's address text, '!' negation, and CIDR networks compared as
 * numbers, as OpenSSH's addr_match_list() does. */
#include "authkeys.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "util/match.h"
#include "util/netaddr.h"

/* "10.0.0.1/8" names no network: as in OpenSSH's addr_pton_cidr(), bits
 * set past the prefix make the pattern invalid. */
static bool
host_bits_zero(const struct netaddr *a, unsigned bits)
{
	unsigned total = a->af == AF_INET ? 32 : 128, i;

	for (i = bits; i < total; i++)
		if (a->b[i / 8] & (0x80 >> (i % 8)))
			return false;
	return true;
}

/* One from= entry (without '!'): 1 match, 0 none, -1 invalid. An entry
 * that is an address or addr/len is compared numerically; anything else
 * is a wildcard pattern on the address text (names are never resolved). */
static int
entry_match(const char *e, size_t n, const struct netaddr *ca,
    bool have_ca, const char *ipstr)
{
	const char *slash = memchr(e, '/', n), *m;
	struct netaddr pa;
	unsigned bits = 0, max;
	size_t i, mlen;

	if (!netaddr_parse(e, slash ? (size_t)(slash - e) : n, false, &pa))
		return match_glob(e, n, ipstr);
	max = pa.af == AF_INET ? 32 : 128;
	if (slash == NULL)
		bits = max;
	else {
		m = slash + 1;
		mlen = (size_t)(e + n - m);
		if (mlen == 0 || mlen > 3)
			return -1;
		for (i = 0; i < mlen; i++) {
			if (!isdigit((unsigned char)m[i]))
				return -1;
			bits = bits * 10 + (unsigned)(m[i] - '0');
		}
		if (bits > max || !host_bits_zero(&pa, bits))
			return -1;
	}
	return have_ca && ca->af == pa.af && netaddr_prefix_equal(ca->b, pa.b, bits);
}

bool
ak_match_from(const char *patterns, const char *client_ip)
{
	const char *p, *comma, *ipstr;
	char mapped[INET_ADDRSTRLEN];
	struct netaddr ca;
	bool have_ca, neg, found = false;
	size_t n;
	int r;

	if (patterns == NULL || client_ip == NULL)
		return false;
	ipstr = client_ip;
	have_ca = netaddr_parse(client_ip, strlen(client_ip), true, &ca);
	if (have_ca && netaddr_unmap(&ca) &&
	    inet_ntop(AF_INET, ca.b, mapped, sizeof(mapped)) != NULL)
		ipstr = mapped;
	for (p = patterns;; p = comma + 1) {
		comma = strchr(p, ',');
		n = comma ? (size_t)(comma - p) : strlen(p);
		if ((neg = n > 0 && *p == '!')) {
			p++;
			n--;
		}
		/* An empty or invalid entry makes the whole list deny, as
		 * OpenSSH's addr_match_list() does. */
		if (n == 0 || (r = entry_match(p, n, &ca, have_ca, ipstr)) < 0)
			return false;
		if (r == 1) {
			if (neg)
				return false;	/* a negated match vetoes */
			found = true;
		}
		if (comma == NULL)
			return found;
	}
}
