/* Values of ssh_config and sshd_config keywords: the small parsers a
 * keyword table is built on, shared by ferry's and ferryd's readers.
 *
 * Contract: each parser reads one whole NUL-terminated word, never
 * allocates and never reads past the NUL; it returns 0 with *out set, or
 * -1 leaving *out as it was. The caller words the error message. */
#ifndef FERRY_UTIL_CFGVAL_H
#define FERRY_UTIL_CFGVAL_H

#include <stddef.h>

/* One word a keyword takes and the value it stands for. */
struct cfgval_word {
	const char	*word;
	int		 value;
};

#define CFGVAL_NWORDS(tab)	(sizeof(tab) / sizeof((tab)[0]))

/* The value of v in tab (words compared without regard to case). */
int		 cfgval_word(const struct cfgval_word *tab, size_t n,
		    const char *v, int *out);
/* The first word of tab standing for value, "?" when none does. */
const char	*cfgval_word_name(const struct cfgval_word *tab, size_t n,
		    int value);

/* A decimal number from min to max: digits only, no sign, no blanks. */
int		 cfgval_uint(const char *v, long min, long max, int *out);
/* sshd_config(5) TIME FORMATS: number[smhdw] repeated and summed ("90",
 * "1h30m"; a bare number is seconds), at most INT_MAX seconds. */
int		 cfgval_time(const char *v, int *out);
/* An octal file mode mask from 0 to 0777 (strtol's octal form). */
int		 cfgval_octal_mask(const char *v, int *out);

/* LogLevel's words as ssh and sshd take them (enum log_level of
 * util/log.h): FATAL is ERROR and DEBUG is DEBUG1; the first word for a
 * level is the one to print. */
#define CFGVAL_NLOGLEVELS	9
extern const struct cfgval_word	cfgval_loglevels[CFGVAL_NLOGLEVELS];

#endif
