/* Unit tests for keys/cert.c against certificates ssh-keygen -s made
 * (data/certs, see gen.sh there). */
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
#include "util/readfile.h"

#define DATA	"data/certs/"
#define KEYS	"data/keys/"
/* Inside the fixtures' window 2020-01-01 .. 2040-01-01. */
#define NOW	1700000000ULL

static char *
read_line(const char *path)
{
	static char buf[32768];
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	buf[strcspn(buf, "\r\n")] = '\0';
	return buf;
}

static struct cert *
load(const char *name)
{
	char path[256], err[256];
	struct cert *c;

	snprintf(path, sizeof(path), DATA "%s-cert.pub", name);
	if (cert_load_file(path, &c, err, sizeof(err)) != 0)
		fail_msg("%s: %s", path, err);
	return c;
}

static struct key *
pub(const char *path)
{
	char *line = read_line(path), err[256];
	struct key *k;

	if (keyfile_parse_public(line, strlen(line), &k, err,
	    sizeof(err)) != 0)
		fail_msg("%s: %s", path, err);
	return k;
}

/* The raw blob of a -cert.pub fixture (malloc'd). */
static uint8_t *
blob_of(const char *name, size_t *len)
{
	char path[256], *line, *b64, *end;
	uint8_t *blob;
	int n;

	snprintf(path, sizeof(path), DATA "%s-cert.pub", name);
	line = read_line(path);
	b64 = strchr(line, ' ') + 1;
	end = strchr(b64, ' ');
	if (end == NULL)
		end = b64 + strlen(b64);
	blob = malloc(strlen(b64));
	assert_non_null(blob);
	n = b64_decode(b64, (size_t)(end - b64), blob, strlen(b64));
	assert_true(n > 0);
	*len = (size_t)n;
	return blob;
}

static void
expect_fields(const char *name, const char *type_name, const char *user_key,
    const char *ca, uint64_t serial, const char *key_id, const char *sig_alg)
{
	struct cert *c = load(name);
	struct key *k = pub(user_key), *cak = pub(ca);
	char err[256];

	assert_string_equal(c->type_name, type_name);
	assert_true(key_equal(c->key, k));
	assert_true(key_equal(c->ca, cak));
	assert_true(c->serial == serial);
	assert_string_equal(c->key_id, key_id);
	assert_string_equal(c->sig_alg, sig_alg);
	if (cert_verify(c, err, sizeof(err)) != 0)
		fail_msg("%s: %s", name, err);
	assert_true(c->valid_after < NOW && NOW < c->valid_before);
	key_free(k);
	key_free(cak);
	cert_free(c);
}

static void
test_parse_fixtures(void **state)
{
	expect_fields("user_ed25519", "ssh-ed25519-cert-v01@openssh.com",
	    KEYS "id_ed25519.pub", DATA "ca_ed25519.pub", 42, "ferry-user",
	    "ssh-ed25519");
	expect_fields("user_ecdsa", "ecdsa-sha2-nistp256-cert-v01@openssh.com",
	    KEYS "id_ecdsa.pub", DATA "ca_rsa.pub", 7, "ferry-ecdsa",
	    "rsa-sha2-512");
	expect_fields("user_rsa", "ssh-rsa-cert-v01@openssh.com",
	    KEYS "id_rsa.pub", DATA "ca_ecdsa.pub", 9, "ferry-rsa",
	    "ecdsa-sha2-nistp256");
}

