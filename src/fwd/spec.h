/* Forward specifications as ssh(1) writes them:
 *   -L [bind_address:]port:host:hostport
 *   -R [bind_address:]port:host:hostport
 * IPv6 addresses in brackets; an empty or "*" bind address means every
 * address. Parsers never allocate. */
#ifndef FERRY_FWD_SPEC_H
#define FERRY_FWD_SPEC_H

#include <stdbool.h>
#include <stddef.h>

enum fwd_kind {
	FWD_LOCAL,
	FWD_REMOTE,
};

/* Where a listener binds, decided from the written bind address. */
enum fwd_bind {
	BIND_DEFAULT,	/* none given: loopback unless GatewayPorts / -g */
	BIND_ANY,	/* "" or "*" */
	BIND_LOCALHOST,	/* "localhost": loopback in both families */
	BIND_ADDR,	/* bind_addr as given */
};

struct fwd_spec {
	enum fwd_kind	 kind;
	enum fwd_bind	 bind;
	char		 bind_addr[256];
	int		 listen_port;	/* 0: the kernel chooses */
	char		 host[256];
	int		 port;
};

/* Parses text into out. Returns 0, or -1 with a message in err naming
 * what is wrong. */
int	fwd_spec_parse(const char *text, enum fwd_kind kind,
	    struct fwd_spec *out, char *err, size_t errlen);
/* Formats a spec back as ssh writes it (for logs and -G). */
void	fwd_spec_format(const struct fwd_spec *s, char *out, size_t outlen);

#endif
