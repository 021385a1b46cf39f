/* Unit tests for the client's algorithm keywords (client/optalgs.c; the
 * client kinds themselves: test_alglist.c): every value as ssh 9.2 reads
 * it (+, -, ^, patterns where ssh takes them) narrowed to what ferry
 * implements, the expected lists being `ssh -G` output less the names
 * ferry lacks; -c and -m as ssh's flags; -G lines; RequiredRSASize;
 * errors naming the file and line, in blocks that do not apply too. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/options.h"
#include "client/readconf.h"

static struct options opts;
static char err[1024];

static int
setup(void **state)
{
	(void)state;
	options_init(&opts);
	err[0] = '\0';
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	options_free(&opts);
	return 0;
}

/* One line applied; -1 with err when refused. */
static int
apply(const char *line)
{
	err[0] = '\0';
	return options_apply_line(&opts, line, "command line", err,
	    sizeof(err));
}

/* The value -G prints for key ("" if absent). */
static const char *
printed(const char *key)
{
	static char line[2048];
	char *buf = NULL;
	size_t len = 0, n = strlen(key);
	FILE *fp = open_memstream(&buf, &len);
	const char *p, *e;

	assert_non_null(fp);
	options_print_algs(&opts, fp);
	fclose(fp);
	line[0] = '\0';
	for (p = buf; *p != '\0'; p = *e != '\0' ? e + 1 : e) {
		e = p + strcspn(p, "\n");
		if (strncmp(p, key, n) == 0 && p[n] == ' ')
			snprintf(line, sizeof(line), "%.*s", (int)(e - p - n - 1),
			    p + n + 1);
	}
	free(buf);
	return line;
}

static void
test_keywords(void **state)
{
	(void)state;
	assert_string_equal(printed("ciphers"), "chacha20-poly1305@openssh.com,"
	    "aes128-ctr,aes256-ctr,aes128-gcm@openssh.com,"
	    "aes256-gcm@openssh.com");
	assert_int_equal(apply("Ciphers +aes128-ctr,aes192-ctr"), 0);
	assert_int_equal(apply("Ciphers aes256-ctr"), 0);	/* first wins */
	assert_string_equal(opts.ciphers, "chacha20-poly1305@openssh.com,"
	    "aes128-ctr,aes256-ctr,aes128-gcm@openssh.com,"
	    "aes256-gcm@openssh.com");
	assert_int_equal(apply("MACs -*etm@openssh.com"), 0);
	assert_string_equal(printed("macs"), "hmac-sha2-256,hmac-sha2-512");
	assert_int_equal(apply("KexAlgorithms "
	    "^sntrup761x25519-sha512@openssh.com,curve25519-sha256@libssh.org"),
	    0);
	assert_string_equal(opts.kex_algs, "curve25519-sha256@libssh.org,"
	    "curve25519-sha256");
	/* ssh skips empty names */
	assert_int_equal(apply("HostKeyAlgorithms ssh-ed25519,,rsa-sha2-256,"),
	    0);
	assert_string_equal(printed("hostkeyalgorithms"),
	    "ssh-ed25519,rsa-sha2-256");
	assert_int_equal(apply("PubkeyAcceptedKeyTypes ssh-ed25519*"), 0);
	assert_string_equal(opts.pubkey_algs, "ssh-ed25519,"
	    "ssh-ed25519-cert-v01@openssh.com");
	assert_int_equal(apply("CASignatureAlgorithms -ssh-ed25519"), 0);
	assert_string_equal(printed("casignaturealgorithms"),
	    "ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256");
	/* what was left out, for -v */
	assert_string_equal(opts.algs_left_out, "Ciphers: aes192-ctr\n"
	    "KexAlgorithms: sntrup761x25519-sha512@openssh.com\n");
}

