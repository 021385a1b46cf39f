/* The engine's server side with user certificates: a publickey request
 * under a *-cert-v01 algorithm reaches the handler with the parsed
 * certificate (and its key), the request's signature is verified with
 * the certified key, and a certificate that does not fit its algorithm
 * never reaches the handler (data/certs: made by ssh-keygen). */
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

static struct key *ed_user, *rsa_user;
static struct cert *ed_cert, *rsa_cert;

/* What the server's auth event saw. */
static int requests;
static bool seen_cert, seen_key_is_certified, seen_bad_sig;
static char seen_key_id[64], seen_alg[64];

static void
record(void *ud, struct ssh_event *ev)
{
	struct side *s = ud;

	if (ev->type != SSH_EV_AUTH_REQUEST) {
		on_event(ud, ev);
		return;
	}
	requests++;
	snprintf(seen_alg, sizeof(seen_alg), "%s", ev->u.auth_request.alg);
	seen_cert = ev->u.auth_request.cert != NULL;
	seen_bad_sig = ev->u.auth_request.bad_sig;
	seen_key_id[0] = '\0';
	if (seen_cert) {
		snprintf(seen_key_id, sizeof(seen_key_id), "%s",
		    ev->u.auth_request.cert->key_id);
		seen_key_is_certified = key_equal(ev->u.auth_request.key,
		    ev->u.auth_request.cert->key);
	}
	ev->u.auth_request.allow = s->allow_user;
}

static struct ssh_conn *
mk_side(struct side *s, enum ssh_role role)
{
	struct ssh_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.role = role;
	cfg.event = record;
	cfg.event_ud = s;
	cfg.hostkeys = &hostkey;
	cfg.nhostkeys = 1;
	s->c = ssh_conn_new(&cfg);
	assert_non_null(s->c);
	return s->c;
}

