/* Numeric IPv4 and IPv6 addresses compared as numbers: parsed (no
 * names), a dual-stack socket's mapped IPv4 taken as IPv4, and prefixes
 * compared bit by bit (authorized_keys from=, PerSourceNetBlockSize). */
#ifndef FERRY_UTIL_NETADDR_H
#define FERRY_UTIL_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct netaddr {
	int	af;		/* AF_INET or AF_INET6 */
	uint8_t	b[16];		/* network order; IPv4 in the first 4 */
};

/* The n bytes of s as an address (no CIDR suffix); drop_zone drops an
 * IPv6 zone ("fe80::1%eth0"). */
bool	netaddr_parse(const char *s, size_t n, bool drop_zone,
	    struct netaddr *a);
/* ::ffff:a.b.c.d becomes a.b.c.d; returns whether it was mapped. */
bool	netaddr_unmap(struct netaddr *a);
/* Whether the first bits bits of a and b are equal. */
bool	netaddr_prefix_equal(const uint8_t *a, const uint8_t *b,
	    unsigned bits);
/* Whether the address texts a and b (mapped IPv4 as IPv4) are in the same
 * block: the first v4bits or v6bits bits alike, of one family. */
bool	netaddr_same_block(const char *a, const char *b, unsigned v4bits,
	    unsigned v6bits);

#endif
