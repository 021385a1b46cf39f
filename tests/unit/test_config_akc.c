/* Unit tests for ferryd's AuthorizedKeysCommand, AuthorizedKeysCommandUser,
 * AuthorizedPrincipalsCommand, AuthorizedPrincipalsCommandUser and
 * RevokedKeys keywords (server/config_akc.c and the table), and the
 * commands' argument vectors (server/authcmd_argv.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/cert.h"
#include "keys/keyfile.h"
#include "server/authcmd.h"
#include "server/config.h"

#define WHERE	"command line"

static struct server_config cfg;
static char err[1024];

static int
setup(void **state)
{
	server_config_init(&cfg);
	return 0;
}

static int
teardown(void **state)
{
	server_config_free(&cfg);
	return 0;
}

static void
fresh(void)
{
	server_config_free(&cfg);
	server_config_init(&cfg);
}

static void
line_ok(const char *line)
{
	err[0] = '\0';
	if (server_config_line(&cfg, line, WHERE, err, sizeof(err)) != 0)
		fail_msg("'%s' refused: %s", line, err);
}

static void
text_ok(const char *text)
{
	err[0] = '\0';
	if (server_config_text(&cfg, text, strlen(text), "test.conf", err,
	    sizeof(err)) != 0)
		fail_msg("refused: %s", err);
}

static char *
printed(const struct server_config *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	server_config_print(c, f);
	fclose(f);
	return buf;
}

/* AuthorizedKeysCommand keeps its words as split (quotes as sshd's
 * argv_split); the first value wins; RevokedKeys and the user are
 * strings. */
static void
test_akc(void **state)
{
	char *out;

	text_ok("AuthorizedKeysCommand /usr/lib/keys \"%u at %f\" %t %k %%\n"
	    "AuthorizedKeysCommand /other %u\n"
	    "AuthorizedKeysCommandUser nobody\n"
	    "RevokedKeys /etc/ssh/revoked.krl\n");
	assert_int_equal(cfg.akc_argc, 5);
	out = printed(&cfg);
	assert_non_null(strstr(out, "authorizedkeyscommand /usr/lib/keys "
	    "\"%u at %f\" %t %k %%\n"
	    "authorizedkeyscommanduser nobody\nrevokedkeys "
	    "/etc/ssh/revoked.krl\n"));
	free(out);
	assert_string_equal(cfg.akc_argv[0], "/usr/lib/keys");
	assert_string_equal(cfg.akc_argv[1], "%u at %f");
	assert_string_equal(cfg.akc_argv[4], "%%");
	assert_string_equal(cfg.akc_user, "nobody");
	assert_string_equal(cfg.revoked_keys, "/etc/ssh/revoked.krl");
	fresh();
	line_ok("AuthorizedKeysCommand none");
	assert_int_equal(cfg.akc_argc, 0);
}

static void
line_bad(const char *line, const char *want)
{
	err[0] = '\0';
	if (server_config_line(&cfg, line, WHERE, err, sizeof(err)) == 0)
		fail_msg("'%s' accepted", line);
	if (strstr(err, want) == NULL)
		fail_msg("'%s': '%s' lacks '%s'", line, err, want);
}

/* The conf the sessions use, without the user lookups of
 * authcmd_conf_load. */
static struct authcmd_conf
conf_of(enum authcmd_kind kind)
{
	struct authcmd_conf conf = { .kind = kind, .enabled = true,
	    .login_uid = 4242 };

	return conf;
}

/* Tokens per word, as sshd; a command alone gets the user. */
static void
test_argv(void **state)
{
	const char *line = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6"
	    "UOoqKLsabgH5C9okWi0dh2l9GKJl";
	char *argv[SC_MAX_CMD_ARGS + 2], buf[8192], e[256];
	struct authcmd_conf conf = conf_of(AUTHCMD_KEYS);
	struct authcmd_subject sub = { .user = "alice" };
	struct key *k;

	assert_int_equal(keyfile_parse_public(line, strlen(line), &k, e,
	    sizeof(e)), 0);
	sub.key = k;
	text_ok("AuthorizedKeysCommand /k \"u=%u\" %t %k 100%% %U %h\n"
	    "StateDirectory /var/lib/ferryd\n");
	assert_int_equal(authcmd_argv(&cfg, &conf, &sub, argv, buf,
	    sizeof(buf), e, sizeof(e)), 0);
	assert_string_equal(argv[0], "/k");
	assert_string_equal(argv[1], "u=alice");
	assert_string_equal(argv[2], "ssh-ed25519");
	assert_string_equal(argv[3], line + 12);
	assert_string_equal(argv[4], "100%");
	assert_string_equal(argv[5], "4242");
	assert_string_equal(argv[6], "/var/lib/ferryd");
	assert_null(argv[7]);
	fresh();
	text_ok("AuthorizedKeysCommand /k\n");
	sub.user = "bob";
	assert_int_equal(authcmd_argv(&cfg, &conf, &sub, argv, buf,
	    sizeof(buf), e, sizeof(e)), 0);
	assert_string_equal(argv[1], "bob");
	assert_null(argv[2]);
	/* no room: an error, never a cut argument */
	assert_int_equal(authcmd_argv(&cfg, &conf, &sub, argv, buf, 3, e,
	    sizeof(e)), -1);
	assert_int_equal(authcmd_argv(&cfg, &conf, &sub, argv, buf, 4, e,
	    sizeof(e)), -1);
	key_free(k);
}

