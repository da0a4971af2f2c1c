/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target: the /proc/PID/stat parser (comm with ") (", signed
 * fields, truncation) and the cgroup-free parts of the process table. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proc/procfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jpu_pid_stat st, before;
	char *copy;
	int r;

	/* the parser must not read past len: give it an exact-size heap copy
	 * with no terminator, so ASan sees any over-read */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);
	memset(&st, 0xa5, sizeof st);
	before = st;
	r = jpu_parse_pid_stat(copy, size, &st);
	if (r == 0) {
		/* the contract: a real pid, a sane parent, a state letter and
		 * times whose sum cannot overflow */
		if (st.pid <= 0 || st.ppid < 0)
			abort();
		if (!((st.state >= 'A' && st.state <= 'Z') || (st.state >= 'a' && st.state <= 'z')))
			abort();
		if (st.utime > UINT64_MAX / 8 || st.stime > UINT64_MAX / 8 ||
		    st.cutime > UINT64_MAX / 8 || st.cstime > UINT64_MAX / 8)
			abort();
	} else {
		if (r != -EBADMSG && r != -ERANGE)
			abort();
		/* written only on success */
		if (memcmp(&st, &before, sizeof st) != 0)
			abort();
	}
	free(copy);
	return 0;
}
