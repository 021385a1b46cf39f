/* The channels a client opens to reach out from a server: direct-tcpip
 * (RFC 4254 7.2: host, port) and direct-streamlocal@openssh.com
 * (OpenSSH's PROTOCOL 2.4: a path). This file reads the request, bounds
 * it, asks the server's rules and hands the channel to a pump that
 * connects; the server role supplies only its decisions, through the
 * callbacks below. */
#ifndef FERRY_FWD_DIRECT_H
#define FERRY_FWD_DIRECT_H

#include <stddef.h>
#include <uv.h>

#include "fwd/policy.h"
#include "fwd/pump.h"
#include "ssh/ssh.h"

/* What the role's socket check found for a direct-streamlocal path. */
enum fwd_sock {
	FWD_SOCK_OK,		/* *fd holds the socket (O_PATH) */
	FWD_SOCK_REFUSED,	/* a rule refuses it; why says which */
	FWD_SOCK_MISSING,	/* nothing there to connect to; why says */
};

/* The role's decisions; ud is the role's. */
struct fwd_direct_ops {
	/* a refused open, as one sentence: the role logs it and tells the
	 * client */
	void		 (*refused)(void *ud, const char *msg);
	/* which socket path p may reach for this user: on FWD_SOCK_OK the
	 * descriptor, which the caller closes */
	enum fwd_sock	 (*socket)(void *ud, const char *path, int *fd,
			    char *why, size_t whylen);
	/* where the open's traffic counts (NULL: nowhere) */
	struct fwd_stats *(*stats)(void *ud, const struct fwd_req *req);
};

/* One connection's direct opens. Embedded in the role's session; every
 * pointer is borrowed and outlives it. */
struct fwd_direct {
	struct pump_set			*pumps;
	uv_loop_t			*loop;
	const struct fwd_srv_rules	*rules;
	const struct fwd_key_rules	*key;
	const struct fwd_direct_ops	*ops;
	void				*ud;
	/* "for USER from ADDRESS", in the pumps' log labels; set by the
	 * role once the user is known */
	char				 who[320];
	/* the refusal message the engine sends after the open request's
	 * handler returned */
	char				 why[200];
};

/* Serves one SSH_EV_CHAN_OPEN_REQUEST of either type: deferred until the
 * connect ends (ev->u.open_request.defer), or refused with the reason
 * and message set in ev. */
void	fwd_direct_tcpip(struct fwd_direct *d, struct ssh_event *ev);
void	fwd_direct_streamlocal(struct fwd_direct *d, struct ssh_event *ev);

#endif
