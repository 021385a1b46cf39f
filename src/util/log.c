/* Logging: one process-wide sink, set once at start-up by main(). */
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "text.h"

/* Room for one formatted line and for it escaped. */
#define LOG_LINE	2048

static const char *log_prog = "ferry";
static enum log_level log_level = LOG_INFO;
static FILE *log_fp;

void
log_init(const char *prog, enum log_level level, FILE *fp)
{
	log_prog = prog;
	log_level = level;
	log_fp = fp;
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
 * terminal as control sequences. */
static void __attribute__((format(printf, 2, 0)))
emit(FILE *fp, const char *fmt, va_list ap)
{
	char line[LOG_LINE], safe[4 * LOG_LINE];

	vsnprintf(line, sizeof(line), fmt, ap);
	text_safe(safe, sizeof(safe), line, false);
	fputs(safe, fp);
	fputc('\n', fp);
	fflush(fp);
}

void
log_plain(const char *fmt, ...)
{
	FILE *fp = log_fp ? log_fp : stderr;
	va_list ap;

	if (log_level < LOG_ERROR)
		return;
	va_start(ap, fmt);
	emit(fp, fmt, ap);
	va_end(ap);
}

void
log_msg(enum log_level level, const char *func, const char *fmt, ...)
{
	FILE *fp = log_fp ? log_fp : stderr;
	va_list ap;

	if (level > log_level)
		return;
	if (log_level >= LOG_DEBUG)
		fprintf(fp, "%s: %s: ", log_prog, func);
	else if (level >= LOG_VERBOSE)
		fprintf(fp, "debug1: ");
	else
		fprintf(fp, "%s: ", log_prog);
	va_start(ap, fmt);
	emit(fp, fmt, ap);
	va_end(ap);
}
