/* Unit tests for the ssh-agent codec (keys/agent.c) on built and hostile
 * messages (the libuv client: test_agent_client.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentkit.h"

static void
test_req_identities(void **state)
{
	static const uint8_t want[] = { 0, 0, 0, 1, 11 };
	struct wb w;

	(void)state;
	wb_init(&w);
	assert_int_equal(agent_req_identities(&w), 0);
	assert_int_equal(w.len, sizeof(want));
	assert_memory_equal(w.p, want, sizeof(want));
	wb_free(&w);
}

static void
test_req_sign(void **state)
{
	static const uint8_t want[] = {
		0, 0, 0, 23, 13,
		0, 0, 0, 5, 'b', 'l', 'o', 'b', '!',
		0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o',
		0, 0, 0, 4,
	};
	static const struct {
		const char	*alg;
		uint8_t		 flags;
	} algs[] = {
		{ "rsa-sha2-512", 4 }, { "rsa-sha2-256", 2 },
		{ "ssh-ed25519", 0 }, { "ecdsa-sha2-nistp256", 0 },
		{ "ssh-rsa", 0 }, { NULL, 0 },
	};
	struct wb w;
	uint8_t *big;
	size_t i;

	(void)state;
	wb_init(&w);
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		wb_reset(&w);
		assert_int_equal(agent_req_sign(&w, (const uint8_t *)"blob!",
		    5, (const uint8_t *)"hello", 5, algs[i].alg), 0);
		assert_int_equal(w.len, sizeof(want));
		assert_memory_equal(w.p, want, sizeof(want) - 1);
		assert_int_equal(w.p[sizeof(want) - 1], algs[i].flags);
	}

	/* Appends, and refuses what the agent would not take. */
	wb_reset(&w);
	assert_int_equal(agent_req_identities(&w), 0);
	assert_int_equal(agent_req_sign(&w, (const uint8_t *)"blob!", 5,
	    (const uint8_t *)"hello", 5, "rsa-sha2-512"), 0);
	assert_int_equal(w.len, 5 + sizeof(want));
	assert_memory_equal(w.p + 5, want, sizeof(want));
	big = calloc(1, AGENT_MAX_MSG + 1);
	assert_non_null(big);
	wb_reset(&w);
	assert_int_equal(agent_req_sign(&w, big, 32, big, AGENT_MAX_MSG - 40,
	    NULL), -1);
	assert_int_equal(agent_req_sign(&w, big, 32, big, AGENT_MAX_MSG + 1,
	    NULL), -1);
	assert_int_equal(agent_req_sign(&w, big, 32, big,
	    AGENT_MAX_MSG - 1 - 4 - 32 - 4 - 4, NULL), 0);
	assert_int_equal(w.len, 4 + AGENT_MAX_MSG);
	free(big);
	wb_free(&w);
}

static void
test_frame(void **state)
{
	uint8_t buf[16] = { 0, 0, 0, 3, 12, 0, 0, 99 };
	size_t n = 0;

	(void)state;
	assert_int_equal(agent_frame(buf, 0, &n), 0);
	assert_int_equal(agent_frame(buf, 3, &n), 0);
	assert_int_equal(agent_frame(buf, 4, &n), 0);
	assert_int_equal(agent_frame(buf, 6, &n), 0);
	assert_int_equal(agent_frame(buf, 7, &n), 1);
	assert_int_equal(n, 7);
	assert_int_equal(agent_frame(buf, 16, &n), 1);
	assert_int_equal(n, 7);
	put_u32(buf, 0);
	assert_int_equal(agent_frame(buf, 16, &n), -1);
	put_u32(buf, AGENT_MAX_MSG + 1);
	assert_int_equal(agent_frame(buf, 4, &n), -1);
	put_u32(buf, UINT32_MAX);
	assert_int_equal(agent_frame(buf, 4, &n), -1);
	put_u32(buf, AGENT_MAX_MSG);
	assert_int_equal(agent_frame(buf, 16, &n), 0);
}

