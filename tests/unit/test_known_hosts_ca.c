/* Unit tests for the @cert-authority and @revoked lines of keys/
 * known_hosts.c: which CA keys a host's certificate may come from. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keys/key.h"
#include "keys/keyfile.h"
#include "keys/known_hosts.h"

#define DATA	"data/keys/"

static struct key *ca, *ca2, *hk;	/* two CA keys, a host key */
static char *ca_line, *ca2_line, *hk_line;	/* "type b64" */
static char tmpdir[64];

static char *
read_text(const char *path, size_t *len)
{
	FILE *f;
	char *buf;
	size_t n;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	buf = malloc(64 * 1024);
	n = fread(buf, 1, 64 * 1024 - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}

static int
load_pub(const char *name, struct key **k, char **line)
{
	char path[128], *text, *sp;
	size_t len;

	snprintf(path, sizeof(path), DATA "%s.pub", name);
	if ((text = read_text(path, &len)) == NULL)
		return -1;
	if (keyfile_parse_public(text, len, k, NULL, 0) != 0)
		return -1;
	sp = strchr(strchr(text, ' ') + 1, ' ');
	*sp = '\0';
	*line = text;
	return 0;
}

static int
setup(void **state)
{
	(void)state;
	if (load_pub("id_ed25519", &ca, &ca_line) != 0 ||
	    load_pub("id_rsa", &ca2, &ca2_line) != 0 ||
	    load_pub("id_ecdsa", &hk, &hk_line) != 0)
		return -1;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ferry-khca-XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	key_free(ca);
	key_free(ca2);
	key_free(hk);
	free(ca_line);
	free(ca2_line);
	free(hk_line);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct kh_result
check_ca(const char *text, const char *host, int port, const struct key *k)
{
	struct kh_result res;

	memset(&res, 0, sizeof(res));
	res.status = KH_NEW;
	assert_int_equal(kh_check_ca_text(text, strlen(text), "kh", host, port,
	    k, &res), 0);
	return res;
}

static struct kh_result
check_plain(const char *text, const char *host, int port, const struct key *k)
{
	struct kh_result res;

	memset(&res, 0, sizeof(res));
	res.status = KH_NEW;
	assert_int_equal(kh_check_text(text, strlen(text), "kh", host, port, k,
	    &res), 0);
	return res;
}

static void
test_ca_match(void **state)
{
	char text[2048];
	struct kh_result res;

	(void)state;
	snprintf(text, sizeof(text), "# CAs\nexample.com %s\n"
	    "@cert-authority *.example.com,example.com %s comment\n", hk_line,
	    ca_line);
	res = check_ca(text, "www.example.com", 22, ca);
	assert_int_equal(res.status, KH_MATCH);
	assert_int_equal(res.line, 3);
	assert_string_equal(res.file, "kh");
	assert_true(res.ca_known);
	assert_int_equal(check_ca(text, "EXAMPLE.COM", 22, ca).status,
	    KH_MATCH);
	/* another host: no CA line for it */
	res = check_ca(text, "example.org", 22, ca);
	assert_int_equal(res.status, KH_NEW);
	assert_false(res.ca_known);
	/* the plain line is no CA: its key signs nothing */
	assert_int_equal(check_ca(text, "example.com", 22, hk).status,
	    KH_CHANGED);
}

static void
test_ca_other_key(void **state)
{
	char text[2048];
	struct kh_result res;

	(void)state;
	/* a CA line for the host with another key: "changed", whatever the
	 * key type */
	snprintf(text, sizeof(text), "@cert-authority * %s\n", ca2_line);
	res = check_ca(text, "example.com", 22, ca);
	assert_int_equal(res.status, KH_CHANGED);
	assert_int_equal(res.line, 1);
	/* a later line with the right key wins */
	snprintf(text, sizeof(text), "@cert-authority * %s\n"
	    "@cert-authority example.com %s\n", ca2_line, ca_line);
	res = check_ca(text, "example.com", 22, ca);
	assert_int_equal(res.status, KH_MATCH);
	assert_int_equal(res.line, 2);
}

static void
test_ca_port_and_negation(void **state)
{
	char text[2048];

	(void)state;
	snprintf(text, sizeof(text), "@cert-authority [127.0.0.1]:2222 %s\n",
	    ca_line);
	assert_int_equal(check_ca(text, "127.0.0.1", 2222, ca).status,
	    KH_MATCH);
	assert_int_equal(check_ca(text, "127.0.0.1", 22, ca).status, KH_NEW);
	assert_int_equal(check_ca(text, "127.0.0.1", 2223, ca).status, KH_NEW);
	snprintf(text, sizeof(text), "@cert-authority *.example.com,"
	    "!bad.example.com %s\n", ca_line);
	assert_int_equal(check_ca(text, "ok.example.com", 22, ca).status,
	    KH_MATCH);
	assert_int_equal(check_ca(text, "bad.example.com", 22, ca).status,
	    KH_NEW);
}

static void
test_ca_revoked(void **state)
{
	char text[2048];
	struct kh_result res;

	(void)state;
	/* a revoked CA is refused for every host, before or after its line */
	snprintf(text, sizeof(text), "@cert-authority * %s\n"
	    "@revoked unrelated.example %s\n", ca_line, ca_line);
	res = check_ca(text, "example.com", 22, ca);
	assert_int_equal(res.status, KH_REVOKED);
	assert_int_equal(res.line, 2);
	snprintf(text, sizeof(text), "@revoked * %s\n@cert-authority * %s\n",
	    ca_line, ca_line);
	assert_int_equal(check_ca(text, "example.com", 22, ca).status,
	    KH_REVOKED);
	/* revoking the host key leaves the CA alone, and the other way */
	snprintf(text, sizeof(text), "@revoked * %s\n@cert-authority * %s\n",
	    hk_line, ca_line);
	assert_int_equal(check_ca(text, "example.com", 22, ca).status,
	    KH_MATCH);
	assert_int_equal(check_plain(text, "example.com", 22, hk).status,
	    KH_REVOKED);
}

static void
test_ca_not_a_host_key(void **state)
{
	char text[2048];
	struct kh_result res;

	(void)state;
	/* a CA line never lists the host's own key, nor its type */
	snprintf(text, sizeof(text), "@cert-authority example.com %s\n",
	    hk_line);
	res = check_plain(text, "example.com", 22, hk);
	assert_int_equal(res.status, KH_NEW);
	assert_int_equal(res.types_known, 0);
	assert_true(res.ca_known);
}

static void
test_ca_malformed_skipped(void **state)
{
	char text[2048];

	(void)state;
	snprintf(text, sizeof(text), "@cert-authority\n@cert-authority *\n"
	    "@cert-authority * ssh-ed25519\n@cert-authority * ssh-rsa %s\n"
	    "@cert-authorit * %s\n@cert-authority * ssh-ed25519 !!!!\n",
	    strchr(ca_line, ' ') + 1, ca_line);
	assert_int_equal(check_ca(text, "example.com", 22, ca).status, KH_NEW);
	assert_false(check_ca(text, "example.com", 22, ca).ca_known);
}

/* A hashed pattern (written by kh_add) works on a CA line, and
 * kh_known_types reports the CA; kh_other_names never lists CA lines. */
static void
test_ca_hashed_file(void **state)
{
	char path[128], err[256], *text, *sp, line[4096];
	unsigned types = 0;
	bool known = false;
	FILE *f;
	struct kh_result res;

	(void)state;
	snprintf(path, sizeof(path), "%s/kh_hashed", tmpdir);
	assert_int_equal(kh_add(path, "ca.example", 2022, hk, 1, err,
	    sizeof(err)), 0);
	text = read_text(path, NULL);
	sp = strchr(text, ' ');
	snprintf(line, sizeof(line), "@cert-authority %.*s %s\n",
	    (int)(sp - text), text, ca_line);
	free(text);
	assert_non_null(f = fopen(path, "w"));
	fputs(line, f);
	fclose(f);
	memset(&res, 0, sizeof(res));
	res.status = KH_NEW;
	assert_int_equal(kh_check_ca_file(path, "ca.example", 2022, ca, &res,
	    err, sizeof(err)), 0);
	assert_int_equal(res.status, KH_MATCH);
	assert_int_equal(kh_known_types(path, "ca.example", 2022, &types,
	    &known), 0);
	assert_true(known);
	assert_int_equal(types, 0);
	known = false;
	assert_int_equal(kh_known_types(path, "ca.example", 22, &types,
	    &known), 0);
	assert_false(known);
	/* a missing file holds no CA */
	memset(&res, 0, sizeof(res));
	res.status = KH_NEW;
	snprintf(path, sizeof(path), "%s/absent", tmpdir);
	assert_int_equal(kh_check_ca_file(path, "ca.example", 22, ca, &res,
	    err, sizeof(err)), 0);
	assert_int_equal(res.status, KH_NEW);
}

static void
other_name(void *ud, const char *path, int lineno, const char *hosts,
    size_t hlen)
{
	(void)path;
	(void)lineno;
	(void)hosts;
	(void)hlen;
	++*(int *)ud;
}

static void
test_ca_not_other_name(void **state)
{
	char text[2048];
	int n = 0;

	(void)state;
	snprintf(text, sizeof(text), "@cert-authority other.example %s\n",
	    ca_line);
	kh_other_names_text(text, strlen(text), "kh", "example.com", 22, ca,
	    other_name, &n);
	assert_int_equal(n, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ca_match),
		cmocka_unit_test(test_ca_other_key),
		cmocka_unit_test(test_ca_port_and_negation),
		cmocka_unit_test(test_ca_revoked),
		cmocka_unit_test(test_ca_not_a_host_key),
		cmocka_unit_test(test_ca_malformed_skipped),
		cmocka_unit_test(test_ca_hashed_file),
		cmocka_unit_test(test_ca_not_other_name),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
