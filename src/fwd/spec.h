/* Forward specifications as ssh(1) writes them:
 *   -L [bind_address:]port:host:hostport    -L path:host:hostport
 *   -L [bind_address:]port:path             -L path:path
 *   -R the same forms, and [bind_address:]port alone (remote dynamic)
 *   -D [bind_address:]port
 * A field holding a '/' is a Unix socket path. IPv6 addresses in
 * brackets; an empty or "*" bind address means every address. Parsers
 * never allocate. */
#ifndef FERRY_FWD_SPEC_H
#define FERRY_FWD_SPEC_H

#include <stdbool.h>
#include <stddef.h>

/* sun_path holds 108 bytes with the terminating NUL */
#define FWD_PATH_MAX	108

enum fwd_kind {
	FWD_LOCAL,
	FWD_REMOTE,
	FWD_DYNAMIC,	/* -D: a local SOCKS listener */
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
	char		 listen_path[FWD_PATH_MAX];	/* "" for TCP */
	/* the destination: host:port, a path, or neither for SOCKS */
	char		 host[256];
	int		 port;
	char		 connect_path[FWD_PATH_MAX];
	/* SOCKS decides the destination per connection: -D, and -R with
	 * no destination */
	bool		 dynamic;
};

/* Parses text into out. Returns 0, or -1 with a message in err naming
 * what is wrong. */
int	fwd_spec_parse(const char *text, enum fwd_kind kind,
	    struct fwd_spec *out, char *err, size_t errlen);
/* Formats a spec back as ssh writes it (for logs and -G). */
void	fwd_spec_format(const struct fwd_spec *s, char *out, size_t outlen);
/* The destination alone: "host:port", the path, or "socks". */
void	fwd_spec_target(const struct fwd_spec *s, char *out, size_t outlen);

struct sockaddr_storage;
/* MetricsListen's "address:port" (a loopback address literal only; port
 * 0 lets the kernel choose) into *ss. Returns 0, or -1 with err. */
int	fwd_loopback_addr(const char *spec, struct sockaddr_storage *ss,
	    char *err, size_t errlen);

#endif
