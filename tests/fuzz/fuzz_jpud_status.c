/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target: jpud's /proc/PID/status parser (daemon/peer.c), which
 * decides whose process a PID is and how it translates across PID
 * namespaces. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "peer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jpud_status st, before;
	char *copy = malloc(size ? size : 1);
	int r;

	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);
	memset(&st, 0xa5, sizeof st);
	before = st;
	r = jpud_parse_status(copy, size, &st);
	if (r == 0) {
		if (st.ns_depth < 1 || st.ns_depth > JPUD_NS_LEVELS || st.ppid < 0 ||
		    st.uid == (uid_t)-1)
			abort();
		for (unsigned i = 0; i < st.ns_depth; i++)
			if (st.nspid[i] <= 0)
				abort();
	} else {
		if (r != -EINVAL && r != -ENODATA)
			abort();
		if (memcmp(&st, &before, sizeof st) != 0)
			abort();
	}
	free(copy);
	return 0;
}
