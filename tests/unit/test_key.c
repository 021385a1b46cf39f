/* Unit tests for keys/key.c: blobs, fingerprints, signatures, base64. The
 * key files and signatures under data/keys were made by OpenSSH (gen.sh). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/key.h"
#include "keys/keyfile.h"
#include "ssh/buf.h"

#define DATA	"data/keys/"

static const char *pubfiles[] = {
	"id_ed25519", "id_ecdsa", "id_rsa", "id_rsa_pem", "id_ecdsa_pem",
	"id_ecdsa_pkcs8", "id_ed25519_pkcs8",
};

static const struct {
	enum key_type	 type;
	const char	*alg;
} algs[] = {
	{ KEY_ED25519, "ssh-ed25519" },
	{ KEY_ECDSA_P256, "ecdsa-sha2-nistp256" },
	{ KEY_RSA, "rsa-sha2-256" },
	{ KEY_RSA, "rsa-sha2-512" },
};

/* Generated once: RSA 3072 generation is slow. */
static struct key *gen[3];

static const uint8_t msg[] = "the data a signature covers";

static char *
read_text(const char *path, size_t *len)
{
	FILE *f;
	char *buf;
	size_t n;

	f = fopen(path, "rb");
	assert_non_null(f);
	buf = malloc(1024 * 1024);
	assert_non_null(buf);
	n = fread(buf, 1, 1024 * 1024 - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}

/* The decoded blob of the second field of a .pub file. */
static uint8_t *
pub_blob(const char *name, size_t *len)
{
	char path[256], *text, *b64, *end;
	uint8_t *blob;
	int n;

	snprintf(path, sizeof(path), DATA "%s.pub", name);
	text = read_text(path, NULL);
	b64 = strchr(text, ' ');
	assert_non_null(b64);
	b64++;
	end = strchr(b64, ' ');
	assert_non_null(end);
	blob = malloc(4096);
	assert_non_null(blob);
	n = b64_decode(b64, (size_t)(end - b64), blob, 4096);
	assert_true(n > 0);
	*len = (size_t)n;
	free(text);
	return blob;
}

static int
setup(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		if (key_generate((enum key_type)i, &gen[i]) != 0)
			return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < 3; i++)
		key_free(gen[i]);
	return 0;
}

static void
test_b64_vectors(void **state)
{
	/* RFC 4648 section 10 */
	static const char *vec[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" },
		{ "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	char out[32];
	uint8_t dec[32];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		n = strlen(vec[i][0]);
		assert_int_equal(b64_encode((const uint8_t *)vec[i][0], n, out,
		    sizeof(out)), (int)strlen(vec[i][1]));
		assert_string_equal(out, vec[i][1]);
		assert_int_equal(b64_decode(vec[i][1], strlen(vec[i][1]), dec,
		    sizeof(dec)), (int)n);
		assert_memory_equal(dec, vec[i][0], n);
	}
	/* Every byte value survives a round trip. */
	{
		uint8_t all[256], back[256];
		char enc[400];

		for (i = 0; i < 256; i++)
			all[i] = (uint8_t)i;
		for (n = 0; n <= 256; n++) {
			int e = b64_encode(all, n, enc, sizeof(enc));

			assert_true(e >= 0);
			assert_int_equal(b64_decode(enc, (size_t)e, back,
			    sizeof(back)), (int)n);
			assert_memory_equal(back, all, n);
		}
	}
}

static void
test_b64_invalid(void **state)
{
	static const char *bad[] = {
		"Zg=", "Zg", "Z===", "====", "Zh==", "Zm9=", "Zm9v!A==",
		"=m9v", "Zm=v", "Zg==Zg==", "Zm9v Zg==", "Zg=\n", "Z\0==",
	};
	uint8_t out[32];
	char enc[8];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = strlen(bad[i]);

		if (i == sizeof(bad) / sizeof(bad[0]) - 1)
			n = 4;		/* with the embedded NUL */
		assert_int_equal(b64_decode(bad[i], n, out, sizeof(out)), -1);
	}
	/* Output room: exactly enough works, one byte less does not. */
	assert_int_equal(b64_decode("Zm9vYmFy", 8, out, 6), 6);
	assert_int_equal(b64_decode("Zm9vYmFy", 8, out, 5), -1);
	assert_int_equal(b64_decode("Zm9vYg==", 8, out, 4), 4);
	assert_int_equal(b64_decode("Zm9vYg==", 8, out, 3), -1);
	/* Encoding needs room for the NUL too. */
	assert_int_equal(b64_encode((const uint8_t *)"foo", 3, enc, 4), -1);
	assert_int_equal(b64_encode((const uint8_t *)"foo", 3, enc, 5), 4);
}

/* Blobs of keys ssh-keygen wrote round-trip bit for bit, and the
 * fingerprint equals what ssh-keygen -lf printed. */
