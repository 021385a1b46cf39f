/* AuthorizedKeysCommand: the command's words as sshd splits them (the
 * tokenizer's quotes and backslashes), checked when the file is read. */
#include "config_kw.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/authcmd.h"
#include "util/err.h"

int
sc_kw_akc(struct server_config *c, const struct sc_keyword *kw, char **a,
    int n, char *err, size_t errlen)
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
		if (authcmd_check_word(a[i], why, sizeof(why)) != 0) {
			seterr(err, errlen, "%s: '%s': %s", kw->name, a[i],
			    why);
			return -1;
		}
	if (c->akc_argc > 0)
		return 0;	/* the first one given wins */
	for (i = 0; i < n; i++) {
		if ((c->akc_argv[i] = strdup(a[i])) == NULL) {
			seterr(err, errlen, "out of memory");
			return -1;
		}
		c->akc_argc++;
	}
	return 0;
}
