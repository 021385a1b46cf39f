/* A fleet-wide forward's record (fleet_rec.h). */
#include "server/fleet_rec.h"

#include <jansson.h>
#include <stdio.h>

#include "util/hlc.h"
#include "util/text.h"

int
ereg_rec_decode(const uint8_t *v, size_t len, struct ereg_rec *r)
{
	const char *node, *user, *key;
	json_int_t session, epoch;
	json_t *j;
	int ret = -1;

	if ((j = json_loadb((const char *)v, len, 0, NULL)) == NULL)
		return -1;
	if (json_unpack(j, "{s:s, s:I, s:s, s:s, s:I}", "node", &node,
	    "session", &session, "user", &user, "key", &key, "epoch",
	    &epoch) == 0) {
		text_safe(r->node, sizeof(r->node), node, false);
		snprintf(r->user, sizeof(r->user), "%s", user);
		snprintf(r->key_fp, sizeof(r->key_fp), "%s", key);
		r->session = (uint64_t)session;
		r->epoch = (uint64_t)epoch;
		/* a session accepted from now on is newer than this one; an
		 * epoch a day ahead of our clock is not a ferryd's record */
		ret = hlc_observe(r->epoch);
	}
	json_decref(j);
	return ret;
}
