/* Parsers of etcd's answers to the unary calls (fleet/etcd.h): a
 * transaction, a range page, a lease grant, keepalive or revoke. */
#include "fleet/etcd_int.h"

#include <stdlib.h>
#include <string.h>

/* Every answer's start: out cleared, e cleared, the body parsed. */
static int
begin(const char *body, size_t len, void *out, size_t outlen, json_t **root,
    struct etcd_error *e)
{
	memset(out, 0, outlen);
	ej_clear(e);
	return ej_load(body, len, ETCD_RESP_MAX, root, e);
}

/* The key a failed transaction read back: the first response's range. */
static int
txn_kv(json_t *responses, struct etcd_txn_result *out, struct etcd_error *e)
{
	json_t *first, *range, *kvs;

	if (responses == NULL || json_array_size(responses) == 0)
		return 0;
	first = json_array_get(responses, 0);
	if (!json_is_object(first)) {
		ej_malformed(e, "a transaction's response is not an object");
		return -1;
	}
	if (ej_object(first, "response_range", &range, e) != 0)
		return -1;
	if (range == NULL)
		return 0;
	if (ej_array(range, "kvs", &kvs, e) != 0)
		return -1;
	if (kvs == NULL || json_array_size(kvs) == 0)
		return 0;
	if (json_array_size(kvs) > 1) {
		ej_malformed(e, "%zu keys read back for one key",
		    json_array_size(kvs));
		return -1;
	}
	if (ej_kv(json_array_get(kvs, 0), &out->kv, e) != 0)
		return -1;
	out->has_kv = true;
	return 0;
}

int
etcd_parse_txn(const char *body, size_t len, struct etcd_txn_result *out,
    struct etcd_error *e)
{
	json_t *root, *responses;
	int r = -1;

	if (begin(body, len, out, sizeof(*out), &root, e) != 0)
		return -1;
	if (ej_header(root, &out->hdr, e) != 0 ||
	    ej_bool(root, "succeeded", &out->succeeded, e) != 0 ||
	    ej_array(root, "responses", &responses, e) != 0)
		goto done;
	if (!out->succeeded && txn_kv(responses, out, e) != 0)
		goto done;
	r = 0;
done:
	json_decref(root);
	if (r != 0)
		etcd_txn_result_free(out);
	return r;
}

int
etcd_parse_range(const char *body, size_t len, struct etcd_range_result *out,
    struct etcd_error *e)
{
	json_t *root, *kvs;
	int r = -1;

	if (begin(body, len, out, sizeof(*out), &root, e) != 0)
		return -1;
	if (ej_header(root, &out->hdr, e) != 0 ||
	    ej_array(root, "kvs", &kvs, e) != 0 ||
	    ej_bool(root, "more", &out->more, e) != 0 ||
	    ej_int64(root, "count", &out->count, e) != 0 ||
	    ej_kvs(kvs, ETCD_RANGE_LIMIT_MAX, &out->kvs, &out->nkvs, e) != 0)
		goto done;
	if (out->count < (int64_t)out->nkvs) {
		ej_malformed(e, "a count of %lld for %zu keys",
		    (long long)out->count, out->nkvs);
		goto done;
	}
	r = 0;
done:
	json_decref(root);
	if (r != 0)
		etcd_range_result_free(out);
	return r;
}

/* ID and TTL of a lease answer; a lease's ID is positive, its TTL not
 * negative (grant: positive). */
static int
lease_fields(json_t *o, bool grant, struct etcd_lease_result *out,
    struct etcd_error *e)
{
	if (ej_header(o, &out->hdr, e) != 0 ||
	    ej_int64(o, "ID", &out->id, e) != 0 ||
	    ej_int64(o, "TTL", &out->ttl, e) != 0)
		return -1;
	if (out->id <= 0 || out->ttl < (grant ? 1 : 0)) {
		ej_malformed(e, "a lease answer with ID %lld and TTL %lld",
		    (long long)out->id, (long long)out->ttl);
		return -1;
	}
	return 0;
}

int
etcd_parse_grant(const char *body, size_t len, struct etcd_lease_result *out,
    struct etcd_error *e)
{
	json_t *root, *err;
	int r = -1;

	if (begin(body, len, out, sizeof(*out), &root, e) != 0)
		return -1;
	/* LeaseGrantResponse's own error field */
	err = json_object_get(root, "error");
	if (json_is_string(err) && json_string_length(err) > 0) {
		ej_malformed(e, "lease grant refused: %s",
		    json_string_value(err));
		e->kind = ETCD_E_SERVER;
		goto done;
	}
	r = lease_fields(root, true, out, e);
done:
	json_decref(root);
	return r;
}

int
etcd_parse_keepalive(const char *body, size_t len,
    struct etcd_lease_result *out, struct etcd_error *e)
{
	json_t *root, *result;
	int r = -1;

	if (begin(body, len, out, sizeof(*out), &root, e) != 0)
		return -1;
	/* the gateway answers in its stream form, {"result": {...}} */
	if (ej_object(root, "result", &result, e) != 0)
		goto done;
	r = lease_fields(result != NULL ? result : root, false, out, e);
done:
	json_decref(root);
	return r;
}

int
etcd_parse_revoke(const char *body, size_t len, struct etcd_header *out,
    struct etcd_error *e)
{
	json_t *root;
	int r;

	if (begin(body, len, out, sizeof(*out), &root, e) != 0)
		return -1;
	r = ej_header(root, out, e);
	json_decref(root);
	return r;
}

void
etcd_txn_result_free(struct etcd_txn_result *r)
{
	etcd_kv_free(&r->kv);
	r->has_kv = false;
}

void
etcd_range_result_free(struct etcd_range_result *r)
{
	size_t i;

	for (i = 0; i < r->nkvs; i++)
		etcd_kv_free(&r->kvs[i]);
	free(r->kvs);
	r->kvs = NULL;
	r->nkvs = 0;
}
