/* ferry's options: ssh(1)'s command line flags, -o keywords and
 * ssh_config(5) files, with ssh's rule that the first value obtained for a
 * keyword wins (command line first, then the files in order). */
#ifndef FERRY_CLIENT_OPTIONS_H
#define FERRY_CLIENT_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fwd/policy.h"
#include "fwd/spec.h"
#include "util/log.h"

#define MAX_IDENTITIES	32
#define MAX_FORWARDS	256
#define MAX_KH_FILES	8
#define MAX_PERMITS	64

enum strict_hk {
	SHK_UNSET = -1,
	SHK_NO,
	SHK_YES,
	SHK_ACCEPT_NEW,
	SHK_ASK,
};

struct sshkw_value;

struct options {
	/* destination */
	char		*host;		/* as typed: the known_hosts name */
	char		*hostname;	/* HostName: where to connect */
	char		*user;
	int		 port;		/* -1 until set */
	int		 family;	/* AF_UNSPEC, AF_INET, AF_INET6 */

	char		*identity[MAX_IDENTITIES];
	int		 nidentity;
	bool		 identity_given;

	char		*known_hosts[MAX_KH_FILES];
	int		 nknown_hosts;
	enum strict_hk	 strict;
	int		 batch_mode;	/* -1 unset, 0, 1 */
	char		*ciphers;
	char		*macs;
	int64_t		 rekey_bytes;	/* -1 unset, 0 default */
	int		 rekey_seconds;	/* RekeyLimit's time, for -G */
	int		 connect_timeout;	/* seconds, -1 unset */
	int		 gateway_ports;	/* -1 unset */
	int		 exit_on_forward_failure;
	int		 hash_known_hosts;

	/* -L and -D (kind FWD_DYNAMIC), in the order given */
	struct fwd_spec	 local[MAX_FORWARDS];
	int		 nlocal;
	struct fwd_spec	 remote[MAX_FORWARDS];
	int		 nremote;
	/* PermitRemoteOpen: where remote dynamic forwards may connect;
	 * -1 any, 0 none */
	struct fwd_permit permit_remote_open[MAX_PERMITS];
	int		 npermit_remote_open;
	int		 stream_local_bind_unlink;
	int		 stream_local_bind_mask;	/* -1 unset */
	/* Reconnect: retry a lost or failed connection with backoff */
	int		 reconnect;		/* -1 unset, 0, 1 */
	int		 reconnect_delay_ms;	/* first delay, -1 unset */
	int		 reconnect_max_delay_ms;	/* the cap, -1 unset */
	int		 server_alive_interval;	/* seconds, -1 unset */
	int		 server_alive_count_max;
	int		 tcp_keepalive;
	int		 identities_only;
	char		*identity_agent;	/* NULL: no agent */

	char		*control_path;	/* -S / ControlPath: the control socket */
	char		*ignore_unknown;	/* IgnoreUnknown patterns */
	/* ssh_config keywords ferry accepts without acting on them */
	struct sshkw_value *sshkw;
	int		 nsshkw;
	char		*metrics_listen;	/* MetricsListen host:port */
	char		*config_file;	/* -F */
	char		*log_file;	/* -E */
	enum log_level	 log_level;
	bool		 log_level_set;
	bool		 no_shell;	/* -N: the only mode ferry has */
	bool		 print_config;	/* -G */
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
/* HostName with %h expanded (the host as typed without one), in lower
 * case as ssh connects to it (optexpand.c). */
int	options_expand_hostname(const struct options *o, char *out,
	    size_t outlen, char *err, size_t errlen);
/* ~ and %-tokens in IdentityFile, UserKnownHostsFile, ControlPath,
 * IdentityAgent and forward socket paths, with the final values
 * (optexpand.c; called by options_finish). */
int	options_expand(struct options *o, char *err, size_t errlen);
/* Fills in defaults once everything was read. */
int	options_finish(struct options *o, char *err, size_t errlen);
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
/* The host names a config file names literally in Host lines. */
int	options_file_hosts(const char *path, char ***names, int *n,
	    char *err, size_t errlen);
void	options_free_hosts(char **names, int n);
/* ssh_config Host pattern matching: comma/space lists, * and ?, !neg. */
bool	options_match_host(const char *patterns, const char *host);

#endif
