/* The operator's end of a control socket, shared by ferry and ferryd. */
#include "ctlclient.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Connects to path; -1 with the reason already on stderr. */
static int
ctl_connect(const char *path, const char *prog, const char *peer)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "%s: control socket %s is too long\n", prog,
		    path);
		return -1;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		fprintf(stderr, "%s: cannot reach %s at %s: %s\n", prog, peer,
		    path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int
ctl_request(const char *path, const char *req, const char *prog,
    const char *peer, bool label_error)
{
	char buf[8192];
	bool ok = false, first = true;
	size_t n;
	FILE *in;
	int fd;

	if ((fd = ctl_connect(path, prog, peer)) < 0)
		return 1;
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req) ||
	    (in = fdopen(fd, "r")) == NULL) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
		close(fd);
		return 1;
	}
	/* the first line is "ok" or "error: why"; the rest is the answer */
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
		const char *body = buf;

		if (first) {
			first = false;
			if ((ok = n >= 3 && memcmp(buf, "ok\n", 3) == 0))
				body = buf + 3;
			else if (label_error)
				fprintf(stderr, "%s: ", prog);
		}
		fwrite(body, 1, n - (size_t)(body - buf), ok ? stdout :
		    stderr);
	}
	fclose(in);
	if (first)
		fprintf(stderr, "%s: no answer from %s\n", prog, path);
	return ok ? 0 : 1;
}
