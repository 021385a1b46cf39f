/* AllowUsers / DenyUsers matching (users.h). */
#include "server/users.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/match.h"

/* An address/masklen entry of len bytes as its family, address bytes and
 * prefix length. 0, or -1 when it is not one. */
static int
cidr_parse(const char *s, size_t len, int *af, unsigned char *addr,
    int *bits)
{
	char buf[64], *slash, *end;
	long n;

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if ((slash = strchr(buf, '/')) == NULL)
		return -1;
	*slash = '\0';
	if (inet_pton(AF_INET, buf, addr) == 1)
		*af = AF_INET;
	else if (inet_pton(AF_INET6, buf, addr) == 1)
		*af = AF_INET6;
	else
		return -1;
	if (!isdigit((unsigned char)slash[1]))
		return -1;
	n = strtol(slash + 1, &end, 10);
	if (*end != '\0' || n < 0 || n > (*af == AF_INET ? 32 : 128))
		return -1;
	*bits = (int)n;
	return 0;
}

/* Whether ip lies in the network of the entry (already checked). */
static bool
cidr_match(const char *entry, size_t len, const char *ip)
{
	unsigned char net[16], a[16];
	int af, bits, i;

	if (cidr_parse(entry, len, &af, net, &bits) != 0 ||
	    inet_pton(af, ip, a) != 1)
		return false;
	for (i = 0; bits >= 8; i++, bits -= 8)
		if (net[i] != a[i])
			return false;
	return bits == 0 || ((net[i] ^ a[i]) & (0xff00 >> bits) & 0xff) == 0;
}

/* The HOST list of USER@HOST against the client's address: a negated
 * entry that matches refuses, else any plain entry that matches. */
static bool
host_list_match(const char *list, const char *ip)
{
	const char *p = list, *end;
	bool neg, hit, any = false;
	size_t len;

	while (*p != '\0') {
		end = strchr(p, ',');
		len = end ? (size_t)(end - p) : strlen(p);
		neg = len > 0 && *p == '!';
		if (neg) {
			p++;
			len--;
		}
		if (memchr(p, '/', len) != NULL)
			hit = cidr_match(p, len, ip);
		else
			hit = match_glob(p, len, ip);
		if (hit && neg)
			return false;
		any = any || hit;
		p += len + (end ? 1 : 0);
		if (end == NULL)
			break;
	}
	return any;
}

int
users_pattern_check(const char *pat, char *why, size_t whylen)
{
	const char *at = strchr(pat, '@'), *p, *end;
	unsigned char addr[16];
	int af, bits;
	size_t len;

	if (at == NULL)
		return 0;
	for (p = at + 1; *p != '\0'; p = end ? end + 1 : p + len) {
		end = strchr(p, ',');
		len = end ? (size_t)(end - p) : strlen(p);
		if (len > 0 && *p == '!') {
			p++;
			len--;
		}
		if (len == 0 || (memchr(p, '/', len) != NULL &&
		    cidr_parse(p, len, &af, addr, &bits) != 0)) {
			snprintf(why, whylen, "'%s': '%.*s' is not an "
			    "address/masklen or a host pattern", pat,
			    (int)len, p);
			return -1;
		}
		if (end == NULL)
			break;
	}
	return 0;
}

bool
users_pattern_match(const char *pat, const char *user, const char *ip)
{
	const char *at = strchr(pat, '@');
	char upat[256];

	if (at == NULL)
		return match_glob_case(pat, user);
	if ((size_t)(at - pat) >= sizeof(upat))
		return false;
	memcpy(upat, pat, (size_t)(at - pat));
	upat[at - pat] = '\0';
	return match_glob_case(upat, user) && host_list_match(at + 1, ip);
}

enum users_verdict
users_check(char *const *allow, int nallow, char *const *deny, int ndeny,
    const char *user, const char *ip)
{
	int i;

	for (i = 0; i < ndeny; i++)
		if (users_pattern_match(deny[i], user, ip))
			return USERS_DENIED;
	if (nallow == 0)
		return USERS_ALLOWED;
	for (i = 0; i < nallow; i++)
		if (users_pattern_match(allow[i], user, ip))
			return USERS_ALLOWED;
	return USERS_NOT_ALLOWED;
}
