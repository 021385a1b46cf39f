/* The status page's HTTP routing (a pure parser over what a local client
 * sends), the page's promises (self-contained, no innerHTML), and ferryd's
 * refusal classification and counters (server/stats.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "server/stats.h"
#include "util/statuspage.h"

static enum sp_route
route(const char *s)
{
	return statuspage_route(s, strlen(s));
}

static void
test_route_paths(void **state)
{
	(void)state;
	assert_int_equal(route("GET / HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n"),
	    SP_PAGE);
	assert_int_equal(route("GET /index.html HTTP/1.0\r\n\r\n"), SP_PAGE);
	assert_int_equal(route("GET /?x=1 HTTP/1.0\r\n\r\n"), SP_PAGE);
	assert_int_equal(route("GET /status.json HTTP/1.1\r\n\r\n"), SP_JSON);
	assert_int_equal(route("GET /status.json?t=5 HTTP/1.1\r\n\r\n"),
	    SP_JSON);
	assert_int_equal(route("GET /metrics HTTP/1.0\r\n\r\n"), SP_METRICS);
	assert_int_equal(route("GET /metricsx HTTP/1.0\r\n\r\n"),
	    SP_NOT_FOUND);
	assert_int_equal(route("GET /status.jsonx HTTP/1.0\r\n\r\n"),
	    SP_NOT_FOUND);
	assert_int_equal(route("GET //metrics HTTP/1.0\r\n\r\n"),
	    SP_NOT_FOUND);
	assert_int_equal(route("POST / HTTP/1.0\r\n\r\n"), SP_BAD_METHOD);
	assert_int_equal(route("HEAD /metrics HTTP/1.1\r\n\r\n"),
	    SP_BAD_METHOD);
	assert_int_equal(route("GET /\r\n\r\n"), SP_BAD_REQUEST);
	assert_int_equal(route("GET  HTTP/1.0\r\n\r\n"), SP_BAD_REQUEST);
	assert_int_equal(route("BREW / HTTP/1.0\r\n\r\n"), SP_BAD_REQUEST);
	assert_int_equal(route("GET / SSH-2.0\r\n\r\n"), SP_BAD_REQUEST);
	assert_int_equal(route(""), SP_BAD_REQUEST);
	assert_int_equal(route("GET"), SP_BAD_REQUEST);
	/* never past the length: a prefix of a good request is not one */
	assert_int_equal(statuspage_route("GET / HTTP/1.0", 6),
	    SP_BAD_REQUEST);
}

static void
test_route_host(void **state)
{
	static const char *const good[] = {
		"127.0.0.1", "127.0.0.1:9100", "localhost", "LocalHost:80",
		"[::1]", "[::1]:8080", "127.1.2.3:1",
	};
	static const char *const bad[] = {
		"evil.example", "evil.example:9100", "10.0.0.1:80",
		"127.0.0.1.evil.example", "localhost.evil.example", "[::2]:80",
		"127.0.0.1:", "127.0.0.1:80x", "127.0.0.1:1234567", "",
		"[::1", "localhost:80:80",
	};
	char req[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(req, sizeof(req), "GET /metrics HTTP/1.1\r\n"
		    "Accept: */*\r\nhost: %s\r\n\r\n", good[i]);
		assert_int_equal(route(req), SP_METRICS);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(req, sizeof(req), "GET /status.json HTTP/1.1\r\n"
		    "Host: %s\r\n\r\n", bad[i]);
		assert_int_equal(route(req), SP_BAD_HOST);
	}
}

static void
test_page_self_contained(void **state)
{
	const char *p = statuspage_html;

	(void)state;
	assert_non_null(strstr(p, "<script>"));
	assert_non_null(strstr(p, "status.json"));
	assert_non_null(strstr(p, "textContent"));
	assert_null(strstr(p, "innerHTML"));
	assert_null(strstr(p, "outerHTML"));
	assert_null(strstr(p, "insertAdjacentHTML"));
	assert_null(strstr(p, "document.write"));
	assert_null(strstr(p, "eval("));
	assert_null(strstr(p, "<script src"));
	assert_null(strstr(p, "<link"));
	assert_null(strstr(p, "<img"));
	assert_null(strstr(p, "@import"));
	assert_null(strstr(p, "url("));
	/* the only absolute URL is the SVG namespace name */
	assert_ptr_equal(strstr(p, "http"), strstr(p, "http://www.w3.org/2000/"
	    "svg"));
	assert_null(strstr(strstr(p, "http://www.w3.org/2000/svg") + 1,
	    "http"));
}

static void
test_answer(void **state)
{
	struct wb w;
	char *s;

	(void)state;
	wb_init(&w);
	statuspage_answer(&w, SP_PAGE, NULL, 0);
	assert_false(w.err);
	s = strndup((char *)w.p, w.len);
	assert_true(strncmp(s, "HTTP/1.0 200 OK\r\n", 17) == 0);
	assert_non_null(strstr(s, "Content-Security-Policy: default-src "
	    "'none';"));
	assert_non_null(strstr(s, "\r\n\r\n<!DOCTYPE html>"));
	free(s);
	wb_reset(&w);
	statuspage_answer(&w, SP_BAD_HOST, NULL, 0);
	s = strndup((char *)w.p, w.len);
	assert_true(strncmp(s, "HTTP/1.0 403 ", 13) == 0);
	free(s);
	wb_free(&w);
}

