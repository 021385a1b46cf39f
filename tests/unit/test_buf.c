/* Unit tests for ssh/buf.c: the bounds-checked reader and the growable
 * writer (RFC 4251 §5 encodings). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ssh/buf.h"

/* Compares a writer's contents with the expected bytes. */
static void
assert_wb_eq(const struct wb *w, const uint8_t *want, size_t n)
{
	assert_int_equal(w->err, 0);
	assert_int_equal(w->len, n);
	if (n > 0)
		assert_memory_equal(w->p, want, n);
}

/* One reader call on input that is one byte too short: it fails, sets the
 * sticky error and a later call that would fit the input fails too. */
enum rd_op {
	OP_U8, OP_BOOL, OP_U32, OP_U64, OP_BYTES, OP_STRING, OP_STRING_EQ,
	OP_CSTRING, OP_MPINT,
};

static int
run_op(struct rd *r, enum rd_op op)
{
	uint8_t u8;
	bool b;
	uint32_t u32;
	uint64_t u64;
	const uint8_t *p = NULL;
	size_t n = 0;
	char s[64];

	switch (op) {
	case OP_U8:
		return rd_u8(r, &u8);
	case OP_BOOL:
		return rd_bool(r, &b);
	case OP_U32:
		return rd_u32(r, &u32);
	case OP_U64:
		return rd_u64(r, &u64);
	case OP_BYTES:
		return rd_bytes(r, &p, 5);
	case OP_STRING:
		return rd_string(r, &p, &n);
	case OP_STRING_EQ:
		return rd_string_eq(r, "abcd");
	case OP_CSTRING:
		return rd_cstring(r, s, sizeof(s));
	case OP_MPINT:
		return rd_mpint_pos(r, &p, &n);
	}
	return 0;
}

static void
test_rd_short_input_fails_sticky(void **state)
{
	/* For each op: a complete encoding; the test feeds every proper
	 * prefix of it. */
	static const struct {
		enum rd_op	 op;
		uint8_t		 enc[16];
		size_t		 len;
	} cases[] = {
		{ OP_U8, { 0x7f }, 1 },
		{ OP_BOOL, { 0x01 }, 1 },
		{ OP_U32, { 1, 2, 3, 4 }, 4 },
		{ OP_U64, { 1, 2, 3, 4, 5, 6, 7, 8 }, 8 },
		{ OP_BYTES, { 1, 2, 3, 4, 5 }, 5 },
		{ OP_STRING, { 0, 0, 0, 3, 'a', 'b', 'c' }, 7 },
		{ OP_STRING_EQ, { 0, 0, 0, 4, 'a', 'b', 'c', 'd' }, 8 },
		{ OP_CSTRING, { 0, 0, 0, 2, 'h', 'i' }, 6 },
		{ OP_MPINT, { 0, 0, 0, 2, 0x01, 0x02 }, 6 },
	};
	struct rd r;
	size_t i, cut;
	uint8_t big[64];
	uint8_t v;

	memset(big, 0, sizeof(big));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* The whole encoding parses and uses up the input. */
		rd_init(&r, cases[i].enc, cases[i].len);
		assert_int_equal(run_op(&r, cases[i].op), 0);
		assert_int_equal(r.err, 0);
		assert_int_equal(rd_left(&r), 0);

		for (cut = 0; cut < cases[i].len; cut++) {
			rd_init(&r, cases[i].enc, cut);
			assert_int_equal(run_op(&r, cases[i].op), -1);
			assert_int_not_equal(r.err, 0);
			assert_int_equal(rd_left(&r), 0);
			/* Sticky: even a read the input could satisfy now
			 * fails. */
			if (cut > 0) {
				r.off = 0;
				assert_int_equal(rd_u8(&r, &v), -1);
			}
			assert_int_equal(run_op(&r, cases[i].op), -1);
		}

		/* A failure earlier in the same reader poisons this op even
		 * with plenty of input. */
		rd_init(&r, big, sizeof(big));
		assert_int_equal(rd_bytes(&r, NULL, sizeof(big) + 1), -1);
		assert_int_equal(run_op(&r, cases[i].op), -1);
	}
}

