/* The operator's end of a control socket (`ferry status`, `ferryd -T
 * status`...): one request line sent, the answer copied to stdout or
 * stderr. Blocking, for the command line only, never inside a loop. */
#ifndef FERRY_FWD_CTLCLIENT_H
#define FERRY_FWD_CTLCLIENT_H

#include <stdbool.h>

/* Sends req (one line, newline included) to the Unix socket at path and
 * copies the answer: the rest after an "ok" first line to stdout, an
 * "error: ..." answer whole to stderr, with "prog: " before it if
 * label_error. prog starts every message of ours; peer names who did not
 * answer ("the ferry"). Returns 0 for an ok answer, 1 otherwise. */
int	ctl_request(const char *path, const char *req, const char *prog,
	    const char *peer, bool label_error);

#endif
