/* libFuzzer target: the compression step (src/ssh/zstream.c). The first
 * byte picks the mode and a bound; the rest is cut into pieces, each
 * prefixed by a 16-bit length.
 *
 * Mode 0: the pieces are a peer's compressed payloads, inflated one after
 * the other by one stream into the store, as the transport does, with
 * max = 1 KiB << (bound bits). Checked: no crash or undefined behaviour;
 * a result within max; after a failure the stream refuses more; every
 * payload kept in the store is unchanged at the end (nothing handed out
 * is moved or overwritten before a reset).
 *
 * Mode 1: the pieces are our payloads: deflated by one stream, inflated by
 * another with max = the piece's length. Checked: each comes back exactly,
 * and one byte less room is refused. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ssh/zstream.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PIECES	64

struct kept {
	const uint8_t	*p;
	size_t		 n;
	uint32_t	 sum;
};

static uint32_t
checksum(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* The next piece: its length (2 bytes, big-endian) and bytes, cut short
 * at the end of the input. */
static bool
next_piece(const uint8_t **d, size_t *left, const uint8_t **p, size_t *n)
{
	size_t want;

	if (*left < 2)
		return false;
	want = ((size_t)(*d)[0] << 8) | (*d)[1];
	*d += 2;
	*left -= 2;
	*n = want < *left ? want : *left;
	*p = *d;
	*d += *n;
	*left -= *n;
	return true;
}

static void
peer_payloads(const uint8_t *d, size_t left, size_t max)
{
	struct ssh_zstream *z = ssh_zstream_new(false);
	struct ssh_zstore st;
	struct kept kept[MAX_PIECES];
	const uint8_t *p;
	uint8_t *out;
	size_t n, outlen, nkept = 0, i;
	int r;
	bool failed = false;

	if (z == NULL)
		abort();
	ssh_zstore_init(&st);
	while (nkept < MAX_PIECES && next_piece(&d, &left, &p, &n)) {
		if ((out = ssh_zstore_room(&st, max)) == NULL)
			abort();
		r = ssh_zstream_inflate(z, p, n, out, max, &outlen);
		if (outlen > max)
			abort();
		if (failed && r == 0)
			abort();	/* a broken stream must stay broken */
		if (r != 0) {
			if (r != SSH_Z_CORRUPT && r != SSH_Z_TOO_BIG &&
			    r != SSH_Z_NOMEM)
				abort();
			failed = true;
			continue;
		}
		ssh_zstore_keep(&st, outlen);
		kept[nkept].p = out;
		kept[nkept].n = outlen;
		kept[nkept++].sum = checksum(out, outlen);
		if (outlen % 3 == 0 && nkept > 0) {	/* not kept after all */
			ssh_zstore_unkeep(&st, outlen);
			nkept--;
		}
	}
	for (i = 0; i < nkept; i++)
		if (checksum(kept[i].p, kept[i].n) != kept[i].sum)
			abort();
	ssh_zstore_reset(&st);
	ssh_zstore_free(&st);
	ssh_zstream_free(z);
}

static void
round_trip(const uint8_t *d, size_t left)
{
	struct ssh_zstream *def = ssh_zstream_new(true);
	struct ssh_zstream *inf = ssh_zstream_new(false);
	struct ssh_zstream *tight;
	struct wb w;
	uint8_t out[65536];
	const uint8_t *p;
	size_t n, outlen;
	int pieces = 0;

	if (def == NULL || inf == NULL)
		abort();
	wb_init(&w);
	while (pieces++ < MAX_PIECES && next_piece(&d, &left, &p, &n)) {
		if (n == 0)
			continue;	/* the transport never sends none */
		wb_reset(&w);
		if (ssh_zstream_deflate(def, p, n, &w) != 0 || w.err)
			abort();
		if (ssh_zstream_inflate(inf, w.p, w.len, out, n, &outlen) != 0 ||
		    outlen != n || memcmp(out, p, n) != 0)
			abort();
		/* a fresh stream with one byte too little room refuses the
		 * first payload */
		if (pieces == 1) {
			if ((tight = ssh_zstream_new(false)) == NULL)
				abort();
			if (ssh_zstream_inflate(tight, w.p, w.len, out, n - 1,
			    &outlen) != SSH_Z_TOO_BIG || outlen != n - 1)
				abort();
			ssh_zstream_free(tight);
		}
	}
	wb_free(&w);
	ssh_zstream_free(def);
	ssh_zstream_free(inf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t mode;

	if (size < 1)
		return 0;
	mode = data[0];
	if (mode & 0x80)
		round_trip(data + 1, size - 1);
	else
		peer_payloads(data + 1, size - 1, (size_t)1024 << (mode & 7));
	return 0;
}