static void
test_classify(void **state)
{
	static const struct {
		const char		*msg;
		enum refusal_rule	 rule;
	} v[] = {
		{ "connection to h port 1: not allowed by PermitOpen",
		    RR_PERMIT_OPEN },
		{ "connection to h port 1: not allowed by permitopen in f "
		    "line 2", RR_PERMIT_OPEN },
		{ "remote forward \"x\":80: not allowed by PermitListen",
		    RR_PERMIT_LISTEN },
		{ "remote forward \"x\":1: AllowTcpForwarding local forbids "
		    "remote (-R) forwarding", RR_ALLOW_TCP_FORWARDING },
		{ "direct-tcpip channel: MaxUserChannels 4 reached for this "
		    "user", RR_MAX_USER_CHANNELS },
		{ "direct-tcpip channel: MaxPendingConnects 2 reached",
		    RR_MAX_PENDING_CONNECTS },
		{ "x channel: descriptor reserve: 10 descriptors in use",
		    RR_DESCRIPTOR_RESERVE },
		{ "remote forward \"\":80: privileged ports are not forwarded",
		    RR_PRIVILEGED_PORT },
		{ "remote forward \"x\":5: this session has 3 listeners, the "
		    "most allowed", RR_MAX_LISTENERS },
		{ "the key's authorized_keys line (f line 1) has "
		    "no-port-forwarding", RR_AUTHORIZED_KEYS },
		{ "malformed tcpip-forward request", RR_MALFORMED },
		{ "remote forward \"x\":1: Address already in use", RR_OTHER },
		/* a peer's host naming a rule does not decide */
		{ "connection to PermitListen port 5: not allowed by "
		    "PermitOpen", RR_PERMIT_OPEN },
		{ "connection to x port 5: not allowed by PermitOpen and "
		    "MaxUserChannels", RR_MAX_USER_CHANNELS },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		assert_int_equal(stats_classify(v[i].msg), v[i].rule);
	for (i = 0; i < RR_COUNT; i++)
		assert_non_null(stats_rule_name((enum refusal_rule)i));
}

static void
test_recent_ring(void **state)
{
	struct srv_stats *ss = calloc(1, sizeof(*ss));
	const struct refusal *r;
	char msg[64];
	int i;

	(void)state;
	assert_null(stats_recent(ss, 0));
	for (i = 0; i < STATS_RECENT + 5; i++) {
		snprintf(msg, sizeof(msg), "n%d: not allowed by PermitOpen", i);
		stats_refusal(ss, i % 2 ? "bob" : NULL, "127.0.0.1", i, msg);
	}
	assert_int_equal(ss->refusals[RR_PERMIT_OPEN], STATS_RECENT + 5);
	r = stats_recent(ss, 0);
	assert_non_null(r);
	assert_int_equal(r->port, STATS_RECENT + 4);
	assert_string_equal(r->user, "");
	r = stats_recent(ss, STATS_RECENT - 1);
	assert_non_null(r);
	assert_int_equal(r->port, 5);
	assert_null(stats_recent(ss, STATS_RECENT));
	free(ss);
}

static void
test_flows(void **state)
{
	struct flow_list fl;
	struct srv_stats ss;
	struct pump_set set;
	struct fwd_stats t;
	struct flow *a, *b, *o;
	int i;
	char host[32];

	(void)state;
	memset(&fl, 0, sizeof(fl));
	memset(&ss, 0, sizeof(ss));
	memset(&set, 0, sizeof(set));
	a = stats_flow_add(&fl, FLOW_REMOTE_TCP, "localhost", 0);
	assert_non_null(a);
	a->st.bytes_in = 10;
	a->st.conns = 1;
	b = stats_flow_direct(&fl, FLOW_DIRECT_TCP, "h", 80);
	assert_ptr_equal(stats_flow_direct(&fl, FLOW_DIRECT_TCP, "h", 80), b);
	assert_ptr_not_equal(stats_flow_direct(&fl, FLOW_DIRECT_UNIX, "h",
	    80), b);
	b->st.bytes_out = 5;
	for (i = 0; i < STATS_MAX_DIRECT + 3; i++) {
		snprintf(host, sizeof(host), "d%d", i);
		o = stats_flow_direct(&fl, FLOW_DIRECT_TCP, host, 1);
		assert_non_null(o);
	}
	assert_ptr_equal(o, fl.other);
	stats_flow_end(&fl, &set, a);
	stats_flow_totals(&fl, &t);
	assert_int_equal(t.bytes_in, 10);
	assert_int_equal(t.bytes_out, 5);
	assert_int_equal(t.conns, 1);
	stats_flows_free(&fl, &ss);
	assert_int_equal(ss.gone.bytes_in, 10);
	assert_null(fl.head);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_paths),
		cmocka_unit_test(test_route_host),
		cmocka_unit_test(test_page_self_contained),
		cmocka_unit_test(test_answer),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_recent_ring),
		cmocka_unit_test(test_flows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