static void
test_rd_values(void **state)
{
	static const uint8_t in[] = {
		0xfe,				/* u8 */
		0x02,				/* bool: non-zero is true */
		0x00,				/* bool false */
		0xde, 0xad, 0xbe, 0xef,		/* u32 */
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,	/* u64 */
		0xaa, 0xbb,			/* bytes */
	};
	struct rd r;
	uint8_t u8;
	bool b;
	uint32_t u32;
	uint64_t u64;
	const uint8_t *p;

	rd_init(&r, in, sizeof(in));
	assert_int_equal(rd_left(&r), sizeof(in));
	assert_int_equal(rd_u8(&r, &u8), 0);
	assert_int_equal(u8, 0xfe);
	assert_int_equal(rd_bool(&r, &b), 0);
	assert_true(b);
	assert_int_equal(rd_bool(&r, &b), 0);
	assert_false(b);
	assert_int_equal(rd_u32(&r, &u32), 0);
	assert_int_equal(u32, 0xdeadbeefU);
	assert_int_equal(rd_u64(&r, &u64), 0);
	assert_true(u64 == 0x0102030405060708ULL);
	assert_int_equal(rd_left(&r), 2);
	assert_int_equal(rd_bytes(&r, &p, 2), 0);
	assert_ptr_equal(p, in + sizeof(in) - 2);
	assert_int_equal(rd_left(&r), 0);
	/* Zero bytes at the end are fine; one more is not. */
	assert_int_equal(rd_bytes(&r, NULL, 0), 0);
	assert_int_equal(rd_u8(&r, &u8), -1);
	assert_int_not_equal(r.err, 0);
}

