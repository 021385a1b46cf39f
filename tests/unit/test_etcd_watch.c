/* A watch's stream (src/fleet/etcd_watch.c): the stream recorded from
 * etcd 3.4's gateway fed whole, byte by byte and in odd chunks gives the
 * same messages; where a watch resumes; compaction, etcd's stream error,
 * malformed lines and a message over the bound end the stream with a
 * message. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet/etcd.h"
#include "datafile.h"

#define DATA	"data/etcd/"

static char *
slurp(const char *name, size_t *len)
{
	char path[256];

	snprintf(path, sizeof(path), DATA "%s", name);
	return datafile_read(path, len);
}

/* What a stream gave: messages, events, the resume revision, the end. */
struct seen {
	int		 msgs;
	int		 created;
	int		 events;
	int		 deletes;
	int		 with_prev;
	int64_t		 next;
	int		 r;		/* the last next() result */
	struct etcd_error e;
	char		 last_key[64];
};

/* Feeds data in chunks of chunk bytes (0: whole), taking messages out
 * between feeds, as the driver does. */
static void
run(const char *data, size_t n, size_t chunk, int64_t start, struct seen *s)
{
	struct etcd_watch_parser p;
	struct etcd_watch_msg m;
	size_t k, give, i, turns = 0;

	memset(s, 0, sizeof(*s));
	s->next = start;
	etcd_watch_parser_init(&p);
	while (n > 0 && turns++ < 10000000) {
		give = chunk == 0 || chunk > n ? n : chunk;
		k = etcd_watch_feed(&p, data, give);
		data += k;
		n -= k;
		while ((s->r = etcd_watch_next(&p, &m, &s->e)) == 1) {
			s->msgs++;
			s->created += m.created;
			for (i = 0; i < m.nevents; i++) {
				s->events++;
				s->deletes += m.events[i].type ==
				    ETCD_EV_DELETE;
				s->with_prev += m.events[i].has_prev;
				snprintf(s->last_key, sizeof(s->last_key),
				    "%s", m.events[i].kv.key);
			}
			s->next = etcd_watch_next_rev(&m, s->next);
			etcd_watch_msg_free(&m);
		}
		if (s->r < 0 || k == 0)
			break;
	}
	etcd_watch_parser_free(&p);
}

static void
test_recorded_stream(void **state)
{
	static const size_t chunks[] = { 0, 1, 7, 100, 4096 };
	struct seen s;
	size_t len, i;
	char *b = slurp("watch_stream.txt", &len);

	(void)state;
	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		run(b, len, chunks[i], 1, &s);
		assert_int_equal(s.r, 0);
		assert_int_equal(s.msgs, 2);
		assert_int_equal(s.created, 1);
		assert_int_equal(s.events, 6);
		assert_int_equal(s.deletes, 1);
		assert_int_equal(s.with_prev, 2);
		assert_string_equal(s.last_key, "/ferry/fwd/tcp/8080");
		/* past the last event, revision 7 */
		assert_int_equal(s.next, 8);
	}
	free(b);
}

static void
test_event_fields(void **state)
{
	struct etcd_watch_parser p;
	struct etcd_watch_msg m;
	struct etcd_error e;
	size_t len;
	char *b = slurp("watch_stream.txt", &len);

	(void)state;
	etcd_watch_parser_init(&p);
	assert_int_equal(etcd_watch_feed(&p, b, len), len);
	assert_int_equal(etcd_watch_next(&p, &m, &e), 1);
	assert_true(m.created);
	assert_int_equal(m.hdr.revision, 7);
	etcd_watch_msg_free(&m);
	assert_int_equal(etcd_watch_next(&p, &m, &e), 1);
	assert_int_equal(m.nevents, 6);
	assert_int_equal(m.events[0].type, ETCD_EV_PUT);
	assert_string_equal((char *)m.events[0].kv.value,
	    "{\"node\":\"n1\",\"session\":7}");
	assert_true(m.events[1].has_prev);
	assert_int_equal(m.events[1].prev_kv.mod_revision, 2);
	assert_int_equal(m.events[5].type, ETCD_EV_DELETE);
	assert_int_equal(m.events[5].kv.mod_revision, 7);
	assert_int_equal(m.events[5].kv.valuelen, 0);
	etcd_watch_msg_free(&m);
	assert_int_equal(etcd_watch_next(&p, &m, &e), 0);
	etcd_watch_parser_free(&p);
	free(b);
}

