/* The syslog sink (util/syslogout.h). */
#include "util/syslogout.h"

#include <strings.h>
#include <syslog.h>

int
syslogout_facility(const char *name)
{
	static const struct {
		const char	*name;
		int		 facility;
	} names[] = {
		{ "DAEMON", LOG_DAEMON }, { "USER", LOG_USER },
		{ "AUTH", LOG_AUTH }, { "AUTHPRIV", LOG_AUTHPRIV },
		{ "LOCAL0", LOG_LOCAL0 }, { "LOCAL1", LOG_LOCAL1 },
		{ "LOCAL2", LOG_LOCAL2 }, { "LOCAL3", LOG_LOCAL3 },
		{ "LOCAL4", LOG_LOCAL4 }, { "LOCAL5", LOG_LOCAL5 },
		{ "LOCAL6", LOG_LOCAL6 }, { "LOCAL7", LOG_LOCAL7 },
	};
	unsigned i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(names[i].name, name) == 0)
			return names[i].facility;
	return -1;
}

void
syslogout_open(const char *ident, int facility)
{
	openlog(ident, LOG_PID, facility);
}

void
syslogout_write(enum syslogout_prio prio, const char *line)
{
	static const int prios[] = {
		[SYSLOGOUT_ERR] = LOG_ERR,
		[SYSLOGOUT_INFO] = LOG_INFO,
		[SYSLOGOUT_DEBUG] = LOG_DEBUG,
	};

	syslog(prios[prio], "%s", line);
}
