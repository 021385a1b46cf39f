/* Logging: one process-wide sink, set once at start-up by main(). */
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "text.h"
#include "util/syslogout.h"

/* Room for one formatted line and for it escaped. */
#define LOG_LINE	2048

static const char *log_prog = "ferry";
static enum log_level log_level = LOG_INFO;
static FILE *log_fp;
static bool log_to_syslog;

void
log_init(const char *prog, enum log_level level, FILE *fp)
{
	log_prog = prog;
	log_level = level;
	log_fp = fp;
}

void
log_syslog(int facility)
{
	syslogout_open(log_prog, facility);
	log_to_syslog = true;
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level
log_get_level(void)
{
	return log_level;
}

/* Every line goes out escaped: messages carry strings a peer chose (user
 * names, requests, reasons), which must not forge lines or reach a
 * terminal as control sequences. pre is ours. */
static void __attribute__((format(printf, 3, 0)))
emit(enum log_level level, const char *pre, const char *fmt, va_list ap)
{
	char line[LOG_LINE], safe[4 * LOG_LINE];
	FILE *fp = log_fp ? log_fp : stderr;

	vsnprintf(line, sizeof(line), fmt, ap);
	text_safe(safe, sizeof(safe), line, false);
	if (log_to_syslog) {
		/* VERBOSE is info to syslog, as OpenSSH logs it */
		syslogout_write(level <= LOG_ERROR ? SYSLOGOUT_ERR :
		    level <= LOG_VERBOSE ? SYSLOGOUT_INFO : SYSLOGOUT_DEBUG,
		    safe);
		return;
	}
	fprintf(fp, "%s%s\n", pre, safe);
	fflush(fp);
}

void
log_plain(const char *fmt, ...)
{
	va_list ap;

	if (log_level < LOG_ERROR)
		return;
	va_start(ap, fmt);
	emit(LOG_INFO, "", fmt, ap);
	va_end(ap);
}

void
log_msg(enum log_level level, const char *func, const char *fmt, ...)
{
	char pre[128];
	va_list ap;

	if (level > log_level)
		return;
	if (log_level >= LOG_DEBUG)
		snprintf(pre, sizeof(pre), "%s: %s: ", log_prog, func);
	else if (level >= LOG_VERBOSE)
		snprintf(pre, sizeof(pre), "debug1: ");
	else
		snprintf(pre, sizeof(pre), "%s: ", log_prog);
	va_start(ap, fmt);
	emit(level, log_to_syslog ? "" : pre, fmt, ap);
	va_end(ap);
}
