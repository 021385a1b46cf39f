/* Unit tests for ssh/alglist.c: algorithm keywords read as OpenSSH reads
 * them (+, -, ^, patterns in OpenSSH's order), names OpenSSH knows that
 * ferry lacks left out, unknown names and empty results refused; the
 * client kinds against ssh -G. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ssh/alglist.h"

static char dropped[512], err[1024];

/* spec under k assembles to want, leaving out the names in left. */
static void
gives(const char *spec, const struct alg_kind *k, const char *want,
    const char *left)
{
	char *out = NULL;

	if (alglist_assemble(spec, k, &out, dropped, sizeof(dropped), err,
	    sizeof(err)) != 0)
		fail_msg("'%s' refused: %s", spec, err);
	assert_string_equal(out, want);
	assert_string_equal(dropped, left);
	free(out);
}

/* spec under k is refused with the message why. */
static void
refused(const char *spec, const struct alg_kind *k, const char *why)
{
	char *out = NULL;

	if (alglist_assemble(spec, k, &out, dropped, sizeof(dropped), err,
	    sizeof(err)) == 0)
		fail_msg("'%s' accepted as '%s'", spec, out);
	assert_null(out);
	assert_string_equal(err, why);
}

static void
test_syntax(void **state)
{
	(void)state;
	gives("aes256-gcm@openssh.com", &alg_kind_cipher,
	    "aes256-gcm@openssh.com", "");
	gives("-*-etm@openssh.com,hmac-sha1", &alg_kind_mac,
	    "hmac-sha2-256,hmac-sha2-512", "");
	gives("^curve25519-sha256@libssh.org", &alg_kind_kex,
	    "curve25519-sha256@libssh.org,curve25519-sha256", "");
	gives("+aes128-ctr", &alg_kind_cipher, "chacha20-poly1305@openssh.com,"
	    "aes128-ctr,aes256-ctr,aes128-gcm@openssh.com,"
	    "aes256-gcm@openssh.com", "");
	/* a pattern expands in OpenSSH's order (ssh -Q key-sig) */
	gives("rsa-sha2-*,ssh-ed25519,rsa-sha2-512", &alg_kind_hostkey_server,
	    "rsa-sha2-256,rsa-sha2-256-cert-v01@openssh.com,rsa-sha2-512,"
	    "rsa-sha2-512-cert-v01@openssh.com,ssh-ed25519", "");
	/* inside "-" any name is harmless */
	gives("-3des-cbc,aes192-ctr,chacha20-poly1305@openssh.com",
	    &alg_kind_cipher, "aes128-ctr,aes256-ctr,aes128-gcm@openssh.com,"
	    "aes256-gcm@openssh.com", "");
}

/* ssh-audit's hardening guide for Debian 12, line by line: what ferry
 * lacks goes, the order of the rest stays. */
static void
test_openssh_names_left_out(void **state)
{
	(void)state;
	gives("sntrup761x25519-sha512@openssh.com,curve25519-sha256,"
	    "curve25519-sha256@libssh.org,gss-curve25519-sha256-,"
	    "diffie-hellman-group16-sha512,gss-group16-sha512-,"
	    "diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha256",
	    &alg_kind_kex, "curve25519-sha256,curve25519-sha256@libssh.org",
	    "sntrup761x25519-sha512@openssh.com,gss-curve25519-sha256-,"
	    "diffie-hellman-group16-sha512,gss-group16-sha512-,"
	    "diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha256");
	gives("chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,"
	    "aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr",
	    &alg_kind_cipher, "chacha20-poly1305@openssh.com,"
	    "aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,"
	    "aes128-ctr", "aes192-ctr");
	gives("hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,"
	    "umac-128-etm@openssh.com", &alg_kind_mac,
	    "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com",
	    "umac-128-etm@openssh.com");
	gives("sk-ssh-ed25519-cert-v01@openssh.com,"
	    "ssh-ed25519-cert-v01@openssh.com,sk-ssh-ed25519@openssh.com,"
	    "ssh-ed25519,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-512,"
	    "rsa-sha2-256-cert-v01@openssh.com,rsa-sha2-256",
	    &alg_kind_pubkey_server, "ssh-ed25519-cert-v01@openssh.com,"
	    "ssh-ed25519,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-512,"
	    "rsa-sha2-256-cert-v01@openssh.com,rsa-sha2-256",
	    "sk-ssh-ed25519-cert-v01@openssh.com,sk-ssh-ed25519@openssh.com");
	gives("sk-ssh-ed25519@openssh.com,ssh-ed25519,rsa-sha2-512,"
	    "rsa-sha2-256", &alg_kind_ca_sign, "ssh-ed25519,rsa-sha2-512,"
	    "rsa-sha2-256", "sk-ssh-ed25519@openssh.com");
	/* "+" of a name ferry lacks keeps the default */
	gives("+ssh-rsa", &alg_kind_pubkey_server,
	    "ssh-ed25519-cert-v01@openssh.com,"
	    "ecdsa-sha2-nistp256-cert-v01@openssh.com,"
	    "rsa-sha2-512-cert-v01@openssh.com,"
	    "rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,"
	    "rsa-sha2-512,rsa-sha2-256", "ssh-rsa");
	/* a pattern over OpenSSH's names (certificates too): what matches
	 * here stays */
	gives("ecdsa-sha2-*", &alg_kind_hostkey_server,
	    "ecdsa-sha2-nistp256,ecdsa-sha2-nistp256-cert-v01@openssh.com",
	    "ecdsa-sha2-nistp384,ecdsa-sha2-nistp384-cert-v01@openssh.com,"
	    "ecdsa-sha2-nistp521,ecdsa-sha2-nistp521-cert-v01@openssh.com");
}

