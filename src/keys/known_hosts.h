/* known_hosts files (sshd(8) SSH_KNOWN_HOSTS FILE FORMAT): plain and hashed
 * (|1|salt|hash) host patterns, [host]:port, negation, wildcards, the
 * @revoked marker, which ferry applies to every host: a revoked key is
 * never accepted, and @cert-authority lines: CA keys trusted to sign
 * certificates for the hosts their patterns match (kh_check_ca_*; plain
 * lookups skip them). */
#ifndef FERRY_KEYS_KNOWN_HOSTS_H
#define FERRY_KEYS_KNOWN_HOSTS_H

#include <stdbool.h>
#include <stddef.h>

#include "key.h"

enum kh_status {
	KH_MATCH,	/* the host's key is listed */
	KH_NEW,		/* no key of this type listed for the host */
	KH_CHANGED,	/* a different key of the same type is listed */
	KH_REVOKED,	/* the key is marked @revoked */
};

struct kh_result {
	enum kh_status	 status;
	/* for KH_CHANGED, KH_MATCH and KH_REVOKED: where the listed key is */
	char		 file[512];
	int		 line;
	/* for KH_CHANGED: the fingerprint of the key listed there */
	char		 listed_fp[64];
	/* types of keys listed for the host (bit per enum key_type), to
	 * prefer those host key algorithms in KEX */
	unsigned	 types_known;
	/* an @cert-authority line matches the host (to offer certificate
	 * host key algorithms first) */
	bool		 ca_known;
};

/* The name known_hosts uses: "host" for port 22, "[host]:port" else. */
void	kh_hostname(const char *host, int port, char *out, size_t outlen);
/* Checks key for host:port against the text of one known_hosts file.
 * Malformed lines are skipped. Accumulates into res (call with res
 * zeroed and status KH_NEW, then once per file). Returns 0. */
int	kh_check_text(const char *text, size_t len, const char *fname,
	    const char *host, int port, const struct key *key,
	    struct kh_result *res);
/* The same for a file; a missing file is not an error. Returns 0, or -1
 * with err if the file exists but cannot be read. */
int	kh_check_file(const char *path, const char *host, int port,
	    const struct key *key, struct kh_result *res, char *err,
	    size_t errlen);
/* Checks a CA key for host:port against the @cert-authority lines of one
 * file: KH_MATCH if a line for the host lists it, KH_CHANGED if lines for
 * the host list only other keys, KH_NEW if none is for the host,
 * KH_REVOKED if the CA key is @revoked. Accumulates as kh_check_text. */
int	kh_check_ca_text(const char *text, size_t len, const char *fname,
	    const char *host, int port, const struct key *ca,
	    struct kh_result *res);
/* The same for a file; a missing file is not an error. */
int	kh_check_ca_file(const char *path, const char *host, int port,
	    const struct key *ca, struct kh_result *res, char *err,
	    size_t errlen);
/* Only collects the types listed for host:port (for KEX preference),
 * OR-ing them into *types, and sets *ca (if not NULL) when an
 * @cert-authority line is for the host. */
int	kh_known_types(const char *path, const char *host, int port,
	    unsigned *types, bool *ca);
/* Appends "hostname keytype base64" to path (creating it 0600 and its
 * directory 0700 if missing); hashed with a random salt if hash is set. */
int	kh_add(const char *path, const char *host, int port,
	    const struct key *key, int hash, char *err, size_t errlen);
/* The same for n names already in kh_hostname form: one line "a,b"
 * unhashed, one line per name hashed (a hash stands for one name), as
 * ssh records a host with its address (CheckHostIP). */
int	kh_add_names(const char *path, const char *const *names, int n,
	    const struct key *key, int hash, char *err, size_t errlen);
/* Called for a line that lists the key under names that are not
 * host:port's: hosts is the line's host field as written (hlen bytes,
 * not terminated), lineno counts from 1. */
typedef void (*kh_name_fn)(void *ud, const char *path, int lineno,
	    const char *hosts, size_t hlen);
/* Walks the text of one known_hosts file (fname as the callback is to
 * name it) for the other names of key, as ssh lists them when it asks
 * about a new host; @-marked lines are not names. Returns 0. */
int	kh_other_names_text(const char *text, size_t len, const char *fname,
	    const char *host, int port, const struct key *key, kh_name_fn fn,
	    void *ud);
/* The same for a file; a missing file has none. Returns 0, or -1 with
 * err if it cannot be read. */
int	kh_other_names(const char *path, const char *host, int port,
	    const struct key *key, kh_name_fn fn, void *ud, char *err,
	    size_t errlen);
/* Whether host (already with [..]:port form applied) matches a hashed
 * pattern "|1|salt|hash". */
int	kh_match_hashed(const char *pattern, size_t plen, const char *name);

#endif
