/* ferryd's configuration: sshd(8) flags and sshd_config(5) keywords that
 * matter to a tunnel-only server. An unknown keyword or a bad value is an
 * error naming the file and line; the first value obtained for a keyword
 * wins, as in sshd (command line -o first). */
#ifndef FERRY_SERVER_CONFIG_H
#define FERRY_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fwd/policy.h"

#define SC_MAX_LISTEN	16
#define SC_MAX_HOSTKEYS	8
#define SC_MAX_PERMITS	64
#define SC_MAX_AKFILES	8
#define SC_MAX_NOTES	96
#define SC_MAX_USERPATS	256	/* sshd's bound on AllowUsers words */
#define SC_MAX_CHAN_TIMEOUTS	16
#define SC_MAX_CMD_ARGS		64	/* AuthorizedKeysCommand's words */
#define SC_MAX_MATCH		64	/* Match blocks in all files */
#define MAX_EVENT_LOOPS		64	/* EventLoops (SRV_LOOPS_MAX) */
#define SC_MAX_CRITERIA		8	/* criteria on one Match line */
/* Include: how deep files may include files (sshd's bound), and where a
 * relative pattern is looked for (sshd's) */
#define SC_MAX_INCLUDE_DEPTH	16
#define SSHD_INCLUDE_DIR	"/etc/ssh"

enum gateway_ports {
	GW_NO,
	GW_YES,
	GW_CLIENTSPECIFIED,
};

/* AllowTcpForwarding / AllowStreamLocalForwarding */
enum allow_fwd {
	FWD_ALLOW_NO,
	FWD_ALLOW_ALL,		/* "yes" and "all" */
	FWD_ALLOW_LOCAL,	/* only -L (direct-tcpip) */
	FWD_ALLOW_REMOTE,	/* only -R (tcpip-forward) */
};

/* ChannelTimeout: a channel type pattern and its idle time in seconds
 * (0: none). */
struct sc_chan_timeout {
	char	 type[64];
	int	 secs;
};

struct sc_match;	/* a Match block (config_match.c) */
struct etcd_tls;	/* fleet/etcd_tls.h */

/* Ownership: the struct owns every string it points at (listen,
 * hostkeys, hostcerts, authorized_keys, the algorithm lists and the other char *
 * fields), all freed by server_config_free; noeffect points into the
 * static keyword table. Between server_config_init and
 * server_config_finish a value not given yet is unset (-1 for an int,
 * FWD_PERMIT_UNSET for a permission list, NULL for a string) so that the
 * first one given wins; after finish every field holds a value and the
 * struct is read-only to its users. */