static void
test_principals_and_options(void **state)
{
	struct cert *c = load("user_ed25519");
	const struct cert_opt *o;

	assert_int_equal(c->type, CERT_USER);
	assert_int_equal(c->nprincipals, 2);
	assert_string_equal(c->principals[0], "alice");
	assert_string_equal(c->principals[1], "bob");
	assert_int_equal(c->ncrit, 0);
	assert_int_equal(c->next, 5);
	assert_non_null(cert_opt(c->ext, c->next, "permit-port-forwarding"));
	assert_null(cert_opt(c->ext, c->next, "permit-port"));
	cert_free(c);

	c = load("user_ecdsa");
	assert_int_equal(c->ncrit, 2);
	o = cert_opt(c->crit, c->ncrit, "force-command");
	assert_non_null(o);
	/* the data is itself a string */
	assert_int_equal(o->datalen, 4 + strlen("/bin/true"));
	assert_memory_equal(o->data + 4, "/bin/true", 9);
	assert_non_null(cert_opt(c->crit, c->ncrit, "source-address"));
	cert_free(c);

	c = load("user_rsa");
	assert_int_equal(c->next, 0);
	assert_string_equal(cert_auth_alg(c, false),
	    "rsa-sha2-512-cert-v01@openssh.com");
	assert_string_equal(cert_auth_alg(c, true),
	    "rsa-sha2-256-cert-v01@openssh.com");
	cert_free(c);
	c = load("user_ecdsa");
	assert_string_equal(cert_auth_alg(c, true),
	    "ecdsa-sha2-nistp256-cert-v01@openssh.com");
	cert_free(c);
}

static void
test_sig_alg(void **state)
{
	enum key_type t = KEY_ED25519;

	assert_string_equal(cert_sig_alg("rsa-sha2-256-cert-v01@openssh.com",
	    &t), "rsa-sha2-256");
	assert_int_equal(t, KEY_RSA);
	assert_string_equal(cert_sig_alg("rsa-sha2-512-cert-v01@openssh.com",
	    &t), "rsa-sha2-512");
	assert_string_equal(cert_sig_alg(
	    "ecdsa-sha2-nistp256-cert-v01@openssh.com", &t),
	    "ecdsa-sha2-nistp256");
	assert_int_equal(t, KEY_ECDSA_P256);
	assert_string_equal(cert_sig_alg("ssh-ed25519-cert-v01@openssh.com",
	    &t), "ssh-ed25519");
	assert_int_equal(t, KEY_ED25519);
	/* the SHA-1 one is not offered by ferry nor accepted */
	assert_null(cert_sig_alg("ssh-rsa-cert-v01@openssh.com", &t));
	assert_null(cert_sig_alg("ssh-ed25519", &t));
}