/* The principals command's words, its user, -T; the tokens that belong
 * to certificates are refused for AuthorizedKeysCommand. */
static void
test_apc_keywords(void **state)
{
	char *out;

	text_ok("AuthorizedPrincipalsCommand /usr/lib/principals \"%u %U\" "
	    "%f %F %i %k %K %s %t %T %h %%\n"
	    "AuthorizedPrincipalsCommand /other %u\n"
	    "AuthorizedPrincipalsCommandUser nobody\n");
	assert_int_equal(cfg.apc_argc, 12);
	assert_int_equal(cfg.akc_argc, 0);
	assert_string_equal(cfg.apc_argv[1], "%u %U");
	assert_string_equal(cfg.apc_user, "nobody");
	out = printed(&cfg);
	assert_non_null(strstr(out, "authorizedkeyscommand none\n"
	    "authorizedkeyscommanduser none\nrevokedkeys none\n"
	    "authorizedprincipalscommand /usr/lib/principals \"%u %U\" "
	    "%f %F %i %k %K %s %t %T %h %%\n"
	    "authorizedprincipalscommanduser nobody\n"));
	free(out);
	fresh();
	line_ok("AuthorizedPrincipalsCommand none");
	assert_int_equal(cfg.apc_argc, 0);
	line_bad("AuthorizedPrincipalsCommand /p %x", "command line: "
	    "AuthorizedPrincipalsCommand: '%x': unknown key %x "
	    "(AuthorizedPrincipalsCommand takes %f, %F, %h, %i, %k, %K, %s, "
	    "%t, %T, %u, %U and %%)");
	line_bad("AuthorizedPrincipalsCommand /p %C", "unknown key %C");
	line_bad("AuthorizedPrincipalsCommand p %u", "'p' is not an "
	    "absolute path");
	line_bad("AuthorizedPrincipalsCommand /p 50%", "'%' at the end");
	line_bad("AuthorizedKeysCommand /k %F", "unknown key %F "
	    "(AuthorizedKeysCommand takes %f, %h, %k, %t, %u, %U and %%)");
	line_bad("AuthorizedKeysCommand /k %i", "unknown key %i");
	assert_int_equal(cfg.apc_argc, 0);
	assert_int_equal(cfg.akc_argc, 0);
}

static struct cert *
load_cert(const char *name)
{
	char path[256], e[256];
	struct cert *c;

	snprintf(path, sizeof(path), "data/certs/%s", name);
	if (cert_load_file(path, &c, e, sizeof(e)) != 0)
		fail_msg("%s: %s", path, e);
	return c;
}

/* Field n (0-based) of the first line of a public key file. */
static char *
field_of(const char *name, int n, char *out, size_t outlen)
{
	char path[256], line[8192], *tok, *save = NULL;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "data/certs/%s", name);
	assert_non_null(f = fopen(path, "r"));
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	for (i = 0, tok = strtok_r(line, " \n", &save); tok != NULL && i < n;
	    i++)
		tok = strtok_r(NULL, " \n", &save);
	assert_non_null(tok);
	snprintf(out, outlen, "%s", tok);
	return out;
}

/* Every token of the principals command against what ssh-keygen says of
 * the certificate (fingerprints from ssh-keygen -l, blobs from the
 * files): %f %t %k the certificate's, %F %T %K its CA's. */
