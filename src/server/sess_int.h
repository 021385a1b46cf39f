/* Inside a ferryd client connection, shared by the files that serve it:
 *   session.c       its lifetime and its connection's events
 *   sess_auth.c     publickey authentication against authorized_keys
 *   sess_cert.c     user certificates: trusted CAs and principals
 *   sess_akc.c      AuthorizedKeysCommand for a key
 *   sess_apc.c      AuthorizedPrincipalsCommand for a certificate
 *   sess_rfwd.c     remote forwards (tcpip-forward, streamlocal-forward)
 *   sess_direct.c   the channels the client opens (direct-tcpip,
 *                   direct-streamlocal)
 *   sess_listing.c  the session channel, its listing and the refusals
 *   sess_match.c    the Match blocks that apply to it
 * Nothing outside src/server/sess*.c includes this. */
#ifndef FERRY_SERVER_SESS_INT_H
#define FERRY_SERVER_SESS_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <uv.h>

#include "fwd/direct.h"
#include "fwd/policy.h"
#include "fwd/pump.h"
#include "keys/authkeys.h"
#include "net/conn.h"
#include "fwd/listener.h"
#include "server/registry.h"
#include "server/session.h"
#include "ssh/ssh.h"

#define MAX_NOTES		32
#define SESSION_CHAN_NONE	UINT32_MAX

struct cert;
struct sess_apc;
struct sess_greq;
struct srv_loop;
struct server_config;
struct slpath;
struct stat;

/* A global request deferred (a take-over on another loop, a fleet-wide
 * claim), kept to run again; owned by the session. */
struct sess_greq {
	char		 name[64];
	uint8_t		*extra;
	size_t		 len;
	bool		 again;		/* running again: no second wait */
	bool		 wide_done;	/* the fleet's answer came: */
	struct wide_answer wide;
};

/* A remote forward a session holds. The listener is the session's: it
 * is stopped when the forward is cancelled, taken over or when the
 * connection closes (stopping frees it once its handles closed). */
struct rfwd {
	char			 req_host[256];	/* as the client sent it */
	int			 req_port;	/* -1: req_host is a path */
	int			 wide_port;	/* fleet-wide: its port, else 0 */
	struct fwd_listener	*fl;
	struct flow		*flow;		/* its counters, in s->flows */
};

/* One client connection. Owned by the session list, which it is linked
 * into at accept; freed (session_free) once its net_conn closed, both
 * timers closed and its last pump went, since their callbacks use it. */
