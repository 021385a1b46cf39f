/* The request bodies of the etcd calls a fleet registry makes
 * (fleet/etcd.h): three conditional transactions, a range by prefix,
 * leases and a watch, as the v3 JSON gateway takes them. */
#include "fleet/etcd_int.h"

#include <string.h>

#include "util/err.h"

#define TTL_MAX		1000000000	/* seconds; etcd's own bound is higher */

/* A bounded key (for the message) or -1 with err. */
static int
check_key(const char *key, const char *what, char *err, size_t errlen)
{
	size_t n = key != NULL ? strlen(key) : 0;

	if (n == 0 || n > ETCD_KEY_MAX) {
		seterr(err, errlen, "%s of %zu bytes (1 to %d allowed)", what, n,
		    ETCD_KEY_MAX);
		return -1;
	}
	return 0;
}

static int
check_value(size_t vallen, char *err, size_t errlen)
{
	if (vallen > ETCD_VALUE_MAX) {
		seterr(err, errlen, "a value of %zu bytes (at most %d)", vallen,
		    ETCD_VALUE_MAX);
		return -1;
	}
	return 0;
}

static int
check_positive(int64_t v, int64_t max, const char *what, char *err,
    size_t errlen)
{
	if (v <= 0 || v > max) {
		seterr(err, errlen, "%s %lld out of range (1 to %lld)", what,
		    (long long)v, (long long)max);
		return -1;
	}
	return 0;
}