static void
test_refused(void **state)
{
	(void)state;
	assert_int_equal(apply("Ciphers aes128-ctr,aes-ctr"), -1);
	assert_non_null(strstr(err, "command line: Ciphers: 'aes-ctr' is no "
	    "cipher OpenSSH knows"));
	/* ssh takes no pattern there, but in a "-" list anything goes */
	assert_int_equal(apply("KexAlgorithms curve*"), -1);
	assert_non_null(strstr(err, "KexAlgorithms: 'curve*': OpenSSH takes "
	    "no pattern"));
	assert_int_equal(apply("MACs hmac-sha2-*"), -1);
	assert_int_equal(apply("Ciphers -nosuch,aes1*"), 0);
	/* OpenSSH's names alone that leave ferry nothing */
	assert_int_equal(apply("MACs umac-64@openssh.com"), -1);
	assert_non_null(strstr(err, "MACs: 'umac-64@openssh.com' leaves no "
	    "MAC implemented here"));
	assert_int_equal(apply("HostKeyAlgorithms ssh-ed448"), -1);
	assert_non_null(strstr(err, "'ssh-ed448' is no host key algorithm"));
	assert_int_equal(apply("CASignatureAlgorithms "
	    "ssh-ed25519-cert-v01@openssh.com"), -1);
	assert_null(opts.macs);
	assert_null(opts.hostkey_algs);
	assert_null(opts.ca_sign_algs);
}

/* A bad list in a block that does not apply is an error all the same
 * (ssh checks it), with its file and line; nothing is taken. */
static void
test_unused_block(void **state)
{
	static const char text[] = "Host other\n  Ciphers aes128-ctr\n"
	    "  HostKeyAlgorithms +nosuch\nHost *\n  Port 7\n";

	(void)state;
	assert_int_equal(readconf_host_text(&opts, text, strlen(text),
	    "test.conf", "x", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "test.conf line 3: HostKeyAlgorithms: "
	    "'nosuch' is no host key algorithm OpenSSH knows"));
	assert_null(opts.ciphers);
}

static int
parse(int argc, char **argv)
{
	err[0] = '\0';
	return options_parse_args(&opts, argc, argv, err, sizeof(err));
}

static void
test_flags(void **state)
{
	char *a1[] = { "ferry", "-o", "Ciphers=aes128-ctr", "-c",
	    "^aes256-gcm@openssh.com", "-m", "hmac-sha2-512,hmac-sha2-256",
	    "-o", "MACs=hmac-sha2-256", "host", NULL };
	char *a2[] = { "ferry", "-c", "aes*", "host", NULL };
	char *a3[] = { "ferry", "-c", "-aes128-ctr", "host", NULL };
	char *a4[] = { "ferry", "-m", "+hmac-sha1", "host", NULL };
	char *a5[] = { "ferry", "-c", "aes192-ctr,aes128-ctr", "host", NULL };

	(void)state;
	/* -c replaces what came before it; after -m, MACs is not taken */
	assert_int_equal(parse(10, a1), 0);
	assert_string_equal(opts.ciphers, "aes256-gcm@openssh.com,"
	    "chacha20-poly1305@openssh.com,aes128-ctr,aes256-ctr,"
	    "aes128-gcm@openssh.com");
	assert_string_equal(opts.macs, "hmac-sha2-512,hmac-sha2-256");
	options_free(&opts);
	options_init(&opts);
	assert_int_equal(parse(4, a2), -1);
	assert_string_equal(err, "Unknown cipher type 'aes*'");
	assert_int_equal(parse(4, a3), -1);
	assert_string_equal(err, "Unknown cipher type '-aes128-ctr'");
	assert_int_equal(parse(4, a4), -1);
	assert_string_equal(err, "Unknown mac type '+hmac-sha1'");
	assert_int_equal(parse(4, a5), 0);
	assert_string_equal(opts.ciphers, "aes128-ctr");
	assert_string_equal(opts.algs_left_out, "-c: aes192-ctr\n");
}

static void
test_required_rsa_size(void **state)
{
	(void)state;
	assert_int_equal(apply("RequiredRSASize many"), -1);
	assert_non_null(strstr(err, "Bad RequiredRSASize 'many'"));
	assert_int_equal(apply("RequiredRSASize -1"), -1);
	assert_int_equal(opts.required_rsa_size, -1);
	opts.host = strdup("x");
	assert_int_equal(options_finish(&opts, err, sizeof(err)), 0);
	assert_string_equal(printed("requiredrsasize"), "1024");
	options_free(&opts);
	options_init(&opts);
	assert_int_equal(apply("RequiredRSASize 3072"), 0);
	assert_int_equal(apply("RequiredRSASize 2048"), 0);
	assert_int_equal(opts.required_rsa_size, 3072);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_keywords, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unused_block, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_required_rsa_size, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
