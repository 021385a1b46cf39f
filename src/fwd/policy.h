/* Forwarding policy, in one place: where a server binds a remote
 * forward (GatewayPorts, exactly OpenSSH's channel_fwd_bind_addr()), and
 * the PermitOpen / PermitListen style permission lists. */
#ifndef FERRY_FWD_POLICY_H
#define FERRY_FWD_POLICY_H

#include <stdbool.h>

#include "fwd/listener.h"

enum gw_mode {
	GW_MODE_NO,
	GW_MODE_YES,
	GW_MODE_CLIENTSPECIFIED,
};

/* One permission: host "*" is any host, port -1 any port. For listen
 * permissions the host is a pattern; empty (none written) means "*". */
struct fwd_permit {
	char	host[256];
	int	port;
};

/* A permission list that no keyword has set yet (the first value
 * obtained for a keyword wins). */
#define FWD_PERMIT_UNSET	(-2)

/* One PermitOpen host:port / PermitListen [host:]port entry; a bare port
 * is a listen permission for any host, as in sshd. "*" for the port is
 * any port. Returns 0 or -1. */
int		 fwd_permit_parse(const char *v, bool listen,
		    struct fwd_permit *p);
/* A keyword's words: "any" (*np = -1), "none" (0) or up to max entries.
 * Stored only while *np is FWD_PERMIT_UNSET. Returns 0, or -1 with err
 * naming kw and the bad word. */
int		 fwd_permit_words(struct fwd_permit *arr, int max, int *np,
		    bool listen, const char *kw, char **a, int n, char *err,
		    size_t errlen);

/* Where a tcpip-forward for bind address req binds:
 *   no:              "127.0.0.1" or "::1" as asked, anything else loopback
 *   yes:             every request on all addresses
 *   clientspecified: "" or "*" all addresses, "localhost" loopback in both
 *                    families, any other address literally.
 * *addr is set for SCOPE_ADDR. why gets a sentence for the user. */
enum bind_scope fwd_policy_bind(enum gw_mode gw, const char *req,
		    const char **addr, char *why, size_t whylen);
/* Whether a is an IPv4 or IPv6 address literal: ferryd binds only those,
 * so a request never waits on a resolver in the event loop. */
bool		fwd_addr_is_literal(const char *a);
/* The name of a mode as sshd_config writes it. */
const char	*fwd_gw_name(enum gw_mode gw);
/* PermitOpen / permitopen=: n < 0 allows everything, n == 0 nothing. */
bool		 fwd_permit_open_ok(const struct fwd_permit *v, int n,
		    const char *host, int port);
/* PermitListen / permitlisten=: the entry's host is a glob pattern for
 * the bind address as sent on the wire (sshd's remote_open_match());
 * "8080" alone allows port 8080 on any address. */
bool		 fwd_permit_listen_ok(const struct fwd_permit *v, int n,
		    const char *req, int port);

/* ferryd's decisions on a forward, from plain inputs (the configuration,
 * the authorized_keys line of the key that logged in, the request): a
 * typed answer naming the rule that refused, and the sentence that
 * explains it to the operator and the client. */

/* AllowTcpForwarding / AllowStreamLocalForwarding: the directions. */
enum fwd_dirs {
	FWD_DIRS_NONE,		/* no */
	FWD_DIRS_ALL,		/* yes, all */
	FWD_DIRS_LOCAL,		/* only the client's opens (-L) */
	FWD_DIRS_REMOTE,	/* only the server's listeners (-R) */
};

/* The server's rules. The lists are borrowed from the configuration,
 * which must outlive every call given them. */
struct fwd_srv_rules {
	bool			 disable_forwarding;	/* DisableForwarding */
	enum fwd_dirs		 allow_tcp;
	enum fwd_dirs		 allow_streamlocal;
	/* KeyPermitsCoverStreamLocal: a key with permitopen= gets no
	 * direct-streamlocal, one with permitlisten= no streamlocal-forward */
	bool			 key_permits_cover_sl;
	const struct fwd_permit	*permit_open;		/* PermitOpen */
	int			 npermit_open;		/* -1: any */
	const struct fwd_permit	*permit_listen;		/* PermitListen */
	int			 npermit_listen;	/* -1: any */
	enum gw_mode		 gateway_ports;
};

