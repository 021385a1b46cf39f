/* The ssh-agent protocol (draft-miller-ssh-agent, OpenSSH PROTOCOL.agent),
 * client side, sans I/O: request encoders, a frame splitter and parsers of
 * the two answers ferry needs (identities and signatures).
 *
 * Every message is uint32 length + byte type + contents. A "message" passed
 * to the parsers below is one whole frame as agent_frame delimited it, the
 * 4-byte length included. Parsers never read past len and fail with a
 * message in err on anything malformed. */
#ifndef FERRY_KEYS_AGENT_H
#define FERRY_KEYS_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "key.h"
#include "../ssh/buf.h"

/* Largest message body (type byte + contents) either side may send. */
#define AGENT_MAX_MSG			(256 * 1024)

#define SSH_AGENT_FAILURE		5
#define SSH_AGENTC_REQUEST_IDENTITIES	11
#define SSH_AGENT_IDENTITIES_ANSWER	12
#define SSH_AGENTC_SIGN_REQUEST		13
#define SSH_AGENT_SIGN_RESPONSE		14

#define SSH_AGENT_RSA_SHA2_256		2
#define SSH_AGENT_RSA_SHA2_512		4

struct cert;

/* One key the agent holds: a plain key, or an OpenSSH certificate
 * (*-cert-v01@openssh.com; ssh-add adds one with its key when KEY-cert.pub
 * lies beside it). Owns blob and comment (NUL-terminated; it may be
 * empty), and cert. key is the public key: owned for a plain key; for a
 * certificate it is the certified key, cert->key, owned by cert. */
struct agent_id {
	struct key	*key;
	struct cert	*cert;		/* NULL: a plain key */
	uint8_t		*blob;		/* the key's or certificate's blob */
	size_t		 bloblen;
	char		*comment;
};

/* Append a whole framed request to w. Return 0, or -1 if w failed to grow
 * or the message would exceed AGENT_MAX_MSG. */
int	agent_req_identities(struct wb *w);
/* The flags come from sigalg: "rsa-sha2-256" and "rsa-sha2-512" (or the
 * rsa-sha2-*-cert-v01@openssh.com names, as ssh passes them for an RSA
 * certificate) ask for those hashes; anything else (NULL included) sends
 * 0. blob is the key's or the certificate's: the agent signs with the
 * private key it holds for either. */
int	agent_req_sign(struct wb *w, const uint8_t *blob, size_t bloblen,
	    const uint8_t *data, size_t dlen, const char *sigalg);

/* Frame splitter over the start of a byte stream: returns 1 when a whole
 * message of *msglen bytes (the 4-byte length included) is present, 0 if
 * more bytes are needed, -1 if the length is invalid (0 or over
 * AGENT_MAX_MSG). */
int	agent_frame(const uint8_t *p, size_t len, size_t *msglen);

/* Parses SSH_AGENT_IDENTITIES_ANSWER. Certificates of the three key types
 * are parsed with cert_parse (keys/cert.h; the CA signature is not
 * checked: the server does that). Keys ferry cannot use (ssh-dss, sk-*,
 * other curves, anything key_from_blob or cert_parse refuses) are
 * skipped: a key blob is opaque to the agent protocol, so only the
 * message's structure can be malformed. On success *ids is a new array of *n entries
 * (never NULL, *n may be 0) for agent_ids_free; on failure *ids is NULL,
 * *n is 0 and err says why (SSH_AGENT_FAILURE: "agent refused to list
 * keys"). */
int	agent_parse_identities(const uint8_t *msg, size_t len,
	    struct agent_id **ids, int *n, char *err, size_t errlen);
void	agent_ids_free(struct agent_id *ids, int n);	/* NULL allowed */

/* Parses SSH_AGENT_SIGN_RESPONSE: *sig points into msg at the SSH
 * signature blob (string alg, string sig), whose structure is checked.
 * SSH_AGENT_FAILURE gives -1 and "agent refused to sign". */
int	agent_parse_sign(const uint8_t *msg, size_t len, const uint8_t **sig,
	    size_t *siglen, char *err, size_t errlen);

/* Whether sig (an SSH signature blob, as agent_parse_sign gives it) is
 * of the signature algorithm sigalg names (a certificate algorithm names
 * its signature's, as cert_sig_alg; NULL accepts any): an agent that
 * ignored the rsa-sha2 flags answers "ssh-rsa", which the server would
 * refuse. Returns 0, or -1 with err naming both. */
int	agent_sig_check(const uint8_t *sig, size_t siglen, const char *sigalg,
	    char *err, size_t errlen);

#endif
