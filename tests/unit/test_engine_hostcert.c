/* The engine with host certificates: a server offering a certificate's
 * -cert-v01 algorithm first and sending it, a client parsing it, checking
 * the exchange signature with the certified key and handing the
 * certificate to its host key event (data/certs: made by ssh-keygen). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enginepair.h"
#include "keys/cert.h"
#include "keys/key.h"
#include "keys/keyfile.h"

static struct key *ed_host, *rsa_host;
static struct cert *ed_cert, *rsa_cert, *other_cert;

/* What the client's host key event saw. */
static char seen_alg[64], seen_key_id[64];
static bool seen_cert;
static bool seen_key_is_certified;

static void
record(void *ud, struct ssh_event *ev)
{
	if (ev->type == SSH_EV_HOSTKEY) {
		snprintf(seen_alg, sizeof(seen_alg), "%s", ev->u.hostkey.alg);
		seen_cert = ev->u.hostkey.cert != NULL;
		seen_key_id[0] = '\0';
		if (seen_cert) {
			snprintf(seen_key_id, sizeof(seen_key_id), "%s",
			    ev->u.hostkey.cert->key_id);
			seen_key_is_certified = key_equal(ev->u.hostkey.key,
			    ev->u.hostkey.cert->key);
		}
	}
	on_event(ud, ev);
}

/* An engine for s: the server has hk and the certificates given. */
static struct ssh_conn *
mk_side(struct side *s, enum ssh_role role, struct key **hk,
    struct cert **certs, size_t ncerts, const char *hostkey_algs)
{
	struct ssh_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.role = role;
	cfg.event = record;
	cfg.event_ud = s;
	cfg.hostkeys = hk;
	cfg.nhostkeys = 1;
	cfg.hostcerts = certs;
	cfg.nhostcerts = ncerts;
	cfg.hostkey_algs = hostkey_algs;
	s->c = ssh_conn_new(&cfg);
	assert_non_null(s->c);
	return s->c;
}

/* Key exchange and authentication with the server holding *hk and certs;
 * the client accepts when the key (certified or not) is *hk. */
static void
run_pair(struct side *cl, struct side *sv, struct key **hk,
    struct cert **certs, size_t ncerts, const char *client_algs)
{
	memset(cl, 0, sizeof(*cl));
	memset(sv, 0, sizeof(*sv));
	seen_alg[0] = '\0';
	seen_cert = false;
	seen_key_is_certified = false;
	sv->allow_user = true;
	hostkey = *hk;		/* what enginepair's handler accepts */
	mk_side(cl, SSH_ROLE_CLIENT, hk, NULL, 0, client_algs);
	mk_side(sv, SSH_ROLE_SERVER, hk, certs, ncerts, NULL);
	assert_int_equal(pump(cl, sv), 0);
	assert_int_equal(cl->hostkey_seen, 1);
	assert_int_equal(ssh_auth_pubkey(cl->c, "alice", userkey), 0);
	assert_int_equal(pump(cl, sv), 0);
	assert_int_equal(cl->auth_ok, 1);
}

static struct cert *
load_cert(const char *name)
{
	char path[256], err[256];
	struct cert *c;

	snprintf(path, sizeof(path), "data/certs/%s-cert.pub", name);
	if (cert_load_file(path, &c, err, sizeof(err)) != 0)
		fail_msg("%s: %s", path, err);
	return c;
}

/* A private key fixture (parsed from its text: the checked-out file's
 * mode is not a private key's). */
static struct key *
load_private(const char *path)
{
	static char text[16384];
	char err[256];
	struct key *k;
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(text, 1, sizeof(text), f);
	fclose(f);
	if (keyfile_parse_private(text, n, &k, err, sizeof(err)) != 0)
		fail_msg("%s: %s", path, err);
	return k;
}

static int
setup(void **state)
{
	if (keys_setup(state) != 0)
		return -1;
	key_free(hostkey);
	hostkey = NULL;
	ed_host = load_private("data/keys/id_ed25519");
	rsa_host = load_private("data/keys/id_rsa");
	ed_cert = load_cert("host_ed25519");
	rsa_cert = load_cert("user_rsa");	/* certifies id_rsa */
	other_cert = load_cert("user_ecdsa");	/* not a key we hold */
	return 0;
}