/* Key exchange; the server allows whatever reaches its handler. */
static void
start_pair(struct side *cl, struct side *sv)
{
	memset(cl, 0, sizeof(*cl));
	memset(sv, 0, sizeof(*sv));
	requests = 0;
	seen_cert = seen_key_is_certified = false;
	sv->allow_user = true;
	mk_side(cl, SSH_ROLE_CLIENT);
	mk_side(sv, SSH_ROLE_SERVER);
	assert_int_equal(pump(cl, sv), 0);
	assert_int_equal(cl->auth_ready, 1);
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

/* A private key fixture, parsed from its text. */
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

/* Offers cert under alg signed by key with sigalg, built by hand so that
 * mismatches the client API refuses can be sent; whether the login
 * succeeded. */
static bool
offer_raw(const struct key *key, const char *sigalg, const struct cert *c,
    const char *alg)
{
	struct side cl, sv;
	struct wb sd, sig;
	bool ok;

	start_pair(&cl, &sv);
	wb_init(&sd);
	wb_init(&sig);
	assert_int_equal(ssh_auth_sigdata(cl.c, "alice", alg, c->blob,
	    c->bloblen, &sd), 0);
	assert_int_equal(key_sign(key, sigalg, sd.p, sd.len, &sig), 0);
	assert_int_equal(ssh_auth_send(cl.c, "alice", alg, c->blob,
	    c->bloblen, sig.p, sig.len), 0);
	assert_int_equal(pump(&cl, &sv), 0);
	ok = cl.auth_ok == 1 && sv.auth_ok == 1;
	wb_free(&sd);
	wb_free(&sig);
	free_pair(&cl, &sv);
	return ok;
}

/* Offers cert under alg through the client API. */
static bool
offer(const struct key *key, const struct cert *c, const char *alg)
{
	struct side cl, sv;
	bool ok;

	start_pair(&cl, &sv);
	assert_int_equal(ssh_auth_pubkey_cert(cl.c, "alice", key, alg,
	    c->blob, c->bloblen), 0);
	assert_int_equal(pump(&cl, &sv), 0);
	ok = cl.auth_ok == 1 && sv.auth_ok == 1;
	free_pair(&cl, &sv);
	return ok;
}

static void
test_ed25519_cert(void **state)
{
	assert_true(offer(ed_user, ed_cert, cert_auth_alg(ed_cert, false)));
	assert_int_equal(requests, 1);
	assert_true(seen_cert);
	assert_true(seen_key_is_certified);
	assert_string_equal(seen_key_id, "ferry-user");
	assert_false(seen_bad_sig);
	assert_string_equal(seen_alg, "ssh-ed25519-cert-v01@openssh.com");
}

static void
test_rsa_cert_both_hashes(void **state)
{
	assert_true(offer(rsa_user, rsa_cert, cert_auth_alg(rsa_cert, false)));
	assert_string_equal(seen_alg, "rsa-sha2-512-cert-v01@openssh.com");
	assert_true(seen_cert);
	assert_true(offer(rsa_user, rsa_cert, cert_auth_alg(rsa_cert, true)));
	assert_string_equal(seen_alg, "rsa-sha2-256-cert-v01@openssh.com");
}

/* Signed by a key that is not the certified one: the handler hears of it
 * with bad_sig set (to log it) and the request fails though it allows. */
static void
test_wrong_signer(void **state)
{
	struct key *other;

	assert_int_equal(key_generate(KEY_ED25519, &other), 0);
	assert_false(offer(other, ed_cert, cert_auth_alg(ed_cert, false)));
	assert_int_equal(requests, 1);
	assert_true(seen_bad_sig);
	key_free(other);
	/* the right key, the wrong hash for the algorithm named */
	assert_false(offer_raw(rsa_user, "rsa-sha2-512", rsa_cert,
	    "rsa-sha2-256-cert-v01@openssh.com"));
	assert_int_equal(requests, 1);
	assert_true(seen_bad_sig);
	assert_true(offer_raw(rsa_user, "rsa-sha2-256", rsa_cert,
	    "rsa-sha2-256-cert-v01@openssh.com"));
	assert_false(seen_bad_sig);
}

/* A certificate under another type's algorithm, or a plain key's
 * algorithm, never reaches the handler; the client API refuses to send
 * one. */
static void
test_alg_mismatch(void **state)
{
	struct side cl, sv;

	assert_false(offer_raw(ed_user, "ssh-ed25519", ed_cert,
	    "rsa-sha2-512-cert-v01@openssh.com"));
	assert_int_equal(requests, 0);
	assert_false(offer_raw(ed_user, "ssh-ed25519", ed_cert,
	    "ssh-ed25519"));
	assert_int_equal(requests, 0);
	assert_false(offer_raw(rsa_user, "rsa-sha2-512", rsa_cert,
	    "ssh-ed25519-cert-v01@openssh.com"));
	assert_int_equal(requests, 0);
	start_pair(&cl, &sv);
	assert_int_equal(ssh_auth_pubkey_cert(cl.c, "alice", ed_user,
	    "rsa-sha2-512-cert-v01@openssh.com", ed_cert->blob,
	    ed_cert->bloblen), -1);
	assert_int_equal(ssh_auth_pubkey_cert(cl.c, "alice", ed_user,
	    "ssh-ed25519", ed_cert->blob, ed_cert->bloblen), -1);
	free_pair(&cl, &sv);
}

/* A refusing handler refuses the certificate. */
static void
test_handler_refuses(void **state)
{
	struct side cl, sv;

	start_pair(&cl, &sv);
	sv.allow_user = false;
	assert_int_equal(ssh_auth_pubkey_cert(cl.c, "alice", ed_user,
	    cert_auth_alg(ed_cert, false), ed_cert->blob, ed_cert->bloblen),
	    0);
	assert_int_equal(pump(&cl, &sv), 0);
	assert_int_equal(cl.auth_ok, 0);
	assert_int_equal(requests, 1);
	free_pair(&cl, &sv);
}

/* A plain key's request carries no certificate. */
static void
test_plain_key(void **state)
{
	struct side cl, sv;

	start_pair(&cl, &sv);
	assert_int_equal(ssh_auth_pubkey(cl.c, "alice", userkey), 0);
	assert_int_equal(pump(&cl, &sv), 0);
	assert_int_equal(cl.auth_ok, 1);
	assert_false(seen_cert);
	free_pair(&cl, &sv);
}

static int
setup(void **state)
{
	if (keys_setup(state) != 0)
		return -1;
	ed_user = load_private("data/keys/id_ed25519");
	rsa_user = load_private("data/keys/id_rsa");
	ed_cert = load_cert("user_ed25519");	/* certifies id_ed25519 */
	rsa_cert = load_cert("user_rsa");	/* certifies id_rsa */
	return 0;
}

static int
teardown(void **state)
{
	key_free(ed_user);
	key_free(rsa_user);
	cert_free(ed_cert);
	cert_free(rsa_cert);
	return keys_teardown(state);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ed25519_cert),
		cmocka_unit_test(test_rsa_cert_both_hashes),
		cmocka_unit_test(test_wrong_signer),
		cmocka_unit_test(test_alg_mismatch),
		cmocka_unit_test(test_handler_refuses),
		cmocka_unit_test(test_plain_key),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
