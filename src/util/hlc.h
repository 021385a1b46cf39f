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
/* An epoch read in a record at wall time wall: later ticks are above
 * it. One more than HLC_AHEAD_MAX ahead of wall is ignored (returns -1):
 * a record that is not a ferryd's (or a node whose clock is hours off)
 * must not run the clock to its end, where it would wrap. */
#define HLC_AHEAD_MAX	(24ULL * 3600 * 1000000)	/* a day, in µs */
int	 hlc_seen(struct hlc *c, uint64_t epoch, uint64_t wall);

/* The process's clock, on CLOCK_REALTIME. */
uint64_t hlc_now(void);
int	 hlc_observe(uint64_t epoch);

#endif