static void
test_check(void **state)
{
	struct cert *c = load("user_ed25519");
	char err[256];

	assert_int_equal(cert_check(c, CERT_USER, "alice", false, NOW, err,
	    sizeof(err)), 0);
	assert_int_equal(cert_check(c, CERT_USER, "bob", false, NOW, err,
	    sizeof(err)), 0);
	assert_int_equal(cert_check(c, CERT_USER, NULL, false, NOW, err,
	    sizeof(err)), 0);
	assert_int_equal(cert_check(c, CERT_USER, "eve", true, NOW, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "principal"));
	assert_int_equal(cert_check(c, CERT_USER, "alic", false, NOW, err,
	    sizeof(err)), -1);
	assert_int_equal(cert_check(c, CERT_HOST, "alice", false, NOW, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "user certificate"));
	assert_int_equal(cert_check(c, CERT_USER, "alice", false,
	    c->valid_after - 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not yet valid"));
	assert_int_equal(cert_check(c, CERT_USER, "alice", false,
	    c->valid_after, err, sizeof(err)), 0);
	assert_int_equal(cert_check(c, CERT_USER, "alice", false,
	    c->valid_before, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "expired"));
	cert_free(c);

	c = load("expired_ed25519");
	assert_int_equal(cert_verify(c, err, sizeof(err)), 0);
	assert_int_equal(cert_check(c, CERT_USER, "alice", false, NOW, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "expired"));
	cert_free(c);

	c = load("host_ed25519");
	assert_int_equal(c->type, CERT_HOST);
	assert_int_equal(cert_check(c, CERT_HOST, "192.0.2.7", false, NOW,
	    err, sizeof(err)), 0);
	assert_int_equal(cert_check(c, CERT_USER, "host.example", false, NOW,
	    err, sizeof(err)), -1);
	cert_free(c);

	c = load("any_ed25519");
	assert_int_equal(c->nprincipals, 0);
	assert_true(c->valid_before == UINT64_MAX);
	assert_int_equal(cert_check(c, CERT_USER, "x", true, NOW, err,
	    sizeof(err)), 0);
	assert_int_equal(cert_check(c, CERT_USER, "x", false, NOW, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "no principals"));
	cert_free(c);
}

/* Any change to the signed part or to the signature breaks it. */
static void
test_tampered(void **state)
{
	static const char *names[] = { "user_ed25519", "user_ecdsa",
	    "user_rsa" };
	struct cert *c;
	uint8_t *blob;
	size_t len, i;
	char err[256];

	for (i = 0; i < 3; i++) {
		blob = blob_of(names[i], &len);
		assert_int_equal(cert_parse(blob, len, &c, err, sizeof(err)),
		    0);
		assert_int_equal(cert_verify(c, err, sizeof(err)), 0);
		cert_free(c);
		/* a byte of the nonce (offset 4 + name + 4) */
		blob[4 + get_u32(blob) + 4] ^= 1;
		assert_int_equal(cert_parse(blob, len, &c, err, sizeof(err)),
		    0);
		assert_int_equal(cert_verify(c, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "signature"));
		cert_free(c);
		blob[4 + get_u32(blob) + 4] ^= 1;
		/* the signature's last byte */
		blob[len - 1] ^= 1;
		if (cert_parse(blob, len, &c, err, sizeof(err)) == 0) {
			assert_int_equal(cert_verify(c, err, sizeof(err)), -1);
			cert_free(c);
		}
		free(blob);
	}
}

/* Every prefix and a trailing byte are refused, without reading past
 * the input (the ASan build checks that). */
static void
test_truncated(void **state)
{
	static const char *names[] = { "user_ed25519", "user_ecdsa",
	    "user_rsa", "host_ed25519" };
	struct cert *c;
	uint8_t *blob, *cut;
	size_t len, n, i;
	char err[256];

	for (i = 0; i < 4; i++) {
		blob = blob_of(names[i], &len);
		for (n = 0; n < len; n++) {
			cut = malloc(n ? n : 1);
			assert_non_null(cut);
			memcpy(cut, blob, n);
			assert_int_equal(cert_parse(cut, n, &c, err,
			    sizeof(err)), -1);
			assert_null(c);
			free(cut);
		}
		cut = malloc(len + 1);
		assert_non_null(cut);
		memcpy(cut, blob, len);
		cut[len] = 0;
		assert_int_equal(cert_parse(cut, len + 1, &c, err,
		    sizeof(err)), -1);
		assert_non_null(strstr(err, "trailing"));
		free(cut);
		free(blob);
	}
}

static void
test_lines_and_files(void **state)
{
	struct cert *c;
	char err[256], line[32768], *l;

	assert_int_equal(cert_load_file(DATA "nonexistent-cert.pub", &c, err,
	    sizeof(err)), READFILE_ABSENT);
	assert_int_equal(cert_load_file(DATA "ca_ed25519.pub", &c, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "not a supported certificate type"));
	/* the line's type must be the blob's */
	l = read_line(DATA "user_ecdsa-cert.pub");
	snprintf(line, sizeof(line), "ssh-ed25519-cert-v01@openssh.com %s",
	    strchr(l, ' ') + 1);
	assert_int_equal(cert_parse_line(line, strlen(line), &c, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "does not match"));
	assert_int_equal(cert_parse_line("ssh-ed25519-cert-v01@openssh.com "
	    "AAAA!!", 39, &c, err, sizeof(err)), -1);
	assert_int_equal(cert_parse_line("", 0, &c, err, sizeof(err)), -1);
	/* the comment is optional */
	l = read_line(DATA "user_rsa-cert.pub");
	*strrchr(l, ' ') = '\0';
	assert_int_equal(cert_parse_line(l, strlen(l), &c, err, sizeof(err)),
	    0);
	cert_free(c);
}

static void
test_oversized(void **state)
{
	static uint8_t big[CERT_MAX_BLOB + 1];
	struct cert *c;
	char err[256];

	assert_int_equal(cert_parse(big, sizeof(big), &c, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "larger"));
	assert_true(cert_is_type_name("ssh-rsa-cert-v01@openssh.com", 28));
	assert_false(cert_is_type_name("ssh-rsa", 7));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_fixtures),
		cmocka_unit_test(test_principals_and_options),
		cmocka_unit_test(test_sig_alg),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_lines_and_files),
		cmocka_unit_test(test_oversized),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
