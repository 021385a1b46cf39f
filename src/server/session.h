/* One client connection of ferryd: publickey authentication against
 * authorized_keys, then the forwards it asks for, each checked against the
 * policy and every refusal explained. */
#ifndef FERRY_SERVER_SESSION_H
#define FERRY_SERVER_SESSION_H

#include <stdbool.h>
#include <uv.h>

#include "fleet/etcd_tls.h"
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
	/* ClusterCAFile, ClusterCertificateFile and ClusterKeyFile as read
	 * (cluster_tls.c; cfg.cluster_tls points here when they were) */
	struct etcd_tls		 cluster_tls;
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

/* With an etcd fleet on https:// members: reads and checks the TLS
 * files (fleet/etcd_tls.h) into p->cluster_tls; TLS files for http://
 * members are an error. 0, or -1 with err naming keyword, file and
 * why. server_policy_unref frees what it read. */
int	server_policy_load_cluster_tls(struct server_policy *p, char *err,
	    size_t errlen);
void	server_policy_ref(struct server_policy *p);
void	server_policy_unref(struct server_policy *p);

struct session;

/* What one user holds across all of its sessions. Owned by the session
 * list; freed with the user's last session. name is the whole user name
 * (as long as the engine takes). */
struct user_usage {
	struct user_usage *next;
	int		 refs;		/* sessions logged in as the user */
	struct fwd_usage u;		/* FWD_ADD and FWD_GET only */
	char		 name[256];
};

struct srv_loop;
struct srv_loops;

/* The daemon's view of its sessions, on every event loop (loops.h).
 * lock guards the members below it but fd_budget and all (which are
 * FWD_ADD/FWD_GET counters), and the parts of each session that other
 * loops read (sess_int.h says which). It is held only briefly and never
 * across a call into another layer, and no other lock is taken under it
 * but the authcmd set's. */
struct session_list {
	uv_mutex_t	 lock;
	struct srv_loops *loops;
	/* who holds which remote TCP forward (registry.h; its own lock) */
	struct registry	*reg;
	/* ClusterBindAddress as read at start (set before the loops serve;
	 * read-only then) */
	char		 wide_bind[64];
	struct session	*head;
	int		 count;
	uint64_t	 next_id;		/* each session's id */
	int		 unauthenticated;	/* for MaxStartups */
	/* sessions offered compression and not known to have declined it
	 * (MaxCompressedSessions) */
	int		 compress_slots;
	struct user_usage *users;
	struct srv_stats stats;		/* for status and metrics */
	/* descriptors held by sessions, tunnels and listeners, and how many
	 * tunnels may use (the rest is kept for logins) */
	struct fwd_usage all;
	size_t		 fd_budget;
	/* AuthorizedKeysCommand and AuthorizedPrincipalsCommand runs, under
	 * one set of bounds (its own lock) */
	struct authcmd_set cmds;
};

/* sesslist.c: 0, or -1 if no lock could be made. */
int	session_list_init(struct session_list *list, struct srv_loops *loops);
void	session_list_destroy(struct session_list *list);
/* On loop 0, for a connection just accepted from ip and port: NULL if
 * PerSourceMaxStartups turns it away (logged) or out of memory; else its
 * session, in the list and counted as unauthenticated from now (for
 * MaxStartups and PerSourceMaxStartups), with a reference to pol, given
 * to the loop with the fewest sessions (session_home), which must then
 * run session_start. */
struct session *session_admit(struct session_list *list,
	    struct server_policy *pol, const char *ip, int port);
struct srv_loop *session_home(const struct session *s);
/* On loop 0: an admitted session that will not start goes. */
void	session_abandon(struct session *s);
int	session_unauthenticated(struct session_list *list);
/* Counts a limit that turned a connection away (status, metrics). */
void	session_list_limit(struct session_list *list, enum limit_kind k);

/* On the session's loop: serves fd, its connection (closed on failure
 * too; the session then goes). Returns 0 or -1. */
int	session_start(struct session *s, uv_os_sock_t fd);
/* What status shows of a session; valid until the loop runs again. */
struct session_view {
	const char		*user;		/* "" before authentication */
	const char		*key_fp;	/* "" before authentication */
	const char		*ip;
	int			 port;
	time_t			 since;
	bool			 authenticated;
	int			 loop;		/* the event loop serving it */
	const struct flow_list	*flows;
};

/* The sessions in the list, newest first: NULL after the last (with the
 * list's lock held). */
const struct session *session_next(const struct session_list *list,
		    const struct session *prev);
void	session_view(const struct session *s, struct session_view *v);
/* Disconnects every session of the calling thread's loop (SIGTERM). */
void	session_close_all(struct session_list *list, const char *why);

/* The fleet registry's drop function (registry.h), on the holder's loop
 * (sess_wide.c): session id of list ctx gives up its fleet-wide forward
 * on port, which another session took (why says whose). */
void	session_wide_drop(void *ctx, uint64_t id, int port, const char *why);

#endif
