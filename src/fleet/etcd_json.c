/* Reading and writing the fields of etcd's JSON gateway (fleet/etcd_int.h):
 * numbers as strings, bytes as base64, defaults left out, the two error
 * forms; every peer string escaped before it reaches a message. */
#include "fleet/etcd_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/base64.h"
#include "util/err.h"
#include "util/text.h"

#define GRPC_UNKNOWN	2

void
ej_clear(struct etcd_error *e)
{
	e->kind = ETCD_E_NONE;
	e->code = 0;
	e->msg[0] = '\0';
}

/* The message is formatted, then made printable: it may quote the peer. */
void
ej_malformed(struct etcd_error *e, const char *fmt, ...)
{
	char raw[ETCD_ERRMSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	e->kind = ETCD_E_MALFORMED;
	e->code = 0;
	text_safe(e->msg, sizeof(e->msg), raw, false);
}

static void
server_error(struct etcd_error *e, json_t *code, json_t *msg)
{
	json_int_t c = json_is_integer(code) ? json_integer_value(code) :
	    GRPC_UNKNOWN;

	e->kind = ETCD_E_SERVER;
	e->code = c >= 0 && c <= 255 ? (int)c : GRPC_UNKNOWN;
	text_safe(e->msg, sizeof(e->msg), json_is_string(msg) &&
	    json_string_length(msg) > 0 ? json_string_value(msg) :
	    "etcd error without a message", false);
}

int
ej_server_error(json_t *o, struct etcd_error *e)
{
	json_t *err = json_object_get(o, "error"), *msg;

	if (err == NULL)
		return 0;
	if (json_is_string(err)) {
		/* LeaseGrantResponse has an "error" field of its own */
		if (json_object_get(o, "header") != NULL)
			return 0;
		msg = json_object_get(o, "message");
		server_error(e, json_object_get(o, "code"),
		    json_is_string(msg) ? msg : err);
		return 1;
	}
	if (json_is_object(err)) {
		json_t *code = json_object_get(err, "grpc_code");

		server_error(e, code != NULL ? code :
		    json_object_get(err, "code"),
		    json_object_get(err, "message"));
		return 1;
	}
	ej_malformed(e, "\"error\" is neither a string nor an object");
	return 1;
}

int
ej_load(const char *body, size_t len, size_t max, json_t **root,
    struct etcd_error *e)
{
	json_error_t je;
	json_t *o;

	*root = NULL;
	if (len > max) {
		ej_malformed(e, "an answer of %zu bytes, over the %zu-byte bound",
		    len, max);
		return -1;
	}
	if ((o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		ej_malformed(e, "not JSON (%s at byte %d)", je.text,
		    je.position);
		return -1;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		ej_malformed(e, "not a JSON object");
		return -1;
	}
	if (ej_server_error(o, e)) {
		json_decref(o);
		return -1;
	}
	*root = o;
	return 0;
}

/* Decimal digits only, no sign, at most UINT64_MAX. */
static int
parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0, d;
	size_t i;

	if (n == 0 || n > 20)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (uint64_t)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* A number member as written: a JSON integer or a string of digits
 * (optionally signed when sign). 1: absent. */
static int
number(json_t *o, const char *name, bool sign, bool *neg, uint64_t *mag,
    struct etcd_error *e)
{
	json_t *v = json_object_get(o, name);
	json_int_t i;
	const char *s;
	size_t n;

	*neg = false;
	*mag = 0;
	if (v == NULL || json_is_null(v))
		return 1;
	if (json_is_integer(v)) {
		i = json_integer_value(v);
		*neg = i < 0;
		*mag = i < 0 ? (uint64_t)-(i + 1) + 1 : (uint64_t)i;
	} else if (json_is_string(v)) {
		s = json_string_value(v);
		n = json_string_length(v);
		if (n > 0 && s[0] == '-') {
			*neg = true;
			s++;
			n--;
		}
		if (parse_u64(s, n, mag) != 0)
			goto bad;
	} else
		goto bad;
	if (*neg && !sign)
		goto bad;
	return 0;
bad:
	ej_malformed(e, "\"%s\" is not %s integer", name,
	    sign ? "an" : "a non-negative");
	return -1;
}

int
ej_int64(json_t *o, const char *name, int64_t *out, struct etcd_error *e)
{
	uint64_t mag;
	bool neg;
	int r;

	*out = 0;
	if ((r = number(o, name, true, &neg, &mag, e)) != 0)
		return r > 0 ? 0 : -1;
	if (mag > (uint64_t)INT64_MAX + (neg ? 1 : 0)) {
		ej_malformed(e, "\"%s\" is out of range", name);
		return -1;
	}
	*out = neg ? (mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN :
	    -(int64_t)mag) : (int64_t)mag;
	return 0;
}

int
ej_uint64(json_t *o, const char *name, uint64_t *out, struct etcd_error *e)
{
	bool neg;
	int r;

	*out = 0;
	if ((r = number(o, name, false, &neg, out, e)) != 0)
		return r > 0 ? 0 : -1;
	return 0;
}

int
ej_bool(json_t *o, const char *name, bool *out, struct etcd_error *e)
{
	json_t *v = json_object_get(o, name);

	*out = false;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_boolean(v)) {
		ej_malformed(e, "\"%s\" is not true or false", name);
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

int
ej_object(json_t *o, const char *name, json_t **out, struct etcd_error *e)
{
	json_t *v = json_object_get(o, name);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_object(v)) {
		ej_malformed(e, "\"%s\" is not an object", name);
		return -1;
	}
	*out = v;
	return 0;
}

int
ej_array(json_t *o, const char *name, json_t **out, struct etcd_error *e)
{
	json_t *v = json_object_get(o, name);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v)) {
		ej_malformed(e, "\"%s\" is not an array", name);
		return -1;
	}
	*out = v;
	return 0;
}