static void
test_errors(void **state)
{
	(void)state;
	refused("aes128-ctr,aes-ctr", &alg_kind_cipher, "'aes-ctr' is no "
	    "cipher OpenSSH knows (implemented here: "
	    "chacha20-poly1305@openssh.com,aes128-gcm@openssh.com,"
	    "aes256-gcm@openssh.com,aes128-ctr,aes256-ctr)");
	refused("AES128-CTR", &alg_kind_cipher, "'AES128-CTR' is no cipher "
	    "OpenSSH knows (implemented here: chacha20-poly1305@openssh.com,"
	    "aes128-gcm@openssh.com,aes256-gcm@openssh.com,aes128-ctr,"
	    "aes256-ctr)");
	refused("!aes128-ctr", &alg_kind_cipher, "'!aes128-ctr' is no cipher "
	    "OpenSSH knows (implemented here: chacha20-poly1305@openssh.com,"
	    "aes128-gcm@openssh.com,aes256-gcm@openssh.com,aes128-ctr,"
	    "aes256-ctr)");
	refused("a,,b", &alg_kind_mac, "'a' is no MAC OpenSSH knows "
	    "(implemented here: hmac-sha2-256-etm@openssh.com,"
	    "hmac-sha2-512-etm@openssh.com,hmac-sha2-256,hmac-sha2-512)");
	refused("-curve*", &alg_kind_kex, "'-curve*' leaves no key exchange");
	refused("aes192-ctr,3des-cbc", &alg_kind_cipher, "'aes192-ctr,"
	    "3des-cbc' leaves no cipher implemented here (left out: "
	    "aes192-ctr,3des-cbc; implemented: chacha20-poly1305@openssh.com,"
	    "aes128-gcm@openssh.com,aes256-gcm@openssh.com,aes128-ctr,"
	    "aes256-ctr)");
	/* certificate names are no CA signature algorithms */
	refused("ssh-ed25519-cert-v01@openssh.com", &alg_kind_ca_sign,
	    "'ssh-ed25519-cert-v01@openssh.com' is no signature algorithm "
	    "OpenSSH knows (implemented here: ssh-ed25519,ecdsa-sha2-nistp256,"
	    "rsa-sha2-512,rsa-sha2-256)");
}

/* The client kinds: ssh -G's list for spec, less what ferry lacks. */
static void
test_client_kinds(void **state)
{
	(void)state;
	/* ssh -G -o HostKeyAlgorithms='*cert*' */
	gives("*cert*", &alg_kind_hostkey_client,
	    "ssh-ed25519-cert-v01@openssh.com,"
	    "ecdsa-sha2-nistp256-cert-v01@openssh.com,"
	    "rsa-sha2-256-cert-v01@openssh.com,"
	    "rsa-sha2-512-cert-v01@openssh.com",
	    "sk-ssh-ed25519-cert-v01@openssh.com,"
	    "ecdsa-sha2-nistp384-cert-v01@openssh.com,"
	    "ecdsa-sha2-nistp521-cert-v01@openssh.com,"
	    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,"
	    "ssh-dss-cert-v01@openssh.com,ssh-rsa-cert-v01@openssh.com");
	/* ssh -G -o PubkeyAcceptedAlgorithms='rsa*' */
	gives("rsa*", &alg_kind_pubkey_client, "rsa-sha2-256,"
	    "rsa-sha2-256-cert-v01@openssh.com,rsa-sha2-512,"
	    "rsa-sha2-512-cert-v01@openssh.com", "");
	gives("-*cert*", &alg_kind_pubkey_client, "ssh-ed25519,"
	    "ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256", "");
	gives("^rsa-sha2-256,ssh-rsa", &alg_kind_hostkey_client,
	    "rsa-sha2-256,ssh-ed25519-cert-v01@openssh.com,"
	    "ecdsa-sha2-nistp256-cert-v01@openssh.com,"
	    "rsa-sha2-512-cert-v01@openssh.com,"
	    "rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,"
	    "ecdsa-sha2-nistp256,rsa-sha2-512", "ssh-rsa");
	/* the defaults are ssh 9.2's, narrowed */
	assert_string_equal(alg_kind_hostkey_client.def,
	    "ssh-ed25519-cert-v01@openssh.com,"
	    "ecdsa-sha2-nistp256-cert-v01@openssh.com,"
	    "rsa-sha2-512-cert-v01@openssh.com,"
	    "rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,"
	    "ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256");
	assert_string_equal(alg_kind_pubkey_client.def,
	    alg_kind_hostkey_client.def);
}

static void
test_plain(void **state)
{
	char *p;

	(void)state;
	p = alglist_plain("ssh-ed25519-cert-v01@openssh.com,ssh-ed25519,"
	    "rsa-sha2-256-cert-v01@openssh.com,rsa-sha2-256");
	assert_string_equal(p, "ssh-ed25519,rsa-sha2-256");
	free(p);
	p = alglist_plain("ssh-ed25519-cert-v01@openssh.com");
	assert_string_equal(p, "");
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_openssh_names_left_out),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_client_kinds),
		cmocka_unit_test(test_plain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
