/* A server's verdict on a user certificate (sshd_config(5), PROTOCOL.
 * certkeys): once the caller found its CA trusted (TrustedUserCAKeys or
 * a cert-authority line) and its principal acceptable, this checks the
 * rest: the CA's signature algorithm against CASignatureAlgorithms, the
 * signature, the type and validity window, the critical options, and
 * reads what its extensions allow. Pure: no files, no clock, no log. */
#ifndef FERRY_KEYS_CERTAUTH_H
#define FERRY_KEYS_CERTAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cert;

/* What the server knows of the attempt; all borrowed for the call. */
struct certauth_req {
	const char	*ca_sign_algs;	/* CASignatureAlgorithms, a list */
	const char	*client_ip;	/* for source-address */
	const char	*principal;	/* must be listed; NULL: checked
					 * already by the caller */
	uint64_t	 now;		/* seconds since the epoch */
};

/* What an accepted certificate allows. */
struct certauth_grant {
	bool	port_forwarding;	/* extension permit-port-forwarding */
};

enum certauth_verdict {
	CERTAUTH_OK,
	CERTAUTH_SIG_ALG,	/* CA algorithm not in CASignatureAlgorithms */
	CERTAUTH_BAD_SIG,	/* the CA's signature does not verify */
	CERTAUTH_INVALID,	/* type, validity or principal */
	CERTAUTH_SOURCE,	/* source-address does not list the client */
	CERTAUTH_FORCE_COMMAND,	/* ferryd runs no commands */
	CERTAUTH_VERIFY,	/* verify-required: only FIDO keys verify */
	CERTAUTH_UNKNOWN_OPT,	/* a critical option ferryd does not know */
};

/* Decides; on a refusal why says what (certificate text is escaped). */
enum certauth_verdict certauth_check(const struct cert *c,
	    const struct certauth_req *r, struct certauth_grant *g,
	    char *why, size_t whylen);
/* The critical options alone (the last step of certauth_check): each
 * must be one ferryd honours and be met. */
enum certauth_verdict certauth_critical(const struct cert *c,
	    const struct certauth_req *r, char *why, size_t whylen);
/* Whether the comma-separated CIDR list (source-address's syntax) lists
 * ip; -1 when the list is malformed. */
int	certauth_source_match(const char *list, const char *ip);

#endif