struct server_config {
	int		 ports[SC_MAX_LISTEN];	/* Port (default 22) */
	int		 nports;
	char		*listen[SC_MAX_LISTEN];	/* ListenAddress host[:port] */
	int		 nlisten;
	char		*hostkeys[SC_MAX_HOSTKEYS];	/* HostKey */
	int		 nhostkeys;
	char		*hostcerts[SC_MAX_HOSTKEYS];	/* HostCertificate */
	int		 nhostcerts;
	/* AuthorizedKeysFile: tried in order; %u the user, %h and a
	 * relative path StateDirectory, %%; "none" entries are skipped */
	char		*authorized_keys[SC_MAX_AKFILES];
	int		 nauthorized_keys;
	/* algorithm lists as sshd assembles them (+ - ^ and patterns):
	 * after server_config_finish never NULL, the defaults unless set */
	char		*ciphers;
	char		*macs;
	char		*kex_algs;
	char		*hostkey_algs;
	char		*pubkey_algs;		/* PubkeyAcceptedAlgorithms */
	char		*ca_sign_algs;		/* CASignatureAlgorithms */
	/* Compression: 1 (yes, delayed: zlib@openssh.com once the client
	 * authenticated, as sshd) or 0 (no) */
	int		 compression;
	/* keywords given that have no effect in ferryd (table names, not
	 * owned), each once: ferryd -d says so */
	const char	*noeffect[SC_MAX_NOTES];
	int		 nnoeffect;
	/* algorithms sshd knows that an algorithm keyword named and ferryd
	 * lacks, one "Keyword: names" line each (owned; NULL: none): ferryd
	 * -d says they were left out */
	char		*algs_left_out;
	int		 include_depth;	/* Include files being read */
	char		*state_dir;		/* where a generated host key goes */
	enum gateway_ports gateway_ports;
	enum allow_fwd	 allow_tcp_forwarding;
	bool		 disable_forwarding;	/* DisableForwarding yes */
	/* local: direct-streamlocal, remote: streamlocal-forward */
	enum allow_fwd	 allow_streamlocal_forwarding;
	int		 streamlocal_bind_unlink;	/* 0 or 1 */
	int		 streamlocal_bind_mask;		/* umask, 0177 */
	/* StreamLocalDirectory: where each user's Unix-socket paths live
	 * (%u, %%; relative: under state_dir), or "none" (any absolute
	 * path, sshd's rule; unsafe with several users) */
	char		*streamlocal_dir;
	/* KeyPermitsCoverStreamLocal: a key with permitopen= gets no
	 * direct-streamlocal, one with permitlisten= no streamlocal-forward */
	int		 key_permits_cover_sl;		/* 0 or 1 */
	/* a newer session of the same user and key takes over a remote
	 * forward an older one still holds (a client that reconnects) */
	int		 reclaim_forwards;		/* 0 or 1 */
	/* PermitOpen / PermitListen: any (npermit -1), none (0), a list */
	struct fwd_permit permit_open[SC_MAX_PERMITS];
	int		 npermit_open;		/* -1: any */
	struct fwd_permit permit_listen[SC_MAX_PERMITS];
	int		 npermit_listen;	/* -1: any */
	int		 client_alive_interval;	/* seconds, 0 off */
	/* ChannelTimeout: the first type pattern matching a channel's type
	 * gives its idle time in seconds (0: none); as written, for -T */
	struct sc_chan_timeout chan_timeouts[SC_MAX_CHAN_TIMEOUTS];
	int		 nchan_timeouts;	/* -1 until set */
	char		 chan_timeouts_text[512];
	/* UnusedConnectionTimeout: seconds without a channel after login
	 * (0 none) */
	int		 unused_connection_timeout;
	int		 client_alive_count_max;
	int		 login_grace_time;	/* seconds, 0 none */
	int		 max_startups_begin;	/* MaxStartups start:rate:full */
	int		 max_startups_rate;
	int		 max_startups_full;
	/* PerSourceMaxStartups (0: none) over sources grouped by
	 * PerSourceNetBlockSize's prefix lengths */
	int		 per_source_max_startups;
	int		 per_source_v4_bits;
	int		 per_source_v6_bits;
	int		 max_auth_tries;
	int		 required_rsa_size;	/* RequiredRSASize, bits */
	int		 max_sessions;		/* channels per connection */
	int		 max_listeners;		/* tcpip-forwards per connection */
	/* EventLoops: loops serving sessions (0 in the file: one per
	 * online CPU, resolved by server_config_finish) */
	int		 event_loops;
	/* bounds on what one user can make ferryd hold (0: none) */
	int		 forward_connect_timeout;	/* seconds, direct-* */
	int		 max_pending_connects;	/* per user, in progress */
	int		 max_user_channels;	/* per user, tunnelled sockets */
	/* connections that may compress at once (0: none does): each holds
	 * zlib's state and an inflate store once authenticated */
	int		 max_compressed;
	int		 max_forward_connections;	/* per -R listener */
	int		 log_level;		/* enum log_level of util/log.h */
	char		*user;			/* drop to this user when root */
	char		*pid_file;
	char		*control_socket;	/* ControlSocket, "none" */
	char		*metrics_listen;	/* MetricsListen addr:port */
	/* the fleet (issue 14; server/fleet.h): ClusterRegistry "none" or
	 * etcd:URL[,URL...], ClusterNodeName, ClusterBindAddress "any" or
	 * an address literal, ClusterPortRange (0 0: none),
	 * ClusterLeaseTime in seconds, ClusterPrefix */
	char		*cluster_registry;
	char		*cluster_node_name;
	char		*cluster_bind_address;
	int		 cluster_port_low;
	int		 cluster_port_high;
	int		 cluster_lease_time;
	char		*cluster_prefix;
	/* TLS to https:// members: ClusterCAFile, ClusterCertificateFile,
	 * ClusterKeyFile (absolute paths or "none"), and their text as
	 * ferryd read them (server/cluster_tls.c; the policy's, not owned
	 * here; NULL: not read) */
	char		*cluster_ca_file;
	char		*cluster_cert_file;
	char		*cluster_key_file;
	const struct etcd_tls *cluster_tls;
	/* AllowUsers / DenyUsers words (server/users.h), every line's
	 * appended as sshd does; owned */
	char		*allow_users[SC_MAX_USERPATS];
	int		 nallow_users;
	char		*deny_users[SC_MAX_USERPATS];
	int		 ndeny_users;
	/* SyslogFacility as written (AUTH by default), where the log goes
	 * without -e */
	char		*syslog_facility;
	/* Banner: a file sent before authentication, or "none"; its text
	 * as the daemon read it (ferryd.c, NULL: none), owned */
	char		*banner;
	/* RevokedKeys: a KRL or a list of keys, read when the configuration
	 * loads (keys/revoked.h); NULL or "none": none */
	char		*revoked_keys;
	/* AuthorizedKeysCommand as split into words (owned; 0 words: none),
	 * its %-tokens expanded per word when it runs (server/authcmd.h),
	 * and AuthorizedKeysCommandUser (NULL: unset) */
	char		*akc_argv[SC_MAX_CMD_ARGS];
	int		 akc_argc;
	char		*akc_user;
	/* AuthorizedPrincipalsCommand and AuthorizedPrincipalsCommandUser,
	 * the same way (its output read as AuthorizedPrincipalsFile lines
	 * for a certificate of a TrustedUserCAKeys CA) */
	char		*apc_argv[SC_MAX_CMD_ARGS];
	int		 apc_argc;
	char		*apc_user;
	/* TrustedUserCAKeys: a file of CA keys whose user certificates
	 * are accepted, or "none"; AuthorizedPrincipalsFile: the names a
	 * certificate may log in under (%u %h %%, relative to
	 * StateDirectory), or "none" (the user name must be a principal) */
	char		*trusted_ca_keys;
	char		*principals_file;
	char		*banner_text;
	/* Match blocks in file order, owned; cur_match is the block the
	 * lines being read go to (-1: the global values) */
	struct sc_match	*match[SC_MAX_MATCH];
	int		 nmatch;
	int		 cur_match;
};