static void
test_parse_identities(void **state)
{
	struct agent_id *ids;
	struct wb m, b;
	char err[256];
	int n;

	(void)state;
	wb_init(&m);
	build_identities(&m);
	assert_int_equal(agent_parse_identities(m.p, m.len, &ids, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 2);
	blob_of(ed, &b);
	assert_int_equal(ids[0].bloblen, b.len);
	assert_memory_equal(ids[0].blob, b.p, b.len);
	assert_true(key_equal(ids[0].key, ed));
	assert_false(ids[0].key->has_private);
	assert_string_equal(ids[0].comment, "ed25519 comment");
	assert_string_equal(key_type_name(ids[0].key), "ssh-ed25519");
	wb_free(&b);
	assert_true(key_equal(ids[1].key, ec));
	assert_string_equal(ids[1].comment, "");
	agent_ids_free(ids, n);

	/* No keys at all. */
	msg_begin(&m, SSH_AGENT_IDENTITIES_ANSWER);
	wb_u32(&m, 0);
	msg_end(&m);
	assert_int_equal(agent_parse_identities(m.p, m.len, &ids, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 0);
	assert_non_null(ids);
	agent_ids_free(ids, n);
	agent_ids_free(NULL, 0);
	wb_free(&m);
}

static void
expect_id_fail(const uint8_t *p, size_t len, const char *want)
{
	static struct agent_id dummy;
	struct agent_id *ids = &dummy;
	char err[256] = "";
	int n = -1;

	assert_int_equal(agent_parse_identities(p, len, &ids, &n, err,
	    sizeof(err)), -1);
	assert_null(ids);
	assert_int_equal(n, 0);
	assert_true(err[0] != '\0');
	if (want != NULL && strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static void
expect_sign_fail(const uint8_t *p, size_t len, const char *want)
{
	const uint8_t *sig = p;
	size_t siglen = 1;
	char err[256] = "";

	assert_int_equal(agent_parse_sign(p, len, &sig, &siglen, err,
	    sizeof(err)), -1);
	assert_null(sig);
	assert_int_equal(siglen, 0);
	assert_true(err[0] != '\0');
	if (want != NULL && strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

/* Every prefix fails: as received (the length disagrees) and with the
 * length rewritten to match (the contents are short). */
static void
test_identities_truncated(void **state)
{
	struct wb m;
	uint8_t *cut;
	size_t len;

	(void)state;
	wb_init(&m);
	build_identities(&m);
	for (len = 0; len < m.len; len++) {
		cut = malloc(len > 0 ? len : 1);
		assert_non_null(cut);
		memcpy(cut, m.p, len);
		expect_id_fail(cut, len, NULL);
		if (len >= 4) {
			put_u32(cut, (uint32_t)(len - 4));
			expect_id_fail(cut, len, NULL);
		}
		free(cut);
	}
	wb_free(&m);
}

static void
test_identities_garbage(void **state)
{
	struct agent_id *ids;
	struct wb m;
	uint8_t buf[96];
	uint32_t seed = 12345;
	size_t i, len;
	char err[256];
	int n, iter, x;

	(void)state;
	wb_init(&m);

	/* A count the bytes cannot hold is refused before allocating. */
	msg_begin(&m, SSH_AGENT_IDENTITIES_ANSWER);
	wb_u32(&m, UINT32_MAX);
	wb_u32(&m, 0);
	wb_u32(&m, 0);
	msg_end(&m);
	expect_id_fail(m.p, m.len, "claims");

	/* Trailing bytes, a wrong type, the failure codes. */
	build_identities(&m);
	wb_u8(&m, 0);
	msg_end(&m);
	expect_id_fail(m.p, m.len, "trailing");
	msg_begin(&m, SSH_AGENT_SIGN_RESPONSE);
	wb_u32(&m, 0);
	msg_end(&m);
	expect_id_fail(m.p, m.len, "unexpected agent message type 14");
	msg_begin(&m, SSH_AGENT_FAILURE);
	msg_end(&m);
	expect_id_fail(m.p, m.len, "agent refused to list keys");
	msg_begin(&m, 30);
	msg_end(&m);
	expect_id_fail(m.p, m.len, "agent refused to list keys");
	/* A length over the limit, even if the bytes were there. */
	msg_begin(&m, SSH_AGENT_IDENTITIES_ANSWER);
	wb_u32(&m, 0);
	msg_end(&m);
	put_u32(m.p, AGENT_MAX_MSG + 1);
	expect_id_fail(m.p, m.len, NULL);

	/* Random bytes behind a plausible header. */
	for (iter = 0; iter < 20000; iter++) {
		seed = seed * 1103515245 + 12345;
		len = 5 + seed % (sizeof(buf) - 5);
		for (i = 0; i < len; i++) {
			seed = seed * 1103515245 + 12345;
			buf[i] = (uint8_t)(seed >> 16);
		}
		if (iter % 2 == 0)
			put_u32(buf, (uint32_t)(len - 4));
		if (iter % 4 < 2) {
			buf[4] = SSH_AGENT_IDENTITIES_ANSWER;
			put_u32(buf + 5, (uint32_t)(seed >> 8) % 3);
		}
		if (agent_parse_identities(buf, len, &ids, &n, err,
		    sizeof(err)) == 0)
			agent_ids_free(ids, n);
	}

	/* Every byte of a real answer flipped: skipped keys or errors. */
	build_identities(&m);
	for (i = 0; i < m.len; i++) {
		for (x = 1; x < 256; x <<= 1) {
			m.p[i] ^= (uint8_t)x;
			if (agent_parse_identities(m.p, m.len, &ids, &n, err,
			    sizeof(err)) == 0) {
				assert_true(n >= 0 && n <= 5);
				agent_ids_free(ids, n);
			}
			m.p[i] ^= (uint8_t)x;
		}
	}
	wb_free(&m);
}

static void
test_parse_sign(void **state)
{
	const uint8_t *sig;
	struct wb m, inner;
	uint8_t *cut;
	size_t siglen, len;
	char err[256];

	(void)state;
	wb_init(&m);
	build_sign_response(&m, ed, "ssh-ed25519");
	assert_int_equal(agent_parse_sign(m.p, m.len, &sig, &siglen, err,
	    sizeof(err)), 0);
	assert_ptr_equal(sig, m.p + 9);
	assert_int_equal(siglen, m.len - 9);
	assert_int_equal(key_verify(ed, "ssh-ed25519", sig, siglen, data,
	    sizeof(data)), 0);

	for (len = 0; len < m.len; len++) {
		cut = malloc(len > 0 ? len : 1);
		assert_non_null(cut);
		memcpy(cut, m.p, len);
		expect_sign_fail(cut, len, NULL);
		if (len >= 4) {
			put_u32(cut, (uint32_t)(len - 4));
			expect_sign_fail(cut, len, NULL);
		}
		free(cut);
	}

	wb_u8(&m, 0);
	msg_end(&m);
	expect_sign_fail(m.p, m.len, "trailing");

	/* The inner blob must be (string alg, string sig) exactly. */
	wb_init(&inner);
	wb_cstring(&inner, "ssh-ed25519");
	wb_cstring(&inner, "sig");
	wb_u8(&inner, 0);
	msg_begin(&m, SSH_AGENT_SIGN_RESPONSE);
	wb_string(&m, inner.p, inner.len);
	msg_end(&m);
	expect_sign_fail(m.p, m.len, "malformed signature");
	msg_begin(&m, SSH_AGENT_SIGN_RESPONSE);
	wb_string(&m, inner.p, inner.len - 1);
	msg_end(&m);
	assert_int_equal(agent_parse_sign(m.p, m.len, &sig, &siglen, err,
	    sizeof(err)), 0);
	msg_begin(&m, SSH_AGENT_SIGN_RESPONSE);
	wb_string(&m, inner.p, 15);
	msg_end(&m);
	expect_sign_fail(m.p, m.len, "malformed signature");
	wb_free(&inner);
	msg_begin(&m, SSH_AGENT_SIGN_RESPONSE);
	wb_u32(&m, 8);
	wb_u32(&m, 0);
	wb_u32(&m, 0);
	msg_end(&m);
	expect_sign_fail(m.p, m.len, "malformed signature");
	msg_begin(&m, SSH_AGENT_SIGN_RESPONSE);
	wb_u32(&m, 0);
	msg_end(&m);
	expect_sign_fail(m.p, m.len, "malformed signature");
	msg_begin(&m, SSH_AGENT_IDENTITIES_ANSWER);
	wb_u32(&m, 0);
	msg_end(&m);
	expect_sign_fail(m.p, m.len, "unexpected agent message type 12");
	wb_free(&m);
}

static void
test_failure(void **state)
{
	static const uint8_t failure[] = { 0, 0, 0, 1, SSH_AGENT_FAILURE };
	static const uint8_t failure102[] = { 0, 0, 0, 1, 102 };
	static const uint8_t longer[] = { 0, 0, 0, 2, SSH_AGENT_FAILURE, 0 };

	(void)state;
	expect_sign_fail(failure, sizeof(failure), "agent refused to sign");
	expect_sign_fail(failure102, sizeof(failure102),
	    "agent refused to sign");
	expect_id_fail(failure, sizeof(failure), "agent refused to list keys");
	expect_sign_fail(longer, sizeof(longer), "agent refused to sign");
	expect_sign_fail(failure, sizeof(failure) - 1, "truncated");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_req_identities),
		cmocka_unit_test(test_req_sign),
		cmocka_unit_test(test_frame),
		cmocka_unit_test(test_parse_identities),
		cmocka_unit_test(test_identities_truncated),
		cmocka_unit_test(test_identities_garbage),
		cmocka_unit_test(test_parse_sign),
		cmocka_unit_test(test_failure),
	};

	return cmocka_run_group_tests_name("agent codec", tests, setup_keys,
	    teardown_keys);
}
