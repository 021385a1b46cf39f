/* The syslog sink of util/log (ssh -y, ferryd without -e): apart because
 * <syslog.h> names its priorities as log.h names its levels. */
#ifndef FERRY_UTIL_SYSLOGOUT_H
#define FERRY_UTIL_SYSLOGOUT_H

/* What a line is, for its priority. */
enum syslogout_prio {
	SYSLOGOUT_ERR,
	SYSLOGOUT_INFO,
	SYSLOGOUT_DEBUG,
};

/* The facility a name means (sshd_config's SyslogFacility: DAEMON, USER,
 * AUTH, AUTHPRIV, LOCAL0..LOCAL7, any case), or -1. */
int	syslogout_facility(const char *name);
/* Opens the log as ident (borrowed; must outlive the process's logging)
 * with the process id, to facility. */
void	syslogout_open(const char *ident, int facility);
/* One line, already escaped. */
void	syslogout_write(enum syslogout_prio prio, const char *line);

#endif
