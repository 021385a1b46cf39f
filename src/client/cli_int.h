/* Inside one ferry destination (client.h): the struct the client's files
 * share and what they call of each other. client.c owns the struct's
 * life, the connection and its state; cli_auth.c checks the host key and
 * authenticates; cli_fwd.c runs the forwards, cli_stdio.c -W's channel. */
#ifndef FERRY_CLIENT_CLI_INT_H
#define FERRY_CLIENT_CLI_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "client.h"
#include "fwd/pump.h"
#include "fwd/remote.h"
#include "fwd/spec.h"
#include "hkprompt.h"
#include "keys/known_hosts.h"
#include "net/agent.h"
#include "net/conn.h"
#include "ssh/buf.h"
#include "ssh/ssh.h"

#define EXIT_FAILURE_SSH	255

/* A local (-L) or dynamic (-D) forward: its listener stays bound across
 * reconnects. Owned by the client's lfwds list; freed by cli_lfwd_free,
 * which stops the listener first. */
struct lfwd {
	struct lfwd		*next;
	struct fwd_spec		 spec;		/* a copy */
	/* owned; NULL until started or if it failed. fwd_listener_stop
	 * releases it (its memory goes once its handles are closed). */
	struct fwd_listener	*fl;
	/* counters its pumps add to; pump_forget_stats detaches them
	 * before the forward is freed, as pumps may outlive it */
	struct fwd_stats	 stats;
	char			 error[300];	/* why it failed; "" if not */
};

/* CheckHostIP's part of one host key check (cli_hostip.c): whether it
 * applies, the server's address as known_hosts names it, and what the
 * files say of the server's key under that name. */
struct hostip {
	bool			 on;
	char			 addr[64];	/* numeric */
	char			 name[96];	/* "addr" or "[addr]:port" */
	struct kh_result	 res;
};

enum hostip_verdict {
	HIP_GO,
	HIP_REFUSE,
	HIP_ASKING,	/* a question is on the terminal: the verdict later */
};

/* One identity of the files, as ssh lists them: an IdentityFile's key
 * (its private half loaded, or only the public one), that file's
 * -cert.pub right after it, and the CertificateFile certificates. */
struct file_id {
	const char	*path;	/* borrowed from o; a -cert.pub's is its key's */
	struct key	*key;	/* owned; NULL for a certificate */
	struct cert	*cert;	/* owned; NULL for a plain key */
	bool		 certfile;	/* named by CertificateFile */
	bool		 explicit;	/* named by the user (ssh's word) */
};

#define MAX_FILE_IDS	(3 * MAX_IDENTITIES)

/* One identity to offer (cli_offer.c), borrowed from files and the
 * agent's identities. key is the public key, a certificate's key for a
 * certificate. */
struct offer {
	const char		*label;	/* the file, or the agent's comment */
	const struct key	*key;
	const struct cert	*cert;	/* NULL: a plain key */
	const struct file_id	*file;	/* NULL: only the agent has it */
	const struct agent_id	*agent;	/* NULL: the agent does not list it */
};

/* Everything one destination owns. Allocated by client_new, freed by
 * client_free once the done hook ran: nothing below is then left in the
 * loop (check_done waits for the timers, the connection and the pumps). */