/* {name: v}; takes v's reference; NULL if v is NULL or out of memory. */
static json_t *
obj1(const char *name, json_t *v)
{
	json_t *o = json_object();

	if (json_object_set_new(o, name, v) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* [v]; takes v's reference. */
static json_t *
arr1(json_t *v)
{
	json_t *a = json_array();

	if (json_array_append_new(a, v) != 0) {
		json_decref(a);
		return NULL;
	}
	return a;
}

/* {"key": key} for a request of the key alone. */
static json_t *
keyobj(const char *key)
{
	json_t *o = json_object();

	if (o != NULL && ej_set_b64(o, "key", key, strlen(key)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* key's create_revision (CREATE) or mod_revision (MOD) equals rev. */
static json_t *
compare(const char *key, const char *target, int64_t rev)
{
	json_t *c = keyobj(key);

	if (c == NULL || json_object_set_new(c, "target",
	    json_string(target)) != 0 ||
	    json_object_set_new(c, "result", json_string("EQUAL")) != 0 ||
	    ej_set_int64(c, strcmp(target, "CREATE") == 0 ? "create_revision" :
	    "mod_revision", rev) != 0) {
		json_decref(c);
		return NULL;
	}
	return c;
}

static json_t *
op_put(const char *key, const void *val, size_t vallen, int64_t lease)
{
	json_t *p = keyobj(key);

	if (p == NULL || ej_set_b64(p, "value", val, vallen) != 0 ||
	    (lease != 0 && ej_set_int64(p, "lease", lease) != 0)) {
		json_decref(p);
		return NULL;
	}
	return obj1("request_put", p);
}

/* The txn: if cmp then success else a read of the key (so that a failed
 * attempt says who holds it). */
static char *
txn(const char *key, json_t *cmp, json_t *success, char *err,
    size_t errlen)
{
	json_t *t = json_object();
	int bad = 0;

	/* each set takes its value's reference, whatever happens */
	bad |= json_object_set_new(t, "compare", arr1(cmp));
	bad |= json_object_set_new(t, "success", arr1(success));
	bad |= json_object_set_new(t, "failure",
	    arr1(obj1("request_range", keyobj(key))));
	if (bad != 0) {
		json_decref(t);
		t = NULL;
	}
	return ej_dump(t, err, errlen);
}

char *
etcd_req_put_if_absent(const char *key, const void *val, size_t vallen,
    int64_t lease, char *err, size_t errlen)
{
	if (check_key(key, "a key", err, errlen) != 0 ||
	    check_value(vallen, err, errlen) != 0)
		return NULL;
	return txn(key, compare(key, "CREATE", 0), op_put(key, val, vallen,
	    lease), err, errlen);
}

char *
etcd_req_cas(const char *key, int64_t mod_revision, const void *val,
    size_t vallen, int64_t lease, char *err, size_t errlen)
{
	if (check_key(key, "a key", err, errlen) != 0 ||
	    check_value(vallen, err, errlen) != 0 ||
	    check_positive(mod_revision, INT64_MAX, "revision", err,
	    errlen) != 0)
		return NULL;
	return txn(key, compare(key, "MOD", mod_revision), op_put(key, val,
	    vallen, lease), err, errlen);
}

char *
etcd_req_delete_if(const char *key, int64_t mod_revision, char *err,
    size_t errlen)
{
	if (check_key(key, "a key", err, errlen) != 0 ||
	    check_positive(mod_revision, INT64_MAX, "revision", err,
	    errlen) != 0)
		return NULL;
	return txn(key, compare(key, "MOD", mod_revision),
	    obj1("request_delete_range", keyobj(key)), err, errlen);
}

int
etcd_prefix_end(const char *prefix, char *out, size_t outlen)
{
	size_t n = strlen(prefix), i;

	if (outlen < n + 1 || outlen < 2)
		return -1;
	memcpy(out, prefix, n + 1);
	for (i = n; i > 0; i--) {
		if ((unsigned char)out[i - 1] < 0xff) {
			out[i - 1]++;
			out[i] = '\0';
			return (int)i;
		}
	}
	out[0] = out[1] = '\0';
	return 1;
}

/* {"key": prefix, "range_end": its end} with the key possibly past
 * `after`; into o. */
static int
set_prefix(json_t *o, const char *prefix, const char *after)
{
	char end[ETCD_KEY_MAX + 1], start[ETCD_KEY_MAX + 2];
	size_t n;
	int endlen;

	if ((endlen = etcd_prefix_end(prefix, end, sizeof(end))) < 0)
		return -1;
	if (after != NULL) {
		/* the first key after `after`: after itself and a NUL */
		n = strlen(after);
		memcpy(start, after, n);
		start[n++] = '\0';
	} else {
		n = strlen(prefix);
		memcpy(start, prefix, n);
	}
	if (ej_set_b64(o, "key", start, n) != 0 ||
	    ej_set_b64(o, "range_end", end, (size_t)endlen) != 0)
		return -1;
	return 0;
}

char *
etcd_req_range_prefix(const char *prefix, const char *after, int64_t limit,
    int64_t revision, char *err, size_t errlen)
{
	json_t *o;

	if (check_key(prefix, "a prefix", err, errlen) != 0 ||
	    (after != NULL && check_key(after, "a start key", err,
	    errlen) != 0) ||
	    check_positive(limit, ETCD_RANGE_LIMIT_MAX, "limit", err,
	    errlen) != 0)
		return NULL;
	if (revision < 0) {
		seterr(err, errlen, "revision %lld is negative",
		    (long long)revision);
		return NULL;
	}
	o = json_object();
	if (o == NULL || set_prefix(o, prefix, after) != 0 ||
	    ej_set_int64(o, "limit", limit) != 0 ||
	    (revision != 0 && ej_set_int64(o, "revision", revision) != 0)) {
		json_decref(o);
		o = NULL;
	}
	return ej_dump(o, err, errlen);
}

char *
etcd_req_lease_grant(int64_t ttl, int64_t id, char *err, size_t errlen)
{
	json_t *o;

	if (check_positive(ttl, TTL_MAX, "TTL", err, errlen) != 0)
		return NULL;
	if (id < 0) {
		seterr(err, errlen, "lease ID %lld is negative", (long long)id);
		return NULL;
	}
	o = json_object();
	if (o == NULL || ej_set_int64(o, "TTL", ttl) != 0 ||
	    (id != 0 && ej_set_int64(o, "ID", id) != 0)) {
		json_decref(o);
		o = NULL;
	}
	return ej_dump(o, err, errlen);
}

static char *
lease_id_body(int64_t id, char *err, size_t errlen)
{
	json_t *o;

	if (check_positive(id, INT64_MAX, "lease ID", err, errlen) != 0)
		return NULL;
	o = json_object();
	if (o == NULL || ej_set_int64(o, "ID", id) != 0) {
		json_decref(o);
		o = NULL;
	}
	return ej_dump(o, err, errlen);
}

char *
etcd_req_lease_keepalive(int64_t id, char *err, size_t errlen)
{
	return lease_id_body(id, err, errlen);
}

char *
etcd_req_lease_revoke(int64_t id, char *err, size_t errlen)
{
	return lease_id_body(id, err, errlen);
}

/* progress_notify: etcd then reports the revision of a quiet watch now
 * and then, which a resumed watch starts past. */
char *
etcd_req_watch_prefix(const char *prefix, int64_t start_revision,
    bool prev_kv, char *err, size_t errlen)
{
	json_t *o;

	if (check_key(prefix, "a prefix", err, errlen) != 0)
		return NULL;
	if (start_revision < 0) {
		seterr(err, errlen, "revision %lld is negative",
		    (long long)start_revision);
		return NULL;
	}
	o = json_object();
	if (o == NULL || set_prefix(o, prefix, NULL) != 0 ||
	    (start_revision != 0 && ej_set_int64(o, "start_revision",
	    start_revision) != 0) ||
	    json_object_set_new(o, "progress_notify", json_true()) != 0 ||
	    (prev_kv && json_object_set_new(o, "prev_kv", json_true()) != 0)) {
		json_decref(o);
		o = NULL;
	}
	return ej_dump(obj1("create_request", o), err, errlen);
}
