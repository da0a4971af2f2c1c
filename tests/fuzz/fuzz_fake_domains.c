/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target: the fake backend's fake/domains line parser, fed the
 * input split into lines as the backend does. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		struct jpu_fake_line l;
		int r = jpu_fake_parse_line(p, (size_t)(le - p), &l);

		if (r == 1) {
			/* a parsed domain has a NUL-terminated, non-empty name and
			 * measures something */
			if (memchr(l.name, '\0', sizeof l.name) == NULL || l.name[0] == '\0' ||
			    (!l.has_energy && !l.has_power) || (unsigned)l.kind > JPU_DOM_OTHER)
				abort();
		} else if (r != 0 && r != -EINVAL) {
			abort();
		}
		p = nl ? nl + 1 : end;
	}
	return 0;
}
