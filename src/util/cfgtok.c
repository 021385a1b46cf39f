/* Splitting config lines into keyword and arguments, as OpenSSH does. */
#include "cfgtok.h"

#include <string.h>

#define WHITESPACE	" \t\r\n"

/* The keyword: up to white space, '=' or a double-quoted word (strdelim).
 * Leaves *s at the first argument, or at the end of the line; *shift
 * counts the characters the rest of the line moved left by. */
static char *
keyword_split(char **s, size_t *shift)
{
	char *old = *s, *p;
	int eq = 0;

	p = strpbrk(old, WHITESPACE "\"=");
	if (p == NULL) {
		*s = old + strlen(old);
		return old;
	}
	if (*p == '"') {
		memmove(p, p + 1, strlen(p + 1) + 1);
		*shift = 1;
		if ((p = strchr(p, '"')) == NULL)
			return NULL;
		*p = '\0';
		*s = p + 1 + strspn(p + 1, WHITESPACE);
		return old;
	}
	if (*p == '=')
		eq = 1;
	*p = '\0';
	p += 1 + strspn(p + 1, WHITESPACE);
	if (*p == '=' && !eq)
		p += 1 + strspn(p + 1, WHITESPACE);
	*s = p;
	return old;
}

/* The arguments (argv_split with comments ending the line), rewritten in
 * place: an argument never grows, so writing at j <= i is safe. */
static int
args_split(char *s, struct cfgtok_line *out)
{
	size_t i, j;
	char quote, *arg;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] == ' ' || s[i] == '\t')
			continue;
		if (s[i] == '#')
			break;
		if (out->nargs == CFGTOK_MAX_ARGS)
			return CFGTOK_TOOMANY;
		arg = out->args[out->nargs++] = s + i;
		quote = 0;
		for (j = 0; s[i] != '\0'; i++) {
			if (s[i] == '\\') {
				if (s[i + 1] == '\'' || s[i + 1] == '"' ||
				    s[i + 1] == '\\' ||
				    (quote == 0 && s[i + 1] == ' '))
					i++;
				arg[j++] = s[i];
			} else if (quote == 0 && (s[i] == ' ' || s[i] == '\t'))
				break;
			else if (quote == 0 && (s[i] == '"' || s[i] == '\''))
				quote = s[i];
			else if (quote != 0 && s[i] == quote)
				quote = 0;
			else
				arg[j++] = s[i];
		}
		if (s[i] == '\0') {
			arg[j] = '\0';
			if (quote != 0)
				return CFGTOK_QUOTES;
			break;
		}
		arg[j] = '\0';	/* j <= i: the separator or before it */
	}
	return CFGTOK_LINE;
}

int
cfgtok_split(char *line, struct cfgtok_line *out)
{
	size_t len = strlen(line), shift = 0;
	char *s;
	int r;

	out->keyword = NULL;
	out->nargs = 0;
	out->rest = 0;
	while (len > 0 && strchr(WHITESPACE "\f", line[len - 1]) != NULL)
		line[--len] = '\0';
	s = line + strspn(line, WHITESPACE);
	if (*s == '\0' || *s == '#')
		return CFGTOK_EMPTY;
	if ((out->keyword = keyword_split(&s, &shift)) == NULL)
		return CFGTOK_QUOTES;
	if (out->keyword[0] == '\0' || out->keyword[0] == '#') {
		out->keyword = NULL;
		return CFGTOK_EMPTY;
	}
	s += strspn(s, WHITESPACE);
	if (*s == '\0')
		return CFGTOK_NOARG;
	out->rest = (size_t)(s - line) + shift;
	r = args_split(s, out);
	return r == CFGTOK_LINE && out->nargs == 0 ? CFGTOK_NOARG : r;
}

int
cfgtok_rest(const char *raw, const struct cfgtok_line *tl, char *out,
    size_t outlen)
{
	size_t len;

	raw += tl->rest;
	len = strlen(raw);
	while (len > 0 && strchr(WHITESPACE "\f", raw[len - 1]) != NULL)
		len--;
	if (len >= outlen)
		return -1;
	memcpy(out, raw, len);
	out[len] = '\0';
	return 0;
}

const char *
cfgtok_strerror(int result)
{
	switch (result) {
	case CFGTOK_NOARG:
		return "no argument after keyword";
	case CFGTOK_QUOTES:
		return "invalid quotes";
	case CFGTOK_TOOMANY:
		return "too many arguments";
	default:
		return "no error";
	}
}
