/* SPDX-License-Identifier: BSD-3-Clause */
/* The strict number parsers every sysfs and /proc reader relies on. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

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
		uint64_t d;
		uint64_t prev = u, cur = v;

		if (size >= 16) {
			memcpy(&prev, data, 8);
			memcpy(&cur, data + 8, 8);
		}

		/* a wrap-aware delta never exceeds the range */
		if (jpu_counter_delta(prev, cur, 262143328850ULL, &d) && cur < prev &&
		    d > 262143328850ULL)
			abort();
	}
	return 0;
}