static void
test_pub_files(void **state)
{
	char path[256], fp[128], *fptext, *want, *sp;
	uint8_t *blob;
	size_t len, i;
	struct key *k;
	struct wb w;
	char err[128];

	(void)state;
	for (i = 0; i < sizeof(pubfiles) / sizeof(pubfiles[0]); i++) {
		blob = pub_blob(pubfiles[i], &len);
		assert_int_equal(key_from_blob(blob, len, &k, err,
		    sizeof(err)), 0);
		assert_false(k->has_private);
		wb_init(&w);
		assert_int_equal(key_to_blob(k, &w), 0);
		assert_int_equal(w.len, len);
		assert_memory_equal(w.p, blob, len);
		wb_free(&w);

		snprintf(path, sizeof(path), DATA "%s.fp", pubfiles[i]);
		fptext = read_text(path, NULL);
		want = strchr(fptext, ' ');
		assert_non_null(want);
		want++;
		sp = strchr(want, ' ');
		assert_non_null(sp);
		*sp = '\0';
		assert_int_equal(key_fingerprint(k, fp, sizeof(fp)), 0);
		assert_string_equal(fp, want);
		/* Too small an output buffer is an error, not a cut. */
		assert_int_equal(key_fingerprint(k, fp, strlen(want)), -1);
		free(fptext);
		key_free(k);
		free(blob);
	}
}

static void
test_type_names(void **state)
{
	uint8_t *blob;
	size_t len;
	struct key *k;

	(void)state;
	assert_string_equal(key_type_name(gen[KEY_ED25519]), "ssh-ed25519");
	assert_string_equal(key_type_name(gen[KEY_ECDSA_P256]),
	    "ecdsa-sha2-nistp256");
	assert_string_equal(key_type_name(gen[KEY_RSA]), "ssh-rsa");
	blob = pub_blob("id_ecdsa", &len);
	assert_int_equal(key_from_blob(blob, len, &k, NULL, 0), 0);
	assert_int_equal(k->type, KEY_ECDSA_P256);
	key_free(k);
	free(blob);
	key_free(NULL);
}

static void
test_generate_roundtrip(void **state)
{
	struct wb w, w2;
	struct key *k;
	char fp[64];
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		assert_true(gen[i]->has_private);
		assert_int_equal((int)gen[i]->type, i);
		wb_init(&w);
		wb_init(&w2);
		assert_int_equal(key_to_blob(gen[i], &w), 0);
		assert_int_equal(key_from_blob(w.p, w.len, &k, NULL, 0), 0);
		assert_int_equal((int)k->type, i);
		assert_true(key_equal(k, gen[i]));
		assert_int_equal(key_to_blob(k, &w2), 0);
		assert_int_equal(w.len, w2.len);
		assert_memory_equal(w.p, w2.p, w.len);
		assert_int_equal(key_fingerprint(k, fp, sizeof(fp)), 0);
		assert_int_equal(strlen(fp), 7 + 43);
		assert_memory_equal(fp, "SHA256:", 7);
		/* A public key cannot sign. */
		wb_reset(&w2);
		assert_int_equal(key_sign(k, algs[i].alg, msg, sizeof(msg),
		    &w2), -1);
		key_free(k);
		wb_free(&w);
		wb_free(&w2);
	}
	if (gen[KEY_RSA] != NULL) {
		/* key_generate makes RSA 3072 */
		assert_int_equal(EVP_PKEY_get_bits(gen[KEY_RSA]->pkey), 3072);
	}
}

static void
test_key_equal(void **state)
{
	struct key *other;
	uint8_t *blob;
	size_t len;

	(void)state;
	assert_true(key_equal(gen[0], gen[0]));
	assert_false(key_equal(gen[0], gen[1]));
	assert_false(key_equal(gen[1], gen[2]));
	assert_false(key_equal(NULL, gen[0]));
	assert_false(key_equal(gen[0], NULL));
	/* Same type, different key: also for ecdsa, the full point counts. */
	blob = pub_blob("id_ecdsa", &len);
	assert_int_equal(key_from_blob(blob, len, &other, NULL, 0), 0);
	assert_false(key_equal(other, gen[KEY_ECDSA_P256]));
	key_free(other);
	free(blob);
}

/* Every strict prefix and any trailing byte must fail; random damage must
 * not crash. */
static void
test_blob_truncation(void **state)
{
	struct wb w;
	struct key *k;
	char err[128];
	size_t i, cut;
	uint8_t *copy;
	int t, j;

	(void)state;
	srand(1);
	for (t = 0; t < 3; t++) {
		wb_init(&w);
		assert_int_equal(key_to_blob(gen[t], &w), 0);
		for (cut = 0; cut < w.len; cut++) {
			err[0] = '\0';
			assert_int_equal(key_from_blob(w.p, cut, &k, err,
			    sizeof(err)), -1);
			assert_null(k);
			assert_true(err[0] != '\0');
		}
		wb_u8(&w, 0);
		assert_int_equal(key_from_blob(w.p, w.len, &k, err,
		    sizeof(err)), -1);
		assert_non_null(strstr(err, "trailing"));
		w.len--;
		copy = malloc(w.len);
		assert_non_null(copy);
		for (j = 0; j < 2000; j++) {
			memcpy(copy, w.p, w.len);
			for (i = 0; i < 1 + (size_t)(rand() % 4); i++)
				copy[(size_t)rand() % w.len] ^=
				    (uint8_t)(1 + rand() % 255);
			if (key_from_blob(copy, w.len, &k, err,
			    sizeof(err)) == 0)
				key_free(k);
		}
		free(copy);
		wb_free(&w);
	}
}