static void
test_apc_argv(void **state)
{
	char *argv[SC_MAX_CMD_ARGS + 2], *buf, e[256], want[8192];
	struct authcmd_conf conf = conf_of(AUTHCMD_PRINCIPALS);
	struct authcmd_subject sub = { .user = "alice" };
	size_t buflen = 64 * 1024;

	assert_non_null(buf = malloc(buflen));
	sub.cert = load_cert("user_ed25519-cert.pub");
	text_ok("AuthorizedPrincipalsCommand /p %u %U %f %F %i %k %K %s %t "
	    "%T \"%h/x\" 1%%\nStateDirectory /srv/ferryd\n");
	assert_int_equal(authcmd_argv(&cfg, &conf, &sub, argv, buf, buflen, e,
	    sizeof(e)), 0);
	assert_string_equal(argv[0], "/p");
	assert_string_equal(argv[1], "alice");
	assert_string_equal(argv[2], "4242");
	assert_string_equal(argv[3],
	    "SHA256:G90APoN3ZJH8y1ATBS/6eAxHHK6RiH49FjkG0OJJyyA");
	assert_string_equal(argv[4],
	    "SHA256:INaxFg9bEpmZ7DfsReFPUWZotUBo9HizeLs9kRlLjq4");
	assert_string_equal(argv[5], "ferry-user");
	assert_string_equal(argv[6], field_of("user_ed25519-cert.pub", 1, want,
	    sizeof(want)));
	assert_string_equal(argv[7], field_of("ca_ed25519.pub", 1, want,
	    sizeof(want)));
	assert_string_equal(argv[8], "42");
	assert_string_equal(argv[9], "ssh-ed25519-cert-v01@openssh.com");
	assert_string_equal(argv[10], "ssh-ed25519");
	assert_string_equal(argv[11], "/srv/ferryd/x");
	assert_string_equal(argv[12], "1%");
	assert_null(argv[13]);
	/* no room for the certificate's blob: refused, not cut */
	assert_int_equal(authcmd_argv(&cfg, &conf, &sub, argv, buf, 200, e,
	    sizeof(e)), -1);
	cert_free((struct cert *)sub.cert);
	/* an RSA CA: %T is its key type, %s its serial */
	sub.cert = load_cert("user_ecdsa-cert.pub");
	assert_int_equal(authcmd_argv(&cfg, &conf, &sub, argv, buf, buflen, e,
	    sizeof(e)), 0);
	assert_string_equal(argv[3],
	    "SHA256:te2lpfn0LRPlow3Q5gAtLTdJ3ipT2t97prF/n5ew21s");
	assert_string_equal(argv[4],
	    "SHA256:o8s1L/LhH/gYqVl6jrjNx/HqXR7jHzh9l4LyAXncllY");
	assert_string_equal(argv[8], "7");
	assert_string_equal(argv[9],
	    "ecdsa-sha2-nistp256-cert-v01@openssh.com");
	assert_string_equal(argv[10], "ssh-rsa");
	assert_string_equal(argv[7], field_of("ca_rsa.pub", 1, want,
	    sizeof(want)));
	/* sshd_config(5): a command alone gets the user name */
	fresh();
	text_ok("AuthorizedPrincipalsCommand /p\n");
	sub.user = "carol";
	assert_int_equal(authcmd_argv(&cfg, &conf, &sub, argv, buf, buflen, e,
	    sizeof(e)), 0);
	assert_string_equal(argv[1], "carol");
	assert_null(argv[2]);
	/* %h without a StateDirectory: an error, not an empty word */
	fresh();
	text_ok("AuthorizedPrincipalsCommand /p %h\n");
	assert_int_equal(authcmd_argv(&cfg, &conf, &sub, argv, buf, buflen, e,
	    sizeof(e)), -1);
	cert_free((struct cert *)sub.cert);
	free(buf);
}

/* Who the command runs as: the user keyword of its own kind. */
static void
test_apc_user(void **state)
{
	struct authcmd_conf conf;
	char e[256];

	text_ok("AuthorizedPrincipalsCommand /p %u\n"
	    "AuthorizedPrincipalsCommandUser no-such-user-here\n"
	    "AuthorizedKeysCommand /k %u\n");
	assert_int_equal(authcmd_conf_load(&cfg, AUTHCMD_PRINCIPALS, &conf, e,
	    sizeof(e)), -1);
	assert_non_null(strstr(e, "AuthorizedPrincipalsCommandUser "
	    "no-such-user-here: no such user"));
	assert_int_equal(conf.kind, AUTHCMD_PRINCIPALS);
	assert_true(conf.enabled);
	fresh();
	text_ok("AuthorizedKeysCommand /k %u\n");
	assert_int_equal(authcmd_conf_load(&cfg, AUTHCMD_PRINCIPALS, &conf, e,
	    sizeof(e)), 0);
	assert_false(conf.enabled);
	assert_string_equal(authcmd_name(AUTHCMD_PRINCIPALS),
	    "AuthorizedPrincipalsCommand");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_akc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_argv, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apc_keywords, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_apc_argv, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apc_user, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
