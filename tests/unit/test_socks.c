/* Unit tests for fwd/socks.c: SOCKS4, SOCKS4a and SOCKS5 requests fed
 * whole, split anywhere and followed by payload; every refusal with its
 * exact reply; the replies; the channel open failure mapping. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "fwd/socks.h"

/* A client's bytes, built up by the helpers below. */
struct msg {
	uint8_t		b[1200];
	size_t		len;
};

static void
add(struct msg *m, const void *p, size_t n)
{
	assert_true(m->len + n <= sizeof(m->b));
	memcpy(m->b + m->len, p, n);
	m->len += n;
}

#define ADD(m, ...) do {						\
	static const uint8_t b_[] = { __VA_ARGS__ };			\
	add((m), b_, sizeof(b_));					\
} while (0)

/* n bytes of c. */
static void
add_fill(struct msg *m, uint8_t c, size_t n)
{
	assert_true(m->len + n <= sizeof(m->b));
	memset(m->b + m->len, c, n);
	m->len += n;
}

/* s with its NUL, as SOCKS4 writes strings. */
static void
add_cstr(struct msg *m, const char *s)
{
	add(m, s, strlen(s) + 1);
}

/* s with a length byte in front, as SOCKS5 writes names. */
static void
add_lstr(struct msg *m, const char *s)
{
	uint8_t n = (uint8_t)strlen(s);

	add(m, &n, 1);
	add(m, s, n);
}

static const uint8_t v5_no_auth[] = { 0x05, 0x00 };
static const uint8_t payload[] = "GET / HTTP/1.0\r\n\r\n";

/* Feeds p in chunks: first bytes, then rest bytes at a time, until the
 * parser stops asking for more. Returns its status; *used is the total
 * consumed. */
static enum socks_status
feed(struct socks *s, const uint8_t *p, size_t n, size_t first, size_t rest,
    struct wb *out, size_t *used)
{
	enum socks_status st = SOCKS_MORE;
	size_t off = 0, k, u, chunk = first;

	for (;;) {
		k = n - off < chunk ? n - off : chunk;
		u = (size_t)-1;
		st = socks_feed(s, p + off, k, &u, out);
		assert_true(u <= k);
		off += u;
		if (st != SOCKS_MORE)
			break;
		assert_int_equal(u, k);
		if (off == n)
			break;
		chunk = rest;
	}
	*used = off;
	return st;
}

/* Once finished, the parser takes nothing more and says the same. */
static void
check_finished(struct socks *s, enum socks_status want, struct wb *out)
{
	size_t used = 99, outlen = out->len;

	assert_int_equal(socks_feed(s, payload, sizeof(payload), &used, out),
	    want);
	assert_int_equal(used, 0);
	assert_int_equal(out->len, outlen);
}

struct good {
	const char	*what;
	struct msg	 m;
	int		 ver;
	char		 host[256];
	uint16_t	 port;
};

#define NGOODS	12

static struct good goods[NGOODS];