/* What the authorized_keys line of the key that logged in allows. The
 * decisions only read it; whoever fills it owns file and the lists
 * (ferryd's session frees them with itself). */
struct fwd_key_rules {
	bool			 port_forwarding; /* no no-port-forwarding */
	bool			 restricted;	/* restrict was written */
	char			*file;		/* where the line is */
	int			 line;
	struct fwd_permit	*open;		/* permitopen=, NULL if none */
	int			 nopen;		/* 0: none written, any */
	struct fwd_permit	*listen;	/* permitlisten= */
	int			 nlisten;	/* 0: none written, any */
};

enum fwd_req_kind {
	FWD_REQ_OPEN_TCP,	/* direct-tcpip */
	FWD_REQ_LISTEN_TCP,	/* tcpip-forward */
	FWD_REQ_OPEN_UNIX,	/* direct-streamlocal@openssh.com */
	FWD_REQ_LISTEN_UNIX,	/* streamlocal-forward@openssh.com */
};

/* A request as the peer sent it; name is borrowed for the call. */
struct fwd_req {
	enum fwd_req_kind	 kind;
	const char		*name;		/* host, bind address or path */
	int			 port;		/* TCP only, 0..65535 */
	bool			 want_reply;	/* a port-0 listener needs it */
};

/* The rule that refused a request, or FWD_OK. */
enum fwd_deny {
	FWD_OK,
	FWD_DENY_DISABLE_FORWARDING,	/* DisableForwarding yes */
	FWD_DENY_ALLOW_TCP,		/* AllowTcpForwarding */
	FWD_DENY_ALLOW_STREAMLOCAL,	/* AllowStreamLocalForwarding */
	FWD_DENY_KEY_NO_PORT_FORWARDING, /* the key's line: no-port-forwarding
					 * or restrict */
	FWD_DENY_KEY_PERMITS_COVER_SL,	/* the key's permits name TCP only */
	FWD_DENY_PORT0_NO_REPLY,	/* port 0 without a reply to learn it */
	FWD_DENY_PRIVILEGED_PORT,	/* a listener below 1024 */
	FWD_DENY_PERMIT_LISTEN,		/* PermitListen */
	FWD_DENY_KEY_PERMIT_LISTEN,	/* permitlisten= */
	FWD_DENY_PERMIT_OPEN,		/* PermitOpen */
	FWD_DENY_KEY_PERMIT_OPEN,	/* permitopen= */
	FWD_DENY_BIND_NOT_LITERAL,	/* a bind address needing a resolver */
};

/* Whether req may go ahead, the rules in this order: DisableForwarding,
 * Allow*Forwarding, the key's no-port-forwarding; then for TCP listeners
 * port 0 without a reply, privileged ports, PermitListen, permitlisten=;
 * for TCP opens PermitOpen, permitopen=; for Unix sockets
 * KeyPermitsCoverStreamLocal. */
enum fwd_deny	 fwd_srv_check(const struct fwd_srv_rules *r,
		    const struct fwd_key_rules *k, const struct fwd_req *req);
/* Where a TCP listener binds (fwd_policy_bind under r's GatewayPorts,
 * with *scope, *addr and why as it sets them): FWD_DENY_BIND_NOT_LITERAL
 * when the address to bind is not a literal. */
enum fwd_deny	 fwd_srv_bind(const struct fwd_srv_rules *r,
		    const struct fwd_req *req, enum bind_scope *scope,
		    const char **addr, char *why, size_t whylen);
/* The refusal d of req as a sentence: the request ("remote forward
 * "host":port", "connection to socket path", ...), a colon, the rule. */
void		 fwd_deny_text(enum fwd_deny d, const struct fwd_srv_rules *r,
		    const struct fwd_key_rules *k, const struct fwd_req *req,
		    char *out, size_t outlen);

#endif
