/* The compression step alone (src/ssh/zstream.c): payloads round trip
 * through one deflate and one inflate stream that carry on from packet to
 * packet; the inflate bound stops a zip bomb at the limit; corrupt or
 * ended streams are errors, never a crash; the store keeps what it gave
 * out in place until it is reset. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zlib.h>

#include "ssh/zstream.h"

#define MAX	(256 * 1024)

static void
fill_random(uint8_t *p, size_t n, uint32_t seed)
{
	size_t i;

	for (i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

/* Text-like bytes: compress well but not trivially. */
static void
fill_text(uint8_t *p, size_t n, uint32_t seed)
{
	static const char words[] = "ferry tunnels bytes through ssh ";
	size_t i;

	for (i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)words[(i + (seed >> 28)) % (sizeof(words) - 1)];
	}
}

/* Compresses p as one payload of z and returns it in w (reset first). */
static void
deflate_one(struct ssh_zstream *z, const uint8_t *p, size_t n, struct wb *w)
{
	wb_reset(w);
	assert_int_equal(ssh_zstream_deflate(z, p, n, w), 0);
	assert_int_equal(w->err, 0);
}

static void
test_round_trip(void **state)
{
	struct ssh_zstream *d = ssh_zstream_new(true);
	struct ssh_zstream *i = ssh_zstream_new(false);
	static uint8_t in[64 * 1024], out[MAX];
	static const size_t sizes[] = { 1, 5, 100, 4096, 32768, 65536, 13 };
	struct wb w;
	size_t k, outlen, raw = 0;
	uint64_t tin, tout;

	(void)state;
	assert_non_null(d);
	assert_non_null(i);
	wb_init(&w);
	for (k = 0; k < 3 * sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t n = sizes[k % (sizeof(sizes) / sizeof(sizes[0]))];

		if (k % 3 == 0)
			fill_random(in, n, (uint32_t)k);
		else if (k % 3 == 1)
			fill_text(in, n, (uint32_t)k);
		else
			memset(in, 'z', n);
		deflate_one(d, in, n, &w);
		assert_true(w.len > 0);
		if (k % 3 == 0)	/* incompressible: a few bytes of framing */
			assert_true(w.len <= n + n / 100 + 32);
		if (k % 3 == 2 && n >= 4096)
			assert_true(w.len < n / 50);
		/* each payload inflates alone: the flush ended it */
		assert_int_equal(ssh_zstream_inflate(i, w.p, w.len, out, MAX,
		    &outlen), 0);
		assert_int_equal(outlen, n);
		assert_memory_equal(out, in, n);
		raw += n;
	}
	ssh_zstream_totals(d, &tin, &tout);
	assert_int_equal(tin, raw);
	ssh_zstream_totals(i, &tin, &tout);
	assert_int_equal(tout, raw);
	wb_free(&w);
	ssh_zstream_free(d);
	ssh_zstream_free(i);
}

/* The bound holds exactly: max bytes pass, max + 1 do not, and a small
 * payload that would inflate to megabytes stops at the bound. */
static void
test_inflate_bound(void **state)
{
	struct ssh_zstream *d, *i;
	uint8_t *big = calloc(1, 8 * 1024 * 1024), *out = malloc(MAX);
	struct wb w;
	size_t outlen;

	(void)state;
	assert_non_null(big);
	assert_non_null(out);
	wb_init(&w);

	d = ssh_zstream_new(true);
	i = ssh_zstream_new(false);
	deflate_one(d, big, MAX, &w);
	assert_int_equal(ssh_zstream_inflate(i, w.p, w.len, out, MAX,
	    &outlen), 0);
	assert_int_equal(outlen, MAX);
	/* the stream goes on after a payload of exactly max */
	deflate_one(d, (const uint8_t *)"next", 4, &w);
	assert_int_equal(ssh_zstream_inflate(i, w.p, w.len, out, MAX,
	    &outlen), 0);
	assert_int_equal(outlen, 4);
	assert_memory_equal(out, "next", 4);
	ssh_zstream_free(d);
	ssh_zstream_free(i);

	d = ssh_zstream_new(true);
	i = ssh_zstream_new(false);
	deflate_one(d, big, MAX + 1, &w);
	assert_int_equal(ssh_zstream_inflate(i, w.p, w.len, out, MAX,
	    &outlen), SSH_Z_TOO_BIG);
	assert_true(outlen <= MAX);
	/* refused for good */
	assert_int_equal(ssh_zstream_inflate(i, w.p, w.len, out, MAX,
	    &outlen), SSH_Z_CORRUPT);
	ssh_zstream_free(d);
	ssh_zstream_free(i);

	/* a zip bomb: 8 MiB of zeros in a few KiB */
	d = ssh_zstream_new(true);
	i = ssh_zstream_new(false);
	deflate_one(d, big, 8 * 1024 * 1024, &w);
	assert_true(w.len < 16 * 1024);
	assert_int_equal(ssh_zstream_inflate(i, w.p, w.len, out, MAX,
	    &outlen), SSH_Z_TOO_BIG);
	assert_int_equal(outlen, MAX);
	ssh_zstream_free(d);
	ssh_zstream_free(i);

	wb_free(&w);
	free(big);
	free(out);
}

