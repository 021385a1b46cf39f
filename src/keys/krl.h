/* OpenSSH key revocation lists (PROTOCOL.krl), as `ssh-keygen -k` writes
 * them: a header, then sections revoking certificates (by serial list,
 * range or bitmap, or by key ID, under one CA or any), plain keys (their
 * blobs) and the SHA-1 or SHA-256 hashes of plain key blobs.
 *
 * Parser contract: sans-I/O and allocation-free. krl_check reads only the
 * len bytes it is given, checks every field as it walks, bounds every
 * size (KRL_MAX_SIZE, KRL_MAX_SECTIONS, KRL_MAX_BITMAP, key IDs at
 * CERT_MAX_KEY_ID_LEN) and returns KRL_REVOKED, KRL_NOT_REVOKED, or -1
 * with a reason in err. A KRL that fails anywhere revokes nothing by
 * itself: the caller refuses every key then (sshd's rule for an unusable
 * RevokedKeys file). Signature sections are refused, as OpenSSH 9.4 and
 * later do (ssh-keygen does not sign KRLs; a KRL comes by trusted means).
 * Critical extensions are refused, other extensions skipped. */
#ifndef FERRY_KEYS_KRL_H
#define FERRY_KEYS_KRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KRL_MAX_SIZE		(16 * 1024 * 1024)	/* whole KRL, bytes */
#define KRL_MAX_SECTIONS	(1024 * 1024)	/* sections and subsections */
#define KRL_MAX_BITMAP		(1024 * 1024)	/* one serial bitmap, bytes */

#define KRL_NOT_REVOKED		0
#define KRL_REVOKED		1

/* What is asked about. key_blob is a plain public key blob (for a
 * certificate: the certified key's), sha1 and sha256 its hashes
 * (krl_query_hashes fills them). cert is set for a certificate: its
 * serial, key ID and the CA's public key blob. Borrowed pointers. */
struct krl_query {
	const uint8_t	*key_blob;
	size_t		 key_bloblen;
	uint8_t		 sha1[20];
	uint8_t		 sha256[32];
	bool		 cert;
	uint64_t	 serial;
	const char	*key_id;
	const uint8_t	*ca_blob;
	size_t		 ca_bloblen;
};

/* Whether the bytes start with the KRL magic ("SSHKRL\n\0"): a file that
 * does not is read as a plain list of keys (sshd's order). */
bool	krl_is_krl(const uint8_t *p, size_t len);
/* Fills q's hashes from q->key_blob. Returns 0 or -1. */
int	krl_query_hashes(struct krl_query *q);
/* Walks the KRL: with q NULL it only checks it (KRL_NOT_REVOKED or -1).
 * With q, whether the KRL revokes the key or the certificate (serials
 * and key IDs count only under the certificate's CA or a section for
 * any CA). It does not check q's CA key itself: ask again with the CA's
 * blob as key_blob (sshd revokes a certificate whose CA is revoked). */
int	krl_check(const uint8_t *p, size_t len, const struct krl_query *q,
	    char *err, size_t errlen);

#endif
