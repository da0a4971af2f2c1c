/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A user: the user scope.
 *
 * Cumulative CPU ticks and RSS of all processes of a UID: from its cgroup
 * (v2 user.slice/user-UID.slice/cpu.stat, v1 cpuacct; see cgroup.h) when
 * there is one, else summed over its processes (monotonic like a tree).
 */
#ifndef JPU_PROC_USER_H
#define JPU_PROC_USER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "proc/proctab.h"

struct jpu_user;
int jpu_user_new(struct jpu_proctab *t, uid_t uid, struct jpu_user **ret);
struct jpu_user *jpu_user_free(struct jpu_user *u);
int jpu_user_update(struct jpu_user *u, uint64_t *ret_ticks, uint64_t *ret_rss_bytes);
bool jpu_user_contains(const struct jpu_user *u, pid_t pid);
/* Where the user's time comes from: "cgroup2", "cgroup1", "procfs". */
const char *jpu_user_method(const struct jpu_user *u);

#endif /* JPU_PROC_USER_H */
