/* Logging to stderr, a file (-E) or syslog (-y), with ssh's levels (-q, -v, -vv...). */
#ifndef FERRY_UTIL_LOG_H
#define FERRY_UTIL_LOG_H

#include <stdio.h>

enum log_level {
	LOG_QUIET,
	LOG_ERROR,
	LOG_INFO,
	LOG_VERBOSE,	/* -v */
	LOG_DEBUG,	/* -vv */
	LOG_DEBUG2,	/* -vvv */
};

void	log_init(const char *prog, enum log_level level, FILE *fp);
/* From now on lines go to syslog (facility: util/syslogout.h), not to
 * the file. */
void	log_syslog(int facility);
void	log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Messages that ssh prints as plain lines (no prefix), e.g. "Allocated
 * port ...", always at error level so -q hides them only when ssh would. */
void	log_plain(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_msg(enum log_level level, const char *func, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#define log_error(...)	log_msg(LOG_ERROR, __func__, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __func__, __VA_ARGS__)
#define log_verbose(...) log_msg(LOG_VERBOSE, __func__, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_DEBUG, __func__, __VA_ARGS__)

#endif
