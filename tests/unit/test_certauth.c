/* Unit tests for keys/certauth.c (a server's verdict on a user
 * certificate) and the certificate lookups of keys/authkeys*.c
 * (cert-authority lines, AuthorizedPrincipalsFile), against certificates
 * ssh-keygen -s made (data/certs, see gen.sh there). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/authkeys.h"
#include "keys/cert.h"
#include "keys/certauth.h"
#include "keys/keyfile.h"
#include "util/readfile.h"

#define DATA	"data/certs/"
/* Inside the fixtures' window 2020-01-01 .. 2040-01-01. */
#define NOW	1700000000ULL
#define ALGS	"ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256"

static char why[1024];
static int nwarn;
static char lastwarn[512];

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

/* The verdict on certificate name for principal from ip under algs. */
static enum certauth_verdict
judge(const char *name, const char *principal, const char *ip,
    const char *algs, uint64_t now, bool *fwd)
{
	struct cert *c = load(name);
	struct certauth_req r = { algs, ip, principal, now };
	struct certauth_grant g;
	enum certauth_verdict v;

	why[0] = '\0';
	v = certauth_check(c, &r, &g, why, sizeof(why));
	if (fwd != NULL)
		*fwd = g.port_forwarding;
	cert_free(c);
	return v;
}

static void
test_accepted(void **state)
{
	bool fwd = false;

	assert_int_equal(judge("user_ed25519", "alice", "10.0.0.1", ALGS, NOW,
	    &fwd), CERTAUTH_OK);
	assert_true(fwd);
	assert_int_equal(judge("user_ed25519", "bob", "10.0.0.1", ALGS, NOW,
	    NULL), CERTAUTH_OK);
	/* principal NULL: the caller matched a principals file already */
	assert_int_equal(judge("user_ed25519", NULL, "10.0.0.1", ALGS, NOW,
	    NULL), CERTAUTH_OK);
	/* no extensions: in, but no port forwarding */
	assert_int_equal(judge("user_rsa", "dave", "10.0.0.1", ALGS, NOW,
	    &fwd), CERTAUTH_OK);
	assert_false(fwd);
}

static void
test_invalid(void **state)
{
	assert_int_equal(judge("user_ed25519", "carol", "10.0.0.1", ALGS, NOW,
	    NULL), CERTAUTH_INVALID);
	assert_string_equal(why, "certificate does not list the principal "
	    "asked for");
	assert_int_equal(judge("expired_ed25519", "alice", "10.0.0.1", ALGS,
	    NOW, NULL), CERTAUTH_INVALID);
	assert_string_equal(why, "certificate has expired");
	assert_int_equal(judge("user_ed25519", "alice", "10.0.0.1", ALGS,
	    2300000000ULL, NULL), CERTAUTH_INVALID);
	assert_int_equal(judge("user_ed25519", "alice", "10.0.0.1", ALGS,
	    1000000000ULL, NULL), CERTAUTH_INVALID);
	assert_string_equal(why, "certificate is not yet valid");
	assert_int_equal(judge("host_ed25519", "host.example", "10.0.0.1",
	    ALGS, NOW, NULL), CERTAUTH_INVALID);
	assert_non_null(strstr(why, "host certificate"));
	/* no principals: with a name asked for, no login (sshd's rule) */
	assert_int_equal(judge("any_ed25519", "alice", "10.0.0.1", ALGS, NOW,
	    NULL), CERTAUTH_INVALID);
}

static void
test_sig_alg(void **state)
{
	assert_int_equal(judge("user_ed25519", "alice", "10.0.0.1",
	    "ecdsa-sha2-nistp256,rsa-sha2-512", NOW, NULL), CERTAUTH_SIG_ALG);
	assert_string_equal(why, "CA signature algorithm ssh-ed25519 not in "
	    "CASignatureAlgorithms");
	/* a prefix of a listed name is not that name */
	assert_int_equal(judge("user_ed25519", "alice", "10.0.0.1",
	    "ssh-ed25519x", NOW, NULL), CERTAUTH_SIG_ALG);
	/* the RSA CA signed with rsa-sha2-512 */
	assert_int_equal(judge("user_ecdsa", "carol", "127.0.0.1",
	    "ssh-ed25519,rsa-sha2-256", NOW, NULL), CERTAUTH_SIG_ALG);
}

static void
test_bad_signature(void **state)
{
	struct cert *c = load("user_ed25519"), *t;
	struct certauth_req r = { ALGS, "10.0.0.1", "alice", NOW };
	struct certauth_grant g;
	uint8_t *blob = malloc(c->bloblen);
	char err[256];

	assert_non_null(blob);
	memcpy(blob, c->blob, c->bloblen);
	blob[c->bloblen - 1] ^= 1;	/* in the signature */
	assert_int_equal(cert_parse(blob, c->bloblen, &t, err, sizeof(err)), 0);
	assert_int_equal(certauth_check(t, &r, &g, why, sizeof(why)),
	    CERTAUTH_BAD_SIG);
	cert_free(t);
	cert_free(c);
	free(blob);
}