/* Requests of every accepted form, with the longest names allowed. */
static size_t
build_goods(void)
{
	struct good *g = goods;
	char name[256];

	memset(goods, 0, sizeof(goods));
	memset(name, 'n', 255);
	name[255] = '\0';

	g->what = "SOCKS4 IPv4 with user id";
	ADD(&g->m, 4, 1, 0x00, 0x50, 127, 0, 0, 1);
	add_cstr(&g->m, "user");
	g->ver = 4, snprintf(g->host, sizeof(g->host), "127.0.0.1");
	g->port = 80, g++;

	g->what = "SOCKS4 empty user id";
	ADD(&g->m, 4, 1, 0x1f, 0x90, 192, 168, 1, 254, 0);
	g->ver = 4, snprintf(g->host, sizeof(g->host), "192.168.1.254");
	g->port = 8080, g++;

	g->what = "SOCKS4 255-byte user id, address 0.0.0.0";
	ADD(&g->m, 4, 1, 0xff, 0xff, 0, 0, 0, 0);
	add_cstr(&g->m, name);
	g->ver = 4, snprintf(g->host, sizeof(g->host), "0.0.0.0");
	g->port = 65535, g++;

	g->what = "SOCKS4a host name";
	ADD(&g->m, 4, 1, 0x01, 0xbb, 0, 0, 0, 1);
	add_cstr(&g->m, "bob");
	add_cstr(&g->m, "example.com");
	g->ver = 4, snprintf(g->host, sizeof(g->host), "example.com");
	g->port = 443, g++;

	g->what = "SOCKS4a empty user id, 0.0.0.255";
	ADD(&g->m, 4, 1, 0x00, 0x16, 0, 0, 0, 255, 0);
	add_cstr(&g->m, "h");
	g->ver = 4, snprintf(g->host, sizeof(g->host), "h");
	g->port = 22, g++;

	g->what = "SOCKS4a 255-byte user id and host name";
	ADD(&g->m, 4, 1, 0x00, 0x01, 0, 0, 0, 7);
	add_cstr(&g->m, name);
	add_cstr(&g->m, name);
	g->ver = 4, snprintf(g->host, sizeof(g->host), "%s", name);
	g->port = 1, g++;

	g->what = "SOCKS5 IPv4";
	ADD(&g->m, 5, 1, 0);
	ADD(&g->m, 5, 1, 0, 1, 10, 0, 0, 1, 0x00, 0x16);
	g->ver = 5, snprintf(g->host, sizeof(g->host), "10.0.0.1");
	g->port = 22, g++;

	g->what = "SOCKS5 three methods, domain name";
	ADD(&g->m, 5, 3, 2, 1, 0);
	ADD(&g->m, 5, 1, 0, 3);
	add_lstr(&g->m, "example.com");
	ADD(&g->m, 0x01, 0xbb);
	g->ver = 5, snprintf(g->host, sizeof(g->host), "example.com");
	g->port = 443, g++;

	g->what = "SOCKS5 255-byte domain name, RSV set";
	ADD(&g->m, 5, 1, 0);
	ADD(&g->m, 5, 1, 0xff, 3);
	add_lstr(&g->m, name);
	ADD(&g->m, 0xff, 0xff);
	g->ver = 5, snprintf(g->host, sizeof(g->host), "%s", name);
	g->port = 65535, g++;

	g->what = "SOCKS5 IPv6 ::1";
	ADD(&g->m, 5, 1, 0);
	ADD(&g->m, 5, 1, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	    0x1f, 0x90);
	g->ver = 5, snprintf(g->host, sizeof(g->host), "::1");
	g->port = 8080, g++;

	g->what = "SOCKS5 IPv6 2001:db8::1:2";
	ADD(&g->m, 5, 2, 0, 2);
	ADD(&g->m, 5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 1, 0, 2, 0x00, 0x50);
	g->ver = 5, snprintf(g->host, sizeof(g->host), "2001:db8::1:2");
	g->port = 80, g++;

	g->what = "SOCKS5 255 methods, no auth last";
	ADD(&g->m, 5, 255);
	add_fill(&g->m, 0x80, 254);
	ADD(&g->m, 0);
	ADD(&g->m, 5, 1, 0, 1, 1, 2, 3, 4, 0x12, 0x34);
	g->ver = 5, snprintf(g->host, sizeof(g->host), "1.2.3.4");
	g->port = 0x1234, g++;

	assert_int_equal((size_t)(g - goods), NGOODS);
	return NGOODS;
}

/* Feeds g's request, followed by tail bytes of payload, in the chunks
 * feed() makes of first and rest. */
static void
check_good(const struct good *g, size_t tail, size_t first, size_t rest)
{
	struct socks s;
	struct msg in;
	struct wb out;
	size_t used;
	enum socks_status st;

	memset(&in, 0, sizeof(in));
	add(&in, g->m.b, g->m.len);
	add(&in, payload, tail);
	socks_init(&s);
	wb_init(&out);
	st = feed(&s, in.b, in.len, first, rest, &out, &used);
	if (st != SOCKS_DONE)
		fail_msg("%s (tail %zu, chunks %zu/%zu): status %d, err \"%s\"",
		    g->what, tail, first, rest, st, s.err);
	if (used != g->m.len)
		fail_msg("%s (tail %zu, chunks %zu/%zu): used %zu of %zu",
		    g->what, tail, first, rest, used, g->m.len);
	assert_int_equal(s.ver, g->ver);
	assert_string_equal(s.host, g->host);
	assert_int_equal(s.port, g->port);
	assert_false(out.err);
	if (g->ver == 5) {
		assert_int_equal(out.len, sizeof(v5_no_auth));
		assert_memory_equal(out.p, v5_no_auth, sizeof(v5_no_auth));
	} else
		assert_int_equal(out.len, 0);
	check_finished(&s, SOCKS_DONE, &out);
	assert_string_equal(s.host, g->host);
	wb_free(&out);
}

