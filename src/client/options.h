/* ferry's options: ssh(1)'s command line flags, -o keywords and
 * ssh_config(5) files, with ssh's rule that the first value obtained for a
 * keyword wins (command line first, then the files in order).
 *
 * A struct options is filled in two stages. Reading (options_parse_args,
 * options_apply_*, readconf.c) records the first value of each keyword;
 * options_finish then fills in the defaults and resolves what was read
 * into the typed fields that client.c, supervisor.c and main.c use.
 *
 *   optargs.c    the command line
 *   optkw.c      ferry's ssh_config keywords (sshkw.c: ssh's others)
 *   optfinish.c  defaults and resolution (optexpand.c: %-tokens and ~)
 *   optprint.c   -G and the connection settings a reload compares
 *   options.c    the life of a struct options, forwards, host patterns */
#ifndef FERRY_CLIENT_OPTIONS_H
#define FERRY_CLIENT_OPTIONS_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fwd/policy.h"
#include "fwd/spec.h"
#include "net/connector.h"
#include "util/log.h"

#define MAX_IDENTITIES	32
#define MAX_FORWARDS	256
#define MAX_KH_FILES	8
#define MAX_PERMITS	64

/* StrictHostKeyChecking */
enum strict_hk {
	SHK_NO,
	SHK_YES,
	SHK_ACCEPT_NEW,
	SHK_ASK,
};

/* AddressFamily (-4, -6): the AF_ constant the sockets are given. */
enum addr_family {
	AFAM_ANY = AF_UNSPEC,
	AFAM_INET = AF_INET,
	AFAM_INET6 = AF_INET6,
};

/* A keyword of struct options_parsed that has no value yet. */
#define OPT_UNSET	(-1)

/* The yes/no and multi-valued keywords as read: OPT_UNSET until the
 * first value obtained, which wins; then 0 or 1 for a yes/no keyword, the
 * enum's value for the others. options_finish resolves each into the
 * field of the same name in struct options. Only reading uses these. */
struct options_parsed {
	int		 batch_mode;
	int		 check_host_ip;
	int		 compression;	/* -C, Compression */
	int		 exit_on_forward_failure;
	int		 gateway_ports;	/* -g, GatewayPorts */
	int		 hash_known_hosts;
	int		 identities_only;
	int		 reconnect;
	int		 stream_local_bind_unlink;
	int		 tcp_keepalive;
	int		 strict;	/* enum strict_hk */
	int		 family;	/* enum addr_family ("any": unset) */
	int		 log_level;	/* enum log_level; -q, -v */
};

struct sshkw_value;

/* One host's options. Every pointer is owned by the struct (malloc'd
 * strings, the sshkw array) and freed by options_free. A number "-1
 * unset" keeps -1 until options_finish gives it its default; the fields
 * after parsed are set by options_finish alone, so they mean something
 * only once it succeeded. */
struct options {
	/* destination */
	char		*host;		/* as typed: the known_hosts name */
	char		*hostname;	/* HostName: where to connect */
	char		*user;
	int		 port;		/* -1 until set */

	char		*identity[MAX_IDENTITIES];
	int		 nidentity;
	bool		 identity_given;
	/* CertificateFile as written (printed so by -G), and with ~ and
	 * %-tokens expanded by options_expand */
	char		*certificate[MAX_IDENTITIES];
	char		*certificate_path[MAX_IDENTITIES];
	int		 ncertificate;

	/* UserKnownHostsFile (new keys go to the first) and
	 * GlobalKnownHostsFile; each count follows its array (optkw.c) */
	char		*known_hosts[MAX_KH_FILES];
	int		 nknown_hosts;
	char		*global_known_hosts[MAX_KH_FILES];
	int		 nglobal_known_hosts;
	/* HostKeyAlias, lower case once finished: the known_hosts name
	 * instead of the host's; NULL if none */
	char		*host_key_alias;
	/* RevokedHostKeys as written: ssh 9.2 expands neither ~ nor tokens
	 * in it. NULL if none ("none" is made NULL by options_finish). */
	char		*revoked_host_keys;
	/* The algorithm keywords as ssh assembles them (+, -, ^, patterns)
	 * less the names ferry does not implement, in ssh's order; NULL:
	 * the default (optalgs.c). hostkey_algs NULL also means the
	 * known_hosts order; ca_sign_algs: what a host certificate's CA
	 * may have signed with. */
	char		*ciphers;	/* Ciphers, -c */
	char		*macs;		/* MACs, -m */
	char		*kex_algs;	/* KexAlgorithms */
	char		*hostkey_algs;	/* HostKeyAlgorithms */
	char		*pubkey_algs;	/* PubkeyAcceptedAlgorithms */
	char		*ca_sign_algs;	/* CASignatureAlgorithms */
	/* "Keyword: names\n" for each list that left names out (-v) */
	char		*algs_left_out;
	int		 required_rsa_size;	/* RequiredRSASize, -1 unset */
	int64_t		 rekey_bytes;	/* -1 unset, 0 default */
	int		 rekey_seconds;	/* RekeyLimit's time, for -G */
	int		 connect_timeout;	/* seconds, -1 unset */
	int		 connection_attempts;	/* -1 unset, then >= 1 */

