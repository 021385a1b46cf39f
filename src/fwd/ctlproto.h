/* The control socket's request line (one line per connection):
 *   status | status-json | metrics
 *   forward HOST -L|-R|-D SPEC  |  cancel HOST -L|-R|-D SPEC
 *   reconnect [HOST]
 * HOST "-" means the only host. Parsing never allocates; it splits line
 * in place. */
#ifndef FERRY_FWD_CTLPROTO_H
#define FERRY_FWD_CTLPROTO_H

#include <stddef.h>

#include "fwd/spec.h"

enum ctl_op {
	CTL_STATUS,
	CTL_STATUS_JSON,
	CTL_METRICS,
	CTL_FORWARD,
	CTL_CANCEL,
	CTL_RECONNECT,	/* host NULL: every host */
};

struct ctl_cmd {
	enum ctl_op	 op;
	const char	*host;		/* forward, cancel, reconnect */
	enum fwd_kind	 kind;
	const char	*spec;
};

/* Parses line (modified). Returns 0, or -1 with err naming what is
 * wrong. */
int	ctl_parse(char *line, struct ctl_cmd *out, char *err, size_t errlen);

#endif
