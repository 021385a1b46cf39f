/* Unit tests for ferryd's AuthorizedKeysCommand, AuthorizedKeysCommandUser
 * and RevokedKeys keywords (server/config_akc.c and the table), and the
 * command's argument vector (server/authcmd.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Tokens per word, as sshd; a command alone gets the user. */
static void
test_argv(void **state)
{
	const char *line = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6"
	    "UOoqKLsabgH5C9okWi0dh2l9GKJl";
	char *argv[SC_MAX_CMD_ARGS + 2], buf[8192], e[256];
	struct key *k;

	assert_int_equal(keyfile_parse_public(line, strlen(line), &k, e,
	    sizeof(e)), 0);
	text_ok("AuthorizedKeysCommand /k \"u=%u\" %t %k 100%%\n");
	assert_int_equal(authcmd_argv(&cfg, "alice", k, argv, buf,
	    sizeof(buf), e, sizeof(e)), 0);
	assert_string_equal(argv[0], "/k");
	assert_string_equal(argv[1], "u=alice");
	assert_string_equal(argv[2], "ssh-ed25519");
	assert_string_equal(argv[3], line + 12);
	assert_string_equal(argv[4], "100%");
	assert_null(argv[5]);
	fresh();
	text_ok("AuthorizedKeysCommand /k\n");
	assert_int_equal(authcmd_argv(&cfg, "bob", k, argv, buf,
	    sizeof(buf), e, sizeof(e)), 0);
	assert_string_equal(argv[1], "bob");
	assert_null(argv[2]);
	/* no room: an error, never a cut argument */
	assert_int_equal(authcmd_argv(&cfg, "bob", k, argv, buf, 3, e,
	    sizeof(e)), -1);
	key_free(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_akc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_argv, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
