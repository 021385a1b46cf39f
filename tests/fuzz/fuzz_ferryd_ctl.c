/* libFuzzer target: what ferryd's (and ferry's) operator interfaces read
 * from local clients: the control socket's request line (ctlproto.h, the
 * protocol both programs speak) and the HTTP request head the status page
 * and metrics listener route (statuspage_route, which must never read
 * past the length it is given). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fwd/ctlproto.h"
#include "util/statuspage.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_cmd cmd;
	char err[600], *line, *copy;
	enum sp_route r;
	struct wb w;

	/* exactly size bytes, no terminator: ASan sees any over-read */
	if ((copy = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	r = statuspage_route(copy, size);
	if (r > SP_BAD_REQUEST)
		abort();
	free(copy);
	if ((line = malloc(size + 1)) == NULL)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	if (ctl_parse(line, &cmd, err, sizeof(err)) == 0 &&
	    cmd.op > CTL_RECONNECT)
		abort();
	free(line);
	wb_init(&w);
	statuspage_answer(&w, r, data, size);
	if (!w.err && w.len < size)
		abort();
	wb_free(&w);
	return 0;
}
