/* Known answers for curve25519-sha256: X25519 (RFC 7748 §6.1), the
 * exchange hash and the key derivation (checked against an independent
 * computation with Python's hashlib of the RFC 4253/8731 formulas). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "ssh/ssh_int.h"

static void
unhex(const char *h, uint8_t *out, size_t n)
{
	size_t i;
	unsigned v;

	for (i = 0; i < n; i++) {
		assert_int_equal(sscanf(h + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static const char *alice_priv =
    "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
static const char *alice_pub =
    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
static const char *bob_pub =
    "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
static const char *shared =
    "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";

static EVP_PKEY *
alice(void)
{
	uint8_t priv[32];
	EVP_PKEY *pk;

	unhex(alice_priv, priv, 32);
	pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, 32);
	assert_non_null(pk);
	return pk;
}

static void
test_x25519_rfc7748(void **state)
{
	EVP_PKEY *pk = alice();
	uint8_t bob[32], want[32];
	struct wb kmp;

	(void)state;
	unhex(bob_pub, bob, 32);
	unhex(shared, want, 32);
	wb_init(&kmp);
	assert_int_equal(kex_shared_secret(pk, bob, 32, &kmp), 0);
	/* mpint: 4-byte length 32, no leading zero (top bit clear) */
	assert_int_equal(kmp.len, 36);
	assert_int_equal(get_u32(kmp.p), 32);
	assert_memory_equal(kmp.p + 4, want, 32);
	wb_free(&kmp);
	EVP_PKEY_free(pk);
}

static void
test_x25519_rejects_bad_peer(void **state)
{
	EVP_PKEY *pk = alice();
	uint8_t zero[32] = { 0 }, bob[32];
	struct wb kmp;

	(void)state;
	unhex(bob_pub, bob, 32);
	wb_init(&kmp);
	/* all-zero point gives an all-zero secret: must be refused */
	assert_int_equal(kex_shared_secret(pk, zero, 32, &kmp), -1);
	assert_int_equal(kex_shared_secret(pk, bob, 31, &kmp), -1);
	wb_free(&kmp);
	EVP_PKEY_free(pk);
}

static void
fixture(struct wb *ic, struct wb *is, struct wb *ks, struct wb *kmp)
{
	uint8_t b[32];
	int i;

	wb_init(ic);
	wb_init(is);
	wb_init(ks);
	wb_init(kmp);
	wb_u8(ic, 20);
	for (i = 0; i < 16; i++)
		wb_u8(ic, (uint8_t)i);
	wb_put(ic, "client-kexinit", 14);
	wb_u8(is, 20);
	for (i = 16; i < 32; i++)
		wb_u8(is, (uint8_t)i);
	wb_put(is, "server-kexinit", 14);
	memset(b, 0, sizeof(b));
	wb_cstring(ks, "ssh-ed25519");
	wb_string(ks, b, 32);
	unhex(shared, b, 32);
	wb_mpint(kmp, b, 32);
}

static void
test_exchange_hash(void **state)
{
	struct wb ic, is, ks, kmp;
	uint8_t qc[32], qs[32], h[32], want[32];

	(void)state;
	fixture(&ic, &is, &ks, &kmp);
	unhex(alice_pub, qc, 32);
	unhex(bob_pub, qs, 32);
	unhex("33691275797ada4da13abae85da49581409be52ea3a7c87577e668ec87eda0b1",
	    want, 32);
	assert_int_equal(kex_exchange_hash("SSH-2.0-ferry_0.1",
	    "SSH-2.0-OpenSSH_9.2", &ic, &is, ks.p, ks.len, qc, qs, 32, &kmp,
	    h), 0);
	assert_memory_equal(h, want, 32);
	/* any change in the transcript changes H */
	assert_int_equal(kex_exchange_hash("SSH-2.0-ferry_0.1",
	    "SSH-2.0-OpenSSH_9.3", &ic, &is, ks.p, ks.len, qc, qs, 32, &kmp,
	    h), 0);
	assert_memory_not_equal(h, want, 32);
	wb_free(&ic);
	wb_free(&is);
	wb_free(&ks);
	wb_free(&kmp);
}

static void
test_derive(void **state)
{
	struct wb ic, is, ks, kmp;
	uint8_t h[32], out[64], want[64];

	(void)state;
	fixture(&ic, &is, &ks, &kmp);
	unhex("33691275797ada4da13abae85da49581409be52ea3a7c87577e668ec87eda0b1",
	    h, 32);
	/* 64 bytes: needs the K1 || K2 extension */
	unhex("5fe2d8887a504bd1be4d54e64d4a72b674fcdcf658b18dcd7f1f82dc318477b7"
	    "23da039a82bcaf213a0ff98fff8d82df4b6736dca9abf5b18e67f807ebaad3a0",
	    want, 64);
	assert_int_equal(kex_derive(h, 32, &kmp, h, 'C', out, 64), 0);
	assert_memory_equal(out, want, 64);
	unhex("4af8ab3ef7d038a7582c38bc", want, 12);
	assert_int_equal(kex_derive(h, 32, &kmp, h, 'A', out, 12), 0);
	assert_memory_equal(out, want, 12);
	wb_free(&ic);
	wb_free(&is);
	wb_free(&ks);
	wb_free(&kmp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_x25519_rfc7748),
		cmocka_unit_test(test_x25519_rejects_bad_peer),
		cmocka_unit_test(test_exchange_hash),
		cmocka_unit_test(test_derive),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
