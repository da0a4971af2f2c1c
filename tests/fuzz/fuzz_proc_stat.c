/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target: the /proc/stat and /proc/meminfo parsers. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proc/procfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jpu_host_cpu h = {.busy_ticks = 7, .all_ticks = 7, .ncpu = 7};
	uint64_t total = 3, used = 3;
	char *copy;
	int r;

	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);
	r = jpu_parse_proc_stat(copy, size, &h);
	if (r == 0) {
		/* busy is part of all; at least one CPU */
		if (h.busy_ticks > h.all_ticks || h.ncpu == 0)
			abort();
	} else if ((r != -EBADMSG && r != -ERANGE) || h.busy_ticks != 7 || h.ncpu != 7) {
		abort();
	}
	r = jpu_parse_meminfo(copy, size, &total, &used);
	if (r == 0) {
		if (used > total || total == 0)
			abort();
	} else if ((r != -EBADMSG && r != -ERANGE) || total != 3 || used != 3) {
		abort();
	}
	free(copy);
	return 0;
}
