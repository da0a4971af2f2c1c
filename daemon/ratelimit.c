/* SPDX-License-Identifier: BSD-3-Clause */
/* Token buckets per caller (ratelimit.h). The caller holds its own lock. */
#include <string.h>

#include "ratelimit.h"

void jpud_ratelimit_init(struct jpud_ratelimit *rl, unsigned per_sec, unsigned burst)
{
	memset(rl, 0, sizeof *rl);
	rl->per_sec = per_sec ? per_sec : 1;
	rl->burst = burst ? burst : 1;
}

bool jpud_ratelimit_take(struct jpud_ratelimit *rl, uint64_t caller, uint64_t now_usec)
{
	const uint64_t cap = (uint64_t)rl->burst * 1000;
	unsigned h = (unsigned)((caller * 0x9E3779B97F4A7C15ull) >> 32) % JPUD_RATE_SLOTS;
	struct jpud_bucket *b = NULL, *oldest = &rl->slot[h];

	/* open addressing over a short probe; past it, reuse the slot idle
	 * longest (a forgotten caller starts with a full bucket, which is
	 * what a new caller gets anyway) */
	for (unsigned i = 0; i < 16; i++) {
		struct jpud_bucket *s = &rl->slot[(h + i) % JPUD_RATE_SLOTS];

		if (s->used && s->caller == caller) {
			b = s;
			break;
		}
		if (!s->used || s->last_usec < oldest->last_usec)
			oldest = s;
		if (!s->used)
			break;
	}
	if (!b) {
		b = oldest;
		b->used = true;
		b->caller = caller;
		b->tokens_milli = cap;
		b->last_usec = now_usec;
	}
	if (now_usec > b->last_usec) {
		uint64_t add = (now_usec - b->last_usec) * rl->per_sec / 1000;

		b->tokens_milli = b->tokens_milli + add > cap ? cap : b->tokens_milli + add;
		b->last_usec = now_usec;
	}
	if (b->tokens_milli < 1000)
		return false;
	b->tokens_milli -= 1000;
	return true;
}
