/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target: the /proc/PID/cgroup parser, the layout classifier on
 * the paths it keeps (and on the input itself as a path), and the cpu.stat
 * and user-slice name parsers. Seeds: tests/fuzz/seeds/fuzz_cgroup, the
 * fixture files of tests/fixtures/cgroup. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A kept path: NUL-terminated inside its buffer, absolute, printable. */
static void check_path(const char *p, size_t size)
{
	size_t n = strnlen(p, size);

	if (n == size || n == 0 || p[0] != '/')
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			abort();
}

static void check_unit(const char *path)
{
	struct jpu_cgroup_unit u;

	if (jpu_cgroup_classify(path, &u) != 0)
		abort();
	/* the unit is the path cut at a component's end */
	if (u.unit_len == 0 || u.unit_len > strlen(path) ||
	    (path[u.unit_len] != '\0' && path[u.unit_len] != '/'))
		abort();
	if (strnlen(u.id, sizeof u.id) == sizeof u.id ||
	    strnlen(u.pod, sizeof u.pod) == sizeof u.pod)
		abort();
	if (u.kind == JPU_CGROUP_ROOT && strcmp(path, "/") != 0)
		abort();
	(void)jpu_cgroup_kind_name(u.kind);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jpu_cgroup_paths *p, *before;
	struct jpu_cgroup_unit u;
	uint64_t usec;
	char *copy;
	uid_t uid;
	int r;

	/* exact-size heap copy with no terminator: ASan sees any over-read */
	copy = malloc(size ? size : 1);
	p = malloc(sizeof *p);
	before = malloc(sizeof *before);
	if (!copy || !p || !before)
		goto out;
	if (size)
		memcpy(copy, data, size);
	memset(p, 0xa5, sizeof *p);
	memcpy(before, p, sizeof *p);
	r = jpu_cgroup_parse_pid(copy, size, p);
	if (r == 0) {
		const char *kept[] = {p->has_v2 ? p->v2 : NULL, p->has_cpuacct ? p->cpuacct : NULL,
		                      p->has_memory ? p->memory : NULL,
		                      p->has_systemd ? p->systemd : NULL};

		for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
			if (!kept[i])
				continue;
			check_path(kept[i], JPU_CGROUP_PATH_MAX);
			check_unit(kept[i]);
		}
		if (p->has_cpuacct &&
		    strnlen(p->cpuacct_ctrl, sizeof p->cpuacct_ctrl) == sizeof p->cpuacct_ctrl)
			abort();
		check_unit(jpu_cgroup_main_path(p));
	} else {
		if (r != -EBADMSG && r != -ENAMETOOLONG && r != -ENOMEM)
			abort();
		/* written only on success */
		if (memcmp(p, before, sizeof *p) != 0)
			abort();
	}
	/* the other parsers on the same bytes */
	usec = 7;
	r = jpu_cgroup_parse_cpu_stat(copy, size, &usec);
	if (r != 0 && (r != -EBADMSG || usec != 7))
		abort();
	uid = 7;
	r = jpu_cgroup_parse_user_slice(copy, size, &uid);
	if (r != 0 && (r != -EINVAL || uid != 7))
		abort();
	if (r == 0 && uid == (uid_t)-1)
		abort();
	/* the input as a path, NUL-terminated, for the classifier alone */
	if (size > 0 && copy[0] == '/' && !memchr(copy, '\0', size)) {
		char *path = malloc(size + 1);

		if (path) {
			memcpy(path, copy, size);
			path[size] = '\0';
			if (jpu_cgroup_classify(path, &u) != 0 || u.unit_len > size)
				abort();
			free(path);
		}
	}
out:
	free(before);
	free(p);
	free(copy);
	return 0;
}