static void
test_rd_string_length_beyond_input(void **state)
{
	static const uint8_t five[] = { 0, 0, 0, 5, 'a', 'b', 'c', 'd' };
	static const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff, 'a', 'b' };
	static const uint8_t wide[] = { 0x00, 0x01, 0x00, 0x01, 'a' };
	static const uint8_t exact[] = { 0, 0, 0, 2, 'o', 'k', 'X' };
	static const uint8_t empty[] = { 0, 0, 0, 0 };
	struct rd r;
	const uint8_t *p = NULL;
	size_t n = 99;

	rd_init(&r, five, sizeof(five));
	assert_int_equal(rd_string(&r, &p, &n), -1);
	assert_int_not_equal(r.err, 0);

	/* A length near 2^32 must not wrap an offset check. */
	rd_init(&r, huge, sizeof(huge));
	assert_int_equal(rd_string(&r, &p, &n), -1);
	assert_int_not_equal(r.err, 0);
	assert_int_equal(rd_left(&r), 0);

	/* All 32 bits of the length count (65537, not 1). */
	rd_init(&r, wide, sizeof(wide));
	assert_int_equal(rd_string(&r, &p, &n), -1);

	rd_init(&r, exact, sizeof(exact));
	assert_int_equal(rd_string(&r, &p, &n), 0);
	assert_int_equal(n, 2);
	assert_ptr_equal(p, exact + 4);	/* points into the input */
	assert_int_equal(rd_left(&r), 1);

	rd_init(&r, empty, sizeof(empty));
	assert_int_equal(rd_string(&r, &p, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(rd_left(&r), 0);
}

static void
test_rd_string_eq(void **state)
{
	static const uint8_t abc[] = { 0, 0, 0, 3, 'a', 'b', 'c' };
	struct rd r;

	rd_init(&r, abc, sizeof(abc));
	assert_int_equal(rd_string_eq(&r, "abc"), 0);
	assert_int_equal(rd_left(&r), 0);
	rd_init(&r, abc, sizeof(abc));
	assert_int_equal(rd_string_eq(&r, "abd"), -1);
	rd_init(&r, abc, sizeof(abc));
	assert_int_equal(rd_string_eq(&r, "ab"), -1);	/* prefix */
	rd_init(&r, abc, sizeof(abc));
	assert_int_equal(rd_string_eq(&r, "abcd"), -1);	/* longer */
	rd_init(&r, abc, sizeof(abc));
	assert_int_equal(rd_string_eq(&r, ""), -1);
}

static void
test_rd_cstring(void **state)
{
	static const uint8_t nul[] = { 0, 0, 0, 3, 'a', 0, 'b' };
	static const uint8_t hello[] = { 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o' };
	static const uint8_t empty[] = { 0, 0, 0, 0 };
	struct rd r;
	char out[16];

	/* An embedded NUL would truncate the C string: refused. */
	rd_init(&r, nul, sizeof(nul));
	assert_int_equal(rd_cstring(&r, out, sizeof(out)), -1);
	assert_int_not_equal(r.err, 0);

	/* Needs room for the terminator: 5 bytes do not fit in 5. */
	memset(out, 'X', sizeof(out));
	rd_init(&r, hello, sizeof(hello));
	assert_int_equal(rd_cstring(&r, out, 5), -1);
	assert_int_not_equal(r.err, 0);
	assert_int_equal(out[5], 'X');	/* nothing written past outlen */

	rd_init(&r, hello, sizeof(hello));
	assert_int_equal(rd_cstring(&r, out, 6), 0);
	assert_string_equal(out, "hello");

	rd_init(&r, empty, sizeof(empty));
	out[0] = 'X';
	assert_int_equal(rd_cstring(&r, out, 1), 0);
	assert_string_equal(out, "");
}

static void
test_rd_mpint_pos(void **state)
{
	static const uint8_t neg[] = { 0, 0, 0, 1, 0x80 };
	static const uint8_t neg2[] = { 0, 0, 0, 2, 0xff, 0x01 };
	static const uint8_t pos80[] = { 0, 0, 0, 2, 0x00, 0x80 };
	static const uint8_t zero[] = { 0, 0, 0, 0 };
	static const uint8_t small[] = { 0, 0, 0, 1, 0x7f };
	struct rd r;
	const uint8_t *p;
	size_t n;

	rd_init(&r, neg, sizeof(neg));
	assert_int_equal(rd_mpint_pos(&r, &p, &n), -1);
	assert_int_not_equal(r.err, 0);
	rd_init(&r, neg2, sizeof(neg2));
	assert_int_equal(rd_mpint_pos(&r, &p, &n), -1);

	/* The leading zero that keeps 0x80 positive is dropped. */
	rd_init(&r, pos80, sizeof(pos80));
	assert_int_equal(rd_mpint_pos(&r, &p, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(p[0], 0x80);
	assert_ptr_equal(p, pos80 + 5);

	rd_init(&r, zero, sizeof(zero));
	assert_int_equal(rd_mpint_pos(&r, &p, &n), 0);
	assert_int_equal(n, 0);

	rd_init(&r, small, sizeof(small));
	assert_int_equal(rd_mpint_pos(&r, &p, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(p[0], 0x7f);
}

/* RFC 4251 §5 mpint examples (the non-negative ones). */
static void
test_wb_mpint_rfc4251(void **state)
{
	static const uint8_t zero_enc[] = { 0, 0, 0, 0 };
	static const uint8_t big[] = {
		0x09, 0xa3, 0x78, 0xf9, 0xb2, 0xe3, 0x32, 0xa7,
	};
	static const uint8_t big_enc[] = {
		0, 0, 0, 8, 0x09, 0xa3, 0x78, 0xf9, 0xb2, 0xe3, 0x32, 0xa7,
	};
	static const uint8_t x80[] = { 0x80 };
	static const uint8_t x80_padded[] = { 0x00, 0x00, 0x80 };
	static const uint8_t x80_enc[] = { 0, 0, 0, 2, 0x00, 0x80 };
	static const uint8_t zeros[] = { 0, 0, 0 };
	struct wb w;

	wb_init(&w);
	assert_int_equal(wb_mpint(&w, NULL, 0), 0);
	assert_wb_eq(&w, zero_enc, sizeof(zero_enc));

	/* Zero written with leading zero bytes is still the empty mpint. */
	wb_reset(&w);
	assert_int_equal(wb_mpint(&w, zeros, sizeof(zeros)), 0);
	assert_wb_eq(&w, zero_enc, sizeof(zero_enc));

	wb_reset(&w);
	assert_int_equal(wb_mpint(&w, big, sizeof(big)), 0);
	assert_wb_eq(&w, big_enc, sizeof(big_enc));

	wb_reset(&w);
	assert_int_equal(wb_mpint(&w, x80, sizeof(x80)), 0);
	assert_wb_eq(&w, x80_enc, sizeof(x80_enc));

	/* Leading zeros of the magnitude are stripped first. */
	wb_reset(&w);
	assert_int_equal(wb_mpint(&w, x80_padded, sizeof(x80_padded)), 0);
	assert_wb_eq(&w, x80_enc, sizeof(x80_enc));
	wb_free(&w);
	assert_null(w.p);
	assert_int_equal(w.len, 0);
}

/* What wb_mpint writes, rd_mpint_pos reads back as the same magnitude. */
static void
test_mpint_round_trip(void **state)
{
	uint8_t mag[40];
	struct wb w;
	struct rd r;
	const uint8_t *p;
	size_t n, len;

	for (len = 1; len <= sizeof(mag); len++) {
		memset(mag, 0, sizeof(mag));
		mag[0] = (uint8_t)(len * 37);	/* top bit set half the time */
		mag[len - 1] |= 1;
		if (mag[0] == 0)
			mag[0] = 1;
		wb_init(&w);
		assert_int_equal(wb_mpint(&w, mag, len), 0);
		rd_init(&r, w.p, w.len);
		assert_int_equal(rd_mpint_pos(&r, &p, &n), 0);
		assert_int_equal(rd_left(&r), 0);
		assert_int_equal(n, len);
		assert_memory_equal(p, mag, len);
		wb_free(&w);
	}
}

static void
test_u32_u64_round_trip(void **state)
{
	static const uint32_t v32[] = {
		0, 1, 0x7f, 0x80, 0xff, 0x100, 0x12345678, 0x80000000U,
		0xdeadbeefU, UINT32_MAX,
	};
	static const uint64_t v64[] = {
		0, 1, 0xffffffffULL, 0x100000000ULL, 0x0102030405060708ULL,
		0x8000000000000000ULL, UINT64_MAX,
	};
	static const uint8_t enc32[] = { 0x12, 0x34, 0x56, 0x78 };
	static const uint8_t enc64[] = {
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
	};
	struct wb w;
	struct rd r;
	uint32_t u32;
	uint64_t u64;
	uint8_t b[4];
	size_t i;

	/* Big-endian on the wire. */
	wb_init(&w);
	assert_int_equal(wb_u32(&w, 0x12345678), 0);
	assert_wb_eq(&w, enc32, sizeof(enc32));
	wb_reset(&w);
	assert_int_equal(wb_u64(&w, 0x0102030405060708ULL), 0);
	assert_wb_eq(&w, enc64, sizeof(enc64));

	wb_reset(&w);
	for (i = 0; i < sizeof(v32) / sizeof(v32[0]); i++)
		assert_int_equal(wb_u32(&w, v32[i]), 0);
	for (i = 0; i < sizeof(v64) / sizeof(v64[0]); i++)
		assert_int_equal(wb_u64(&w, v64[i]), 0);
	assert_int_equal(w.len, 4 * (sizeof(v32) / sizeof(v32[0])) +
	    8 * (sizeof(v64) / sizeof(v64[0])));

	rd_init(&r, w.p, w.len);
	for (i = 0; i < sizeof(v32) / sizeof(v32[0]); i++) {
		assert_int_equal(rd_u32(&r, &u32), 0);
		assert_true(u32 == v32[i]);
	}
	for (i = 0; i < sizeof(v64) / sizeof(v64[0]); i++) {
		assert_int_equal(rd_u64(&r, &u64), 0);
		assert_true(u64 == v64[i]);
	}
	assert_int_equal(rd_left(&r), 0);
	wb_free(&w);

	for (i = 0; i < sizeof(v32) / sizeof(v32[0]); i++) {
		put_u32(b, v32[i]);
		assert_true(get_u32(b) == v32[i]);
	}
	put_u32(b, 0xa1b2c3d4U);
	assert_int_equal(b[0], 0xa1);
	assert_int_equal(b[3], 0xd4);
}

static void
test_wb_strings_and_bool(void **state)
{
	static const uint8_t want[] = {
		0, 0, 0, 4, 't', 'e', 's', 't',
		0, 0, 0, 0,
		0, 0, 0, 3, 'a', 0, 'b',
		1, 0,
		0x42,
	};
	struct wb w;

	wb_init(&w);
	assert_int_equal(wb_cstring(&w, "test"), 0);
	assert_int_equal(wb_cstring(&w, ""), 0);
	assert_int_equal(wb_string(&w, "a\0b", 3), 0);
	assert_int_equal(wb_bool(&w, true), 0);
	assert_int_equal(wb_bool(&w, false), 0);
	assert_int_equal(wb_u8(&w, 0x42), 0);
	assert_wb_eq(&w, want, sizeof(want));
	wb_free(&w);
}

/* Growth keeps earlier bytes; reset keeps the allocation. */
static void
test_wb_grow_and_reset(void **state)
{
	struct wb w;
	uint8_t chunk[1000], *res, *before;
	size_t i, cap;

	wb_init(&w);
	for (i = 0; i < 300; i++) {
		memset(chunk, (int)(i & 0xff), sizeof(chunk));
		assert_int_equal(wb_put(&w, chunk, sizeof(chunk)), 0);
	}
	assert_int_equal(w.len, 300 * sizeof(chunk));
	assert_true(w.cap >= w.len);
	for (i = 0; i < 300; i++)
		assert_int_equal(w.p[i * sizeof(chunk) + 7], (uint8_t)i);

	res = wb_reserve(&w, 50);
	assert_non_null(res);
	assert_ptr_equal(res, w.p + w.len);
	assert_int_equal(w.len, 300 * sizeof(chunk));	/* not counted yet */
	assert_true(w.cap - w.len >= 50);

	cap = w.cap;
	before = w.p;
	wb_reset(&w);
	assert_int_equal(w.len, 0);
	assert_int_equal(w.cap, cap);
	assert_ptr_equal(w.p, before);
	assert_int_equal(wb_u8(&w, 9), 0);
	assert_int_equal(w.p[0], 9);
	wb_free(&w);
}

/* An error in the writer turns later writes into failures. */
static void
test_wb_sticky_error(void **state)
{
	struct wb w;

	wb_init(&w);
	assert_int_equal(wb_u32(&w, 1), 0);
	/* A reservation that could never be satisfied. */
	assert_null(wb_reserve(&w, SIZE_MAX - 2));
	assert_int_not_equal(w.err, 0);
	assert_int_equal(wb_u8(&w, 1), -1);
	assert_int_equal(wb_cstring(&w, "x"), -1);
	assert_int_equal(w.len, 4);
	wb_reset(&w);
	assert_int_equal(w.err, 0);
	assert_int_equal(wb_u8(&w, 1), 0);
	wb_free(&w);
}

/* Writing nothing succeeds, also before the first allocation (ssh_feed
 * with zero bytes relies on it). */
static void
test_wb_put_empty(void **state)
{
	struct wb w;

	wb_init(&w);
	assert_int_equal(wb_put(&w, "", 0), 0);
	assert_int_equal(w.err, 0);
	assert_int_equal(w.len, 0);
	assert_int_equal(wb_u8(&w, 1), 0);
	assert_int_equal(wb_put(&w, "", 0), 0);
	assert_int_equal(w.len, 1);
	wb_free(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rd_short_input_fails_sticky),
		cmocka_unit_test(test_rd_values),
		cmocka_unit_test(test_rd_string_length_beyond_input),
		cmocka_unit_test(test_rd_string_eq),
		cmocka_unit_test(test_rd_cstring),
		cmocka_unit_test(test_rd_mpint_pos),
		cmocka_unit_test(test_wb_mpint_rfc4251),
		cmocka_unit_test(test_mpint_round_trip),
		cmocka_unit_test(test_u32_u64_round_trip),
		cmocka_unit_test(test_wb_strings_and_bool),
		cmocka_unit_test(test_wb_grow_and_reset),
		cmocka_unit_test(test_wb_sticky_error),
		cmocka_unit_test(test_wb_put_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
