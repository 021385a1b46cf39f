/* A hybrid logical clock for the fleet's session epochs (issue 14): "only
 * a newer session takes a port" must not depend on the nodes' clocks
 * agreeing. An epoch is max(the wall clock in microseconds since 1970,
 * the highest epoch this process issued or saw in any record + 1), so a
 * session that starts after this node read another node's record is
 * newer than that record's session however far the other node's clock
 * runs ahead. One clock per process, safe from every event loop
 * (atomics, no lock). */
#ifndef FERRY_UTIL_HLC_H
#define FERRY_UTIL_HLC_H

#include <stdint.h>

/* A clock: the highest epoch issued or seen (0 at first). */
struct hlc {
	uint64_t	 high;
};

/* The next epoch at wall time wall (microseconds): above every epoch
 * issued or seen before, and at least wall. */
uint64_t hlc_tick(struct hlc *c, uint64_t wall);
/* An epoch read in a record: later ticks are above it. */
void	 hlc_seen(struct hlc *c, uint64_t epoch);

/* The process's clock, on CLOCK_REALTIME. */
uint64_t hlc_now(void);
void	 hlc_observe(uint64_t epoch);

#endif
