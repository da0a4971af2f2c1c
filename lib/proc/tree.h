/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A process tree: the process scope and each tracked kernel.
 *
 * Cumulative CPU time (ticks) and resident memory of a process tree, made
 * monotonic across exits: children reaped inside the tree are carried by
 * the parent's cutime/cstime; members that vanish without being reaped
 * inside the tree keep their last seen time.
 */
#ifndef JPU_PROC_TREE_H
#define JPU_PROC_TREE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "proc/proctab.h"

struct jpu_tree;
int jpu_tree_new(struct jpu_proctab *t, pid_t root, struct jpu_tree **ret);
struct jpu_tree *jpu_tree_free(struct jpu_tree *tree);
/* Re-root on a new pid (restarted kernel); keeps the cumulative time. */
int jpu_tree_reroot(struct jpu_tree *tree, pid_t root);
/* Update and return cumulative ticks and current RSS bytes of the tree.
 * -ESRCH once the root is gone (the cumulative value stays readable). */
int jpu_tree_update(struct jpu_tree *tree, uint64_t *ret_ticks, uint64_t *ret_rss_bytes);
bool jpu_tree_alive(const struct jpu_tree *tree);
pid_t jpu_tree_root(const struct jpu_tree *tree);
/* Whether pid is currently in the tree (valid after update). */
bool jpu_tree_contains(const struct jpu_tree *tree, pid_t pid);

#endif /* JPU_PROC_TREE_H */
