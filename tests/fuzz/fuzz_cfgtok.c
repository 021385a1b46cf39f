/* libFuzzer target: ssh_config reading with Include and Match, the line
 * tokenizer and the token expander.
 *
 * The input is split at the first NUL byte (or in half): the first part is
 * the config file, the second the text of every file an Include names
 * (the glob and the file reads are in memory, nothing touches the disk; a
 * Match exec "runs" by its command's length). Included files include each
 * other, so the depth limit is exercised. Each line of the input is also
 * split by cfgtok and expanded with a token table: the arguments must lie
 * inside the line and the expansion must fit the buffer it claims. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/options.h"
#include "client/readconf.h"
#include "util/cfgtok.h"
#include "util/tokens.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct mem {
	const char	*inc;
	size_t		 inclen;
};

static int
mem_glob(void *ud, const char *pattern, char ***paths, size_t *n,
    char *err, size_t errlen)
{
	*paths = NULL;
	*n = 0;
	if (strlen(pattern) % 3 == 0)
		return 0;	/* no match */
	if ((*paths = calloc(2, sizeof(char *))) == NULL ||
	    ((*paths)[0] = strdup(pattern)) == NULL) {
		free(*paths);
		*paths = NULL;
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	*n = 1;
	return 0;
}

static int
mem_read(void *ud, const char *path, bool check_perm, char **text,
    size_t *len, char *err, size_t errlen)
{
	struct mem *m = ud;

	if (strstr(path, "missing") != NULL)
		return 1;
	if ((*text = malloc(m->inclen + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(*text, m->inc, m->inclen);
	*len = m->inclen;
	return 0;
}

static int
mem_exec(void *ud, const char *cmd, char *err, size_t errlen)
{
	if (strlen(cmd) % 5 == 4) {
		snprintf(err, errlen, "exec failed");
		return -1;
	}
	return strlen(cmd) % 2 == 0;
}

static void
split_lines(const char *text, size_t len)
{
	struct cfgtok_line tl;
	struct tokens t;
	char line[1024], out[256], err[128];
	size_t i = 0, j, ll;
	int k, r;

	tokens_init(&t);
	tokens_set(&t, 'h', "host.example");
	tokens_set(&t, 'p', "22");
	tokens_set(&t, 'k', NULL);
	while (i < len) {
		for (j = i; j < len && text[j] != '\n'; j++)
			;
		ll = j - i < sizeof(line) - 1 ? j - i : sizeof(line) - 1;
		memcpy(line, text + i, ll);
		line[ll] = '\0';
		i = j + 1;
		r = tokens_expand(line, &t, out, sizeof(out), err,
		    sizeof(err));
		if (r >= 0 && ((size_t)r >= sizeof(out) ||
		    strlen(out) != (size_t)r))
			abort();
		r = cfgtok_split(line, &tl);
		if (r == CFGTOK_LINE && tl.nargs < 1)
			abort();
		for (k = 0; r == CFGTOK_LINE && k < tl.nargs; k++)
			if (tl.args[k] < line || tl.args[k] > line + ll ||
			    tl.args[k] + strlen(tl.args[k]) > line + ll)
				abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct readconf_io io0 = { mem_glob, mem_read, mem_exec,
	    NULL };
	struct readconf_io io = io0;
	struct readconf rc;
	struct options o;
	struct mem m;
	char err[1024], *text;
	const char *nul;
	size_t mainlen;

	/* An exact-size copy, so reading past the length shows up. */
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	nul = memchr(text, '\0', size);
	mainlen = nul != NULL ? (size_t)(nul - text) : size / 2;
	m.inc = text + mainlen + (nul != NULL);
	m.inclen = size - mainlen - (nul != NULL);
	io.ud = &m;

	options_init(&o);
	o.host = strdup("example");
	if (o.host != NULL && readconf_init(&rc, "example", err,
	    sizeof(err)) == 0) {
		rc.io = &io;
		if (readconf_text(&o, &rc, text, mainlen, "fuzz.conf", true,
		    err, sizeof(err)) == 0) {
			rc.final_pass = true;
			readconf_text(&o, &rc, text, mainlen, "fuzz.conf",
			    false, err, sizeof(err));
			options_finish(&o, err, sizeof(err));
		}
	}
	options_free(&o);

	split_lines(text, size);
	free(text);
	return 0;
}
