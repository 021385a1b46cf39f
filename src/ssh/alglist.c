/* Algorithm keywords read as OpenSSH reads them, narrowed to what the
 * engine implements (alglist.h). */
#include "alglist.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cipher.h"
#include "ssh.h"

/* OpenSSH 9.x's names (ssh -Q cipher, mac, kex, key-sig), with Debian's
 * GSSAPI key exchanges, which its sshd takes in KexAlgorithms. */
static const char openssh_ciphers[] =
    "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,"
    "aes128-gcm@openssh.com,aes256-gcm@openssh.com,aes128-cbc,aes192-cbc,"
    "aes256-cbc,3des-cbc";
static const char openssh_macs[] =
    "umac-64-etm@openssh.com,umac-128-etm@openssh.com,"
    "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,"
    "hmac-sha1-etm@openssh.com,hmac-sha1-96-etm@openssh.com,"
    "hmac-md5-etm@openssh.com,hmac-md5-96-etm@openssh.com,"
    "umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,"
    "hmac-sha1,hmac-sha1-96,hmac-md5,hmac-md5-96";
static const char openssh_kex[] =
    "mlkem768x25519-sha256,sntrup761x25519-sha512,"
    "sntrup761x25519-sha512@openssh.com,curve25519-sha256,"
    "curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,"
    "ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,"
    "diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,"
    "diffie-hellman-group14-sha256,diffie-hellman-group14-sha1,"
    "diffie-hellman-group1-sha1,diffie-hellman-group-exchange-sha1,"
    "gss-gex-sha1-,gss-group1-sha1-,gss-group14-sha1-,gss-group14-sha256-,"
    "gss-group16-sha512-,gss-nistp256-sha256-,gss-curve25519-sha256-";
/* Key and signature algorithms in OpenSSH's own order (ssh -Q key-sig),
 * the order in which a pattern expands: every name, and the names that
 * are no certificate (CASignatureAlgorithms). */
static const char openssh_keys[] =
    "ssh-ed25519,ssh-ed25519-cert-v01@openssh.com,"
    "sk-ssh-ed25519@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,"
    "ecdsa-sha2-nistp256,ecdsa-sha2-nistp256-cert-v01@openssh.com,"
    "ecdsa-sha2-nistp384,ecdsa-sha2-nistp384-cert-v01@openssh.com,"
    "ecdsa-sha2-nistp521,ecdsa-sha2-nistp521-cert-v01@openssh.com,"
    "sk-ecdsa-sha2-nistp256@openssh.com,"
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,"
    "webauthn-sk-ecdsa-sha2-nistp256@openssh.com,"
    "ssh-dss,ssh-dss-cert-v01@openssh.com,ssh-rsa,"
    "ssh-rsa-cert-v01@openssh.com,rsa-sha2-256,"
    "rsa-sha2-256-cert-v01@openssh.com,rsa-sha2-512,"
    "rsa-sha2-512-cert-v01@openssh.com";
static const char openssh_plain[] =
    "ssh-ed25519,sk-ssh-ed25519@openssh.com,ecdsa-sha2-nistp256,"
    "ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,"
    "sk-ecdsa-sha2-nistp256@openssh.com,"
    "webauthn-sk-ecdsa-sha2-nistp256@openssh.com,ssh-dss,ssh-rsa,"
    "rsa-sha2-256,rsa-sha2-512";

/* The certificate algorithms the engine has, in sshd's order. */
#define CERT_ALGS							\
    "ssh-ed25519-cert-v01@openssh.com,"					\
    "ecdsa-sha2-nistp256-cert-v01@openssh.com,"				\
    "rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,"
#define PLAIN_ALGS "ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256"
static const char with_certs[] = CERT_ALGS PLAIN_ALGS;

