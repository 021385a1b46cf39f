/* What the sans-I/O etcd files share (etcd_json.c): reading the fields of
 * etcd's JSON with their bounds, the error forms, base64 both ways. Each
 * reader returns 0 or -1 with e filled (ETCD_E_MALFORMED, naming the
 * field); a field that is absent has protobuf's default (0, false,
 * empty), as the gateway leaves defaults out. */
#ifndef FERRY_FLEET_ETCD_INT_H
#define FERRY_FLEET_ETCD_INT_H

#include <jansson.h>

#include "fleet/etcd.h"

/* e says nothing yet. */
void	 ej_clear(struct etcd_error *e);
void	 ej_malformed(struct etcd_error *e, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Parses len bytes (at most max) as one JSON object into *root (the
 * caller json_decref's it). An object that is etcd's error answer fails
 * with ETCD_E_SERVER and e->code. */
int	 ej_load(const char *body, size_t len, size_t max, json_t **root,
	    struct etcd_error *e);
/* 1 (and e filled) if o is one of the gateway's error forms: unary
 * {"error":"...","code":N,"message":"..."}, stream {"error":{...}}. */
int	 ej_server_error(json_t *o, struct etcd_error *e);

int	 ej_int64(json_t *o, const char *name, int64_t *out,
	    struct etcd_error *e);
int	 ej_uint64(json_t *o, const char *name, uint64_t *out,
	    struct etcd_error *e);
int	 ej_bool(json_t *o, const char *name, bool *out, struct etcd_error *e);
/* An object member, or NULL in *out if absent; anything else fails. */
int	 ej_object(json_t *o, const char *name, json_t **out,
	    struct etcd_error *e);
int	 ej_array(json_t *o, const char *name, json_t **out,
	    struct etcd_error *e);
/* The "header" object, which every answer carries. */
int	 ej_header(json_t *o, struct etcd_header *h, struct etcd_error *e);
/* One kv object into *kv (zeroed first; freed again on failure). */
int	 ej_kv(json_t *o, struct etcd_kv *kv, struct etcd_error *e);
/* An array of at most max kv objects; *kvs NULL when empty. */
int	 ej_kvs(json_t *arr, size_t max, struct etcd_kv **kvs, size_t *n,
	    struct etcd_error *e);

/* Requests: a base64 member from bytes, an int64 member as a string.
 * -1 when out of memory (or n over ETCD_VALUE_MAX). */
int	 ej_set_b64(json_t *o, const char *name, const void *p, size_t n);
int	 ej_set_int64(json_t *o, const char *name, int64_t v);
/* The body of o for the wire, or NULL with err; takes o's reference. */
char	*ej_dump(json_t *o, char *err, size_t errlen);

#endif