struct session {
	/* Other loops read, with the list's lock held: next, prev, id,
	 * home, ip, port, authenticated, closing, user, key_fp, since, the
	 * rfwd array (req_host, req_port, where its listener is) and flows;
	 * the session's own loop writes them with the lock held (key_fp
	 * and ip before it links in or logs in). Everything else is its
	 * loop's alone. */
	struct session		*next;		/* the list's, newest first */
	struct session		*prev;
	struct session_list	*list;		/* the daemon's, outlives it */
	struct srv_loop		*home;		/* the loop that serves it */
	uint64_t		 id;		/* unique in the list */
	struct server_policy	*pol;		/* a reference, freed with it */
	/* the values Match blocks may change: pol->conn, or own_cc (owned)
	 * when some block matched; its lists point into pol */
	const struct server_conn_cfg *cc;
	struct server_conn_cfg	*own_cc;
	/* cc as the forwarding decisions read it; its lists point into pol */
	struct fwd_srv_rules	 rules;
	uv_loop_t		*loop;		/* the daemon's */
	/* the connection: it frees itself after on_closed, which sets
	 * nc_closed; NULL only when the accept failed */
	struct net_conn		*nc;
	bool			 nc_closed;
	/* the tunnelled sockets: each pump frees itself and tells on_empty
	 * when the set is empty */
	struct pump_set		 pumps;
	struct fwd_limits	 lim;		/* the pumps' bounds */
	struct user_usage	*user;		/* a reference, after login */
	/* LoginGraceTime and ClientAliveInterval, closed in on_closed;
	 * timers_open counts those whose close callback has not run */
	uv_timer_t		 grace;
	uv_timer_t		 alive;
	/* ChannelTimeout and UnusedConnectionTimeout, after login; idle
	 * counts from unused_since, when the last channel went */
	uv_timer_t		 idle;
	uint64_t		 unused_since;
	int			 timers_open;
	int			 alive_missed;	/* keepalives unanswered */
	bool			 authenticated;
	/* holds one of list->compress_slots: offered compression, and the
	 * first key exchange has not shown it declined */
	bool			 compress_slot;
	bool			 closing;	/* the connection is going */
	char			 ip[64];	/* the peer's */
	int			 port;
	/* the user name asked for, judged at its first auth request (sshd's
	 * "invalid user": no key file, or AllowUsers/DenyUsers refuse) */
	enum { SESS_USER_UNSEEN, SESS_USER_VALID, SESS_USER_INVALID }
				 user_state;
	char			 auth_user[256];
	int			 auth_failures;	/* refused requests */
	bool			 greeted;	/* its SSH version line came */
	time_t			 since;		/* accepted at */
	uint64_t		 epoch;		/* the same on the hybrid
						 * logical clock (util/hlc.h) */
	/* the key that logged in: its line's rules (file, open and listen
	 * are owned) and its fingerprint */
	struct fwd_key_rules	 ak;
	char			 key_fp[128];
	/* the key being tried, owned until sess_auth_keep keeps its rules */
	struct ak_opts		*ak_pending;
	/* an AuthorizedKeysCommand deciding the request the engine holds:
	 * the job (cancelled when the connection goes), a copy of the key
	 * (owned) and what the log lines need */
	struct authcmd_job	*akc_job;
	struct key		*akc_key;
	char			 akc_fp[128];
	bool			 akc_has_sig;
	/* an AuthorizedPrincipalsCommand deciding the request the engine
	 * holds (sess_apc.c; owned, cancelled when the connection goes) */
	struct sess_apc		*apc;
	/* the remote forwards held: an owned array, nrfwd used of rfwd_cap */
	struct rfwd		*rfwd;
	int			 nrfwd;
	int			 rfwd_cap;
	/* what to tell a shell: owned lines, the oldest dropped past
	 * MAX_NOTES */
	char			*notes[MAX_NOTES];
	int			 nnotes;
	/* the session channel (SESSION_CHAN_NONE: none) and its handler,
	 * attached to the connection while the channel is open */
	uint32_t		 session_chan;
	struct net_chan		 session_nch;
	bool			 shell;		/* the listing was asked for */
	struct flow_list	 flows;		/* status: forwards, traffic */
	/* the channels it opens out from here, once logged in */
	struct fwd_direct	 direct;
	/* a global request deferred while another loop gives up a forward
	 * this one takes over (sess_rfwd.c; owned) */
	struct sess_greq	*greq;
};

/* A handler chosen by its name from a table ended by a NULL name: the
 * global requests, the session channel's requests. */
struct sess_handler {
	const char	*name;
	void		(*fn)(struct session *s, struct ssh_event *ev);
};

/* The functions the files share; each is described where it is
 * defined. */

/* sess_takeover.c: ReclaimForwards. 0: nothing in the way, 1: ev
 * deferred while another loop gives the forward up, -1: refused */
int		 sess_reclaim_tcp(struct session *s, struct ssh_event *ev,
		    const char *host, int port, const char *what);
int		 sess_reclaim_socket(struct session *s, struct ssh_event *ev,
		    const char *canon, const struct stat *st, const char *what);
/* the user (copied to out) whose forward listens on the socket st, or
 * NULL */
const char	*sess_sl_holder_user(struct session *s, const struct stat *st,
		    char *out, size_t outlen);
void		 sess_greq_free(struct session *s);
int		 sess_greq_save(struct session *s, struct ssh_event *ev);
void		 sess_greq_rerun(struct session *s);
/* the session id of the list (NULL: none); from any loop, but only its
 * own loop may use it after */
struct session	*sess_find(struct session_list *list, uint64_t id);

