/* libFuzzer target: the input as an ssh_config file read for host
 * "example", and as a -L forwarding specification. A specification that
 * parses is formatted back; if that text parses again it must give the
 * same forward. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/options.h"
#include "fwd/spec.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
spec_round_trip(const char *text)
{
	struct fwd_spec s, t;
	char err[512], out[600];

	if (fwd_spec_parse(text, FWD_LOCAL, &s, err, sizeof(err)) != 0) {
		if (strncmp(err, "Bad local forwarding specification",
		    34) != 0)
			abort();
		return;
	}
	fwd_spec_format(&s, out, sizeof(out));
	if (fwd_spec_parse(out, FWD_LOCAL, &t, err, sizeof(err)) != 0)
		return;
	if (t.bind != s.bind || t.listen_port != s.listen_port ||
	    t.port != s.port || strcmp(t.host, s.host) != 0 ||
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
	options_read_text(&o, text, size, "fuzz.conf", "example", err,
	    sizeof(err));
	options_free(&o);

	text[size] = '\0';
	spec_round_trip(text);
	free(text);
	return 0;
}
