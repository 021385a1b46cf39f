/* The status page ferry and ferryd serve on their loopback MetricsListen:
 * GET / is a self-contained HTML page (inline CSS and JS, nothing fetched
 * from elsewhere) that polls GET /status.json (the JSON of `status -j`)
 * every second and draws the sessions or hosts, their forwards and a
 * throughput sparkline per forward; GET /metrics is Prometheus text. */
#ifndef FERRY_UTIL_STATUSPAGE_H
#define FERRY_UTIL_STATUSPAGE_H

#include <stddef.h>

#include "ssh/buf.h"

enum sp_route {
	SP_PAGE,		/* GET / or /index.html */
	SP_JSON,		/* GET /status.json */
	SP_METRICS,		/* GET /metrics */
	SP_NOT_FOUND,		/* another path: 404 */
	SP_BAD_METHOD,		/* not GET: 405 */
	SP_BAD_HOST,		/* a Host header that is not loopback: 403 */
	SP_BAD_REQUEST,		/* not an HTTP/1.x request: 400 */
};

/* The page itself, NUL-terminated. */
extern const char statuspage_html[];

/* Routes the request head req[0..len) (the request line and headers; it
 * need not be NUL-terminated and is never read past len). A Host header
 * must name a loopback address or localhost, so that a web page whose
 * name was re-pointed at 127.0.0.1 (DNS rebinding) cannot read it. Pure;
 * never allocates. */
enum sp_route	statuspage_route(const char *req, size_t len);
/* The whole HTTP/1.0 answer for route: status line, headers (the page
 * with a Content-Security-Policy that allows nothing but itself and
 * /status.json), then body[0..len) (SP_PAGE: the page; errors: a line of
 * text when body is NULL). */
void		statuspage_answer(struct wb *out, enum sp_route route,
		    const void *body, size_t len);

#endif
