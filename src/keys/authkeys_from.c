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

struct ak_addr {
	int	af;
	uint8_t	b[16];
};

/* A numeric IPv4 or IPv6 address (no names, no CIDR suffix). A client
 * address may carry an IPv6 zone ("fe80::1%eth0"), which is dropped. */
static bool
addr_parse(const char *s, size_t n, bool drop_zone, struct ak_addr *a)
{
	char buf[64], *pct;

	if (n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (drop_zone && strchr(buf, ':') != NULL &&
	    (pct = strchr(buf, '%')) != NULL)
		*pct = '\0';
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, buf, a->b) == 1) {
		a->af = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, buf, a->b) == 1) {
		a->af = AF_INET6;
		return true;
	}
	return false;
}

/* A client on a dual-stack socket shows up as ::ffff:a.b.c.d; sshd
 * matches it as the IPv4 address it is. Returns whether it was mapped. */
static bool
addr_unmap(struct ak_addr *a)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };

	if (a->af != AF_INET6 || memcmp(a->b, mapped, sizeof(mapped)) != 0)
		return false;
	memmove(a->b, a->b + 12, 4);
	memset(a->b + 4, 0, 12);
	a->af = AF_INET;
	return true;
}

static bool
prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned full = bits / 8, rem = bits % 8;
	uint8_t mask;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rem == 0)
		return true;
	mask = (uint8_t)(0xff << (8 - rem));
	return (a[full] & mask) == (b[full] & mask);
}

/* "10.0.0.1/8" names no network: as in OpenSSH's addr_pton_cidr(), bits
 * set past the prefix make the pattern invalid. */
static bool
host_bits_zero(const struct ak_addr *a, unsigned bits)
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
entry_match(const char *e, size_t n, const struct ak_addr *ca,
    bool have_ca, const char *ipstr)
{
	const char *slash = memchr(e, '/', n), *m;
	struct ak_addr pa;
	unsigned bits = 0, max;
	size_t i, mlen;

	if (!addr_parse(e, slash ? (size_t)(slash - e) : n, false, &pa))
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
	return have_ca && ca->af == pa.af && prefix_equal(ca->b, pa.b, bits);
}

bool
ak_match_from(const char *patterns, const char *client_ip)
{
	const char *p, *comma, *ipstr;
	char mapped[INET_ADDRSTRLEN];
	struct ak_addr ca;
	bool have_ca, neg, found = false;
	size_t n;
	int r;

	if (patterns == NULL || client_ip == NULL)
		return false;
	ipstr = client_ip;
	have_ca = addr_parse(client_ip, strlen(client_ip), true, &ca);
	if (have_ca && addr_unmap(&ca) &&
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
