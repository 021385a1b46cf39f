/* The process's hybrid logical clock (util/hlc.h). */
#include "util/hlc.h"

#include <stdbool.h>
#include <time.h>

static struct hlc proc_clock;

uint64_t
hlc_tick(struct hlc *c, uint64_t wall)
{
	uint64_t high, next;

	high = __atomic_load_n(&c->high, __ATOMIC_ACQUIRE);
	do {
		next = wall > high ? wall : high + 1;
	} while (!__atomic_compare_exchange_n(&c->high, &high, next, false,
	    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
	return next;
}

int
hlc_seen(struct hlc *c, uint64_t epoch, uint64_t wall)
{
	uint64_t high;

	if (epoch > wall + HLC_AHEAD_MAX)
		return -1;
	high = __atomic_load_n(&c->high, __ATOMIC_ACQUIRE);
	while (epoch > high && !__atomic_compare_exchange_n(&c->high, &high,
	    epoch, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		;
	return 0;
}

static uint64_t
wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t
hlc_now(void)
{
	return hlc_tick(&proc_clock, wall_us());
}

int
hlc_observe(uint64_t epoch)
{
	return hlc_seen(&proc_clock, epoch, wall_us());
}