static void
test_unsupported_type(void **state)
{
	struct wb w;
	struct key *k;
	char err[128];

	(void)state;
	wb_init(&w);
	wb_cstring(&w, "ssh-dss");
	wb_mpint(&w, (const uint8_t *)"\x01", 1);
	assert_int_equal(key_from_blob(w.p, w.len, &k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unsupported"));
	wb_reset(&w);
	wb_cstring(&w, "sk-ssh-ed25519@openssh.com");
	wb_string(&w, "01234567890123456789012345678901", 32);
	wb_cstring(&w, "ssh:");
	assert_int_equal(key_from_blob(w.p, w.len, &k, err, sizeof(err)), -1);
	wb_free(&w);
}

static void
rsa_blob(struct wb *w, int bits, const uint8_t *e, size_t elen)
{
	uint8_t n[2100];
	size_t nlen = (size_t)(bits + 7) / 8, i;

	assert_true(nlen <= sizeof(n));
	for (i = 0; i < nlen; i++)
		n[i] = (uint8_t)(0x5a ^ i);
	/* exactly `bits` bits, odd */
	n[0] &= (uint8_t)(0xff >> (nlen * 8 - (size_t)bits));
	n[0] |= (uint8_t)(0x80 >> (nlen * 8 - (size_t)bits));
	n[nlen - 1] |= 1;
	wb_reset(w);
	wb_cstring(w, "ssh-rsa");
	wb_mpint(w, e, elen);
	wb_mpint(w, n, nlen);
}

static void
test_rsa_limits(void **state)
{
	static const uint8_t f4[] = { 0x01, 0x00, 0x01 };
	static const uint8_t even[] = { 0x01, 0x00, 0x02 };
	static const uint8_t big[] = { 1, 0, 0, 0, 0, 0, 0, 0, 1 };
	struct wb w;
	struct key *k;
	char err[128];

	(void)state;
	wb_init(&w);
	rsa_blob(&w, 1023, f4, sizeof(f4));
	assert_int_equal(key_from_blob(w.p, w.len, &k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too small"));
	assert_non_null(strstr(err, "1023"));
	rsa_blob(&w, 1024, f4, sizeof(f4));
	assert_int_equal(key_from_blob(w.p, w.len, &k, err, sizeof(err)), 0);
	assert_int_equal(k->type, KEY_RSA);
	key_free(k);
	rsa_blob(&w, 16384, f4, sizeof(f4));
	assert_int_equal(key_from_blob(w.p, w.len, &k, err, sizeof(err)), 0);
	key_free(k);
	rsa_blob(&w, 16385, f4, sizeof(f4));
	assert_int_equal(key_from_blob(w.p, w.len, &k, err, sizeof(err)), -1);
	rsa_blob(&w, 2048, even, sizeof(even));
	assert_int_equal(key_from_blob(w.p, w.len, &k, err, sizeof(err)), -1);
	rsa_blob(&w, 2048, big, sizeof(big));
	assert_int_equal(key_from_blob(w.p, w.len, &k, err, sizeof(err)), -1);
	/* A negative modulus (top bit set without the zero byte). */
	wb_reset(&w);
	wb_cstring(&w, "ssh-rsa");
	wb_mpint(&w, f4, sizeof(f4));
	wb_u32(&w, 128);
	memset(wb_reserve(&w, 128), 0xc3, 128);
	w.len += 128;
	assert_int_equal(key_from_blob(w.p, w.len, &k, err, sizeof(err)), -1);
	wb_free(&w);
}

static void
test_ecdsa_bad_points(void **state)
{
	struct wb w, bad;
	struct rd r;
	const uint8_t *q;
	size_t qlen;
	uint8_t pt[65];
	struct key *k;
	char err[128];

	(void)state;
	wb_init(&w);
	wb_init(&bad);
	assert_int_equal(key_to_blob(gen[KEY_ECDSA_P256], &w), 0);
	rd_init(&r, w.p, w.len);
	rd_string(&r, NULL, NULL);
	rd_string(&r, NULL, NULL);
	assert_int_equal(rd_string(&r, &q, &qlen), 0);
	assert_int_equal(qlen, 65);
	assert_int_equal(q[0], 4);

	/* Off the curve. */
	memcpy(pt, q, 65);
	pt[64] ^= 1;
	wb_cstring(&bad, "ecdsa-sha2-nistp256");
	wb_cstring(&bad, "nistp256");
	wb_string(&bad, pt, 65);
	assert_int_equal(key_from_blob(bad.p, bad.len, &k, err, sizeof(err)),
	    -1);
	/* Compressed form. */
	wb_reset(&bad);
	pt[0] = (uint8_t)(2 | (q[64] & 1));
	wb_cstring(&bad, "ecdsa-sha2-nistp256");
	wb_cstring(&bad, "nistp256");
	wb_string(&bad, pt, 33);
	assert_int_equal(key_from_blob(bad.p, bad.len, &k, err, sizeof(err)),
	    -1);
	/* The wrong curve name. */
	wb_reset(&bad);
	wb_cstring(&bad, "ecdsa-sha2-nistp256");
	wb_cstring(&bad, "nistp384");
	wb_string(&bad, q, 65);
	assert_int_equal(key_from_blob(bad.p, bad.len, &k, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "nistp256"));
	/* The point at infinity, encoded as all zeros after 0x04. */
	wb_reset(&bad);
	memset(pt, 0, sizeof(pt));
	pt[0] = 4;
	wb_cstring(&bad, "ecdsa-sha2-nistp256");
	wb_cstring(&bad, "nistp256");
	wb_string(&bad, pt, 65);
	assert_int_equal(key_from_blob(bad.p, bad.len, &k, err, sizeof(err)),
	    -1);
	/* And the good one still parses. */
	assert_int_equal(key_from_blob(w.p, w.len, &k, err, sizeof(err)), 0);
	key_free(k);
	wb_free(&w);
	wb_free(&bad);
}

static void
test_alg_ok(void **state)
{
	(void)state;
	assert_true(key_alg_ok(gen[KEY_ED25519], "ssh-ed25519"));
	assert_false(key_alg_ok(gen[KEY_ED25519], "ecdsa-sha2-nistp256"));
	assert_false(key_alg_ok(gen[KEY_ED25519], "rsa-sha2-256"));
	assert_true(key_alg_ok(gen[KEY_ECDSA_P256], "ecdsa-sha2-nistp256"));
	assert_false(key_alg_ok(gen[KEY_ECDSA_P256], "ecdsa-sha2-nistp384"));
	assert_false(key_alg_ok(gen[KEY_ECDSA_P256], "ssh-ed25519"));
	assert_true(key_alg_ok(gen[KEY_RSA], "rsa-sha2-256"));
	assert_true(key_alg_ok(gen[KEY_RSA], "rsa-sha2-512"));
	assert_false(key_alg_ok(gen[KEY_RSA], "ssh-rsa"));
	assert_false(key_alg_ok(gen[KEY_RSA], "ssh-ed25519"));
	assert_false(key_alg_ok(gen[KEY_RSA], NULL));
	assert_false(key_alg_ok(NULL, "ssh-ed25519"));
}

static void
test_sign_verify(void **state)
{
	struct wb sig;
	uint8_t data[sizeof(msg)];
	size_t i, bit, cut;

	(void)state;
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		struct key *k = gen[algs[i].type];

		wb_init(&sig);
		assert_int_equal(key_sign(k, algs[i].alg, msg, sizeof(msg),
		    &sig), 0);
		assert_int_equal(key_verify(k, algs[i].alg, sig.p, sig.len,
		    msg, sizeof(msg)), 0);
		/* Any flipped bit in the signature blob fails. */
		for (bit = 0; bit < sig.len * 8; bit++) {
			sig.p[bit / 8] ^= (uint8_t)(1 << (bit % 8));
			assert_int_equal(key_verify(k, algs[i].alg, sig.p,
			    sig.len, msg, sizeof(msg)), -1);
			sig.p[bit / 8] ^= (uint8_t)(1 << (bit % 8));
		}
		/* So does any flipped bit in the data. */
		for (bit = 0; bit < sizeof(data) * 8; bit += 7) {
			memcpy(data, msg, sizeof(data));
			data[bit / 8] ^= (uint8_t)(1 << (bit % 8));
			assert_int_equal(key_verify(k, algs[i].alg, sig.p,
			    sig.len, data, sizeof(data)), -1);
		}
		/* And every truncation, and a trailing byte. */
		for (cut = 0; cut < sig.len; cut++)
			assert_int_equal(key_verify(k, algs[i].alg, sig.p, cut,
			    msg, sizeof(msg)), -1);
		wb_u8(&sig, 0);
		assert_int_equal(key_verify(k, algs[i].alg, sig.p, sig.len,
		    msg, sizeof(msg)), -1);
		sig.len--;
		/* The restored blob verifies again. */
		assert_int_equal(key_verify(k, algs[i].alg, sig.p, sig.len,
		    msg, sizeof(msg)), 0);
		wb_free(&sig);
	}
}

static void
test_sign_other_key(void **state)
{
	struct key *k2;
	struct wb sig;
	int t;

	(void)state;
	for (t = 0; t < 2; t++) {	/* RSA generation is slow */
		assert_int_equal(key_generate((enum key_type)t, &k2), 0);
		wb_init(&sig);
		assert_int_equal(key_sign(k2, algs[t].alg, msg, sizeof(msg),
		    &sig), 0);
		assert_int_equal(key_verify(gen[t], algs[t].alg, sig.p,
		    sig.len, msg, sizeof(msg)), -1);
		assert_int_equal(key_verify(k2, algs[t].alg, sig.p, sig.len,
		    msg, sizeof(msg)), 0);
		wb_free(&sig);
		key_free(k2);
	}
}

/* The alg in the blob must be the one asked for; ssh-rsa (SHA-1) is out. */
static void
test_alg_mismatch(void **state)
{
	struct key *rsa = gen[KEY_RSA];
	struct wb sig, forged;
	struct rd r;
	const uint8_t *s;
	size_t slen;
	EVP_MD_CTX *ctx;
	uint8_t raw[512];
	size_t rawlen = sizeof(raw);

	(void)state;
	wb_init(&sig);
	wb_init(&forged);
	assert_int_equal(key_sign(rsa, "rsa-sha2-256", msg, sizeof(msg), &sig),
	    0);
	assert_int_equal(key_verify(rsa, "rsa-sha2-512", sig.p, sig.len, msg,
	    sizeof(msg)), -1);
	assert_int_equal(key_verify(rsa, "rsa-sha2-256", sig.p, sig.len, msg,
	    sizeof(msg)), 0);
	/* Relabel a SHA-256 signature as rsa-sha2-512: still refused. */
	rd_init(&r, sig.p, sig.len);
	rd_string(&r, NULL, NULL);
	assert_int_equal(rd_string(&r, &s, &slen), 0);
	wb_cstring(&forged, "rsa-sha2-512");
	wb_string(&forged, s, slen);
	assert_int_equal(key_verify(rsa, "rsa-sha2-512", forged.p, forged.len,
	    msg, sizeof(msg)), -1);

	/* A genuine SHA-1 PKCS#1 signature labelled ssh-rsa. */
	ctx = EVP_MD_CTX_new();
	assert_non_null(ctx);
	assert_int_equal(EVP_DigestSignInit_ex(ctx, NULL, "SHA1", NULL, NULL,
	    rsa->pkey, NULL), 1);
	assert_int_equal(EVP_DigestSign(ctx, raw, &rawlen, msg, sizeof(msg)),
	    1);
	EVP_MD_CTX_free(ctx);
	wb_reset(&forged);
	wb_cstring(&forged, "ssh-rsa");
	wb_string(&forged, raw, rawlen);
	assert_int_equal(key_verify(rsa, "ssh-rsa", forged.p, forged.len, msg,
	    sizeof(msg)), -1);
	assert_int_equal(key_verify(rsa, "rsa-sha2-256", forged.p, forged.len,
	    msg, sizeof(msg)), -1);
	wb_reset(&forged);
	assert_int_equal(key_sign(rsa, "ssh-rsa", msg, sizeof(msg), &forged),
	    -1);
	assert_int_equal(forged.len, 0);
	/* An ed25519 signature offered for an ecdsa key. */
	wb_reset(&sig);
	assert_int_equal(key_sign(gen[KEY_ED25519], "ssh-ed25519", msg,
	    sizeof(msg), &sig), 0);
	assert_int_equal(key_verify(gen[KEY_ECDSA_P256], "ssh-ed25519", sig.p,
	    sig.len, msg, sizeof(msg)), -1);
	wb_free(&sig);
	wb_free(&forged);
}

/* Checks our signature with OpenSSL directly, not through key_verify,
 * and that the encoding is OpenSSH's. */
static void
test_verify_with_openssl(void **state)
{
	struct wb sig;
	struct rd r, in;
	const uint8_t *s, *rp, *sp, *dp;
	size_t slen, rlen, sl, i;
	EVP_MD_CTX *ctx;
	ECDSA_SIG *es;
	BIGNUM *br, *bs;
	unsigned char *der;
	int derlen;

	(void)state;
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		struct key *k = gen[algs[i].type];
		const char *md = algs[i].type == KEY_ED25519 ? NULL :
		    strcmp(algs[i].alg, "rsa-sha2-512") == 0 ? "SHA512" :
		    "SHA256";

		wb_init(&sig);
		assert_int_equal(key_sign(k, algs[i].alg, msg, sizeof(msg),
		    &sig), 0);
		rd_init(&r, sig.p, sig.len);
		assert_int_equal(rd_string_eq(&r, algs[i].alg), 0);
		assert_int_equal(rd_string(&r, &s, &slen), 0);
		assert_int_equal(rd_left(&r), 0);
		der = NULL;
		derlen = 0;
		if (algs[i].type == KEY_ED25519)
			assert_int_equal(slen, 64);
		else if (algs[i].type == KEY_RSA)
			assert_int_equal(slen, 384);	/* the modulus size */
		else {
			/* string(mpint r, mpint s), each minimal */
			rd_init(&in, s, slen);
			assert_int_equal(rd_string(&in, &dp, &rlen), 0);
			assert_true(rlen <= 33 && rlen > 0);
			if (rlen == 33)
				assert_true(dp[0] == 0 && (dp[1] & 0x80));
			else
				assert_true(dp[0] != 0 && !(dp[0] & 0x80));
			rd_init(&in, s, slen);
			assert_int_equal(rd_mpint_pos(&in, &rp, &rlen), 0);
			assert_int_equal(rd_mpint_pos(&in, &sp, &sl), 0);
			assert_int_equal(rd_left(&in), 0);
			es = ECDSA_SIG_new();
			br = BN_bin2bn(rp, (int)rlen, NULL);
			bs = BN_bin2bn(sp, (int)sl, NULL);
			assert_int_equal(ECDSA_SIG_set0(es, br, bs), 1);
			derlen = i2d_ECDSA_SIG(es, &der);
			assert_true(derlen > 0);
			ECDSA_SIG_free(es);
		}
		ctx = EVP_MD_CTX_new();
		assert_int_equal(EVP_DigestVerifyInit_ex(ctx, NULL, md, NULL,
		    NULL, k->pkey, NULL), 1);
		if (der != NULL)
			assert_int_equal(EVP_DigestVerify(ctx, der,
			    (size_t)derlen, msg, sizeof(msg)), 1);
		else
			assert_int_equal(EVP_DigestVerify(ctx, s, slen, msg,
			    sizeof(msg)), 1);
		EVP_MD_CTX_free(ctx);
		OPENSSL_free(der);
		wb_free(&sig);
	}
}

/* RFC 8032 section 7.1, tests 1 and 2. */
static void
test_ed25519_kat(void **state)
{
	static const uint8_t sk1[32] = {
		0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84,
		0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69,
		0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae,
		0x7f, 0x60,
	};
	static const uint8_t sig1[64] = {
		0xe5, 0x56, 0x43, 0x00, 0xc3, 0x60, 0xac, 0x72, 0x90, 0x86,
		0xe2, 0xcc, 0x80, 0x6e, 0x82, 0x8a, 0x84, 0x87, 0x7f, 0x1e,
		0xb8, 0xe5, 0xd9, 0x74, 0xd8, 0x73, 0xe0, 0x65, 0x22, 0x49,
		0x01, 0x55, 0x5f, 0xb8, 0x82, 0x15, 0x90, 0xa3, 0x3b, 0xac,
		0xc6, 0x1e, 0x39, 0x70, 0x1c, 0xf9, 0xb4, 0x6b, 0xd2, 0x5b,
		0xf5, 0xf0, 0x59, 0x5b, 0xbe, 0x24, 0x65, 0x51, 0x41, 0x43,
		0x8e, 0x7a, 0x10, 0x0b,
	};
	static const uint8_t sk2[32] = {
		0x4c, 0xcd, 0x08, 0x9b, 0x28, 0xff, 0x96, 0xda, 0x9d, 0xb6,
		0xc3, 0x46, 0xec, 0x11, 0x4e, 0x0f, 0x5b, 0x8a, 0x31, 0x9f,
		0x35, 0xab, 0xa6, 0x24, 0xda, 0x8c, 0xf6, 0xed, 0x4f, 0xb8,
		0xa6, 0xfb,
	};
	static const uint8_t pk2[32] = {
		0x3d, 0x40, 0x17, 0xc3, 0xe8, 0x43, 0x89, 0x5a, 0x92, 0xb7,
		0x0a, 0xa7, 0x4d, 0x1b, 0x7e, 0xbc, 0x9c, 0x98, 0x2c, 0xcf,
		0x2e, 0xc4, 0x96, 0x8c, 0xc0, 0xcd, 0x55, 0xf1, 0x2a, 0xf4,
		0x66, 0x0c,
	};
	static const uint8_t sig2[64] = {
		0x92, 0xa0, 0x09, 0xa9, 0xf0, 0xd4, 0xca, 0xb8, 0x72, 0x0e,
		0x82, 0x0b, 0x5f, 0x64, 0x25, 0x40, 0xa2, 0xb2, 0x7b, 0x54,
		0x16, 0x50, 0x3f, 0x8f, 0xb3, 0x76, 0x22, 0x23, 0xeb, 0xdb,
		0x69, 0xda, 0x08, 0x5a, 0xc1, 0xe4, 0x3e, 0x15, 0x99, 0x6e,
		0x45, 0x8f, 0x36, 0x13, 0xd0, 0xf1, 0x1d, 0x8c, 0x38, 0x7b,
		0x2e, 0xae, 0xb4, 0x30, 0x2a, 0xee, 0xb0, 0x0d, 0x29, 0x16,
		0x12, 0xbb, 0x0c, 0x00,
	};
	static const uint8_t m2[] = { 0x72 };
	struct key k = { KEY_ED25519, true, NULL };
	struct key *pub;
	struct wb sig, w, want;

	(void)state;
	wb_init(&sig);
	wb_init(&want);
	wb_init(&w);
	k.pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, sk1, 32);
	assert_non_null(k.pkey);
	assert_int_equal(key_sign(&k, "ssh-ed25519", (const uint8_t *)"", 0,
	    &sig), 0);
	wb_cstring(&want, "ssh-ed25519");
	wb_string(&want, sig1, 64);
	assert_int_equal(sig.len, want.len);
	assert_memory_equal(sig.p, want.p, want.len);
	EVP_PKEY_free(k.pkey);

	k.pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, sk2, 32);
	wb_reset(&sig);
	assert_int_equal(key_sign(&k, "ssh-ed25519", m2, 1, &sig), 0);
	wb_reset(&want);
	wb_cstring(&want, "ssh-ed25519");
	wb_string(&want, sig2, 64);
	assert_memory_equal(sig.p, want.p, want.len);
	/* The public half from its blob verifies the vector. */
	wb_cstring(&w, "ssh-ed25519");
	wb_string(&w, pk2, 32);
	assert_int_equal(key_from_blob(w.p, w.len, &pub, NULL, 0), 0);
	assert_int_equal(key_verify(pub, "ssh-ed25519", want.p, want.len, m2,
	    1), 0);
	assert_int_equal(key_verify(pub, "ssh-ed25519", want.p, want.len,
	    (const uint8_t *)"q", 1), -1);
	key_free(pub);
	EVP_PKEY_free(k.pkey);
	wb_free(&sig);
	wb_free(&want);
	wb_free(&w);
}

