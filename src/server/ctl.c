/* ferryd's control socket, metrics listener and status commands. */
#include "ctl.h"

#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fwd/ctlclient.h"
#include "fwd/ctlproto.h"
#include "fwd/spec.h"
#include "net/reqsrv.h"
#include "server/config.h"
#include "server/report.h"
#include "util/log.h"
#include "util/statuspage.h"
#include "util/text.h"

/* control and metrics connections at once */
#define MAX_REQS	32

/* One control line (client/ctlproto.h); the answer starts with "ok" or
 * "error: ...". */
static void
control_command(void *ud, char *line, struct wb *out)
{
	struct ctl_server *c = ud;
	struct ctl_cmd cmd;
	char err[600];

	if (ctl_parse(line, &cmd, err, sizeof(err)) != 0) {
		wb_printf(out, "error: %s\n", err);
		return;
	}
	switch (cmd.op) {
	case CTL_STATUS:
		wb_printf(out, "ok\n");
		report_text(c->sessions, out);
		break;
	case CTL_STATUS_JSON:
		wb_printf(out, "ok\n");
		report_json(c->sessions, out);
		break;
	case CTL_METRICS:
		wb_printf(out, "ok\n");
		report_metrics(c->sessions, out);
		break;
	default:
		wb_printf(out, "error: ferryd answers status, status-json and "
		    "metrics; forwards are the clients' to make\n");
		break;
	}
}

static void
report(void *ud, enum sp_route route, struct wb *body)
{
	struct ctl_server *c = ud;

	if (route == SP_JSON)
		report_json(c->sessions, body);
	else
		report_metrics(c->sessions, body);
}

static const struct reqsrv_ops req_ops = {
	.line = control_command,
	.report = report,
};

bool
ctl_is_default(const char *path, const char *state_dir)
{
	size_t n = strlen(state_dir);

	return path != NULL && strncmp(path, state_dir, n) == 0 &&
	    strcmp(path + n, "/ferryd.sock") == 0;
}

int
ctl_start(struct ctl_server *c, uv_loop_t *loop,
    struct session_list *sessions, const char *path, bool optional,
    const char *metrics, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	int r;

	c->sessions = sessions;
	reqsrv_init(&c->req, loop, &req_ops, c, "ControlSocket", "ferryd",
	    MAX_REQS);
	if (path != NULL && strcasecmp(path, "none") != 0 &&
	    (r = reqsrv_listen_unix(&c->req, path, err, errlen)) != 0) {
		/* two ferryds on one socket: always an error */
		if (!optional || r == -2)
			return -1;
		log_info("no control socket: %s (set ControlSocket)", err);
	}
	if (metrics != NULL && strcasecmp(metrics, "none") != 0) {
		if (fwd_loopback_addr(metrics, &ss, err, errlen) != 0 ||
		    reqsrv_listen_http(&c->req, (struct sockaddr *)&ss,
		    metrics, err, errlen) != 0) {
			ctl_stop(c);
			return -1;
		}
		log_info("Metrics on port %d", reqsrv_http_port(&c->req));
	}
	return 0;
}

void
ctl_stop(struct ctl_server *c)
{
	reqsrv_close(&c->req);
}

/* ---- ferryd status / metrics ------------------------------------- */

static int
client_usage(void)
{
	fprintf(stderr, "usage: ferryd status [-j] [-f config_file] "
	    "[-S control_socket]\n"
	    "       ferryd metrics [-f config_file] [-S control_socket]\n");
	return 2;
}

/* The configuration's ControlSocket (or its default). */
static char *
configured_path(const char *config, bool given)
{
	struct server_config sc;
	char err[1024], *p = NULL;

	server_config_init(&sc);
	if (server_config_file(&sc, config, given, err, sizeof(err)) != 0 ||
	    server_config_finish(&sc, err, sizeof(err)) != 0)
		fprintf(stderr, "ferryd: %s\n", err);
	else if (sc.control_socket != NULL)
		p = strdup(sc.control_socket);
	server_config_free(&sc);
	return p;
}

int
ctl_client_main(int argc, char **argv, const char *default_config)
{
	const char *cmd = argv[0], *config = default_config;
	char *path = NULL, req[64];
	bool json = false, given = false;
	int ch, code = 1;

	opterr = 0;
	optind = 1;
	while ((ch = getopt(argc, argv, "jf:S:")) != -1) {
		switch (ch) {
		case 'j':
			json = true;
			break;
		case 'f':
			config = optarg;
			given = true;
			break;
		case 'S':
			free(path);
			path = strdup(optarg);
			break;
		default:
			free(path);
			return client_usage();
		}
	}
	if (optind != argc || (json && strcmp(cmd, "status") != 0)) {
		free(path);
		return client_usage();
	}
	if (path == NULL && (path = configured_path(config, given)) == NULL)
		return 1;
	if (strcasecmp(path, "none") == 0) {
		fprintf(stderr, "ferryd: ControlSocket is none\n");
		goto out;
	}
	snprintf(req, sizeof(req), "%s\n", strcmp(cmd, "metrics") == 0 ?
	    "metrics" : json ? "status-json" : "status");
	code = ctl_request(path, req, "ferryd", "ferryd", false);
out:
	free(path);
	return code;
}