int
ej_header(json_t *o, struct etcd_header *h, struct etcd_error *e)
{
	json_t *v;

	memset(h, 0, sizeof(*h));
	if (ej_object(o, "header", &v, e) != 0)
		return -1;
	if (v == NULL) {
		ej_malformed(e, "no \"header\"");
		return -1;
	}
	if (ej_uint64(v, "cluster_id", &h->cluster_id, e) != 0 ||
	    ej_uint64(v, "member_id", &h->member_id, e) != 0 ||
	    ej_int64(v, "revision", &h->revision, e) != 0 ||
	    ej_uint64(v, "raft_term", &h->raft_term, e) != 0)
		return -1;
	return 0;
}

/* A base64 member into a new NUL-terminated buffer of at most max bytes;
 * absent: empty. what names it in messages. */
static int
b64_member(json_t *o, const char *name, const char *what, size_t max,
    uint8_t **out, size_t *outlen, struct etcd_error *e)
{
	json_t *v = json_object_get(o, name);
	const char *s = "";
	size_t n = 0;
	uint8_t *buf;
	int r;

	*out = NULL;
	*outlen = 0;
	if (v != NULL && !json_is_string(v)) {
		ej_malformed(e, "%s is not a string", what);
		return -1;
	}
	if (v != NULL) {
		s = json_string_value(v);
		n = json_string_length(v);
	}
	if (n / 4 * 3 > max + 2) {
		ej_malformed(e, "%s of about %zu bytes, over the %zu-byte bound",
		    what, n / 4 * 3, max);
		return -1;
	}
	if ((buf = malloc(n / 4 * 3 + 1)) == NULL) {
		ej_malformed(e, "out of memory");
		return -1;
	}
	if ((r = b64_decode(s, n, buf, n / 4 * 3)) < 0 || (size_t)r > max) {
		free(buf);
		if (r < 0)
			ej_malformed(e, "%s is not base64", what);
		else
			ej_malformed(e, "%s over the %zu-byte bound", what, max);
		return -1;
	}
	buf[r] = '\0';
	*out = buf;
	*outlen = (size_t)r;
	return 0;
}

int
ej_kv(json_t *o, struct etcd_kv *kv, struct etcd_error *e)
{
	uint8_t *key;
	char what[96];

	memset(kv, 0, sizeof(*kv));
	if (!json_is_object(o)) {
		ej_malformed(e, "a key-value is not an object");
		return -1;
	}
	if (b64_member(o, "key", "a key", ETCD_KEY_MAX, &key, &kv->keylen,
	    e) != 0)
		return -1;
	kv->key = (char *)key;
	if (kv->keylen == 0 || memchr(kv->key, '\0', kv->keylen) != NULL) {
		ej_malformed(e, kv->keylen == 0 ? "a key-value without a key" :
		    "a key with a NUL byte");
		goto fail;
	}
	snprintf(what, sizeof(what), "the value of %.64s", kv->key);
	if (b64_member(o, "value", what, ETCD_VALUE_MAX, &kv->value,
	    &kv->valuelen, e) != 0)
		goto fail;
	if (ej_int64(o, "create_revision", &kv->create_revision, e) != 0 ||
	    ej_int64(o, "mod_revision", &kv->mod_revision, e) != 0 ||
	    ej_int64(o, "version", &kv->version, e) != 0 ||
	    ej_int64(o, "lease", &kv->lease, e) != 0)
		goto fail;
	return 0;
fail:
	etcd_kv_free(kv);
	return -1;
}

int
ej_kvs(json_t *arr, size_t max, struct etcd_kv **kvs, size_t *n,
    struct etcd_error *e)
{
	size_t i, count = arr != NULL ? json_array_size(arr) : 0;
	struct etcd_kv *v;

	*kvs = NULL;
	*n = 0;
	if (count == 0)
		return 0;
	if (count > max) {
		ej_malformed(e, "%zu keys, over the bound of %zu", count, max);
		return -1;
	}
	if ((v = calloc(count, sizeof(*v))) == NULL) {
		ej_malformed(e, "out of memory");
		return -1;
	}
	for (i = 0; i < count; i++) {
		if (ej_kv(json_array_get(arr, i), &v[i], e) != 0) {
			while (i > 0)
				etcd_kv_free(&v[--i]);
			free(v);
			return -1;
		}
	}
	*kvs = v;
	*n = count;
	return 0;
}

void
etcd_kv_free(struct etcd_kv *kv)
{
	if (kv == NULL)
		return;
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

int
ej_set_b64(json_t *o, const char *name, const void *p, size_t n)
{
	char *s;
	int r;

	if (n > ETCD_VALUE_MAX || (s = malloc((n + 2) / 3 * 4 + 1)) == NULL)
		return -1;
	r = b64_encode(p, n, s, (n + 2) / 3 * 4 + 1) < 0 ? -1 :
	    json_object_set_new(o, name, json_string(s));
	free(s);
	return r;
}

int
ej_set_int64(json_t *o, const char *name, int64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "%lld", (long long)v);
	return json_object_set_new(o, name, json_string(s));
}

char *
ej_dump(json_t *o, char *err, size_t errlen)
{
	char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	if (s == NULL)
		seterr(err, errlen, "out of memory");
	return s;
}
