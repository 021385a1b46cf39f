/* SOCKS4/4a/5 requests, server side. Bytes go one at a time into the
 * current message and each is checked as it arrives, so a bad request
 * fails as soon as it is known to be bad and nothing past the end of a
 * request is consumed. */
#include "socks.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ssh/ssh.h"

enum {
	ST_START,	/* nothing read yet */
	ST_V4,		/* SOCKS4: header and user id */
	ST_V4_HOST,	/* SOCKS4a: the host name after the user id */
	ST_V5_GREET,	/* SOCKS5: version and methods offered */
	ST_V5_REQ,	/* SOCKS5: the request */
	ST_DONE,
	ST_FAIL,
};

#define V4_HDR		8	/* VN CD DSTPORT DSTIP */
#define NAME_MAX_LEN	255	/* user id, SOCKS4a or SOCKS5 host name */

#define CMD_CONNECT	1
#define ATYP_IPV4	1
#define ATYP_DOMAIN	3
#define ATYP_IPV6	4

/* What a failure sends back before the connection is closed. */
enum fail_reply {
	FR_NONE,	/* not SOCKS at all: nothing */
	FR_NO_METHOD,	/* SOCKS5 method selection 0xFF */
	FR_REPLY,	/* a request reply in the client's version */
};

static enum socks_status fail(struct socks *, struct wb *, enum fail_reply,
    enum socks_rep, const char *, ...) __attribute__((format(printf, 5, 6)));

static enum socks_status
fail(struct socks *s, struct wb *out, enum fail_reply fr, enum socks_rep rep,
    const char *fmt, ...)
{
	static const uint8_t no_method[] = { 5, 0xff };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	s->stage = ST_FAIL;
	if (fr == FR_NO_METHOD)
		wb_put(out, no_method, sizeof(no_method));
	else if (fr == FR_REPLY)
		socks_reply(s, rep, out);
	return SOCKS_FAIL;
}

static enum socks_status
done(struct socks *s, uint16_t port)
{
	s->port = port;
	s->stage = ST_DONE;
	return SOCKS_DONE;
}

static uint16_t
get_u16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static const char *
cmd_name(int ver, uint8_t cmd)
{
	switch (cmd) {
	case 1:
		return "CONNECT";
	case 2:
		return "BIND";
	case 3:
		return ver == 5 ? "UDP ASSOCIATE" : "unknown";
	}
	return "unknown";
}

/* A SOCKS4 field still short of its NUL after len bytes: more is needed,
 * unless it has grown too long for any user id or host name. */
static enum socks_status
v4_field_more(struct socks *s, struct wb *out, size_t len, const char *what)
{
	if (len >= NAME_MAX_LEN)
		return fail(s, out, FR_REPLY, SOCKS_REP_GENERAL,
		    "%s longer than %d bytes", what, NAME_MAX_LEN);
	return SOCKS_MORE;
}

/* SOCKS4: VN CD DSTPORT DSTIP USERID NUL, and for SOCKS4a (DSTIP
 * 0.0.0.x, x != 0) HOST NUL after that. */
static enum socks_status
v4_step(struct socks *s, struct wb *out)
{
	const uint8_t *b = s->buf, *nul;
	size_t i = s->len - 1, start;
	uint8_t c = b[i];

	if (i == 1 && c != CMD_CONNECT)
		return fail(s, out, FR_REPLY, SOCKS_REP_CMD_UNSUPPORTED,
		    "SOCKS4 command %u (%s) not supported", c,
		    cmd_name(s->ver, c));
	if (i == 3 && get_u16(b + 2) == 0)
		return fail(s, out, FR_REPLY, SOCKS_REP_GENERAL,
		    "SOCKS4 request for port 0");
	if (i < V4_HDR)
		return SOCKS_MORE;

	if (s->stage == ST_V4) {
		if (c != '\0')
			return v4_field_more(s, out, i - V4_HDR,
			    "SOCKS4 user id");
		if (b[4] == 0 && b[5] == 0 && b[6] == 0 && b[7] != 0) {
			s->stage = ST_V4_HOST;
			return SOCKS_MORE;
		}
		snprintf(s->host, sizeof(s->host), "%u.%u.%u.%u", b[4], b[5],
		    b[6], b[7]);
		return done(s, get_u16(b + 2));
	}

	/* SOCKS4a host name: it starts after the user id's NUL. */
	nul = memchr(b + V4_HDR, '\0', i - V4_HDR);
	start = (size_t)(nul - b) + 1;
	if (c != '\0')
		return v4_field_more(s, out, i - start, "SOCKS4a host name");
	if (i == start)
		return fail(s, out, FR_REPLY, SOCKS_REP_GENERAL,
		    "SOCKS4a host name is empty");
	memcpy(s->host, b + start, i - start + 1);
	return done(s, get_u16(b + 2));
}