static void
test_good_whole(void **state)
{
	size_t i, n = build_goods();

	(void)state;
	for (i = 0; i < n; i++)
		check_good(&goods[i], 0, goods[i].m.len, 1);
}

static void
test_good_bytewise(void **state)
{
	size_t i, n = build_goods();

	(void)state;
	for (i = 0; i < n; i++) {
		check_good(&goods[i], 0, 1, 1);
		check_good(&goods[i], sizeof(payload), 1, 1);
		check_good(&goods[i], 0, 3, 7);
	}
}

static void
test_good_split_anywhere(void **state)
{
	size_t i, k, n = build_goods();

	(void)state;
	for (i = 0; i < n; i++)
		for (k = 0; k <= goods[i].m.len; k++)
			check_good(&goods[i], sizeof(payload), k,
			    sizeof(goods[i].m.b));
}

static void
test_good_trailing_payload(void **state)
{
	size_t i, n = build_goods();

	(void)state;
	for (i = 0; i < n; i++) {
		check_good(&goods[i], 1, sizeof(goods[i].m.b), 1);
		check_good(&goods[i], sizeof(payload), sizeof(goods[i].m.b),
		    1);
	}
}

/* Greeting first, on its own: the method selection comes back at once. */
static void
test_v5_greeting_alone(void **state)
{
	static const uint8_t greet[] = { 5, 2, 0, 2 };
	static const uint8_t req[] = { 5, 1, 0, 1, 192, 0, 2, 1, 0, 80, 'x' };
	struct socks s;
	struct wb out;
	size_t used;

	(void)state;
	socks_init(&s);
	assert_int_equal(s.ver, 0);
	wb_init(&out);
	assert_int_equal(socks_feed(&s, greet, 0, &used, &out), SOCKS_MORE);
	assert_int_equal(used, 0);
	assert_int_equal(s.ver, 0);
	assert_int_equal(socks_feed(&s, greet, sizeof(greet), &used, &out),
	    SOCKS_MORE);
	assert_int_equal(used, sizeof(greet));
	assert_int_equal(s.ver, 5);
	assert_int_equal(out.len, 2);
	assert_memory_equal(out.p, v5_no_auth, 2);
	assert_int_equal(socks_feed(&s, req, sizeof(req), &used, &out),
	    SOCKS_DONE);
	assert_int_equal(used, sizeof(req) - 1);
	assert_int_equal(out.len, 2);
	assert_string_equal(s.host, "192.0.2.1");
	assert_int_equal(s.port, 80);
	wb_free(&out);
}

struct bad {
	const char	*what;
	struct msg	 m;
	size_t		 used;		/* through the offending byte */
	uint8_t		 reply[16];
	size_t		 replylen;
	const char	*err;		/* a part of s.err */
};

#define NBADS	20

static struct bad bads[NBADS];

#define REPLY(b, ...) do {						\
	static const uint8_t r_[] = { __VA_ARGS__ };			\
	memcpy((b)->reply, r_, sizeof(r_));				\
	(b)->replylen = sizeof(r_);					\
} while (0)

#define V4_REFUSED	0x00, 0x5b, 0, 0, 0, 0, 0, 0
#define V5_REP(code)	0x05, 0x00, 0x05, (code), 0x00, 0x01, 0, 0, 0, 0, 0, 0

