/* SPDX-License-Identifier: BSD-3-Clause */
/* The strict number parsers every sysfs and /proc reader relies on, and
 * the counter rule over the values they produce. */
#include <stdlib.h>
#include <string.h>

#include "counter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *p = s;
	uint64_t u = 0, v = 0;
	int64_t i;

	if (jpu_parse_u64(s, size, &u) == 0) {
		/* a value that parses has digits only (after blanks, before one \n) */
		for (size_t k = 0; k < size; k++)
			if (!(s[k] == ' ' || s[k] == '\t' || s[k] == '\n' ||
			      (s[k] >= '0' && s[k] <= '9')))
				abort();
	}
	if (jpu_parse_i64(s, size, &i) == 0 && i >= 0 && jpu_parse_u64(s, size, &v) == 0 &&
	    (uint64_t)i != v)
		abort();
	while (jpu_next_u64(&p, s + size, &u) == 0)
		if (p > s + size)
			abort();
	p = s;
	(void)jpu_skip_fields(&p, s + size, 3);
	if (p > s + size)
		abort();
	{
		/* the counter rule on arbitrary values and times: whatever it
		 * accepts is within the kind's cap, and a wrap within the
		 * plausible power (lib/counter.c) */
		struct jpu_counter c = {0};
		struct jpu_counter_limits lim;
		uint64_t t = 0, val, dt, pw;

		jpu_counter_limits_for(JPU_DOM_PACKAGE, 262143328850ULL, 150000000, &lim);
		for (size_t k = 0; k + 12 <= size; k += 12) {
			uint32_t step;
			enum jpu_counter_verdict vd;
			uint64_t plaus = jpu_counter_plausible_uw(&c, &lim);

			memcpy(&val, data + k, 8);
			memcpy(&step, data + k + 8, 4);
			dt = step;
			t += dt;
			pw = UINT64_MAX;
			vd = jpu_counter_update(&c, val, t, &lim, "fuzz", NULL, &pw);
			if (jpu_counter_measured(vd) && pw > lim.cap_uw + 1)
				abort();
			if (vd == JPU_COUNTER_WRAPPED && pw > plaus + 1)
				abort();
			if (!jpu_counter_measured(vd) && pw != UINT64_MAX)
				abort();
		}
	}
	return 0;
}