/* SOCKS5 greeting: VER NMETHODS METHODS. Only "no authentication". */
static enum socks_status
v5_greet_step(struct socks *s, struct wb *out)
{
	static const uint8_t no_auth[] = { 5, 0 };
	const uint8_t *b = s->buf;

	if (s->len < 2)
		return SOCKS_MORE;
	if (b[1] == 0)
		return fail(s, out, FR_NO_METHOD, SOCKS_REP_GENERAL,
		    "SOCKS5 greeting offers no authentication method");
	if (s->len < 2 + (size_t)b[1])
		return SOCKS_MORE;
	if (memchr(b + 2, 0, b[1]) == NULL)
		return fail(s, out, FR_NO_METHOD, SOCKS_REP_GENERAL,
		    "no acceptable authentication method (the SOCKS5 client "
		    "does not offer \"no authentication\")");
	wb_put(out, no_auth, sizeof(no_auth));
	s->stage = ST_V5_REQ;
	s->len = 0;
	return SOCKS_MORE;
}

/* SOCKS5 request: VER CMD RSV ATYP DST.ADDR DST.PORT. */
static enum socks_status
v5_req_step(struct socks *s, struct wb *out)
{
	const uint8_t *b = s->buf;
	size_t i = s->len - 1, total;
	uint8_t c = b[i];

	switch (i) {
	case 0:
		if (c != 5)
			return fail(s, out, FR_REPLY, SOCKS_REP_GENERAL,
			    "SOCKS5 request has version %u", c);
		return SOCKS_MORE;
	case 1:
		if (c != CMD_CONNECT)
			return fail(s, out, FR_REPLY,
			    SOCKS_REP_CMD_UNSUPPORTED,
			    "SOCKS5 command %u (%s) not supported", c,
			    cmd_name(s->ver, c));
		return SOCKS_MORE;
	case 2:
		return SOCKS_MORE;	/* RSV */
	case 3:
		if (c != ATYP_IPV4 && c != ATYP_DOMAIN && c != ATYP_IPV6)
			return fail(s, out, FR_REPLY,
			    SOCKS_REP_ATYP_UNSUPPORTED,
			    "SOCKS5 address type %u not supported", c);
		return SOCKS_MORE;
	}

	switch (b[3]) {
	case ATYP_IPV4:
		total = 4 + 4 + 2;
		break;
	case ATYP_IPV6:
		total = 4 + 16 + 2;
		break;
	default:
		if (i == 4 && c == 0)
			return fail(s, out, FR_REPLY, SOCKS_REP_GENERAL,
			    "SOCKS5 domain name is empty");
		if (i > 4 && i < 5 + (size_t)b[4] && c == '\0')
			return fail(s, out, FR_REPLY, SOCKS_REP_GENERAL,
			    "SOCKS5 domain name contains a NUL byte");
		total = 5 + (size_t)b[4] + 2;
		break;
	}
	if (s->len < total)
		return SOCKS_MORE;

	if (get_u16(b + total - 2) == 0)
		return fail(s, out, FR_REPLY, SOCKS_REP_GENERAL,
		    "SOCKS5 request for port 0");
	switch (b[3]) {
	case ATYP_IPV4:
		snprintf(s->host, sizeof(s->host), "%u.%u.%u.%u", b[4], b[5],
		    b[6], b[7]);
		break;
	case ATYP_IPV6:
		if (inet_ntop(AF_INET6, b + 4, s->host, sizeof(s->host)) ==
		    NULL)
			return fail(s, out, FR_REPLY, SOCKS_REP_GENERAL,
			    "SOCKS5 IPv6 address cannot be formatted");
		break;
	default:
		memcpy(s->host, b + 5, b[4]);
		s->host[b[4]] = '\0';
		break;
	}
	return done(s, get_u16(b + total - 2));
}

