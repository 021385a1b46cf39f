/* authorized_keys files (sshd(8) AUTHORIZED_KEYS FILE FORMAT) for ferryd:
 * "[options] keytype base64 [comment]" with the options that matter to a
 * tunnel-only server: restrict, port-forwarding, no-port-forwarding,
 * permitopen="host:port", permitlisten="[host:]port", from="patterns",
 * and cert-authority with principals="a,b" for user certificates.
 * Options ferryd does not know, or malformed ones, make the line be
 * ignored with a reason naming the file and line. AuthorizedPrincipalsFile
 * files ("[options] principal" a line) take the same options. */
#ifndef FERRY_KEYS_AUTHKEYS_H
#define FERRY_KEYS_AUTHKEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "key.h"

struct cert;

#define AK_MAX_PERMITS	32

/* host may be "*" (any host, permitopen only); port -1 means "*". */
struct ak_permit {
	char	host[256];
	int	port;
};

/* What one matching authorized_keys line allows. */
struct ak_opts {
	bool		 port_forwarding;	/* after restrict / no-port-forwarding */
	bool		 restricted;		/* "restrict" was given */
	struct ak_permit open[AK_MAX_PERMITS];	/* permitopen= */
	int		 nopen;
	struct ak_permit listen[AK_MAX_PERMITS];	/* permitlisten= */
	int		 nlisten;
	char		 from[1024];		/* from= patterns, "" if none */
	char		 principals[1024];	/* principals=, "" if none */
	char		 file[512];		/* where the line is */
	int		 line;
};

/* Reports a problem with one line (the line is skipped). */
typedef void (*ak_warn_fn)(void *ud, const char *file, int line,
    const char *why);

/* Looks for key in the text of an authorized_keys file. On a match
 * returns 1 and fills opts; 0 if no line lists the key; never fails on
 * bad lines (they are reported through warn and skipped). The client's
 * address is checked against from= here: a key whose from= does not match
 * client_ip does not match (reported through warn). Never reads past len. */
int	ak_find_text(const char *text, size_t len, const char *fname,
	    const struct key *key, const char *client_ip, struct ak_opts *opts,
	    ak_warn_fn warn, void *ud);
/* The same for a file (at most 1 MiB). A missing file is no match;
 * returns -1 only when the file exists but cannot be read (err says why). */
int	ak_find_file(const char *path, const struct key *key,
	    const char *client_ip, struct ak_opts *opts, ak_warn_fn warn,
	    void *ud, char *err, size_t errlen);
/* For a user certificate c offered to log in as user: looks for a
 * cert-authority line whose key is c's CA and whose principals= names a
 * principal of c (without principals=, user must be one). Does not check
 * the certificate itself (cert_verify, cert_check). Returns as
 * ak_find_text. */
int	ak_find_ca_text(const char *text, size_t len, const char *fname,
	    const struct cert *c, const char *user, const char *client_ip,
	    struct ak_opts *opts, ak_warn_fn warn, void *ud);
int	ak_find_ca_file(const char *path, const struct cert *c,
	    const char *user, const char *client_ip, struct ak_opts *opts,
	    ak_warn_fn warn, void *ud, char *err, size_t errlen);
/* An AuthorizedPrincipalsFile: looks for a line naming a principal of c
 * ("[options] principal", the last word the name). Returns as
 * ak_find_text; the line's options go to opts. */
int	ak_find_principal_text(const char *text, size_t len,
	    const char *fname, const struct cert *c, const char *client_ip,
	    struct ak_opts *opts, ak_warn_fn warn, void *ud);
int	ak_find_principal_file(const char *path, const struct cert *c,
	    const char *client_ip, struct ak_opts *opts, ak_warn_fn warn,
	    void *ud, char *err, size_t errlen);
/* Whether the comma-separated list names one of c's principals
 * exactly. */
bool	ak_principal_listed(const char *list, const struct cert *c);
/* from= style pattern lists: comma-separated, '*' and '?', '!' negation,
 * and CIDR "10.0.0.0/8", "2001:db8::/32" for addresses. */
bool	ak_match_from(const char *patterns, const char *client_ip);

#endif
