/* TLS to etcd members (https:// URLs): the CA bundle that verifies them
 * and the client certificate and key etcd's --client-cert-auth asks
 * for, read once from their files (at start, before a daemon gives up
 * root) and handed to libcurl from memory. Verification of the member's
 * certificate and of its name against the URL is always on.
 *
 * Ownership: struct etcd_tls owns its three buffers (etcd_tls_free wipes
 * the key's and frees them); the etcd client copies what it is given. */
#ifndef FERRY_FLEET_ETCD_TLS_H
#define FERRY_FLEET_ETCD_TLS_H

#include <stdbool.h>
#include <stddef.h>

/* PEM text as read, each NUL-terminated; NULL: not given (no CA: the
 * system's bundle; no certificate and key: none is offered). */
struct etcd_tls {
	char		*ca;
	size_t		 calen;
	char		*cert;
	size_t		 certlen;
	char		*key;
	size_t		 keylen;
};

/* Which files to read, NULL for none, and the names an error calls
 * them by (a configuration keyword or an option). */
struct etcd_tls_files {
	const char	*ca, *ca_name;
	const char	*cert, *cert_name;
	const char	*key, *key_name;
};

/* Reads and checks the files: the CA file holds at least one PEM
 * certificate, the certificate file a PEM certificate, the key file an
 * unencrypted PEM private key that goes with the certificate, and a
 * certificate comes with a key. 0, or -1 with err naming what, which
 * file and why (t is then empty). */
int	 etcd_tls_load(struct etcd_tls *t, const struct etcd_tls_files *f,
	    char *err, size_t errlen);
/* A deep copy of from (NULL: an empty one). 0, or -1 out of memory. */
int	 etcd_tls_copy(struct etcd_tls *to, const struct etcd_tls *from);
/* Nothing given. */
bool	 etcd_tls_empty(const struct etcd_tls *t);
void	 etcd_tls_free(struct etcd_tls *t);

#endif
