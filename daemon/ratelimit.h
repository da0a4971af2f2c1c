/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-caller rate limits: a token bucket per caller (its uid, and its
 * container when it runs in one: jpud_scopes_caller_id). The daemon must not
 * become the fast energy oracle that PLATYPUS (CVE-2020-8694) needs, and
 * one busy client must not starve the others.
 */
#ifndef JPUD_RATELIMIT_H
#define JPUD_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define JPUD_RATE_SLOTS 1024 /* callers remembered; the idle longest is forgotten */

struct jpud_bucket {
	uint64_t caller;
	bool used;
	uint64_t tokens_milli; /* tokens x 1000 */
	uint64_t last_usec;    /* CLOCK_MONOTONIC of the last refill */
};

struct jpud_ratelimit {
	unsigned per_sec; /* sustained requests a second */
	unsigned burst;   /* requests allowed at once */
	struct jpud_bucket slot[JPUD_RATE_SLOTS];
};

void jpud_ratelimit_init(struct jpud_ratelimit *rl, unsigned per_sec, unsigned burst);
/* Take one token for `caller` at `now_usec`. true = go on, false = 429. */
bool jpud_ratelimit_take(struct jpud_ratelimit *rl, uint64_t caller, uint64_t now_usec);

#endif /* JPUD_RATELIMIT_H */
