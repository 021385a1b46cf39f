/* A fleet-wide forward's record as etcd keeps it at <prefix>/fwd/tcp/PORT
 * (issue 14): a JSON object {node, session, user, key, bind, epoch},
 * written by the node whose session holds the port. Reading one is pure
 * (no I/O) and fuzzed (tests/fuzz/fuzz_fleet.c): records come from etcd,
 * where any node of the fleet (or anyone with write access) puts them. */
#ifndef FERRY_SERVER_FLEET_REC_H
#define FERRY_SERVER_FLEET_REC_H

#include <stddef.h>
#include <stdint.h>

#define EREG_NODE_MAX	64

/* A record's fields; strings NUL-terminated, cut to fit. */
struct ereg_rec {
	char		 node[EREG_NODE_MAX];	/* printable (escaped) */
	uint64_t	 session;
	char		 user[256];
	char		 key_fp[128];
	uint64_t	 epoch;
};

/* 0, or -1: not a record of ours (or its epoch is a day or more ahead of
 * this node's clock: util/hlc.h). A record read moves the process's
 * hybrid clock past its epoch. */
int	 ereg_rec_decode(const uint8_t *v, size_t len, struct ereg_rec *r);

#endif
