/* libFuzzer target: etcd's answers as the fleet registry's client parses
 * them (fleet/etcd.h). The first byte picks the parser: a transaction, a
 * range page, a lease grant, keepalive or revoke, a watch stream (fed in
 * chunks whose sizes come from the second byte, every message taken out
 * and its resume revision computed), or ClusterRegistry's endpoint list.
 * A parser that says 0 must leave what it says it filled in consistent. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fleet/etcd.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_kv(const struct etcd_kv *kv)
{
	if (kv->key == NULL || kv->keylen == 0 || kv->keylen > ETCD_KEY_MAX ||
	    strlen(kv->key) != kv->keylen || kv->value == NULL ||
	    kv->valuelen > ETCD_VALUE_MAX || kv->value[kv->valuelen] != '\0')
		abort();
}

static void
check_error(const struct etcd_error *e)
{
	if (e->kind == ETCD_E_NONE || strlen(e->msg) >= sizeof(e->msg))
		abort();
}

static void
unary(int which, const char *body, size_t len)
{
	struct etcd_txn_result t;
	struct etcd_range_result r;
	struct etcd_lease_result l;
	struct etcd_header h;
	struct etcd_error e;
	size_t i;

	switch (which) {
	case 0:
		if (etcd_parse_txn(body, len, &t, &e) != 0) {
			check_error(&e);
			return;
		}
		if (t.has_kv)
			check_kv(&t.kv);
		etcd_txn_result_free(&t);
		break;
	case 1:
		if (etcd_parse_range(body, len, &r, &e) != 0) {
			check_error(&e);
			return;
		}
		for (i = 0; i < r.nkvs; i++)
			check_kv(&r.kvs[i]);
		if (r.nkvs > ETCD_RANGE_LIMIT_MAX || r.count < (int64_t)r.nkvs)
			abort();
		etcd_range_result_free(&r);
		break;
	case 2:
		if (etcd_parse_grant(body, len, &l, &e) != 0)
			check_error(&e);
		else if (l.id <= 0 || l.ttl <= 0)
			abort();
		break;
	case 3:
		if (etcd_parse_keepalive(body, len, &l, &e) != 0)
			check_error(&e);
		else if (l.id <= 0 || l.ttl < 0)
			abort();
		break;
	default:
		if (etcd_parse_revoke(body, len, &h, &e) != 0)
			check_error(&e);
		break;
	}
}

static void
watch(const char *data, size_t n, size_t chunk)
{
	struct etcd_watch_parser p;
	struct etcd_watch_msg m;
	struct etcd_error e;
	int64_t next = 0;
	size_t k, i;
	int r = 0;

	etcd_watch_parser_init(&p);
	while (n > 0) {
		k = etcd_watch_feed(&p, data, n < chunk ? n : chunk);
		data += k;
		n -= k;
		while ((r = etcd_watch_next(&p, &m, &e)) == 1) {
			for (i = 0; i < m.nevents; i++) {
				check_kv(&m.events[i].kv);
				if (m.events[i].has_prev)
					check_kv(&m.events[i].prev_kv);
			}
			if (etcd_watch_next_rev(&m, next) < next)
				abort();
			next = etcd_watch_next_rev(&m, next);
			etcd_watch_msg_free(&m);
		}
		if (r < 0) {
			check_error(&e);
			break;
		}
		if (k == 0)
			abort();	/* full without failing */
	}
	etcd_watch_parser_free(&p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct etcd_endpoints ep;
	char err[256], *s;

	if (size < 2)
		return 0;
	switch (data[0] % 8) {
	case 5:
		watch((const char *)data + 2, size - 2, (size_t)data[1] + 1);
		break;
	case 6:
		if ((s = malloc(size - 1)) == NULL)
			return 0;
		memcpy(s, data + 2, size - 2);
		s[size - 2] = '\0';
		if (etcd_endpoints_parse(s, &ep, err, sizeof(err)) == 0 &&
		    (ep.n < 1 || ep.n > ETCD_ENDPOINTS_MAX))
			abort();
		free(s);
		break;
	case 7:
		watch((const char *)data + 2, size - 2, size);
		break;
	default:
		unary(data[0] % 8, (const char *)data + 2, size - 2);
		break;
	}
	return 0;
}