static void
test_next_rev(void **state)
{
	struct etcd_watch_msg m;
	struct etcd_event ev[2];

	(void)state;
	memset(&m, 0, sizeof(m));
	memset(ev, 0, sizeof(ev));
	m.hdr.revision = 40;
	/* created from now: past the store's revision; from 12: still 12 */
	m.created = true;
	assert_int_equal(etcd_watch_next_rev(&m, 0), 41);
	assert_int_equal(etcd_watch_next_rev(&m, 12), 12);
	/* a progress report */
	m.created = false;
	assert_int_equal(etcd_watch_next_rev(&m, 12), 41);
	assert_int_equal(etcd_watch_next_rev(&m, 50), 50);
	/* canceled: nothing learnt */
	m.canceled = true;
	assert_int_equal(etcd_watch_next_rev(&m, 12), 12);
	m.canceled = false;
	/* events: past the highest */
	ev[0].kv.mod_revision = 30;
	ev[1].kv.mod_revision = 31;
	m.events = ev;
	m.nevents = 2;
	assert_int_equal(etcd_watch_next_rev(&m, 12), 32);
}

static void
test_compacted(void **state)
{
	struct etcd_watch_parser p;
	struct etcd_watch_msg m;
	struct etcd_error e;
	size_t len;
	char *b = slurp("watch_compacted.txt", &len);

	(void)state;
	etcd_watch_parser_init(&p);
	assert_int_equal(etcd_watch_feed(&p, b, len), len);
	assert_int_equal(etcd_watch_next(&p, &m, &e), 1);
	etcd_watch_msg_free(&m);
	assert_int_equal(etcd_watch_next(&p, &m, &e), 1);
	assert_true(m.canceled);
	assert_int_equal(m.compact_revision, 5);
	etcd_watch_msg_free(&m);
	etcd_watch_parser_free(&p);
	free(b);
}

/* A stream ending with line must stop with a message containing want. */
static void
stream_fails(const char *line, int kind, const char *want)
{
	struct seen s;

	run(line, strlen(line), 3, 0, &s);
	assert_int_equal(s.r, -1);
	assert_int_equal(s.e.kind, kind);
	if (strstr(s.e.msg, want) == NULL)
		fail_msg("\"%s\" not in \"%s\"", want, s.e.msg);
}

static void
test_stream_errors(void **state)
{
	(void)state;
	stream_fails("{\"error\":{\"grpc_code\":14,\"http_code\":503,"
	    "\"message\":\"etcdserver: no leader\",\"http_status\":"
	    "\"Service Unavailable\"}}\n", ETCD_E_SERVER,
	    "etcdserver: no leader");
	stream_fails("\n\r\n{\"result\":{\"header\":{}}}\n{\"x\":1}\n",
	    ETCD_E_MALFORMED, "without \"result\"");
	stream_fails("{\"result\":{\"header\":{},\"events\":[{\"type\":"
	    "\"MOVE\",\"kv\":{\"key\":\"YQ==\"}}]}}\n", ETCD_E_MALFORMED,
	    "unknown type");
	stream_fails("{\"result\":{\"header\":{},\"events\":[{}]}}\n",
	    ETCD_E_MALFORMED, "without a key");
	stream_fails("{\"result\":{\"header\":{},\"events\":[7]}}\n",
	    ETCD_E_MALFORMED, "not an object");
	stream_fails("{\"result\":{\"header\":{},\"cancel_reason\":1}}\n",
	    ETCD_E_MALFORMED, "cancel_reason");
	stream_fails("{\"result\":\n", ETCD_E_MALFORMED, "not JSON");
}

static void
test_bound(void **state)
{
	struct etcd_watch_parser p;
	struct etcd_watch_msg m;
	struct etcd_error e;
	size_t fed = 0, k, turns = 0;
	char *junk = malloc(65536);

	(void)state;
	assert_non_null(junk);
	memset(junk, 'x', 65536);
	etcd_watch_parser_init(&p);
	/* no newline ever: the parser holds at most the bound, then fails */
	for (;;) {
		assert_true(turns++ < 1000);
		k = etcd_watch_feed(&p, junk, 65536);
		fed += k;
		if (etcd_watch_next(&p, &m, &e) < 0)
			break;
		assert_true(k > 0);
	}
	assert_true(fed >= ETCD_WATCH_MSG_MAX);
	assert_true(fed <= ETCD_WATCH_MSG_MAX + 1);
	assert_true(p.cap <= ETCD_WATCH_MSG_MAX + 1);
	assert_non_null(strstr(e.msg, "over 4194304 bytes"));
	/* and stays failed */
	assert_int_equal(etcd_watch_feed(&p, "\n", 1), 0);
	assert_int_equal(etcd_watch_next(&p, &m, &e), -1);
	etcd_watch_parser_free(&p);
	free(junk);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recorded_stream),
		cmocka_unit_test(test_event_fields),
		cmocka_unit_test(test_next_rev),
		cmocka_unit_test(test_compacted),
		cmocka_unit_test(test_stream_errors),
		cmocka_unit_test(test_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
