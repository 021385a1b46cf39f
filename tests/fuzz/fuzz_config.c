/* libFuzzer target: the input as an ssh_config file read for host
 * "example" (and finished, as ferry does), and as a -L, -R and -D
 * forwarding specification. A specification that parses is formatted
 * back; that text must parse again to the same forward. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/options.h"
#include "client/readconf.h"
#include "fwd/spec.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
spec_round_trip(const char *text, enum fwd_kind kind)
{
	struct fwd_spec s, t;
	char err[512], out[600];

	if (fwd_spec_parse(text, kind, &s, err, sizeof(err)) != 0) {
		if (strncmp(err, "Bad ", 4) != 0 ||
		    strstr(err, " forwarding specification '") == NULL)
			abort();
		return;
	}
	if (s.kind != kind || (kind == FWD_DYNAMIC && !s.dynamic) ||
	    (kind == FWD_LOCAL && s.dynamic))
		abort();
	fwd_spec_format(&s, out, sizeof(out));
	/* a host written with ':' or '/' cannot always be written back */
	if (fwd_spec_parse(out, kind, &t, err, sizeof(err)) != 0)
		return;
	if (t.bind != s.bind || t.listen_port != s.listen_port ||
	    t.port != s.port || strcmp(t.host, s.host) != 0 ||
	    t.dynamic != s.dynamic ||
	    strcmp(t.listen_path, s.listen_path) != 0 ||
	    strcmp(t.connect_path, s.connect_path) != 0 ||
	    (s.bind != BIND_ANY && strcmp(t.bind_addr, s.bind_addr) != 0))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct options o;
	char err[1024], *text;

	/* An exact-size copy, so reading past the length shows up. */
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	options_init(&o);
	/* no Include or Match exec here (fuzz_cfgtok has them in memory) */
	if (memmem(text, size, "nclude", 6) == NULL &&
	    memmem(text, size, "xec", 3) == NULL &&
	    readconf_host_text(&o, text, size, "fuzz.conf", "example", err,
	    sizeof(err)) == 0 && o.host == NULL) {
		o.host = strdup("example");
		options_finish(&o, err, sizeof(err));
	}
	options_free(&o);

	text[size] = '\0';
	spec_round_trip(text, FWD_LOCAL);
	spec_round_trip(text, FWD_REMOTE);
	spec_round_trip(text, FWD_DYNAMIC);
	free(text);
	return 0;
}
