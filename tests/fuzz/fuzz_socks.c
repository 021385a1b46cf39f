/* libFuzzer target: the SOCKS4/4a/5 request parser. Input: one control
 * byte (low 3 bits: how many chunk sizes follow; high bits: an SSH
 * reason code), the chunk sizes (0: all the rest), then the client's
 * bytes. The stream is fed in those chunks, cycled, and again whole;
 * both must agree, and the parser's invariants must hold after every
 * call. Whatever follows an accepted request is used as the message of
 * a failed channel open. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fwd/socks.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_V4	(8 + 256 + 256)		/* header, user id, host name */
#define MAX_V5	((2 + 255) + (5 + 255 + 2))	/* greeting, request */

static void
check_state(const struct socks *s, enum socks_status st,
    const struct wb *out)
{
	if (out->err || s->len > sizeof(s->buf))
		abort();
	if (memchr(s->host, '\0', sizeof(s->host)) == NULL ||
	    memchr(s->err, '\0', sizeof(s->err)) == NULL)
		abort();
	if (s->ver != 0 && s->ver != 4 && s->ver != 5)
		abort();
	switch (st) {
	case SOCKS_MORE:
		if (s->ver == 4 && out->len != 0)
			abort();
		if (s->ver == 5 && out->len != 0 && out->len != 2)
			abort();
		break;
	case SOCKS_DONE:
		if (s->ver == 0 || s->host[0] == '\0' || s->port == 0)
			abort();
		if (out->len != (s->ver == 5 ? 2u : 0u))
			abort();
		break;
	case SOCKS_FAIL:
		if (s->err[0] == '\0' || s->host[0] != '\0' || s->port != 0)
			abort();
		if (s->ver == 0 && out->len != 0)
			abort();
		if (s->ver == 4 && out->len != 8)
			abort();
		if (s->ver == 5 && out->len != 2 && out->len != 12)
			abort();
		break;
	default:
		abort();
	}
}

/* Feeds p in chunks of the sizes given (cycled; 0 takes the rest) until
 * the parser stops asking; returns its status, *consumed the total. */
static enum socks_status
run(struct socks *s, const uint8_t *p, size_t n, const uint8_t *sizes,
    size_t nsizes, struct wb *out, size_t *consumed)
{
	enum socks_status st = SOCKS_MORE;
	size_t off = 0, k, used, i = 0;
	uint8_t *chunk;

	socks_init(s);
	do {
		k = n - off;
		if (nsizes > 0 && sizes[i % nsizes] != 0 &&
		    sizes[i % nsizes] < k)
			k = sizes[i % nsizes];
		i++;
		/* An exact-size copy, so reading past n shows up. */
		if ((chunk = malloc(k > 0 ? k : 1)) == NULL)
			abort();
		memcpy(chunk, p + off, k);
		st = socks_feed(s, chunk, k, &used, out);
		free(chunk);
		if (used > k || (st == SOCKS_MORE && used != k))
			abort();
		off += used;
		check_state(s, st, out);
	} while (st == SOCKS_MORE && off < n);
	*consumed = off;
	return st;
}

static void
check_reply(const struct socks *s)
{
	struct wb w;
	int rep;
	size_t want = s->ver == 4 ? 8 : 10;

	wb_init(&w);
	for (rep = SOCKS_REP_OK; rep <= SOCKS_REP_ATYP_UNSUPPORTED + 1;
	    rep++) {
		wb_reset(&w);
		socks_reply(s, (enum socks_rep)rep, &w);
		if (w.err || w.len != want)
			abort();
		if (s->ver == 4 && (w.p[0] != 0 ||
		    w.p[1] != (rep == SOCKS_REP_OK ? 0x5a : 0x5b)))
			abort();
		if (s->ver == 5 && (w.p[0] != 5 || w.p[1] > 8 ||
		    w.p[3] != 1))
			abort();
	}
	wb_free(&w);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct socks s, t;
	struct wb out, whole;
	const uint8_t *sizes, *p;
	size_t nsizes, n, consumed, consumed1, used;
	enum socks_status st, st1;
	uint32_t reason;
	char *msg;

	if (size < 1)
		return 0;
	nsizes = data[0] & 7;
	reason = data[0] >> 3;
	if (size < 1 + nsizes)
		return 0;
	sizes = data + 1;
	p = data + 1 + nsizes;
	n = size - 1 - nsizes;

	wb_init(&out);
	wb_init(&whole);
	st = run(&s, p, n, sizes, nsizes, &out, &consumed);
	st1 = run(&t, p, n, NULL, 0, &whole, &consumed1);

	/* Chunking must not matter. */
	if (st != st1 || consumed != consumed1 || out.len != whole.len ||
	    (out.len > 0 && memcmp(out.p, whole.p, out.len) != 0) ||
	    s.ver != t.ver || s.port != t.port ||
	    strcmp(s.host, t.host) != 0 || strcmp(s.err, t.err) != 0)
		abort();
	if (consumed > (s.ver == 4 ? MAX_V4 : MAX_V5))
		abort();

	/* Finished parsers take nothing more. */
	if (st != SOCKS_MORE) {
		if (socks_feed(&s, p, n, &used, &out) != st || used != 0 ||
		    out.len != whole.len)
			abort();
	}
	if (st == SOCKS_DONE)
		check_reply(&s);

	/* The rest of the input, as a channel open failure's message. */
	if ((msg = malloc(n - consumed + 1)) == NULL)
		abort();
	memcpy(msg, p + consumed, n - consumed);
	msg[n - consumed] = '\0';
	if ((unsigned int)socks_rep_for_open_failure(reason, msg) >
	    SOCKS_REP_ATYP_UNSUPPORTED ||
	    (unsigned int)socks_rep_for_open_failure(reason, NULL) >
	    SOCKS_REP_ATYP_UNSUPPORTED)
		abort();
	free(msg);

	wb_free(&out);
	wb_free(&whole);
	return 0;
}