/* sess_wide.c: fleet-wide forwards (ClusterRegistry). Whether a forward
 * of scope is one, and then where it binds (ClusterBindAddress); its
 * claim: 0 when s holds *port now, 1 when ev waits for the answer, -1
 * refused (told); its release. */
bool		 sess_wide_place(struct session *s, enum bind_scope *scope,
		    const char **addr);
int		 sess_wide_claim(struct session *s, struct ssh_event *ev,
		    const char *host, int *port, const char *what);
void		 sess_wide_release(struct session *s, int port);

/* sesslist.c: the session in the shared list (lock held inside) */
void		 sess_list_remove(struct session *s);
int		 sess_list_logged_in(struct session *s);
void		 sess_set_closing(struct session *s, bool closed);
void		 sess_list_refusal(struct session *s, const char *msg);

/* session.c */
struct ssh_conn	*sess_ssh(struct session *s);
void		 sess_end(struct session *s, enum ssh_disc code,
		    const char *msg, const char *why);
const struct sess_handler *sess_handler_find(const struct sess_handler *t,
		    const char *name);

/* sess_auth.c */
void		 sess_auth_request(struct session *s, struct ssh_event *ev);
int		 sess_auth_keep(struct session *s);
void		 sess_auth_judge(struct session *s, const char *user);
void		 sess_who(const struct session *s, char *out, size_t outlen);
void		 sess_auth_log_close(struct session *s, enum net_end end,
		    const char *why);
int		 sess_keys_path(const struct server_config *c,
		    const char *tmpl, const char *user, char *out,
		    size_t outlen);

/* sess_cert.c: sess_cert_allow may defer the verdict (it sets the
 * event's defer, and returns false) */
bool		 sess_cert_allow(struct session *s, struct ssh_event *ev,
		    const struct cert *c, const char *desc);
bool		 sess_cert_authkeys(struct session *s, const struct cert *c);
bool		 sess_cert_finish(struct session *s, const struct cert *c,
		    const char *desc, const char *principal);
bool		 sess_cert_any_user(const struct session *s);
void		 sess_cert_describe(const struct cert *c, char *out,
		    size_t outlen);

/* what: the key as sshd names it ("ED25519 SHA256:..."), fp its
 * fingerprint */
void		 sess_auth_refused(struct session *s, const char *what);
void		 sess_auth_accepted(struct session *s, const char *what,
		    const char *fp, bool has_sig);

/* sess_revoked.c: key is the key that signs (a certificate's own key),
 * cert the certificate or NULL */
struct cert;
bool		 sess_revoked(const struct session *s, const struct key *key,
		    const struct cert *cert);

/* sess_akc.c */
int		 sess_akc_start(struct session *s, struct ssh_event *ev,
		    const char *fp);
void		 sess_akc_end(struct session *s);

/* sess_apc.c: desc is sess_cert_describe's */
int		 sess_apc_start(struct session *s, struct ssh_event *ev,
		    const struct cert *c, const char *desc);
void		 sess_apc_end(struct session *s);

/* sess_rfwd.c */
void		 sess_rfwd_request(struct session *s, struct ssh_event *ev);
void		 sess_rfwd_stop_all(struct session *s);
void		 sess_rfwd_drop(struct session *s, struct rfwd *f);
int		 sess_sl_place(struct session *s, const char *path,
		    bool create, struct slpath *p, char *canon,
		    size_t canonlen, char *why, size_t whylen);

/* sess_match.c: applies the Match blocks for the connection (user NULL
 * until it is named). 0, or -1 out of memory. */
int		 sess_match_apply(struct session *s, const char *user);

/* sess_direct.c */
void		 sess_open_request(struct session *s, struct ssh_event *ev);
void		 sess_direct_init(struct session *s);

/* sess_listing.c */
bool		 sess_listing_open(struct session *s, struct ssh_event *ev);
void		 sess_note(struct session *s, const char *line);
void		 sess_refuse(struct session *s, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
void		 sess_refuse_rule(struct session *s, enum fwd_deny d,
		    const struct fwd_req *req);

#endif