static void
test_critical(void **state)
{
	bool fwd = true;

	assert_int_equal(judge("user_ecdsa", "carol", "127.0.0.1", ALGS, NOW,
	    NULL), CERTAUTH_FORCE_COMMAND);
	assert_string_equal(why, "certificate has a force-command critical "
	    "option and ferryd runs no commands");
	assert_int_equal(judge("crit_ed25519", "alice", "10.0.0.1", ALGS, NOW,
	    NULL), CERTAUTH_UNKNOWN_OPT);
	assert_string_equal(why, "certificate has critical option 'frobnicate' "
	    "that ferryd does not know");
	assert_int_equal(judge("source_ed25519", "alice", "10.9.8.7", ALGS,
	    NOW, &fwd), CERTAUTH_OK);
	assert_false(fwd);
	assert_int_equal(judge("source_ed25519", "alice", "::ffff:10.9.8.7",
	    ALGS, NOW, NULL), CERTAUTH_OK);
	assert_int_equal(judge("source_ed25519", "alice", "2001:db8::5", ALGS,
	    NOW, NULL), CERTAUTH_OK);
	assert_int_equal(judge("source_ed25519", "alice", "127.0.0.1", ALGS,
	    NOW, NULL), CERTAUTH_SOURCE);
	assert_string_equal(why, "not from a permitted source address "
	    "(10.0.0.0/8,2001:db8::/32)");
	assert_int_equal(judge("source_ed25519", "alice", NULL, ALGS, NOW,
	    NULL), CERTAUTH_SOURCE);
}

static void
test_source_match(void **state)
{
	assert_int_equal(certauth_source_match("10.0.0.0/8", "10.1.2.3"), 1);
	assert_int_equal(certauth_source_match("10.0.0.0/8", "11.1.2.3"), 0);
	assert_int_equal(certauth_source_match("10.0.0.1", "10.0.0.1"), 1);
	assert_int_equal(certauth_source_match("10.0.0.1", "10.0.0.2"), 0);
	assert_int_equal(certauth_source_match("1.2.3.4,0.0.0.0/0", "9.9.9.9"),
	    1);
	assert_int_equal(certauth_source_match("::/0", "9.9.9.9"), 0);
	assert_int_equal(certauth_source_match("2001:db8::/32",
	    "2001:db8:1::1"), 1);
	assert_int_equal(certauth_source_match("10.0.0.0/8",
	    "::ffff:10.0.0.9"), 1);
	assert_int_equal(certauth_source_match("10.0.0.0/33", "10.0.0.1"), -1);
	assert_int_equal(certauth_source_match("10.0.0.0/", "10.0.0.1"), -1);
	assert_int_equal(certauth_source_match("10.0.0.0/+8", "10.0.0.1"), -1);
	assert_int_equal(certauth_source_match("10.0.0.0/8x", "10.0.0.1"), -1);
	assert_int_equal(certauth_source_match("host.example", "10.0.0.1"),
	    -1);
	assert_int_equal(certauth_source_match("", "10.0.0.1"), -1);
	assert_int_equal(certauth_source_match("10.0.0.0/8,", "10.0.0.1"), -1);
	assert_int_equal(certauth_source_match("2001:db8::/129", "::1"), -1);
	/* a bad entry after a matching one still makes the list bad */
	assert_int_equal(certauth_source_match("10.0.0.0/8,x", "10.0.0.1"),
	    -1);
}

static void
warn_cb(void *ud, const char *file, int line, const char *w)
{
	nwarn++;
	snprintf(lastwarn, sizeof(lastwarn), "%s", w);
}

/* The CA key line of the fixture's CA: "ssh-ed25519 AAAA..." */
static char *
ca_line(const char *options)
{
	static char buf[1024];
	char line[512];
	FILE *f = fopen(DATA "ca_ed25519.pub", "r");

	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	snprintf(buf, sizeof(buf), "%s%s%s\n", options, options[0] ? " " : "",
	    line);
	return buf;
}

static int
find_ca(const char *text, const char *user, struct ak_opts *o)
{
	struct cert *c = load("user_ed25519");
	int r;

	nwarn = 0;
	r = ak_find_ca_text(text, strlen(text), "ak", c, user, "10.0.0.1", o,
	    warn_cb, NULL);
	cert_free(c);
	return r;
}