	/* -L and -D (kind FWD_DYNAMIC), in the order given */
	struct fwd_spec	 local[MAX_FORWARDS];
	int		 nlocal;
	struct fwd_spec	 remote[MAX_FORWARDS];
	int		 nremote;
	/* PermitRemoteOpen: where remote dynamic forwards may connect;
	 * FWD_PERMIT_UNSET while reading, then -1 any, 0 none */
	struct fwd_permit permit_remote_open[MAX_PERMITS];
	int		 npermit_remote_open;
	int		 stream_local_bind_mask;	/* -1 unset */
	/* Reconnect's backoff */
	int		 reconnect_delay_ms;	/* first delay, -1 unset */
	int		 reconnect_max_delay_ms;	/* the cap, -1 unset */
	int		 server_alive_interval;	/* seconds, -1 unset */
	int		 server_alive_count_max;	/* -1 unset */
	char		*identity_agent;	/* NULL: no agent */

	char		*control_path;	/* -S / ControlPath: the control socket */
	/* ProxyCommand as written (tokens unexpanded) and ProxyJump (-J);
	 * the first obtained of the two wins, "none" included */
	char		*proxy_command;
	char		*proxy_jump;
	char		*bind_address;		/* -b / BindAddress */
	char		*bind_interface;	/* -B / BindInterface */
	/* the command that carries the connection, tokens expanded, with
	 * ProxyJump made into ferry -W as ssh does (client/jump.h); NULL:
	 * connect directly. Set by options_expand. */
	char		*proxy_run;
	char		*ignore_unknown;	/* IgnoreUnknown patterns */
	/* ssh_config keywords ferry accepts without acting on them (an
	 * array of nsshkw, each owning its arguments; sshkw_free) */
	struct sshkw_value *sshkw;
	int		 nsshkw;
	char		*metrics_listen;	/* MetricsListen host:port */
	char		*config_file;	/* -F */
	char		*log_file;	/* -E */
	bool		 no_shell;	/* -N: the only mode ferry has */
	bool		 background;	/* -f: once every forward is up */
	bool		 stdin_null;	/* -n */
	bool		 use_syslog;	/* -y */
	char		*mux_command;	/* -O: check, forward, cancel... */
	/* the session flags given (-a -A -k -K -t -x -X -Y), said at -v:
	 * ferry opens no session */
	char		 session_flags[16];
	/* -W host:port: stdin and stdout forwarded there (NULL: not -W);
	 * implies ClearAllForwardings and no Reconnect (options_finish) */
	char		*stdio_host;
	int		 stdio_port;
	bool		 print_config;	/* -G */
	/* the host's keys are read before the event loop runs (a host of
	 * the command line), so a key's passphrase may be asked then */
	bool		 may_prompt;

	/* what reading obtained, for options_finish */
	struct options_parsed parsed;

	/* resolved by options_finish from parsed, defaults filled in */
	bool		 batch_mode;
	bool		 check_host_ip;	/* CheckHostIP (cli_hostip.c) */
	bool		 compression;	/* offer zlib@openssh.com first */
	bool		 exit_on_forward_failure;
	bool		 gateway_ports;
	bool		 hash_known_hosts;
	bool		 identities_only;
	bool		 reconnect;	/* retry a lost connection */
	bool		 stream_local_bind_unlink;
	bool		 tcp_keepalive;
	enum strict_hk	 strict;
	enum addr_family family;
	enum log_level	 log_level;
	struct connector_src src;	/* from bind_address, bind_interface */
};

void	options_init(struct options *o);
void	options_free(struct options *o);
/* Parses argv. Returns 0, or -1 with a message in err. */
int	options_parse_args(struct options *o, int argc, char **argv,
	    char *err, size_t errlen);