/* Bytes that are no deflate stream, a stream cut and continued with
 * garbage, and a stream that ends (Z_FINISH) are refused. */
static void
test_corrupt(void **state)
{
	struct ssh_zstream *d, *i;
	static uint8_t in[4096], out[MAX];
	static const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t fin[64];
	z_stream s;
	struct wb w;
	size_t outlen, k;
	int r;

	(void)state;
	wb_init(&w);
	i = ssh_zstream_new(false);
	assert_int_equal(ssh_zstream_inflate(i, junk, sizeof(junk), out, MAX,
	    &outlen), SSH_Z_CORRUPT);
	ssh_zstream_free(i);

	/* every single-byte change of a good first payload: refused, or
	 * (where deflate's redundancy allows) something within the bound */
	d = ssh_zstream_new(true);
	fill_text(in, sizeof(in), 7);
	deflate_one(d, in, sizeof(in), &w);
	ssh_zstream_free(d);
	for (k = 0; k < w.len; k++) {
		w.p[k] ^= 0x5a;
		i = ssh_zstream_new(false);
		r = ssh_zstream_inflate(i, w.p, w.len, out, MAX, &outlen);
		assert_true(r == 0 || r == SSH_Z_CORRUPT || r == SSH_Z_TOO_BIG);
		assert_true(outlen <= MAX);
		ssh_zstream_free(i);
		w.p[k] ^= 0x5a;
	}

	/* a stream the peer finished: the next payload has nowhere to go */
	memset(&s, 0, sizeof(s));
	assert_int_equal(deflateInit(&s, 6), Z_OK);
	s.next_in = in;
	s.avail_in = 10;
	s.next_out = fin;
	s.avail_out = sizeof(fin);
	assert_int_equal(deflate(&s, Z_FINISH), Z_STREAM_END);
	i = ssh_zstream_new(false);
	assert_int_equal(ssh_zstream_inflate(i, fin, sizeof(fin) -
	    s.avail_out, out, MAX, &outlen), SSH_Z_CORRUPT);
	deflateEnd(&s);
	ssh_zstream_free(i);

	/* the wrong direction */
	d = ssh_zstream_new(true);
	assert_int_equal(ssh_zstream_inflate(d, junk, 1, out, MAX, &outlen),
	    SSH_Z_CORRUPT);
	ssh_zstream_free(d);
	i = ssh_zstream_new(false);
	assert_int_equal(ssh_zstream_deflate(i, junk, 1, &w), -1);
	ssh_zstream_free(i);
	wb_free(&w);
}

/* What the store gave out stays put while more is added, across chunks;
 * unkeep gives back the tail; reset reuses the first chunk. */
static void
test_store(void **state)
{
	struct ssh_zstore s;
	uint8_t *ptrs[40], *p, *first;
	size_t k;

	(void)state;
	ssh_zstore_init(&s);
	ssh_zstore_reset(&s);	/* empty: harmless */
	for (k = 0; k < 40; k++) {
		p = ssh_zstore_room(&s, MAX);
		assert_non_null(p);
		memset(p, (int)k, 50000);
		ssh_zstore_keep(&s, 50000);
		ptrs[k] = p;
	}
	for (k = 0; k < 40; k++) {
		assert_int_equal(ptrs[k][0], (uint8_t)k);
		assert_int_equal(ptrs[k][49999], (uint8_t)k);
	}
	/* a payload nobody keeps: its room is used again */
	p = ssh_zstore_room(&s, MAX);
	ssh_zstore_keep(&s, 100);
	ssh_zstore_unkeep(&s, 100);
	assert_ptr_equal(ssh_zstore_room(&s, MAX), p);
	ssh_zstore_reset(&s);
	first = ssh_zstore_room(&s, MAX);
	assert_ptr_equal(first, ptrs[0]);
	/* larger than a chunk */
	p = ssh_zstore_room(&s, 2 * 1024 * 1024);
	assert_non_null(p);
	memset(p, 1, 2 * 1024 * 1024);
	ssh_zstore_keep(&s, 2 * 1024 * 1024);
	ssh_zstore_free(&s);
	ssh_zstore_free(&s);	/* twice: harmless */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_inflate_bound),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_store),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
