/* Unit tests for keys/revoked.c: revoked key files (KRLs of data/krl,
 * lists of keys written here) asked about plain keys and about the
 * certificates of data/certs that ssh-keygen -s made and cert_parse
 * reads (user_ed25519: serial 42, key ID ferry-user, CA ca_ed25519). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keys/cert.h"
#include "keys/key.h"
#include "keys/keyfile.h"
#include "keys/revoked.h"

#define ED_CERT		"data/certs/user_ed25519-cert.pub"
#define ECDSA_CERT	"data/certs/user_ecdsa-cert.pub"

static char dir[64];

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

/* data/keys/id_ed25519.pub, loaded once and kept for the run. */
static const struct key *
pub_key_for_test(void)
{
	static struct key *k;

	if (k == NULL)
		k = pub("data/keys/id_ed25519.pub");
	return k;
}

static struct cert *
cert(const char *path)
{
	struct cert *c;
	char err[256];

	if (cert_load_file(path, &c, err, sizeof(err)) != 0)
		fail_msg("%s: %s", path, err);
	return c;
}

/* The verdict of the file at path on a plain key file or a cert. */
static enum revoked_verdict
verdict(const char *path, const char *keypath, const char *certpath)
{
	struct revoked *r;
	struct cert *c = NULL;
	struct key *k = NULL;
	enum revoked_verdict v;
	char why[300];

	assert_int_equal(revoked_load(path, &r), 0);
	assert_non_null(r);
	if (certpath != NULL)
		c = cert(certpath);
	else
		k = pub(keypath);
	v = revoked_check(r, c != NULL ? c->key : k, c, why, sizeof(why));
	/* a reason, without the path: the caller names the file */
	if (v == REVOKED_UNUSABLE && (why[0] == '\0' ||
	    strstr(why, path) != NULL))
		fail_msg("reason '%s' for %s", why, path);
	cert_free(c);
	key_free(k);
	revoked_free(r);
	return v;
}

/* A list file in dir with the lines of these files, a comment, a blank
 * line and a key of a type only OpenSSH has (skipped). */
static const char *
list(const char *name, const char *a, const char *b)
{
	static char path[128];
	char line[16384];
	FILE *out, *in;
	const char *srcs[2] = { a, b };
	int i;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(out = fopen(path, "w"));
	fprintf(out, "# revoked keys\n\n");
	for (i = 0; i < 2; i++) {
		if (srcs[i] == NULL)
			continue;
		assert_non_null(in = fopen(srcs[i], "r"));
		assert_non_null(fgets(line, sizeof(line), in));
		fclose(in);
		fputs(line, out);
	}
	fprintf(out, "  ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQ= x\n");
	fclose(out);
	return path;
}

static int
setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/ferry-revoked.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_krl_certs(void **state)
{
	(void)state;
	assert_int_equal(verdict("data/krl/serial.krl", NULL, ED_CERT),
	    REVOKED_YES);
	assert_int_equal(verdict("data/krl/serial.krl", NULL, ECDSA_CERT),
	    REVOKED_NO);
	assert_int_equal(verdict("data/krl/keyid.krl", NULL, ED_CERT),
	    REVOKED_YES);
	assert_int_equal(verdict("data/krl/bitmap.krl", NULL, ED_CERT),
	    REVOKED_YES);
	/* the CA revoked as a key: what it signed is */
	assert_int_equal(verdict("data/krl/ca.krl", NULL, ED_CERT),
	    REVOKED_YES);
	/* the certified key revoked: so is its certificate */
	assert_int_equal(verdict("data/krl/key.krl", NULL, ECDSA_CERT),
	    REVOKED_YES);
	assert_int_equal(verdict("data/krl/serial.krl",
	    "data/keys/id_ed25519.pub", NULL), REVOKED_NO);
	assert_int_equal(verdict("data/krl/hash.krl",
	    "data/keys/id_ecdsa.pub", NULL), REVOKED_YES);
}

