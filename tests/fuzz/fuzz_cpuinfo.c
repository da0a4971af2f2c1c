/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the estimate backend's parsers: /proc/cpuinfo (and
 * what is derived from it: the microarchitecture guess and the TDP table
 * lookup) and /proc/meminfo. Any input must give 0 or -errno, never a
 * crash, an overrun or a sanitizer report.
 */
#include <stdint.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct jpu_cpuinfo ci;
	uint64_t total, avail;
	char name[160];

	if (jpu_parse_cpuinfo(buf, size, &ci) == 0) {
		/* the parser's output is a C string the rest relies on */
		if (memchr(ci.model, '\0', sizeof ci.model) == NULL || ci.nproc == 0)
			__builtin_trap();
		(void)jpu_estimate_guess_arch(&ci);
		jpu_estimate_tdp_name(ci.model, name, sizeof name);
		(void)jpu_estimate_find_tdp(ci.model);
	}
	if (jpu_estimate_parse_meminfo(buf, size, &total, &avail) == 0 && avail > total)
		__builtin_trap();
	return 0;
}
