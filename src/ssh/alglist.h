/* Algorithm keywords of ssh_config and sshd_config (Ciphers, MACs,
 * KexAlgorithms, HostKeyAlgorithms, PubkeyAcceptedAlgorithms,
 * CASignatureAlgorithms) read as OpenSSH 9.x reads them, then narrowed to
 * what ferry's engine implements.
 *
 * A configuration written for OpenSSH may name algorithms ferry does not
 * implement (aes192-ctr, umac-128-etm@openssh.com,
 * sntrup761x25519-sha512@openssh.com, sk-ssh-ed25519@openssh.com...).
 * Such a list keeps its meaning under ferry when those names are left
 * out: it only ever allows fewer algorithms, never more. A name OpenSSH
 * does not know either is an error, as it is for OpenSSH; so is a list
 * that leaves ferry nothing. */
#ifndef FERRY_SSH_ALGLIST_H
#define FERRY_SSH_ALGLIST_H

#include <stddef.h>

/* One keyword's vocabulary. All strings are comma-separated, static. */
struct alg_kind {
	const char	*what;		/* "cipher", "MAC"... for messages */
	const char	*def;		/* ferry's default list, in order */
	const char	*impl;		/* every name ferry implements */
	const char	*known;		/* every name OpenSSH knows */
};

/* Ciphers, MACs and KexAlgorithms: the same for both roles. */
extern const struct alg_kind alg_kind_cipher;
extern const struct alg_kind alg_kind_mac;
extern const struct alg_kind alg_kind_kex;
/* host keys a server offers: plain and certificate algorithms */
extern const struct alg_kind alg_kind_hostkey_server;
/* user keys a server accepts: plain and certificate algorithms, the
 * certificates first as sshd orders them */
extern const struct alg_kind alg_kind_pubkey_server;
/* host keys a client asks for (HostKeyAlgorithms) and user keys it
 * offers (PubkeyAcceptedAlgorithms): ssh 9.2's defaults */
extern const struct alg_kind alg_kind_hostkey_client;
extern const struct alg_kind alg_kind_pubkey_client;
/* the signature algorithms a CA may use (no certificate names) */
extern const struct alg_kind alg_kind_ca_sign;

/* Reads spec as OpenSSH does ("+list" appends to the default, "-list"
 * removes what its patterns match, "^list" goes first, anything else
 * replaces the default; '*' and '?' patterns) against k->known, then
 * keeps the names in k->impl, in order. Returns 0 with *out (malloc'd)
 * and the names left out in dropped ("" when none; cut at droppedlen).
 * Returns -1 with a sentence in err: a name OpenSSH does not know, or a
 * list with nothing ferry implements (naming what it left out). */
int	alglist_assemble(const char *spec, const struct alg_kind *k,
	    char **out, char *dropped, size_t droppedlen, char *err,
	    size_t errlen);

/* The names of list that are no certificate algorithm (malloc'd, NULL
 * when out of memory): what a server announces in server-sig-algs. */
char	*alglist_plain(const char *list);

#endif
