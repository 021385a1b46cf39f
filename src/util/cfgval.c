/* Parsers for the values of config keywords (see cfgval.h). */
#include "cfgval.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <strings.h>

#include "util/log.h"

int
cfgval_word(const struct cfgval_word *tab, size_t n, const char *v, int *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcasecmp(v, tab[i].word) == 0) {
			*out = tab[i].value;
			return 0;
		}
	return -1;
}

const char *
cfgval_word_name(const struct cfgval_word *tab, size_t n, int value)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (tab[i].value == value)
			return tab[i].word;
	return "?";
}

int
cfgval_uint(const char *v, long min, long max, int *out)
{
	long x = 0;
	const char *s;

	for (s = v; isdigit((unsigned char)*s); s++) {
		x = x * 10 + (*s - '0');
		if (x > max)
			return -1;
	}
	if (s == v || *s != '\0' || x < min)
		return -1;
	*out = (int)x;
	return 0;
}

/* Seconds a time unit stands for; 0 for a character that is none. */
static long long
time_unit(char u)
{
	switch (u) {
	case '\0': case 's': case 'S':
		return 1;
	case 'm': case 'M':
		return 60;
	case 'h': case 'H':
		return 60 * 60;
	case 'd': case 'D':
		return 24 * 60 * 60;
	case 'w': case 'W':
		return 7 * 24 * 60 * 60;
	default:
		return 0;
	}
}

int
cfgval_time(const char *v, int *out)
{
	long long total = 0, n, mult;
	const char *s = v;

	if (*s == '\0')
		return -1;
	while (*s != '\0') {
		if (!isdigit((unsigned char)*s))
			return -1;
		for (n = 0; isdigit((unsigned char)*s); s++) {
			n = n * 10 + (*s - '0');
			if (n > INT_MAX)
				return -1;
		}
		if ((mult = time_unit(*s)) == 0)
			return -1;
		if (*s != '\0')
			s++;
		total += n * mult;
		if (total > INT_MAX)
			return -1;
	}
	*out = (int)total;
	return 0;
}

int
cfgval_octal_mask(const char *v, int *out)
{
	char *end;
	long x;

	x = strtol(v, &end, 8);
	if (v[0] == '\0' || *end != '\0' || x < 0 || x > 0777)
		return -1;
	*out = (int)x;
	return 0;
}

/* Sized by the initializer: a count other than the header's is a
 * conflicting declaration. */
const struct cfgval_word cfgval_loglevels[] = {
	{ "QUIET", LOG_QUIET }, { "ERROR", LOG_ERROR }, { "FATAL", LOG_ERROR },
	{ "INFO", LOG_INFO }, { "VERBOSE", LOG_VERBOSE },
	{ "DEBUG", LOG_VERBOSE }, { "DEBUG1", LOG_VERBOSE },
	{ "DEBUG2", LOG_DEBUG }, { "DEBUG3", LOG_DEBUG2 },
};