static void
test_list(void **state)
{
	const char *p;

	(void)state;
	p = list("keys", "data/keys/id_ed25519.pub", "data/keys/id_rsa.pub");
	assert_int_equal(verdict(p, "data/keys/id_ed25519.pub", NULL),
	    REVOKED_YES);
	assert_int_equal(verdict(p, "data/keys/id_rsa.pub", NULL),
	    REVOKED_YES);
	assert_int_equal(verdict(p, "data/keys/id_ecdsa.pub", NULL),
	    REVOKED_NO);
	assert_int_equal(verdict(p, NULL, ED_CERT), REVOKED_YES);
	assert_int_equal(verdict(p, NULL, ECDSA_CERT), REVOKED_NO);
	/* a CA listed: its certificates, not the key they certify */
	p = list("cas", "data/certs/ca_ed25519.pub", NULL);
	assert_int_equal(verdict(p, NULL, ED_CERT), REVOKED_YES);
	assert_int_equal(verdict(p, "data/keys/id_ed25519.pub", NULL),
	    REVOKED_NO);
	p = list("empty", NULL, NULL);
	assert_int_equal(verdict(p, "data/keys/id_ed25519.pub", NULL),
	    REVOKED_NO);
}

/* A list whose only line is line (and a comment before it). */
static const char *
one_line(const char *name, const char *line)
{
	static char path[128];
	FILE *out;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(out = fopen(path, "w"));
	fprintf(out, "# one line\n%s\n", line);
	fclose(out);
	return path;
}

/* A certificate line lists the key it certifies (OpenSSH compares the
 * public parts): the key, its certificates, not the CA's others. */
static void
test_list_cert_line(void **state)
{
	char line[16384];
	FILE *in;
	const char *p;

	(void)state;
	assert_non_null(in = fopen("data/certs/host_ed25519-cert.pub", "r"));
	assert_non_null(fgets(line, sizeof(line), in));
	fclose(in);
	line[strcspn(line, "\r\n")] = '\0';
	p = one_line("certline", line);
	assert_int_equal(verdict(p, "data/keys/id_ed25519.pub", NULL),
	    REVOKED_YES);
	assert_int_equal(verdict(p, NULL, ED_CERT), REVOKED_YES);
	assert_int_equal(verdict(p, NULL, ECDSA_CERT), REVOKED_NO);
}

/* A line that is not a key: OpenSSH's "invalid format", every key
 * refused, the line named; the path is left to the caller. */
static void
test_list_invalid_line(void **state)
{
	struct revoked *r;
	const char *p;
	char why[300];

	(void)state;
	p = one_line("garbage", "hello world");
	assert_int_equal(verdict(p, "data/keys/id_ecdsa.pub", NULL),
	    REVOKED_UNUSABLE);
	assert_int_equal(revoked_load(p, &r), 0);
	assert_int_equal(r->kind, REVOKED_BAD);
	assert_string_equal(r->why,
	    "invalid format (line 2 is not a public key)");
	revoked_free(r);
	/* a known type with a broken body is not skipped */
	p = one_line("broken", "ssh-ed25519 AAAA!!!!");
	assert_int_equal(verdict(p, "data/keys/id_ecdsa.pub", NULL),
	    REVOKED_UNUSABLE);
	p = one_line("options", "from=\"*\" ssh-ed25519 AAAA");
	assert_int_equal(verdict(p, "data/keys/id_ecdsa.pub", NULL),
	    REVOKED_UNUSABLE);
	/* only OpenSSH's types: skipped, and counted */
	p = one_line("dsa", "ssh-dss AAAAB3NzaC1kc3M= old");
	assert_int_equal(revoked_load(p, &r), 0);
	assert_int_equal(r->kind, REVOKED_LIST);
	assert_int_equal(r->nskipped, 1);
	revoked_free(r);
	assert_int_equal(revoked_file_check(p, pub_key_for_test(), NULL, why,
	    sizeof(why)), REVOKED_NO);
}

static void
test_unusable(void **state)
{
	char path[128], why[300];
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/absent", dir);
	assert_int_equal(verdict(path, "data/keys/id_ed25519.pub", NULL),
	    REVOKED_UNUSABLE);
	assert_int_equal(revoked_file_check(path, pub_key_for_test(), NULL,
	    why, sizeof(why)), REVOKED_UNUSABLE);
	assert_string_equal(why, "No such file or directory");
	snprintf(path, sizeof(path), "%s/bad.krl", dir);
	assert_non_null(f = fopen(path, "wb"));
	fwrite("SSHKRL\n\0\0\0\0\1\0\0", 1, 14, f);
	fclose(f);
	assert_int_equal(verdict(path, NULL, ED_CERT), REVOKED_UNUSABLE);
	assert_int_equal(verdict(dir, "data/keys/id_ecdsa.pub", NULL),
	    REVOKED_UNUSABLE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_krl_certs),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_list_cert_line),
		cmocka_unit_test(test_list_invalid_line),
		cmocka_unit_test(test_unusable),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