/* What a Match line is tested against (sshd's connection info): NULL or
 * -1 is not known, and a criterion on something not known does not match
 * (sshd -T -C's rule; at run time, a User criterion before the user is
 * named). ferryd resolves no names: at run time host is the client's
 * address. */
struct sc_conninfo {
	const char	*user;
	const char	*host;
	const char	*addr;
	const char	*laddr;
	int		 lport;
};

/* The values of the keywords a Match block can change that ferryd uses
 * for one connection. Borrowed: the pointers point into the global
 * configuration or a Match block, which live as long as the config. */
struct server_conn_cfg {
	enum allow_fwd	 allow_tcp_forwarding;
	enum allow_fwd	 allow_streamlocal_forwarding;
	bool		 disable_forwarding;
	enum gateway_ports gateway_ports;
	int		 streamlocal_bind_unlink;
	int		 streamlocal_bind_mask;
	int		 client_alive_interval;
	int		 client_alive_count_max;
	int		 max_auth_tries;
	int		 required_rsa_size;
	int		 max_sessions;
	int		 unused_connection_timeout;
	const struct sc_chan_timeout *chan_timeouts;
	int		 nchan_timeouts;
	const char	*chan_timeouts_text;
	const struct fwd_permit *permit_open;
	int		 npermit_open;		/* -1: any */
	const struct fwd_permit *permit_listen;
	int		 npermit_listen;	/* -1: any */
	char *const	*authorized_keys;
	int		 nauthorized_keys;
	const char	*banner;		/* as written */
	const char	*banner_text;		/* NULL: none */
	const char	*pubkey_algs;
	const char	*ca_sign_algs;
	uint64_t	 matched;	/* bit i: Match block i applied */
};

void	server_config_init(struct server_config *c);
void	server_config_free(struct server_config *c);
/* Applies one "Keyword value" line; where names the source ("command
 * line", "file line 3") and starts every error message. Returns 0, or -1
 * with the message in err. */
int	server_config_line(struct server_config *c, const char *line,
	    const char *where, char *err, size_t errlen);
/* Reads a file; missing is an error when required. */
int	server_config_file(struct server_config *c, const char *path,
	    bool required, char *err, size_t errlen);
/* Reads len bytes of text (no NUL needed) as the file fname. */
int	server_config_text(struct server_config *c, const char *text,
	    size_t len, const char *fname, char *err, size_t errlen);
/* Defaults for everything unset (sshd's: Port 22, GatewayPorts no,
 * AllowTcpForwarding yes, MaxStartups 10:30:100, MaxAuthTries 6,
 * LoginGraceTime 120, ClientAliveCountMax 3, AuthorizedKeysFile
 * .ssh/authorized_keys). */
int	server_config_finish(struct server_config *c, char *err, size_t errlen);
/* Prints the effective configuration as sshd -T does (lowercase keywords). */
void	server_config_print(const struct server_config *c, FILE *fp);
/* The values for a connection described by ci (sshd's rule, see
 * config_match.c): the global values, each replaced by the first value a
 * matching Match block gives. c is finished. Returns how many blocks
 * matched (0: out holds c's own values). */
int	server_conn_resolve(const struct server_config *c,
	    const struct sc_conninfo *ci, struct server_conn_cfg *out);
/* ferryd -T -C: prints what a connection described by ci gets. */
void	server_config_print_conn(const struct server_config *c,
	    const struct sc_conninfo *ci, FILE *fp);
/* Parses -C's "user=U,host=H,addr=A,laddr=L,lport=P" into ci, whose
 * strings point into spec (modified). 0, or -1 with the reason. */
int	server_conninfo_parse(char *spec, struct sc_conninfo *ci, char *err,
	    size_t errlen);
/* The configuration of Match block i (0..nmatch-1), to load its Banner,
 * and where its Match line is ("FILE line N"). */
struct server_config *server_config_match_cfg(const struct server_config *c,
	    int i);
const char	*server_config_match_where(const struct server_config *c,
	    int i);
/* Logs (verbose) each keyword given that has no effect in ferryd. */
void	server_config_log_notes(const struct server_config *c);
/* SIGHUP: the Cluster* keywords are read at start only; logs the ones
 * whose value in now differs from start's (config_cluster.c). */
void	sc_cluster_reload_note(const struct server_config *start,
	    const struct server_config *now);

#endif
