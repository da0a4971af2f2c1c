/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target: the perf power PMU's .scale and event file parsers. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	double v = -1;
	uint64_t c;
	int r = jpu_perf_parse_scale(s, size, &v);

	/* the contract: a success is a finite scale in (0, 1] */
	if (r == 0 && !(isfinite(v) && v > 0 && v <= 1.0))
		abort();
	if (r != 0 && r != -EINVAL && r != -ERANGE && r != -ENOMEM)
		abort();
	r = jpu_perf_parse_event(s, size, &c);
	if (r != 0 && r != -EINVAL && r != -ERANGE)
		abort();
	return 0;
}