/* A signature that lost its leading zero byte still verifies (OpenSSH
 * tolerates that); one longer than the modulus does not. */
static void
test_rsa_short_sig(void **state)
{
	struct key *rsa = gen[KEY_RSA];
	struct wb sig, w;
	struct rd r;
	const uint8_t *s;
	size_t slen;
	uint8_t data[16] = { 0 };
	uint32_t i;

	(void)state;
	wb_init(&sig);
	wb_init(&w);
	for (i = 0; i < 5000; i++) {
		memcpy(data, &i, sizeof(i));
		wb_reset(&sig);
		assert_int_equal(key_sign(rsa, "rsa-sha2-256", data,
		    sizeof(data), &sig), 0);
		rd_init(&r, sig.p, sig.len);
		rd_string(&r, NULL, NULL);
		assert_int_equal(rd_string(&r, &s, &slen), 0);
		assert_int_equal(slen, 384);
		if (s[0] == 0)
			break;
	}
	assert_true(i < 5000);
	wb_cstring(&w, "rsa-sha2-256");
	wb_string(&w, s + 1, slen - 1);
	assert_int_equal(key_verify(rsa, "rsa-sha2-256", w.p, w.len, data,
	    sizeof(data)), 0);
	/* Shifting instead of dropping the zero changes the number. */
	wb_reset(&w);
	wb_cstring(&w, "rsa-sha2-256");
	wb_u32(&w, (uint32_t)slen + 1);
	wb_put(&w, s, slen);
	wb_u8(&w, 0);
	assert_int_equal(key_verify(rsa, "rsa-sha2-256", w.p, w.len, data,
	    sizeof(data)), -1);
	/* Over-long: a zero prepended. */
	wb_reset(&w);
	wb_cstring(&w, "rsa-sha2-256");
	wb_u32(&w, (uint32_t)slen + 1);
	wb_u8(&w, 0);
	wb_put(&w, s, slen);
	assert_int_equal(key_verify(rsa, "rsa-sha2-256", w.p, w.len, data,
	    sizeof(data)), -1);
	/* Empty. */
	wb_reset(&w);
	wb_cstring(&w, "rsa-sha2-256");
	wb_string(&w, "", 0);
	assert_int_equal(key_verify(rsa, "rsa-sha2-256", w.p, w.len, data,
	    sizeof(data)), -1);
	wb_free(&sig);
	wb_free(&w);
}

