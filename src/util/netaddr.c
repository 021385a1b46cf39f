/* Numeric addresses compared as numbers (util/netaddr.h). */
#include "util/netaddr.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <string.h>

bool
netaddr_parse(const char *s, size_t n, bool drop_zone, struct netaddr *a)
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

bool
netaddr_unmap(struct netaddr *a)
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

bool
netaddr_prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
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

bool
netaddr_same_block(const char *a, const char *b, unsigned v4bits,
    unsigned v6bits)
{
	struct netaddr x, y;

	if (!netaddr_parse(a, strlen(a), true, &x) ||
	    !netaddr_parse(b, strlen(b), true, &y))
		return false;
	netaddr_unmap(&x);
	netaddr_unmap(&y);
	if (x.af != y.af)
		return false;
	return netaddr_prefix_equal(x.b, y.b, x.af == AF_INET ?
	    (v4bits > 32 ? 32 : v4bits) : (v6bits > 128 ? 128 : v6bits));
}
