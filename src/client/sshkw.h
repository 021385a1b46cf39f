/* The ssh_config(5) keywords of OpenSSH 9.2 that ferry does not act on:
 * accepted (so that a real ~/.ssh/config reads unchanged), validated the
 * way ssh validates them, stored as text for -G, and mentioned once at -v.
 * A few are refused where they apply to the host being connected, because
 * ignoring them would weaken security or change what is forwarded or how
 * the connection is made (see sshkw.c's table). */
#ifndef FERRY_CLIENT_SSHKW_H
#define FERRY_CLIENT_SSHKW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct options;

/* One stored keyword: its table index and its arguments (owned). */
struct sshkw_value {
	int	  kw;
	char	**args;
	int	  nargs;
};

/* The table index of name (any case, aliases too), or -1. */
int		 sshkw_find(const char *name);
/* Applies an active line's arguments: validates, refuses where the table
 * says so, stores the first value (every value for SendEnv and the like).
 * Returns 0, or -1 with a message in err. */
int		 sshkw_apply(struct options *o, int kw, char **args, int nargs,
		    char *err, size_t errlen);
/* Checks an inactive line's arguments as ssh does (values that ssh
 * refuses anywhere). Returns 0 or -1 with err. */
int		 sshkw_check(int kw, char **args, int nargs, char *err,
		    size_t errlen);
/* The -G lines for the stored keywords, in ssh's spelling. */
void		 sshkw_print(const struct options *o, FILE *fp);
/* Logs at verbose, once per keyword and process, that a stored keyword
 * has no effect in ferry. */
void		 sshkw_note_unused(const struct options *o);
/* The first argument stored for keyword name, or NULL if unset. */
const char	*sshkw_first(const struct options *o, const char *name);
/* Whether CanonicalizeHostname asks ssh for a second pass. */
bool		 sshkw_wants_final_pass(const struct options *o);
void		 sshkw_free(struct options *o);
/* ssh's time format (90, 1m30s, 2h, 1w) in seconds; -1 if malformed. */
long		 sshkw_convtime(const char *s);

#endif
