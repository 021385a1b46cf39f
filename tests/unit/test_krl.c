/* Unit tests for keys/krl.c against KRLs ssh-keygen -k made (data/krl,
 * see gen.sh there) and the certificates of data/certs: user_ed25519 has
 * serial 42, key ID "ferry-user" and CA ca_ed25519. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/cert.h"
#include "keys/key.h"
#include "keys/keyfile.h"
#include "keys/krl.h"

#define KRL	"data/krl/"

static uint8_t *
slurp(const char *path, size_t *len)
{
	static uint8_t buf[65536];
	FILE *f = fopen(path, "rb");

	if (f == NULL)
		fail_msg("%s: cannot open", path);
	*len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return buf;
}

static struct key *
pub(const char *path)
{
	char line[16384], err[256];
	struct key *k;
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	if (keyfile_parse_public(line, strlen(line), &k, err,
	    sizeof(err)) != 0)
		fail_msg("%s: %s", path, err);
	return k;
}

/* Asks krl whether the plain key at keypath, or the certificate at
 * certpath (keypath NULL), is revoked; the CA itself is asked about as
 * a plain key too, as ferryd does. */
static int
ask(const char *krl, const char *keypath, const char *certpath)
{
	struct krl_query q;
	struct cert *c = NULL;
	struct key *k = NULL;
	struct wb kb, cb;
	char path[256], err[256];
	const uint8_t *p;
	size_t len;
	int rc;

	snprintf(path, sizeof(path), KRL "%s", krl);
	p = slurp(path, &len);
	assert_true(krl_is_krl(p, len));
	assert_int_equal(krl_check(p, len, NULL, err, sizeof(err)),
	    KRL_NOT_REVOKED);
	memset(&q, 0, sizeof(q));
	wb_init(&kb);
	wb_init(&cb);
	if (certpath != NULL) {
		if (cert_load_file(certpath, &c, err, sizeof(err)) != 0)
			fail_msg("%s: %s", certpath, err);
		assert_int_equal(key_to_blob(c->key, &kb), 0);
		assert_int_equal(key_to_blob(c->ca, &cb), 0);
		q.cert = true;
		q.serial = c->serial;
		q.key_id = c->key_id;
		q.ca_blob = cb.p;
		q.ca_bloblen = cb.len;
	} else {
		k = pub(keypath);
		assert_int_equal(key_to_blob(k, &kb), 0);
	}
	q.key_blob = kb.p;
	q.key_bloblen = kb.len;
	assert_int_equal(krl_query_hashes(&q), 0);
	rc = krl_check(p, len, &q, err, sizeof(err));
	if (rc == KRL_NOT_REVOKED && c != NULL) {
		/* the CA as a plain key */
		memset(&q, 0, sizeof(q));
		q.key_blob = cb.p;
		q.key_bloblen = cb.len;
		assert_int_equal(krl_query_hashes(&q), 0);
		rc = krl_check(p, len, &q, err, sizeof(err));
	}
	if (rc < 0)
		fail_msg("%s: %s", krl, err);
	wb_free(&kb);
	wb_free(&cb);
	cert_free(c);
	key_free(k);
	return rc;
}

#define ED_CERT		"data/certs/user_ed25519-cert.pub"
#define ECDSA_CERT	"data/certs/user_ecdsa-cert.pub"
#define ED		"data/keys/id_ed25519.pub"
#define ECDSA		"data/keys/id_ecdsa.pub"
#define RSA		"data/keys/id_rsa.pub"

static void
test_serials(void **state)
{
	(void)state;
	assert_int_equal(ask("serial.krl", NULL, ED_CERT), KRL_REVOKED);
	assert_int_equal(ask("range.krl", NULL, ED_CERT), KRL_REVOKED);
	assert_int_equal(ask("bitmap.krl", NULL, ED_CERT), KRL_REVOKED);
	/* 43, 45 and 1000-2000: not 42 */
	assert_int_equal(ask("near.krl", NULL, ED_CERT), KRL_NOT_REVOKED);
	/* serial 42 under another CA */
	assert_int_equal(ask("serial_other_ca.krl", NULL, ED_CERT),
	    KRL_NOT_REVOKED);
	/* serial 7 under the RSA CA */
	assert_int_equal(ask("serial.krl", NULL, ECDSA_CERT), KRL_NOT_REVOKED);
	/* a serial section says nothing of plain keys */
	assert_int_equal(ask("serial.krl", ED, NULL), KRL_NOT_REVOKED);
}

static void
test_key_id_and_ca(void **state)
{
	(void)state;
	assert_int_equal(ask("keyid.krl", NULL, ED_CERT), KRL_REVOKED);
	assert_int_equal(ask("keyid.krl", NULL, ECDSA_CERT), KRL_NOT_REVOKED);
	/* the CA key revoked: every certificate it signed */
	assert_int_equal(ask("ca.krl", NULL, ED_CERT), KRL_REVOKED);
	assert_int_equal(ask("ca.krl", NULL, ECDSA_CERT), KRL_NOT_REVOKED);
	assert_int_equal(ask("ca.krl", ED, NULL), KRL_NOT_REVOKED);
}

