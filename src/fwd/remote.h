/* Remote (-R) forwards of the client: tcpip-forward and
 * streamlocal-forward@openssh.com requests, their replies (in order, port
 * 0 answered with the allocated port), and the forwarded-tcpip /
 * forwarded-streamlocal@openssh.com channels the server opens for them:
 * connected to the target, or served as SOCKS for a remote dynamic
 * forward. Forwards come and go at runtime (reload, control socket). */
#ifndef FERRY_FWD_REMOTE_H
#define FERRY_FWD_REMOTE_H

#include <stdbool.h>
#include <uv.h>

#include "fwd/pump.h"
#include "fwd/spec.h"

enum fwd_remote_state {
	RF_IDLE,	/* not requested on this connection */
	RF_REQUESTED,	/* waiting for the reply */
	RF_ACTIVE,
	RF_REFUSED,
};

/* Heap-allocated: a pending request's reply points at it. */
struct fwd_remote {
	struct fwd_remote	*next;
	struct fwd_spec		 spec;
	enum fwd_remote_state	 state;
	int			 port;	/* the listening port (allocated if 0) */
	bool			 doomed;	/* removed; freed at its reply */
	struct fwd_stats	 stats;
	char			 error[200];	/* why it was last refused */
};

struct fwd_remote_set {
	struct fwd_remote	*head;
	int			 pending;	/* requests awaiting a reply */
	struct pump_set		*pumps;
	uv_loop_t		*loop;
	/* PermitRemoteOpen for remote dynamic forwards (n < 0: any) */
	const struct fwd_permit	*permits;
	int			 npermits;
	/* before the lines the user reads ("ALIAS: " or ""); borrowed */
	const char		*tag;
};

void	fwd_remote_set_init(struct fwd_remote_set *rs, struct pump_set *pumps,
	    uv_loop_t *loop);
void	fwd_remote_set_free(struct fwd_remote_set *rs);
/* A new forward, not yet requested. Returns NULL when out of memory. */
struct fwd_remote *fwd_remote_add(struct fwd_remote_set *rs,
		    const struct fwd_spec *spec);
/* Takes a forward away: cancelled on ssh if active (ssh may be NULL when
 * disconnected); one whose request is in flight is freed at its reply. */
void	fwd_remote_remove(struct fwd_remote_set *rs, struct fwd_remote *r,
	    struct ssh_conn *ssh);
/* The address sent in tcpip-forward for a spec (ssh's encoding). */
const char *fwd_remote_bind_address(const struct fwd_spec *s);
/* Sends a forward request for every forward not active or waiting for a
 * reply (all of them on a new connection, the refused ones on a retry);
 * the replies come back as SSH_EV_GLOBAL_REPLY with ud pointing at the
 * forward. */
int	fwd_remote_request_all(struct fwd_remote_set *rs, struct ssh_conn *ssh);
/* Handles the reply for r. Returns 0 if the forward is up, -1 if the
 * server refused it (the reason is logged), 1 if r was removed meanwhile
 * (it is freed now, after a cancel if the server had granted it). */
int	fwd_remote_reply(struct fwd_remote_set *rs, struct fwd_remote *r,
	    const struct ssh_event *ev, struct ssh_conn *ssh);
/* Answers a forwarded-tcpip or forwarded-streamlocal open: connects to
 * the forward's target (or speaks SOCKS), or refuses a channel for a
 * listener we never asked for. */
void	fwd_remote_open(struct fwd_remote_set *rs, struct ssh_event *ev);
/* The connection is gone: every forward must be asked for again. */
void	fwd_remote_reset(struct fwd_remote_set *rs);
bool	fwd_remote_any_refused(const struct fwd_remote_set *rs);
/* Sends the cancel request for every active forward. */
void	fwd_remote_cancel_all(struct fwd_remote_set *rs, struct ssh_conn *ssh);

#endif