/* Takes one byte into the current message. */
static enum socks_status
step(struct socks *s, uint8_t c, struct wb *out)
{
	if (s->stage == ST_START) {
		if (c == 4) {
			s->ver = 4;
			s->stage = ST_V4;
		} else if (c == 5) {
			s->ver = 5;
			s->stage = ST_V5_GREET;
		} else
			return fail(s, out, FR_NONE, SOCKS_REP_GENERAL,
			    "not a SOCKS4 or SOCKS5 request (first byte "
			    "0x%02x)", c);
	}
	/* Every message is checked to fit; this is a broken invariant. */
	if (s->len >= sizeof(s->buf))
		return fail(s, out, FR_REPLY, SOCKS_REP_GENERAL,
		    "SOCKS message too long");
	s->buf[s->len++] = c;

	switch (s->stage) {
	case ST_V4:
	case ST_V4_HOST:
		return v4_step(s, out);
	case ST_V5_GREET:
		return v5_greet_step(s, out);
	case ST_V5_REQ:
		return v5_req_step(s, out);
	}
	return fail(s, out, FR_NONE, SOCKS_REP_GENERAL,
	    "SOCKS parser in stage %d", s->stage);
}

void
socks_init(struct socks *s)
{
	memset(s, 0, sizeof(*s));
	s->stage = ST_START;
}

enum socks_status
socks_feed(struct socks *s, const uint8_t *p, size_t n, size_t *used,
    struct wb *out)
{
	enum socks_status st = SOCKS_MORE;
	size_t i = 0;

	*used = 0;
	if (s->stage == ST_DONE)
		return SOCKS_DONE;
	if (s->stage == ST_FAIL)
		return SOCKS_FAIL;
	while (i < n && st == SOCKS_MORE)
		st = step(s, p[i++], out);
	*used = i;
	return st;
}

void
socks_reply(const struct socks *s, enum socks_rep rep, struct wb *out)
{
	uint8_t r[10];
	unsigned int code = (unsigned int)rep;

	memset(r, 0, sizeof(r));
	if (s->ver == 4) {
		r[1] = rep == SOCKS_REP_OK ? 0x5a : 0x5b;
		wb_put(out, r, 8);
	} else if (s->ver == 5) {
		if (code > SOCKS_REP_ATYP_UNSUPPORTED)
			code = SOCKS_REP_GENERAL;
		r[0] = 5;
		r[1] = (uint8_t)code;
		r[3] = ATYP_IPV4;
		wb_put(out, r, sizeof(r));
	}
}

/* Case-insensitive: does s contain word (written in lower case)? */
static bool
has(const char *s, const char *word)
{
	size_t i, n = strlen(word);

	for (; *s != '\0'; s++) {
		for (i = 0; i < n; i++)
			if (tolower((unsigned char)s[i]) != word[i])
				break;
		if (i == n)
			return true;
	}
	return false;
}

enum socks_rep
socks_rep_for_open_failure(uint32_t reason, const char *message)
{
	static const char *const host_words[] = {
		"host", "no route", "unknown node", "name", "resolve",
		"not known",
	};
	size_t i;

	if (reason == SSH_OPEN_ADMINISTRATIVELY_PROHIBITED)
		return SOCKS_REP_NOT_ALLOWED;
	if (reason != SSH_OPEN_CONNECT_FAILED || message == NULL)
		return SOCKS_REP_GENERAL;
	if (has(message, "refused"))
		return SOCKS_REP_REFUSED;
	if (has(message, "network") && has(message, "unreachable"))
		return SOCKS_REP_NET_UNREACH;
	for (i = 0; i < sizeof(host_words) / sizeof(host_words[0]); i++)
		if (has(message, host_words[i]))
			return SOCKS_REP_HOST_UNREACH;
	if (has(message, "timed out"))
		return SOCKS_REP_TTL_EXPIRED;
	return SOCKS_REP_GENERAL;
}