const struct alg_kind alg_kind_cipher = {
	"cipher", ssh_cipher_default, ssh_cipher_all, openssh_ciphers
};
const struct alg_kind alg_kind_mac = {
	"MAC", ssh_mac_default, ssh_mac_all, openssh_macs
};
const struct alg_kind alg_kind_kex = {
	"key exchange", ssh_kex_default, ssh_kex_default, openssh_kex
};
const struct alg_kind alg_kind_hostkey_server = {
	"host key algorithm", with_certs, with_certs, openssh_keys
};
const struct alg_kind alg_kind_pubkey_server = {
	"public key algorithm", with_certs, with_certs, openssh_keys
};
/* ssh 9.2's client defaults for both are the server's: certificates
 * first. */
const struct alg_kind alg_kind_hostkey_client = {
	"host key algorithm", with_certs, with_certs, openssh_keys
};
const struct alg_kind alg_kind_pubkey_client = {
	"public key algorithm", with_certs, with_certs, openssh_keys
};
const struct alg_kind alg_kind_ca_sign = {
	"signature algorithm", ssh_pubkey_default, ssh_pubkey_default,
	openssh_plain
};

/* Appends name (n bytes) to a comma list in buf (len bytes), as far as it
 * fits. */
static void
add_name(char *buf, size_t len, const char *name, size_t n)
{
	size_t used = strlen(buf), comma = used > 0;

	if (used + comma + n + 1 > len)
		return;
	if (used > 0)
		buf[used++] = ',';
	memcpy(buf + used, name, n);
	buf[used + n] = '\0';
}

/* list's names in impl, in list's order, into out (as long as list);
 * the others into dropped. */
static void
narrow(const char *list, const char *impl, char *out, size_t outlen,
    char *dropped, size_t droppedlen)
{
	const char *p = list, *e;
	char name[128];
	size_t n;

	out[0] = '\0';
	for (; *p != '\0'; p = *e == ',' ? e + 1 : e) {
		e = p + strcspn(p, ",");
		n = (size_t)(e - p);
		if (n == 0 || n >= sizeof(name))
			continue;
		memcpy(name, p, n);
		name[n] = '\0';
		if (ssh_algs_has(impl, name))
			add_name(out, outlen, p, n);
		else
			add_name(dropped, droppedlen, p, n);
	}
}

int
alglist_assemble(const char *spec, const struct alg_kind *k, char **out,
    char *dropped, size_t droppedlen, char *err, size_t errlen)
{
	char bad[128], *full = NULL, *kept;
	size_t len;

	*out = NULL;
	dropped[0] = '\0';
	if (ssh_algs_assemble(spec, k->def, k->known, &full, bad,
	    sizeof(bad)) != 0) {
		if (bad[0] == '\0')
			snprintf(err, errlen, "'%s' leaves no %s", spec,
			    k->what);
		else
			snprintf(err, errlen, "'%s' is no %s OpenSSH knows "
			    "(implemented here: %s)", bad, k->what, k->impl);
		return -1;
	}
	len = strlen(full) + 1;
	if ((kept = malloc(len)) == NULL) {
		free(full);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	narrow(full, k->impl, kept, len, dropped, droppedlen);
	free(full);
	if (kept[0] == '\0') {
		snprintf(err, errlen, "'%s' leaves no %s implemented here "
		    "(left out: %s; implemented: %s)", spec, k->what, dropped,
		    k->impl);
		free(kept);
		return -1;
	}
	*out = kept;
	return 0;
}

char *
alglist_plain(const char *list)
{
	const char *p = list, *e;
	char *out;
	size_t n;

	if ((out = calloc(1, strlen(list) + 1)) == NULL)
		return NULL;
	for (; *p != '\0'; p = *e == ',' ? e + 1 : e) {
		e = p + strcspn(p, ",");
		n = (size_t)(e - p);
		if (n > 0 && memmem(p, n, "-cert-v01@", 10) == NULL)
			add_name(out, strlen(list) + 1, p, n);
	}
	return out;
}