static int
teardown(void **state)
{
	hostkey = NULL;
	key_free(ed_host);
	key_free(rsa_host);
	cert_free(ed_cert);
	cert_free(rsa_cert);
	cert_free(other_cert);
	return keys_teardown(state);
}

static const char client_algs[] = "ssh-ed25519-cert-v01@openssh.com,"
    "ecdsa-sha2-nistp256-cert-v01@openssh.com,"
    "rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,"
    "ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256";

static void
test_ed25519_cert(void **state)
{
	struct side cl, sv;
	struct cert *certs[] = { other_cert, ed_cert };

	run_pair(&cl, &sv, &ed_host, certs, 2, client_algs);
	assert_string_equal(seen_alg, "ssh-ed25519-cert-v01@openssh.com");
	assert_true(seen_cert);
	assert_true(seen_key_is_certified);
	assert_string_equal(seen_key_id, "ferry-host");
	/* a rekey sends the same certificate again */
	assert_int_equal(ssh_rekey(cl.c), 0);
	assert_int_equal(pump(&cl, &sv), 0);
	assert_true(cl.kex_done >= 2);
	assert_int_equal(cl.hostkey_seen, 1);
	free_pair(&cl, &sv);
}

static void
test_rsa_cert_sha512(void **state)
{
	struct side cl, sv;
	struct cert *certs[] = { rsa_cert };

	run_pair(&cl, &sv, &rsa_host, certs, 1, client_algs);
	assert_string_equal(seen_alg, "rsa-sha2-512-cert-v01@openssh.com");
	assert_true(seen_cert);
	free_pair(&cl, &sv);
	run_pair(&cl, &sv, &rsa_host, certs, 1,
	    "rsa-sha2-256-cert-v01@openssh.com,rsa-sha2-512");
	assert_string_equal(seen_alg, "rsa-sha2-256-cert-v01@openssh.com");
	free_pair(&cl, &sv);
}

/* A client that does not ask for certificates gets the plain key; a
 * certificate for a key the server does not hold is never offered. */
static void
test_plain_when_not_asked_or_not_ours(void **state)
{
	struct side cl, sv;
	struct cert *certs[] = { ed_cert };
	struct cert *others[] = { other_cert };

	run_pair(&cl, &sv, &ed_host, certs, 1, "ssh-ed25519");
	assert_string_equal(seen_alg, "ssh-ed25519");
	assert_false(seen_cert);
	free_pair(&cl, &sv);
	run_pair(&cl, &sv, &ed_host, others, 1, client_algs);
	assert_string_equal(seen_alg, "ssh-ed25519");
	assert_false(seen_cert);
	free_pair(&cl, &sv);
}

/* Only a certificate algorithm on the client and none the server holds:
 * negotiation fails, nothing is accepted. */
static void
test_cert_only_client_without_server_cert(void **state)
{
	struct side cl, sv;
	const char *err;

	memset(&cl, 0, sizeof(cl));
	memset(&sv, 0, sizeof(sv));
	hostkey = ed_host;
	mk_side(&cl, SSH_ROLE_CLIENT, &ed_host, NULL, 0,
	    "ssh-ed25519-cert-v01@openssh.com");
	mk_side(&sv, SSH_ROLE_SERVER, &ed_host, NULL, 0, NULL);
	assert_int_equal(pump(&cl, &sv), -1);
	assert_int_equal(cl.hostkey_seen, 0);
	/* the side that chose first failed the negotiation */
	err = ssh_error(cl.c) != NULL ? ssh_error(cl.c) : ssh_error(sv.c);
	assert_non_null(err);
	assert_non_null(strstr(err, "no matching host key type"));
	free_pair(&cl, &sv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ed25519_cert),
		cmocka_unit_test(test_rsa_cert_sha512),
		cmocka_unit_test(test_plain_when_not_asked_or_not_ours),
		cmocka_unit_test(test_cert_only_client_without_server_cert),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
