/* libFuzzer target: the input as an sshd_config-style file for ferryd, and
 * its first line as a -o option. A file that parses is finished and
 * printed as ferryd -T does; that printout must read back (unless the
 * expansion of ListenAddress by Port overflows the list) and print the
 * same again. Its Match blocks are resolved for a few connections and
 * printed as ferryd -T -C does. Error messages must name the file and be
 * printable. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/config.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_err(const char *err, const char *where)
{
	const char *s;

	if (strncmp(err, where, strlen(where)) != 0 &&
	    strcmp(err, "out of memory") != 0)
		abort();
	for (s = err; *s != '\0'; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			abort();
}

static char *
print(const struct server_config *c, size_t *len)
{
	char *buf = NULL;
	FILE *fp;

	if ((fp = open_memstream(&buf, len)) == NULL)
		return NULL;
	server_config_print(c, fp);
	fclose(fp);
	return buf;
}

/* Match blocks against connections that the corpus's criteria name. */
static void
resolve_some(const struct server_config *c)
{
	static const struct sc_conninfo conns[] = {
		{ "alice", "10.0.0.1", "10.0.0.1", "127.0.0.1", 22 },
		{ "bob", "::1", "::1", "::1", 2222 },
		{ NULL, "127.0.0.2", "127.0.0.2", NULL, -1 },
		{ "root", NULL, NULL, NULL, -1 },
	};
	struct server_conn_cfg v;
	FILE *fp;
	size_t i;

	for (i = 0; i < sizeof(conns) / sizeof(conns[0]); i++) {
		if (server_conn_resolve(c, &conns[i], &v) < 0 ||
		    v.max_auth_tries < 0 || v.npermit_open < -1 ||
		    v.pubkey_algs == NULL)
			abort();
		if ((fp = fopen("/dev/null", "w")) != NULL) {
			server_config_print_conn(c, &conns[i], fp);
			fclose(fp);
		}
	}
}

static void
round_trip(struct server_config *c)
{
	struct server_config again;
	char err[1024], *one, *two;
	size_t n1, n2;

	if ((one = print(c, &n1)) == NULL)
		return;
	server_config_init(&again);
	if (server_config_text(&again, one, n1, "printed", err,
	    sizeof(err)) != 0) {
		if (strstr(err, "too many addresses") == NULL)
			abort();
	} else {
		if (server_config_finish(&again, err, sizeof(err)) != 0)
			abort();
		if ((two = print(&again, &n2)) != NULL) {
			if (n1 != n2 || memcmp(one, two, n1) != 0)
				abort();
			free(two);
		}
	}
	server_config_free(&again);
	free(one);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct server_config c;
	char err[1024], *text;
	const char *nl;

	/* An exact-size copy, so reading past the length shows up. */
	if ((text = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	server_config_init(&c);
	err[0] = '\0';
	if (server_config_text(&c, text, size, "fuzz.conf", err,
	    sizeof(err)) == 0) {
		if (server_config_finish(&c, err, sizeof(err)) != 0)
			abort();
		round_trip(&c);
		resolve_some(&c);
	} else
		check_err(err, "fuzz.conf line ");
	server_config_free(&c);
	free(text);

	/* The first line as -o would pass it. */
	nl = memchr(data, '\n', size);
	size = nl ? (size_t)(nl - (const char *)data) : size;
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	server_config_init(&c);
	if (server_config_line(&c, text, "command line", err,
	    sizeof(err)) != 0)
		check_err(err, "command line");
	server_config_free(&c);
	free(text);
	return 0;
}