/* The pieces of an SSHSIG (PROTOCOL.sshsig) file. */
struct sshsig {
	uint8_t		*bin;
	const uint8_t	*pub, *sig;
	size_t		 publen, siglen;
	struct wb	 signed_data;
};

static void
sshsig_load(const char *name, struct sshsig *ss)
{
	char path[256], *text, *p, *b64;
	const uint8_t *ns, *resv, *halg;
	size_t nslen, resvlen, halglen, n = 0, i;
	uint8_t h[64];
	size_t hlen = 0;
	struct rd r;
	int blen;
	const char *end;

	snprintf(path, sizeof(path), DATA "%s.sshsig", name);
	text = read_text(path, NULL);
	p = strstr(text, "-----BEGIN SSH SIGNATURE-----");
	assert_non_null(p);
	p += strlen("-----BEGIN SSH SIGNATURE-----");
	end = strstr(p, "-----END SSH SIGNATURE-----");
	assert_non_null(end);
	b64 = malloc(strlen(text));
	for (i = 0; p + i < end; i++) {
		if (p[i] != '\n')
			b64[n++] = p[i];
	}
	ss->bin = malloc(n);
	blen = b64_decode(b64, n, ss->bin, n);
	assert_true(blen > 0);
	free(b64);
	free(text);

	rd_init(&r, ss->bin, (size_t)blen);
	assert_int_equal(rd_bytes(&r, &ns, 6), 0);
	assert_memory_equal(ns, "SSHSIG", 6);
	rd_u32(&r, &(uint32_t){ 0 });
	rd_string(&r, &ss->pub, &ss->publen);
	rd_string(&r, &ns, &nslen);
	rd_string(&r, &resv, &resvlen);
	rd_string(&r, &halg, &halglen);
	rd_string(&r, &ss->sig, &ss->siglen);
	assert_false(r.err);
	assert_int_equal(halglen, 6);
	assert_memory_equal(halg, "sha512", 6);
	assert_int_equal(EVP_Q_digest(NULL, "SHA512", NULL, "ferry test "
	    "message\n", 19, h, &hlen), 1);
	wb_init(&ss->signed_data);
	wb_put(&ss->signed_data, "SSHSIG", 6);
	wb_string(&ss->signed_data, ns, nslen);
	wb_string(&ss->signed_data, resv, resvlen);
	wb_string(&ss->signed_data, halg, halglen);
	wb_string(&ss->signed_data, h, hlen);
}

