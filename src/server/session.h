/* One client connection of ferryd: publickey authentication against
 * authorized_keys, then the forwards it asks for, each checked against the
 * policy and every refusal explained. */
#ifndef FERRY_SERVER_SESSION_H
#define FERRY_SERVER_SESSION_H

#include <stdbool.h>
#include <uv.h>

#include "fwd/pump.h"
#include "keys/cert.h"
#include "keys/key.h"
#include "server/authcmd.h"
#include "server/config.h"
#include "server/stats.h"

/* The configuration a connection was accepted under: SIGHUP makes a new
 * one for new connections while old ones keep theirs. Refcounted. */
struct server_policy {
	int			 refs;
	struct server_config	 cfg;
	struct key		*hostkeys[SC_MAX_HOSTKEYS];
	int			 nhostkeys;
	/* HostCertificate, each certifying one of hostkeys (owned) */
	struct cert		*hostcerts[SC_MAX_HOSTKEYS];
	int			 nhostcerts;
	/* RevokedKeys as read with cfg (owned), NULL: none */
	struct revoked		*revoked;
	struct authcmd_conf	 akc;		/* AuthorizedKeysCommand */
	struct authcmd_conf	 apc;		/* AuthorizedPrincipalsCommand */
	/* cfg's values for a connection no Match block matches: set by
	 * server_policy_conn_init once cfg is finished and its banners
	 * read */
	struct server_conn_cfg	 conn;
};

void	server_policy_conn_init(struct server_policy *p);

/* What a policy reads besides its configuration: RevokedKeys and who
 * AuthorizedKeysCommand and AuthorizedPrincipalsCommand run as
 * (sess_revoked.c). 0, or -1 with err. */
int	server_policy_load_auth(struct server_policy *p, char *err,
	    size_t errlen);

/* HostCertificate files read and paired with the loaded host keys
 * (hostcerts.c): 0, or -1 with err naming the file. Freed by the free
 * function, which server_policy_unref calls. */
int	server_policy_load_hostcerts(struct server_policy *p, char *err,
	    size_t errlen);
void	server_policy_free_hostcerts(struct server_policy *p);

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
	/* sessions offered compression and not known to have declined it
	 * (MaxCompressedSessions) */
	int		 compress_slots;
	struct user_usage *users;
	/* descriptors held by sessions, tunnels and listeners, and how many
	 * tunnels may use (the rest is kept for logins) */
	struct fwd_usage all;
	size_t		 fd_budget;
	struct srv_stats stats;		/* for status and metrics */
	/* AuthorizedKeysCommand and AuthorizedPrincipalsCommand runs, under
	 * one set of bounds */
	struct authcmd_set cmds;
};

/* Accepts a connection from server under policy. Returns 0 or -1. */
int	session_accept(struct net_loop *nl, uv_stream_t *server,
	    struct server_policy *policy, struct session_list *list);
/* What status shows of a session; valid until the loop runs again. */
struct session_view {
	const char		*user;		/* "" before authentication */
	const char		*key_fp;	/* "" before authentication */
	const char		*ip;
	int			 port;
	time_t			 since;
	bool			 authenticated;
	const struct flow_list	*flows;
};

/* The sessions in the list, newest first: NULL after the last. */
const struct session *session_next(const struct session_list *list,
		    const struct session *prev);
void	session_view(const struct session *s, struct session_view *v);
/* Disconnects every session (SIGTERM). */
void	session_close_all(struct session_list *list, const char *why);

#endif
