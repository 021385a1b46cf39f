/* Reading ssh_config files as ssh(1) does: the user's file then the
 * system's (or the -F file alone), Host and Match blocks, Include (glob
 * patterns, nested up to 16 deep), IgnoreUnknown, and the final pass that
 * `Match final` (or CanonicalizeHostname) asks for. The first value
 * obtained for a keyword wins, across files and passes. */
#ifndef FERRY_CLIENT_READCONF_H
#define FERRY_CLIENT_READCONF_H

#include <stdbool.h>
#include <stddef.h>

struct options;

#define READCONF_MAX_DEPTH	16
#define READCONF_EXEC_TIMEOUT_MS	10000
#define READCONF_SYSTEM_FILE	"/etc/ssh/ssh_config"

/* What the reader does to the outside world, replaceable for tests and
 * fuzzers. The defaults use glob(3), files, and /bin/sh. */
struct readconf_io {
	/* Include: the paths pattern names, sorted (malloc'd, *n of them);
	 * 0, or -1 with err. No match is 0 with *n == 0. */
	int	(*glob)(void *ud, const char *pattern, char ***paths,
		    size_t *n, char *err, size_t errlen);
	/* The text of path (malloc'd). Returns 0, 1 if the file does not
	 * exist, -1 with err. check_perm: refuse a file others may write. */
	int	(*read)(void *ud, const char *path, bool check_perm,
		    char **text, size_t *len, char *err, size_t errlen);
	/* Match exec: 1 when cmd exits 0, 0 when it does not, -1 with err. */
	int	(*exec)(void *ud, const char *cmd, char *err, size_t errlen);
	void	*ud;
};

struct readconf {
	const char	*host;		/* what Host patterns see */
	const char	*original_host;	/* as typed */
	const char	*home;		/* the local user's, from passwd */
	const char	*local_user;
	const char	*uid;		/* decimal */
	bool		 final_pass;
	bool		 want_final;	/* set by Match final */
	const struct readconf_io *io;
};

/* Fills rc for host with the real world (getpwuid, glob, /bin/sh). */
int	readconf_init(struct readconf *rc, const char *host, char *err,
	    size_t errlen);
/* The real configuration for o->host: config_file (-F; "none" for no
 * file) or the user's ~/.ssh/config then system_file; then a final pass
 * if one was asked for. Returns 0 or -1 with err. */
int	readconf_load(struct options *o, const char *config_file,
	    const char *system_file, char *err, size_t errlen);
/* One file's text; userconf: relative Includes are under ~/.ssh (else
 * /etc/ssh) and may start with ~. */
int	readconf_text(struct options *o, struct readconf *rc, const char *text,
	    size_t len, const char *fname, bool userconf, char *err,
	    size_t errlen);
/* Text read for host with the real world (tests). */
int	readconf_host_text(struct options *o, const char *text, size_t len,
	    const char *fname, const char *host, char *err, size_t errlen);
/* One file by name (missing: 1 if !required). */
int	readconf_file(struct options *o, struct readconf *rc, const char *path,
	    bool userconf, bool check_perm, bool required, char *err,
	    size_t errlen);
/* The default io. */
extern const struct readconf_io readconf_default_io;

#endif