static size_t
build_bads(void)
{
	struct bad *b = bads;
	char name[257];

	memset(bads, 0, sizeof(bads));
	memset(name, 'n', 256);
	name[256] = '\0';

	b->what = "HTTP";
	add_cstr(&b->m, "GET / HTTP/1.0\r\n");
	b->used = 1;
	b->err = "not a SOCKS4 or SOCKS5 request (first byte 0x47)", b++;

	b->what = "TLS";
	ADD(&b->m, 0x16, 0x03, 0x01);
	b->used = 1;
	b->err = "(first byte 0x16)", b++;

	b->what = "SOCKS4 BIND";
	ADD(&b->m, 4, 2, 0x00, 0x50, 127, 0, 0, 1, 0);
	b->used = 2;
	REPLY(b, V4_REFUSED);
	b->err = "command 2 (BIND)", b++;

	b->what = "SOCKS4 command 0";
	ADD(&b->m, 4, 0, 0x00, 0x50, 127, 0, 0, 1, 0);
	b->used = 2;
	REPLY(b, V4_REFUSED);
	b->err = "command 0", b++;

	b->what = "SOCKS4 port 0";
	ADD(&b->m, 4, 1, 0, 0, 127, 0, 0, 1, 0);
	b->used = 4;
	REPLY(b, V4_REFUSED);
	b->err = "port 0", b++;

	b->what = "SOCKS4 256-byte user id";
	ADD(&b->m, 4, 1, 0, 80, 127, 0, 0, 1);
	add_cstr(&b->m, name);
	b->used = 8 + 256;
	REPLY(b, V4_REFUSED);
	b->err = "user id longer than 255", b++;

	b->what = "SOCKS4a empty host name";
	ADD(&b->m, 4, 1, 0, 80, 0, 0, 0, 1, 'u', 0, 0);
	b->used = 11;
	REPLY(b, V4_REFUSED);
	b->err = "host name is empty", b++;

	b->what = "SOCKS4a 256-byte host name";
	ADD(&b->m, 4, 1, 0, 80, 0, 0, 0, 1, 0);
	add_cstr(&b->m, name);
	b->used = 9 + 256;
	REPLY(b, V4_REFUSED);
	b->err = "host name longer than 255", b++;

	b->what = "SOCKS5 no methods";
	ADD(&b->m, 5, 0, 5, 1, 0, 1, 127, 0, 0, 1, 0, 80);
	b->used = 2;
	REPLY(b, 0x05, 0xff);
	b->err = "no authentication method", b++;

	b->what = "SOCKS5 only username/password";
	ADD(&b->m, 5, 2, 1, 2, 5, 1, 0, 1, 127, 0, 0, 1, 0, 80);
	b->used = 4;
	REPLY(b, 0x05, 0xff);
	b->err = "no acceptable authentication method", b++;

	b->what = "SOCKS5 request version 4";
	ADD(&b->m, 5, 1, 0, 4, 1, 0, 1, 127, 0, 0, 1, 0, 80);
	b->used = 4;
	REPLY(b, V5_REP(0x01));
	b->err = "version 4", b++;

	b->what = "SOCKS5 BIND";
	ADD(&b->m, 5, 1, 0, 5, 2, 0, 1, 127, 0, 0, 1, 0, 80);
	b->used = 5;
	REPLY(b, V5_REP(0x07));
	b->err = "command 2 (BIND) not supported", b++;

	b->what = "SOCKS5 UDP ASSOCIATE";
	ADD(&b->m, 5, 1, 0, 5, 3, 0, 1, 0, 0, 0, 0, 0, 0);
	b->used = 5;
	REPLY(b, V5_REP(0x07));
	b->err = "command 3 (UDP ASSOCIATE) not supported", b++;

	b->what = "SOCKS5 command 0x7f";
	ADD(&b->m, 5, 1, 0, 5, 0x7f, 0, 1, 127, 0, 0, 1, 0, 80);
	b->used = 5;
	REPLY(b, V5_REP(0x07));
	b->err = "command 127", b++;

	b->what = "SOCKS5 address type 2";
	ADD(&b->m, 5, 1, 0, 5, 1, 0, 2, 127, 0, 0, 1, 0, 80);
	b->used = 7;
	REPLY(b, V5_REP(0x08));
	b->err = "address type 2", b++;

	b->what = "SOCKS5 address type 0";
	ADD(&b->m, 5, 1, 0, 5, 1, 0, 0, 127, 0, 0, 1, 0, 80);
	b->used = 7;
	REPLY(b, V5_REP(0x08));
	b->err = "address type 0", b++;

	b->what = "SOCKS5 empty domain name";
	ADD(&b->m, 5, 1, 0, 5, 1, 0, 3, 0, 0, 80);
	b->used = 8;
	REPLY(b, V5_REP(0x01));
	b->err = "domain name is empty", b++;

	b->what = "SOCKS5 NUL in domain name";
	ADD(&b->m, 5, 1, 0, 5, 1, 0, 3, 5, 'a', 'b', 0, 'c', 'd', 0, 80);
	b->used = 11;
	REPLY(b, V5_REP(0x01));
	b->err = "NUL", b++;

	b->what = "SOCKS5 IPv4 port 0";
	ADD(&b->m, 5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, 0, 0, 'x');
	b->used = 13;
	REPLY(b, V5_REP(0x01));
	b->err = "port 0", b++;

	b->what = "SOCKS5 domain port 0";
	ADD(&b->m, 5, 1, 0, 5, 1, 0, 3, 1, 'h', 0, 0, 'x');
	b->used = 11;
	REPLY(b, V5_REP(0x01));
	b->err = "port 0", b++;

	assert_int_equal((size_t)(b - bads), NBADS);
	return NBADS;
}