static void
test_cert_authority(void **state)
{
	struct ak_opts o;
	char text[2048];

	/* the user name must be a principal without principals= */
	assert_int_equal(find_ca(ca_line("cert-authority"), "alice", &o), 1);
	assert_int_equal(o.line, 1);
	assert_int_equal(find_ca(ca_line("cert-authority"), "carol", &o), 0);
	assert_non_null(strstr(lastwarn, "do not match user carol"));
	/* principals= replaces it */
	assert_int_equal(find_ca(ca_line("cert-authority,principals=\"x,bob\""),
	    "carol", &o), 1);
	assert_string_equal(o.principals, "x,bob");
	assert_int_equal(find_ca(ca_line("cert-authority,principals=\"x,bo\""),
	    "alice", &o), 0);
	/* a plain line with the CA's key is not a cert-authority line */
	assert_int_equal(find_ca(ca_line(""), "alice", &o), 0);
	/* options apply */
	assert_int_equal(find_ca(ca_line("cert-authority,from=\"192.0.2.0/24\""),
	    "alice", &o), 0);
	assert_int_equal(find_ca(ca_line("cert-authority,no-port-forwarding"),
	    "alice", &o), 1);
	assert_false(o.port_forwarding);
	/* another CA's line does not match; the second line does */
	snprintf(text, sizeof(text), "cert-authority ssh-ed25519 AAAAC3NzaC1lZ"
	    "DI1NTE5AAAAIHms+HxH/hw/7NG6FReZN8eHWaR/iclaoPlpE57E6t+1\n%s",
	    ca_line("cert-authority"));
	assert_int_equal(find_ca(text, "alice", &o), 1);
	assert_int_equal(o.line, 2);
	/* principals= given twice spoils the line */
	assert_int_equal(find_ca(ca_line("cert-authority,principals=\"a\","
	    "principals=\"alice\""), "alice", &o), 0);
	assert_non_null(strstr(lastwarn, "more than once"));
}

static int
find_principal(const char *text, const char *ip, struct ak_opts *o)
{
	struct cert *c = load("user_ed25519");
	int r;

	nwarn = 0;
	r = ak_find_principal_text(text, strlen(text), "pf", c, ip, o,
	    warn_cb, NULL);
	cert_free(c);
	return r;
}

static void
test_principals_file(void **state)
{
	struct ak_opts o;

	assert_int_equal(find_principal("# c\ncarol\n  bob \n", "10.0.0.1",
	    &o), 1);
	assert_int_equal(o.line, 3);
	assert_string_equal(o.file, "pf");
	assert_true(o.port_forwarding);
	assert_int_equal(find_principal("carol\nbo\nalice,bob\n", "10.0.0.1",
	    &o), 0);
	assert_int_equal(find_principal("", "10.0.0.1", &o), 0);
	assert_int_equal(find_principal("from=\"10.0.0.0/8\",permitopen="
	    "\"db:5432\" alice\n", "10.0.0.1", &o), 1);
	assert_int_equal(o.nopen, 1);
	assert_string_equal(o.open[0].host, "db");
	assert_int_equal(find_principal("from=\"10.0.0.0/8\" alice\n",
	    "192.0.2.1", &o), 0);
	assert_int_equal(nwarn, 1);
	assert_int_equal(find_principal("restrict\talice", "10.0.0.1", &o), 1);
	assert_false(o.port_forwarding);
	assert_int_equal(find_principal("bogus-option alice\n", "10.0.0.1",
	    &o), 0);
	assert_non_null(strstr(lastwarn, "unknown option"));
	assert_int_equal(find_principal("restrict junk alice\n", "10.0.0.1",
	    &o), 0);
	assert_int_equal(find_principal("cert-authority alice\n", "10.0.0.1",
	    &o), 0);
	assert_int_equal(find_principal("expiry-time=\"20010101\" alice\n",
	    "10.0.0.1", &o), 0);
}

/* A principals command's output goes through the same reader: CRLF
 * lines, no final newline, a NUL byte, blank and comment lines, the
 * line number counted over all of them. */
static void
test_principals_command_output(void **state)
{
	struct ak_opts o;
	struct cert *c = load("user_ed25519");
	static const char out[] = "# printed\r\n\r\nops\0bob\r\n"
	    "from=\"10.0.0.0/8\",permitopen=\"db:5432\" bob\r\nalice";

	nwarn = 0;
	assert_int_equal(ak_find_principal_text(out, sizeof(out) - 1,
	    "AuthorizedPrincipalsCommand", c, "10.0.0.1", &o, warn_cb, NULL),
	    1);
	assert_int_equal(nwarn, 1);
	assert_non_null(strstr(lastwarn, "NUL"));
	assert_string_equal(o.file, "AuthorizedPrincipalsCommand");
	assert_int_equal(o.line, 4);
	assert_int_equal(o.nopen, 1);
	/* from another address the from= line does not count, the last
	 * line (no newline) does */
	assert_int_equal(ak_find_principal_text(out, sizeof(out) - 1,
	    "AuthorizedPrincipalsCommand", c, "192.0.2.1", &o, warn_cb, NULL),
	    1);
	assert_int_equal(o.line, 5);
	assert_int_equal(o.nopen, 0);
	/* cut before the last line: nothing */
	assert_int_equal(ak_find_principal_text(out, sizeof(out) - 6,
	    "AuthorizedPrincipalsCommand", c, "192.0.2.1", &o, warn_cb, NULL),
	    0);
	cert_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_sig_alg),
		cmocka_unit_test(test_bad_signature),
		cmocka_unit_test(test_critical),
		cmocka_unit_test(test_source_match),
		cmocka_unit_test(test_cert_authority),
		cmocka_unit_test(test_principals_file),
		cmocka_unit_test(test_principals_command_output),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
