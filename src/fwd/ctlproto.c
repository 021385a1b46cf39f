/* The control socket's request line. */
#include "ctlproto.h"

#include <stdio.h>
#include <string.h>

#define MAX_WORDS	5

int
ctl_parse(char *line, struct ctl_cmd *out, char *err, size_t errlen)
{
	char *words[MAX_WORDS], *save = NULL, *w;
	int n = 0;

	memset(out, 0, sizeof(*out));
	for (w = strtok_r(line, " \t\r\n", &save); w != NULL;
	    w = strtok_r(NULL, " \t\r\n", &save)) {
		if (n == MAX_WORDS) {
			snprintf(err, errlen, "too many words");
			return -1;
		}
		words[n++] = w;
	}
	if (n == 1 && strcmp(words[0], "status") == 0) {
		out->op = CTL_STATUS;
		return 0;
	}
	if (n == 1 && strcmp(words[0], "status-json") == 0) {
		out->op = CTL_STATUS_JSON;
		return 0;
	}
	if (n == 1 && strcmp(words[0], "metrics") == 0) {
		out->op = CTL_METRICS;
		return 0;
	}
	if (n <= 2 && n > 0 && strcmp(words[0], "reconnect") == 0) {
		out->op = CTL_RECONNECT;
		out->host = n == 2 ? words[1] : NULL;
		return 0;
	}
	if (n == 4 && (strcmp(words[0], "forward") == 0 ||
	    strcmp(words[0], "cancel") == 0)) {
		out->op = words[0][0] == 'f' ? CTL_FORWARD : CTL_CANCEL;
		out->host = words[1];
		out->spec = words[3];
		if (strcmp(words[2], "-L") == 0)
			out->kind = FWD_LOCAL;
		else if (strcmp(words[2], "-R") == 0)
			out->kind = FWD_REMOTE;
		else if (strcmp(words[2], "-D") == 0)
			out->kind = FWD_DYNAMIC;
		else {
			snprintf(err, errlen, "'%.40s' is not -L, -R or -D",
			    words[2]);
			return -1;
		}
		return 0;
	}
	snprintf(err, errlen, "unknown command (status, status-json, metrics, "
	    "forward HOST -L|-R|-D SPEC, cancel HOST -L|-R|-D SPEC, "
	    "reconnect [HOST])");
	return -1;
}