static void
check_bad(const struct bad *b, size_t first, size_t rest)
{
	struct socks s;
	struct wb out;
	size_t used;
	enum socks_status st;

	socks_init(&s);
	wb_init(&out);
	st = feed(&s, b->m.b, b->m.len, first, rest, &out, &used);
	if (st != SOCKS_FAIL)
		fail_msg("%s (chunks %zu/%zu): status %d", b->what, first,
		    rest, st);
	if (used != b->used)
		fail_msg("%s (chunks %zu/%zu): used %zu, want %zu", b->what,
		    first, rest, used, b->used);
	if (strstr(s.err, b->err) == NULL)
		fail_msg("%s: error \"%s\" lacks \"%s\"", b->what, s.err,
		    b->err);
	assert_false(out.err);
	if (out.len != b->replylen)
		fail_msg("%s: reply of %zu bytes, want %zu", b->what, out.len,
		    b->replylen);
	if (b->replylen > 0)
		assert_memory_equal(out.p, b->reply, b->replylen);
	assert_string_equal(s.host, "");
	assert_int_equal(s.port, 0);
	check_finished(&s, SOCKS_FAIL, &out);
	wb_free(&out);
}

static void
test_bad(void **state)
{
	size_t i, k, n = build_bads();

	(void)state;
	for (i = 0; i < n; i++) {
		check_bad(&bads[i], bads[i].m.len, 1);
		check_bad(&bads[i], 1, 1);
		for (k = 0; k < bads[i].m.len; k++)
			check_bad(&bads[i], k, sizeof(bads[i].m.b));
	}
}

/* The exact text for a non-SOCKS first byte. */
static void
test_bad_first_byte_text(void **state)
{
	static const uint8_t b[] = { 0x00 };
	struct socks s;
	struct wb out;
	size_t used;

	(void)state;
	socks_init(&s);
	wb_init(&out);
	assert_int_equal(socks_feed(&s, b, 1, &used, &out), SOCKS_FAIL);
	assert_string_equal(s.err,
	    "not a SOCKS4 or SOCKS5 request (first byte 0x00)");
	assert_int_equal(s.ver, 0);
	assert_int_equal(out.len, 0);
	wb_free(&out);
}

/* A parser that has accepted a request of version ver. */
static void
accepted(struct socks *s, int ver)
{
	static const uint8_t v4[] = { 4, 1, 0, 80, 1, 2, 3, 4, 0 };
	static const uint8_t v5[] = { 5, 1, 0, 5, 1, 0, 1, 1, 2, 3, 4, 0, 80 };
	struct wb out;
	size_t used;

	socks_init(s);
	wb_init(&out);
	if (ver == 4)
		assert_int_equal(socks_feed(s, v4, sizeof(v4), &used, &out),
		    SOCKS_DONE);
	else
		assert_int_equal(socks_feed(s, v5, sizeof(v5), &used, &out),
		    SOCKS_DONE);
	wb_free(&out);
}

static void
test_reply(void **state)
{
	static const uint8_t v5_codes[] = {
		0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
	};
	struct socks s4, s5;
	struct wb out;
	uint8_t want[10];
	int rep;

	(void)state;
	accepted(&s4, 4);
	accepted(&s5, 5);
	for (rep = SOCKS_REP_OK; rep <= SOCKS_REP_ATYP_UNSUPPORTED; rep++) {
		wb_init(&out);
		socks_reply(&s4, (enum socks_rep)rep, &out);
		memset(want, 0, sizeof(want));
		want[1] = rep == SOCKS_REP_OK ? 0x5a : 0x5b;
		assert_int_equal(out.len, 8);
		assert_memory_equal(out.p, want, 8);
		wb_reset(&out);

		socks_reply(&s5, (enum socks_rep)rep, &out);
		memset(want, 0, sizeof(want));
		want[0] = 0x05;
		want[1] = v5_codes[rep];
		want[3] = 0x01;
		assert_int_equal(out.len, 10);
		assert_memory_equal(out.p, want, 10);
		assert_false(out.err);
		wb_free(&out);
	}
}

