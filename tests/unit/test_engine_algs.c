/* Unit tests for the client's algorithm lists in the engine: which
 * algorithm a user key is offered under (PubkeyAcceptedAlgorithms against
 * the server's server-sig-algs, as ssh picks it), and KexAlgorithms /
 * HostKeyAlgorithms lists with nothing in common failing the
 * negotiation. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "keys/key.h"
#include "ssh/ssh.h"
#include "enginepair.h"

static struct key *rsakey;

static int
setup(void **state)
{
	if (keys_setup(state) != 0 || key_generate(KEY_RSA, &rsakey) != 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	key_free(rsakey);
	return keys_teardown(state);
}

/* Runs KEX between a client offering mine and a server announcing
 * theirs in server-sig-algs; returns what the client offers k under
 * (NULL: not at all), the pair freed. */
static const char *
offered(const char *mine, const char *theirs, const struct key *k)
{
	struct side cl, sv;
	const char *alg;

	memset(&cl, 0, sizeof(cl));
	memset(&sv, 0, sizeof(sv));
	cl.pubkey_algs = mine;
	sv.pubkey_algs = theirs;
	mk(&cl, SSH_ROLE_CLIENT, NULL);
	mk(&sv, SSH_ROLE_SERVER, NULL);
	assert_int_equal(pump(&cl, &sv), 0);
	assert_int_equal(cl.auth_ready, 1);
	alg = ssh_auth_sig_alg(cl.c, k);
	if (alg == NULL)	/* and nothing goes out for it */
		assert_int_equal(ssh_auth_pubkey(cl.c, "alice", k), -1);
	free_pair(&cl, &sv);
	return alg;
}

static void
test_rsa_choice(void **state)
{
	(void)state;
	assert_string_equal(offered(NULL, NULL, rsakey), "rsa-sha2-512");
	assert_string_equal(offered(NULL, "ssh-ed25519,rsa-sha2-256",
	    rsakey), "rsa-sha2-256");
	/* the client's order first, among what the server lists */
	assert_string_equal(offered("rsa-sha2-256,rsa-sha2-512", NULL,
	    rsakey), "rsa-sha2-256");
	assert_string_equal(offered("ssh-ed25519,rsa-sha2-512,rsa-sha2-256",
	    "rsa-sha2-256", rsakey), "rsa-sha2-256");
	/* nothing in common: not offered (ssh: no mutual algorithm) */
	assert_null(offered("rsa-sha2-256", "rsa-sha2-512,ssh-ed25519",
	    rsakey));
	/* a server listing no RSA signature: the first allowed */
	assert_string_equal(offered("rsa-sha2-256", "ssh-ed25519", rsakey),
	    "rsa-sha2-256");
	/* certificate names allow no plain key */
	assert_null(offered("rsa-sha2-512-cert-v01@openssh.com", NULL,
	    rsakey));
}

static void
test_other_keys(void **state)
{
	(void)state;
	assert_string_equal(offered(NULL, NULL, userkey),
	    "ecdsa-sha2-nistp256");
	assert_null(offered("ssh-ed25519,rsa-sha2-512", NULL, userkey));
	assert_string_equal(offered("ssh-ed25519,rsa-sha2-512", NULL,
	    otherkey), "ssh-ed25519");
}

/* Client and server lists with nothing in common: no connection. */
static void
negotiation_fails(const char *cl_kex, const char *sv_kex,
    const char *cl_hk)
{
	struct side cl, sv;

	memset(&cl, 0, sizeof(cl));
	memset(&sv, 0, sizeof(sv));
	cl.kex_algs = cl_kex;
	sv.kex_algs = sv_kex;
	cl.hostkey_algs = cl_hk;
	mk(&cl, SSH_ROLE_CLIENT, NULL);
	mk(&sv, SSH_ROLE_SERVER, NULL);
	assert_int_equal(pump(&cl, &sv), -1);
	assert_int_equal(cl.hostkey_seen, 0);
	assert_true(ssh_fail_kind(cl.c) == SSH_FAIL_NEGOTIATION ||
	    ssh_fail_kind(sv.c) == SSH_FAIL_NEGOTIATION);
	free_pair(&cl, &sv);
}

static void
test_lists_limit(void **state)
{
	struct side cl, sv;

	(void)state;
	negotiation_fails("curve25519-sha256@libssh.org", "curve25519-sha256",
	    NULL);
	negotiation_fails(NULL, NULL, "ecdsa-sha2-nistp256,rsa-sha2-512");
	/* one name in common is enough */
	memset(&cl, 0, sizeof(cl));
	memset(&sv, 0, sizeof(sv));
	cl.kex_algs = "curve25519-sha256@libssh.org";
	cl.hostkey_algs = "rsa-sha2-256,ssh-ed25519";
	sv.allow_user = true;
	mk(&cl, SSH_ROLE_CLIENT, "aes128-ctr");
	mk(&sv, SSH_ROLE_SERVER, NULL);
	assert_int_equal(pump(&cl, &sv), 0);
	assert_int_equal(cl.hostkey_seen, 1);
	assert_string_equal(ssh_cipher_name(cl.c, true), "aes128-ctr");
	assert_int_equal(ssh_auth_pubkey(cl.c, "alice", userkey), 0);
	assert_int_equal(pump(&cl, &sv), 0);
	assert_int_equal(sv.auth_ok, 1);
	free_pair(&cl, &sv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rsa_choice),
		cmocka_unit_test(test_other_keys),
		cmocka_unit_test(test_lists_limit),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