static void
test_keys_and_hashes(void **state)
{
	(void)state;
	assert_int_equal(ask("key.krl", ECDSA, NULL), KRL_REVOKED);
	assert_int_equal(ask("key.krl", ED, NULL), KRL_NOT_REVOKED);
	assert_int_equal(ask("sha1.krl", RSA, NULL), KRL_REVOKED);
	assert_int_equal(ask("sha1.krl", ECDSA, NULL), KRL_NOT_REVOKED);
	assert_int_equal(ask("sha256.krl", RSA, NULL), KRL_REVOKED);
	assert_int_equal(ask("hash.krl", ECDSA, NULL), KRL_REVOKED);
	assert_int_equal(ask("hash.krl", RSA, NULL), KRL_NOT_REVOKED);
	/* the certified key revoked: its certificate too */
	assert_int_equal(ask("key.krl", NULL, ECDSA_CERT), KRL_REVOKED);
	assert_int_equal(ask("empty.krl", ED, NULL), KRL_NOT_REVOKED);
	assert_int_equal(ask("empty.krl", NULL, ED_CERT), KRL_NOT_REVOKED);
}

/* A KRL built here: the header of empty.krl, then sections. */
static size_t
build(uint8_t *out, size_t cap, const uint8_t *secs, size_t n)
{
	size_t len;
	const uint8_t *h = slurp(KRL "empty.krl", &len);

	assert_true(len + n <= cap);
	memcpy(out, h, len);
	memcpy(out + len, secs, n);
	return len + n;
}

static int
check_bytes(const uint8_t *secs, size_t n, const struct krl_query *q,
    char *err, size_t errlen)
{
	static uint8_t buf[4096];
	size_t len = build(buf, sizeof(buf), secs, n);

	return krl_check(buf, len, q, err, errlen);
}

static void
test_any_ca_key_id(void **state)
{
	/* a certificate section for any CA (empty ca_key) revoking
	 * "ferry-user" */
	static const uint8_t secs[] = {
		1, 0, 0, 0, 40,
		0, 0, 0, 0,  0, 0, 0, 0,
		0x23, 0, 0, 0, 14, 0, 0, 0, 10,
		'f', 'e', 'r', 'r', 'y', '-', 'u', 's', 'e', 'r',
		0x20, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 9,
	};
	struct krl_query q;
	char err[256];

	(void)state;
	memset(&q, 0, sizeof(q));
	q.cert = true;
	q.serial = 1;
	q.key_id = "ferry-user";
	assert_int_equal(check_bytes(secs, sizeof(secs), &q, err,
	    sizeof(err)), KRL_REVOKED);
	q.key_id = "ferry-use";
	assert_int_equal(check_bytes(secs, sizeof(secs), &q, err,
	    sizeof(err)), KRL_NOT_REVOKED);
	q.serial = 9;
	assert_int_equal(check_bytes(secs, sizeof(secs), &q, err,
	    sizeof(err)), KRL_REVOKED);
	q.cert = false;
	assert_int_equal(check_bytes(secs, sizeof(secs), &q, err,
	    sizeof(err)), KRL_NOT_REVOKED);
}

static void
expect_bad(const uint8_t *secs, size_t n, const char *why)
{
	char err[256] = "";

	assert_int_equal(check_bytes(secs, n, NULL, err, sizeof(err)), -1);
	if (strstr(err, why) == NULL)
		fail_msg("error '%s' lacks '%s'", err, why);
}

static void
test_malformed(void **state)
{
	static const uint8_t sig[] = { 4, 0, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t crit[] = { 255, 0, 0, 0, 10, 0, 0, 0, 1, 'x', 1,
	    0, 0, 0, 0 };
	static const uint8_t noncrit[] = { 255, 0, 0, 0, 10, 0, 0, 0, 1, 'x',
	    0, 0, 0, 0, 0 };
	static const uint8_t unknown[] = { 9, 0, 0, 0, 0 };
	static const uint8_t trunc[] = { 2, 0, 0, 0, 9, 0 };
	static const uint8_t sha1len[] = { 3, 0, 0, 0, 6, 0, 0, 0, 2, 1, 2 };
	static const uint8_t range[] = { 1, 0, 0, 0, 29, 0, 0, 0, 0, 0, 0, 0,
	    0, 0x21, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0,
	    8 };
	static const uint8_t list[] = { 1, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0,
	    0, 0x20, 0, 0, 0, 3, 1, 2, 3 };
	static const uint8_t empty_keys[] = { 2, 0, 0, 0, 0 };
	char err[256];
	size_t len;
	const uint8_t *p;

	(void)state;
	expect_bad(sig, sizeof(sig), "signed KRLs are not supported");
	expect_bad(crit, sizeof(crit), "critical extension");
	assert_int_equal(check_bytes(noncrit, sizeof(noncrit), NULL, err,
	    sizeof(err)), KRL_NOT_REVOKED);
	expect_bad(unknown, sizeof(unknown), "unknown section type");
	expect_bad(trunc, sizeof(trunc), "truncated section");
	expect_bad(sha1len, sizeof(sha1len), "malformed key or hash");
	expect_bad(range, sizeof(range), "malformed serial range");
	expect_bad(list, sizeof(list), "malformed serial list");
	expect_bad(empty_keys, sizeof(empty_keys), "empty key or hash");
	/* every prefix of a real KRL shorter than its header fails; the
	 * whole of it passes */
	p = slurp(KRL "near.krl", &len);
	assert_int_equal(krl_check(p, 20, NULL, err, sizeof(err)), -1);
	assert_int_equal(krl_check(p, len - 1, NULL, err, sizeof(err)), -1);
	assert_false(krl_is_krl((const uint8_t *)"ssh-ed25519 AAAA", 16));
	assert_int_equal(krl_check(p, KRL_MAX_SIZE + 1, NULL, err,
	    sizeof(err)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_serials),
		cmocka_unit_test(test_key_id_and_ca),
		cmocka_unit_test(test_keys_and_hashes),
		cmocka_unit_test(test_any_ca_key_id),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
