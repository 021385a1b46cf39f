/* AuthorizedKeysCommand and AuthorizedPrincipalsCommand: the command's
 * words as sshd splits them (the tokenizer's quotes and backslashes),
 * checked when the file is read. */
#include "config_kw.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/authcmd.h"
#include "util/err.h"

/* The words a[0..n-1] of kind's command into argv (*argc of them) unless
 * a command is set already; every value is checked. */
static int
set_cmd(enum authcmd_kind kind, char **argv, int *argc,
    const struct sc_keyword *kw, char **a, int n, char *err, size_t errlen)
{
	char why[256];
	int i;

	if (n == 1 && strcasecmp(a[0], "none") == 0)
		return 0;	/* sshd's default: no command */
	if (n > SC_MAX_CMD_ARGS) {
		seterr(err, errlen, "%s: more than %d words", kw->name,
		    SC_MAX_CMD_ARGS);
		return -1;
	}
	if (a[0][0] != '/') {
		seterr(err, errlen, "%s: '%s' is not an absolute path",
		    kw->name, a[0]);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (authcmd_check_word(kind, a[i], why, sizeof(why)) != 0) {
			seterr(err, errlen, "%s: '%s': %s", kw->name, a[i],
			    why);
			return -1;
		}
	if (*argc > 0)
		return 0;	/* the first one given wins */
	for (i = 0; i < n; i++) {
		if ((argv[i] = strdup(a[i])) == NULL) {
			seterr(err, errlen, "out of memory");
			return -1;
		}
		(*argc)++;
	}
	return 0;
}

int
sc_kw_akc(struct server_config *c, const struct sc_keyword *kw, char **a,
    int n, char *err, size_t errlen)
{
	return set_cmd(AUTHCMD_KEYS, c->akc_argv, &c->akc_argc, kw, a, n, err,
	    errlen);
}

int
sc_kw_apc(struct server_config *c, const struct sc_keyword *kw, char **a,
    int n, char *err, size_t errlen)
{
	return set_cmd(AUTHCMD_PRINCIPALS, c->apc_argv, &c->apc_argc, kw, a, n,
	    err, errlen);
}