struct client {
	uv_loop_t		*loop;		/* borrowed: nl's */
	struct net_loop		*nl;		/* borrowed: outlives us */
	struct options		*o;		/* owned (client_new takes it) */
	const struct client_hooks *hooks;	/* borrowed: the owner's */
	void			*hooks_ud;	/* borrowed: the owner's */
	enum client_state	 state;
	uint64_t		 state_since;	/* uv_now of the last change */
	int			 reconnects;	/* successful ones */
	char			 last_error[300];
	int			 handles_open;	/* timers not yet closed */
	/* The connection: owned; net_conn_close ends it and on_closed
	 * clears this. NULL between attempts and once closed. */
	struct net_conn		*nc;
	/* The data pumps of every forward; embedded. Its nc follows the
	 * one above; pumps_empty tells check_done when the last is gone. */
	struct pump_set		 pumps;
	/* The identities of the files (cli_auth.c, cli_cert.c), in ssh's
	 * order; loaded once in client_new, freed in client_free, kept
	 * across reconnects. */
	struct file_id		 files[MAX_FILE_IDS];
	int			 nfiles;
	/* Owned; opened per connection attempt, closed once authenticated,
	 * when the connection ends and in stop (cli_drop_agent). */
	struct agent		*agent;
	/* The agent's identities: borrowed from agent, valid while it is
	 * open; reset by connect_now. */
	const struct agent_id	*agent_ids;
	int			 nagent_ids;
	bool			 agent_pending;	/* identities not in yet */
	bool			 auth_waiting;	/* AUTH_READY came first */
	/* What this connection offers, in order (cli_offer.c): built once
	 * the agent answered, freed with the agent (they point into its
	 * identities). offers_built: the list is made (it may be empty). */
	struct offer		*offers;
	int			 noffers;
	int			 next_offer;
	bool			 offers_built;
	struct wb		 sigdata;	/* owned: what the agent signs */
	/* The offer the agent is signing for (in offers) and the
	 * algorithm of its request; NULL when no signature is
	 * outstanding. */
	const struct offer	*signing;
	const char		*signing_alg;
	struct lfwd		*lfwds;		/* owned list, in order given */
	bool			 locals_started; /* lfwds were bound once */
	/* The remote forwards: embedded; their pumps count in pumps. */
	struct fwd_remote_set	 remotes;
	uv_timer_t		 alive;		/* ServerAliveInterval */
	int			 alive_missed;
	int			 exit_code;
	bool			 authenticated;	/* this connection */
	bool			 stopping;	/* stop ran; done will follow */
	/* Reconnect: what each connection attempt needs, and the backoff.
	 * nopts and cfg point into o, portstr and hk_algs. */
	struct net_conn_opts	 nopts;
	struct ssh_config	 cfg;
	char			 portstr[16];
	uv_timer_t		 retry;		/* the next attempt */
	uv_timer_t		 rfwd_retry;	/* refused remote forwards */
	int			 attempt;	/* failed attempts in a row */
	int			 rfwd_attempt;
	bool			 ever_up;	/* a connection authenticated */
	bool			 fatal;		/* never retried (host key) */
	/* said instead of the engine's reason when the connection fails
	 * (static text; NULL: the engine's) */
	const char		*fail_why;
	uint64_t		 down_since;	/* uv_now when it was lost */
	char			*hk_algs;	/* owned: cfg.hostkey_algs */
	/* "ALIAS: " before the lines that concern this host when several
	 * run (client_name_logs), else "" */
	char			 tag[280];
	/* -L/-D listeners that failed to bind, retried under Reconnect */
	uv_timer_t		 lfwd_retry;
	int			 lfwd_attempt;
	/* StrictHostKeyChecking ask: the question on the terminal (the
	 * prompt module's; cli_hostkey_reset cancels it) and a copy of
	 * the key asked about (owned); both NULL when none is asked */
	struct hk_prompt	*hk_prompt;
	struct key		*hk_key;
	/* CheckHostIP's lookup for the key asked about, kept for the
	 * answer */
	struct hostip		 hk_ip;
};

/* client.c */
/* Ends the client: forwards, timers and connection closed, done follows
 * once nothing is left in the loop. why (may be NULL) is logged. */
void		 cli_stop(struct client *cl, int code, const char *why);
/* This connection cannot go on: retried with Reconnect, else stop. */
void		 cli_conn_failed(struct client *cl, const char *why);
/* The delay before the attempt-th retry, in ms, with jitter. */
uint64_t	 cli_backoff_ms(const struct options *o, int attempt);
/* Tells the owner that the state or a forward changed. */
void		 cli_changed(struct client *cl);

/* cli_cert.c */
/* Adds path-cert.pub, if there is one, after the files entry of its
 * key (the last one added); ssh reads it only when no CertificateFile
 * is given. */
void		 cli_load_cert_beside(struct client *cl, const char *path);
/* Adds the CertificateFile certificates. */
void		 cli_load_cert_files(struct client *cl);
/* Adds an entry to files (taking key or c); false, with both freed,
 * when files is full. */
bool		 cli_add_file(struct client *cl, const char *path,
		    struct key *key, struct cert *c, bool certfile);
void		 cli_free_files(struct client *cl);

/* cli_offer.c */
/* Makes offers from files and the agent's identities in ssh's order
 * (OpenSSH 9.2 pubkey_prepare): the CertificateFile certificates, the
 * agent's identities that files list (in the agent's order), the
 * agent's other ones (none with IdentitiesOnly), the rest of files. */
void		 cli_offers_build(struct client *cl);
/* Sends a publickey request for the offer, or asks the agent to sign
 * one; false when it cannot be offered (algorithm, nothing to sign). */
bool		 cli_offer(struct client *cl, const struct offer *of);
/* Closes the agent and drops the offers, which point into it. */
void		 cli_drop_agent(struct client *cl);

/* cli_auth.c */
/* Loads the IdentityFile keys into files (an encrypted PEM or PKCS#8
 * key through cli_key_passphrase), each followed by its -cert.pub, then
 * the CertificateFile certificates. */
void		 cli_load_identities(struct client *cl);
/* cli_pass.c */
/* Asks for the passphrase of the encrypted key file path on /dev/tty (no
 * echo), up to three times as ssh; never with BatchMode, without a
 * terminal, or once the loop runs (o->may_prompt false). Returns 0 with
 * *out, or -1 with err saying why the key is skipped. */
int		 cli_key_passphrase(struct client *cl, const char *path,
		    struct key **out, char *err, size_t errlen);
/* ssh's -v line for a key (alg, what: its file or comment) that
 * PubkeyAcceptedAlgorithms leaves out. */
