/* One client connection of ferryd: publickey authentication against
 * authorized_keys, then the forwards it asks for, each checked against the
 * policy and every refusal explained. */
#ifndef FERRY_SERVER_SESSION_H
#define FERRY_SERVER_SESSION_H

#include <stdbool.h>
#include <uv.h>

#include "fwd/pump.h"
#include "keys/key.h"
#include "server/config.h"

/* The configuration a connection was accepted under: SIGHUP makes a new
 * one for new connections while old ones keep theirs. Refcounted. */
struct server_policy {
	int			 refs;
	struct server_config	 cfg;
	struct key		*hostkeys[SC_MAX_HOSTKEYS];
	int			 nhostkeys;
};

void	server_policy_ref(struct server_policy *p);
void	server_policy_unref(struct server_policy *p);

struct session;

/* What one user holds across all of its sessions. Owned by the session
 * list; freed with the user's last session. */
struct user_usage {
	struct user_usage *next;
	int		 refs;		/* sessions logged in as the user */
	struct fwd_usage u;
	char		 name[64];
};

/* The daemon's view of its sessions. */
struct session_list {
	struct session	*head;
	int		 count;
	int		 unauthenticated;	/* for MaxStartups */
	struct user_usage *users;
	/* descriptors held by sessions, tunnels and listeners, and how many
	 * tunnels may use (the rest is kept for logins) */
	struct fwd_usage all;
	size_t		 fd_budget;
};

/* Accepts a connection from server under policy. Returns 0 or -1. */
int	session_accept(uv_loop_t *loop, uv_stream_t *server,
	    struct server_policy *policy, struct session_list *list);
/* Disconnects every session (SIGTERM). */
void	session_close_all(struct session_list *list, const char *why);

#endif