/* Verifies signatures OpenSSH made, and for the deterministic algorithms
 * checks that we produce the very same bytes from the same private key. */
static void
test_openssh_signatures(void **state)
{
	static const struct {
		const char	*name;
		const char	*alg;
		bool		 deterministic;
	} t[] = {
		{ "id_ed25519", "ssh-ed25519", true },
		{ "id_ecdsa", "ecdsa-sha2-nistp256", false },
		{ "id_rsa", "rsa-sha2-512", true },
	};
	struct sshsig ss;
	struct key *pub, *priv;
	struct wb mine;
	char path[256], *text, err[128];
	size_t i, len;
	uint8_t *blob;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		sshsig_load(t[i].name, &ss);
		blob = pub_blob(t[i].name, &len);
		assert_int_equal(ss.publen, len);
		assert_memory_equal(ss.pub, blob, len);
		free(blob);
		assert_int_equal(key_from_blob(ss.pub, ss.publen, &pub, err,
		    sizeof(err)), 0);
		assert_int_equal(key_verify(pub, t[i].alg, ss.sig, ss.siglen,
		    ss.signed_data.p, ss.signed_data.len), 0);
		ss.signed_data.p[ss.signed_data.len - 1] ^= 1;
		assert_int_equal(key_verify(pub, t[i].alg, ss.sig, ss.siglen,
		    ss.signed_data.p, ss.signed_data.len), -1);
		ss.signed_data.p[ss.signed_data.len - 1] ^= 1;

		snprintf(path, sizeof(path), DATA "%s", t[i].name);
		text = read_text(path, &len);
		assert_int_equal(keyfile_parse_private(text, len, &priv, err,
		    sizeof(err)), 0);
		free(text);
		wb_init(&mine);
		assert_int_equal(key_sign(priv, t[i].alg, ss.signed_data.p,
		    ss.signed_data.len, &mine), 0);
		assert_int_equal(key_verify(pub, t[i].alg, mine.p, mine.len,
		    ss.signed_data.p, ss.signed_data.len), 0);
		if (t[i].deterministic) {
			assert_int_equal(mine.len, ss.siglen);
			assert_memory_equal(mine.p, ss.sig, ss.siglen);
		}
		wb_free(&mine);
		key_free(priv);
		key_free(pub);
		wb_free(&ss.signed_data);
		free(ss.bin);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64_vectors),
		cmocka_unit_test(test_b64_invalid),
		cmocka_unit_test(test_pub_files),
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_generate_roundtrip),
		cmocka_unit_test(test_key_equal),
		cmocka_unit_test(test_blob_truncation),
		cmocka_unit_test(test_unsupported_type),
		cmocka_unit_test(test_rsa_limits),
		cmocka_unit_test(test_ecdsa_bad_points),
		cmocka_unit_test(test_alg_ok),
		cmocka_unit_test(test_sign_verify),
		cmocka_unit_test(test_sign_other_key),
		cmocka_unit_test(test_alg_mismatch),
		cmocka_unit_test(test_verify_with_openssl),
		cmocka_unit_test(test_ed25519_kat),
		cmocka_unit_test(test_rsa_short_sig),
		cmocka_unit_test(test_openssh_signatures),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