void		 cli_skip_key(const char *alg, const char *what);
/* Offers the next identity, or fails the connection when none is left. */
void		 cli_try_next_key(struct client *cl);
/* The server refused a key or a method (methods: what it allows). */
void		 cli_auth_failure(struct client *cl, const char *methods);
/* agent_open's callback: the agent's identities are in. */
void		 cli_agent_ready(void *ud, const struct agent_id *ids, int n,
		    const char *err);
/* Shows the server's banner on stderr. */
void		 cli_show_banner(const char *text);

/* cli_hostkey.c */
/* The HostKeyAlgorithms to offer (malloc'd; NULL when out of memory). */
char		*cli_hostkey_algs(const struct client *cl);
/* The name and port known_hosts is searched for (HostKeyAlias or the
 * host name and port); *host points into o. */
void		 cli_kh_lookup_name(const struct options *o, const char **host,
		    int *port);
/* The i-th known_hosts file (user files first), "" for "none", NULL past
 * the last. */
const char	*cli_kh_file(const struct options *o, int i);
/* Logs a text of several lines, each on its own (the log escapes a
 * newline inside one). */
void		 cli_plain_lines(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2)));
/* ssh's warning about a revoked host key (label: "ED25519", ...); the
 * caller refuses the key. */
void		 cli_hostkey_revoked(struct client *cl, const char *label,
		    const char *name);
/* SSH_EV_HOSTKEY: trusts the key, refuses it (logged; never retried), or
 * with StrictHostKeyChecking ask on a terminal defers the verdict until
 * the user answered (net_conn_hostkey_verdict). */
void		 cli_host_key_event(struct client *cl, struct ssh_event *ev);
/* Forgets a question still on the terminal (the connection ended). */
void		 cli_hostkey_reset(struct client *cl);

/* cli_hostcert.c */
enum hc_verdict {
	HC_ACCEPT,	/* a trusted CA certified the host */
	HC_REFUSE,	/* refused outright (revoked, forged): logged */
	HC_PLAIN,	/* not accepted: check the plain key, as ssh does */
};
/* Judges the server's host certificate as ssh does: a CA that an
 * @cert-authority line for the host lists, not @revoked (nor the host
 * key), a host certificate valid now that names the host (or
 * HostKeyAlias), no critical options, and a CA signature that verifies
 * with an algorithm CASignatureAlgorithms allows. */
enum hc_verdict	 cli_hostcert_check(struct client *cl, const struct cert *c);

/* cli_hostip.c: CheckHostIP */
/* Whether ssh would look the server's numeric address addr up: asked
 * for, no proxy, not loopback, not the destination as written. */
bool		 cli_hostip_wanted(const struct options *o, const char *addr);
/* Fills ip for the server's key k (host: the host's own lookup; cert: the
 * server showed a certificate, whose address part follows the host's). */
void		 cli_hostip_lookup(const struct client *cl, const struct key *k,
		    bool cert, const struct kh_result *host, struct hostip *ip);
/* The host's key was known and the address is not: records the key under
 * the address in the first user file, with ssh's line. */
void		 cli_hostip_record(struct client *cl, const struct key *k,
		    const struct hostip *ip);
/* Before ssh's changed-key warning: the DNS spoofing one, when the
 * address's key did not change with the host's (name: the host's
 * known_hosts name). */
void		 cli_hostip_spoofing(const struct client *cl,
		    const struct key *k, const char *name,
		    const struct kh_result *host, const struct hostip *ip);
/* Once the host's key is trusted: a different key listed for the address
 * is warned about; StrictHostKeyChecking decides whether to go on (ask:
 * a yes/no question, whose answer gives net_conn_hostkey_verdict). */
enum hostip_verdict cli_hostip_differs(struct client *cl,
		    const struct key *k, const char *name,
		    const struct kh_result *host, const struct hostip *ip);

/* cli_fwd.c */
/* Appends a forward (not started). Returns 0, or -1 out of memory. */
int		 cli_add_forward(struct client *cl, const struct fwd_spec *spec);
/* Frees every local forward, stopping its listener. */
void		 cli_free_locals(struct client *cl);
/* Once authenticated: binds the local forwards (the first time) and asks
 * for the remote ones. */
void		 cli_start_forwards(struct client *cl);
/* SSH_EV_GLOBAL_REPLY: a remote forward's answer or a keepalive's. */
void		 cli_global_reply(struct client *cl, struct ssh_event *ev);
/* SSH_EV_CHAN_OPEN_REQUEST: a channel the server opens. */
void		 cli_open_request(struct client *cl, struct ssh_event *ev);
/* Schedules the next try of the failed local forwards (failed of them;
 * 0 resets the backoff). */
void		 cli_lfwd_retry(struct client *cl, int failed);
/* Runs the pending retries of forwards now; whether there were any. */
bool		 cli_retry_forwards_now(struct client *cl);

/* cli_stdio.c */
/* ferry -W, once authenticated: opens the stdio channel; ferry stops
 * when it is over (0 if it ended cleanly, else 255). */
void		 cli_stdio_start(struct client *cl);

#endif