/* Codes outside the enum are a general failure; no version, no reply. */
static void
test_reply_odd(void **state)
{
	static const uint8_t v4_want[] = { 0x00, 0x5b, 0, 0, 0, 0, 0, 0 };
	static const uint8_t v5_want[] = { 0x05, 0x01, 0x00, 0x01, 0, 0, 0, 0,
	    0, 0 };
	struct socks s;
	struct wb out;

	(void)state;
	wb_init(&out);
	accepted(&s, 4);
	socks_reply(&s, (enum socks_rep)9, &out);
	assert_int_equal(out.len, sizeof(v4_want));
	assert_memory_equal(out.p, v4_want, sizeof(v4_want));
	wb_reset(&out);
	accepted(&s, 5);
	socks_reply(&s, (enum socks_rep)9, &out);
	assert_int_equal(out.len, sizeof(v5_want));
	assert_memory_equal(out.p, v5_want, sizeof(v5_want));
	wb_reset(&out);
	socks_init(&s);
	socks_reply(&s, SOCKS_REP_OK, &out);
	assert_int_equal(out.len, 0);
	wb_free(&out);
}

static void
test_open_failure(void **state)
{
	static const struct {
		uint32_t	 reason;
		const char	*message;
		enum socks_rep	 want;
	} cases[] = {
		{ 1, "administratively prohibited", SOCKS_REP_NOT_ALLOWED },
		{ 1, "Connection refused", SOCKS_REP_NOT_ALLOWED },
		{ 1, NULL, SOCKS_REP_NOT_ALLOWED },
		/* sshd: strerror() */
		{ 2, "Connection refused", SOCKS_REP_REFUSED },
		{ 2, "No route to host", SOCKS_REP_HOST_UNREACH },
		{ 2, "Network is unreachable", SOCKS_REP_NET_UNREACH },
		{ 2, "Connection timed out", SOCKS_REP_TTL_EXPIRED },
		{ 2, "Name or service not known", SOCKS_REP_HOST_UNREACH },
		{ 2, "Temporary failure in name resolution",
		    SOCKS_REP_HOST_UNREACH },
		{ 2, "open failed", SOCKS_REP_GENERAL },
		/* ferryd: libuv's uv_strerror() */
		{ 2, "connection refused", SOCKS_REP_REFUSED },
		{ 2, "host is unreachable", SOCKS_REP_HOST_UNREACH },
		{ 2, "network is unreachable", SOCKS_REP_NET_UNREACH },
		{ 2, "connection timed out", SOCKS_REP_TTL_EXPIRED },
		{ 2, "unknown node or service", SOCKS_REP_HOST_UNREACH },
		{ 2, "could not resolve example.invalid",
		    SOCKS_REP_HOST_UNREACH },
		{ 2, "CONNECTION REFUSED", SOCKS_REP_REFUSED },
		{ 2, "connection reset by peer", SOCKS_REP_GENERAL },
		{ 2, "", SOCKS_REP_GENERAL },
		{ 2, NULL, SOCKS_REP_GENERAL },
		/* other reasons, whatever the text */
		{ 0, "Connection refused", SOCKS_REP_GENERAL },
		{ 3, "Connection refused", SOCKS_REP_GENERAL },
		{ 4, "No route to host", SOCKS_REP_GENERAL },
		{ 0xffffffff, NULL, SOCKS_REP_GENERAL },
	};
	enum socks_rep got;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = socks_rep_for_open_failure(cases[i].reason,
		    cases[i].message);
		if (got != cases[i].want)
			fail_msg("reason %u \"%s\": %d, want %d",
			    (unsigned int)cases[i].reason,
			    cases[i].message ? cases[i].message : "(null)",
			    got, cases[i].want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_whole),
		cmocka_unit_test(test_good_bytewise),
		cmocka_unit_test(test_good_split_anywhere),
		cmocka_unit_test(test_good_trailing_payload),
		cmocka_unit_test(test_v5_greeting_alone),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_bad_first_byte_text),
		cmocka_unit_test(test_reply),
		cmocka_unit_test(test_reply_odd),
		cmocka_unit_test(test_open_failure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