/* Applies one "Keyword value" or "Keyword=value" line (from -o or a
 * file). where names the source for errors ("command line", "file:12").
 * Returns 0, or -1 with err. */
int	options_apply_line(struct options *o, const char *line,
	    const char *where, char *err, size_t errlen);
/* The longest command a raw keyword keeps. */
#define CMDLINE_MAX	4096
struct cfgtok_line;
/* The words of a line raw split into tl: w[0] the keyword, then its
 * arguments, or for a raw keyword the arguments as written, in rest.
 * Returns the number of words, or -1 if rest is too small. */
int	options_line_words(const char *raw, const struct cfgtok_line *tl,
	    char **w, char *rest, size_t restlen);
/* Applies a split line: w[0] the keyword (ferry's, or one of ssh's that
 * sshkw.c accepts; Host, Match and Include are for files only), w[1..n-1]
 * its arguments. Returns 0, or -1 with "where: why" in err. */
int	options_apply_words(struct options *o, char **w, int n,
	    const char *where, char *err, size_t errlen);
/* The check of a line in a block that does not apply: the keyword must be
 * known (or ignored by IgnoreUnknown), values ssh always refuses are
 * refused. */
int	options_check_words(struct options *o, char **w, int n,
	    const char *where, char *err, size_t errlen);
/* Adds a forward written as -L, -R or -D take it, unless o has it
 * already. Returns 0, or -1 with err. */
int	options_add_forward(struct options *o, enum fwd_kind kind,
	    const char *spec, char *err, size_t errlen);
/* HostName with %h expanded (the host as typed without one), in lower
 * case as ssh connects to it (optexpand.c). */
int	options_expand_hostname(const struct options *o, char *out,
	    size_t outlen, char *err, size_t errlen);
/* ~ and %-tokens in IdentityFile, UserKnownHostsFile, ControlPath,
 * IdentityAgent and forward socket paths, with the final values, and
 * proxy_run (optexpand.c; called by options_finish). */
int	options_expand(struct options *o, char *err, size_t errlen);
/* Whether ssh keeps keyword's arguments as written, quotes and all (the
 * commands: ProxyCommand, LocalCommand, RemoteCommand,
 * KnownHostsCommand). */
bool	options_raw_keyword(const char *keyword);
/* Fills in defaults once everything was read and resolves parsed into
 * the typed fields. Returns 0, or -1 with err. */
int	options_finish(struct options *o, char *err, size_t errlen);
/* optalgs.c: an algorithm keyword's value (spec) read as ssh reads it
 * against k's vocabulary (ssh/alglist.h), where patterns says whether ssh
 * takes '*' and '?' in a list that is not "-" (only for key
 * algorithms). Every value is checked; only the first is stored, into
 * *field (its left-out names into o->algs_left_out). Returns 0, or -1
 * with "name: why" in err. */
struct alg_kind;
int	options_set_algs(struct options *o, const char *name,
	    const struct alg_kind *k, bool patterns, char **field,
	    const char *spec, char *err, size_t errlen);
/* -c and -m: a plain list of names (-c also "+list" or "^list") that
 * replaces any value before it, as ssh's flags do. */
int	options_algs_flag(struct options *o, int flag, const char *list,
	    char *err, size_t errlen);
/* The algorithm lines of -G, in ssh's words. */
void	options_print_algs(const struct options *o, FILE *fp);
/* Says at -v (once per process) which names each list left out. */
void	options_note_algs(const struct options *o);
/* Prints the effective configuration as `ssh -G` does. */
void	options_print(const struct options *o, FILE *fp);
/* The same without the forwards and PermitRemoteOpen: what the
 * connection depends on (a reload compares it). */
void	options_print_connection(const struct options *o, FILE *fp);
/* Whether o has a forward of spec's kind written the same way. */
bool	options_has_forward(const struct options *o,
	    const struct fwd_spec *spec);
/* The index of the first destination in argv (after the flags). */
int	options_first_destination(int argc, char **argv);
/* The host names a config file names literally in Host lines (a
 * malloc'd array of *n malloc'd strings; options_free_hosts). */
int	options_file_hosts(const char *path, char ***names, int *n,
	    char *err, size_t errlen);
void	options_free_hosts(char **names, int n);
/* ssh_config Host pattern matching: comma/space lists, * and ?, !neg. */
bool	options_match_host(const char *patterns, const char *host);

#endif
