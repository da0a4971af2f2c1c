/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * An open-addressing table keyed by pid, and a growable pid list: the data
 * structures under the process table (proctab.c) and the member sets
 * (mset.c).
 */
#ifndef JPU_PROC_PIDTAB_H
#define JPU_PROC_PIDTAB_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

/* Elements are structs whose first member is `pid_t pid`; pid 0 marks an
 * empty slot (pid 0 is never a process in /proc). Linear probing with
 * backward-shift deletion, so there are no tombstones to sweep. A zeroed
 * struct with elsize set is an empty table. */
struct jpu_pidtab {
	char *slots;
	size_t elsize;
	uint32_t cap; /* power of two, 0 before the first insert */
	uint32_t n;
};

/* The pid in slot i (0: empty). i < cap. */
static inline pid_t jpu_pidtab_pid(const struct jpu_pidtab *h, uint32_t i)
{
	pid_t p;

	memcpy(&p, h->slots + (size_t)i * h->elsize, sizeof p);
	return p;
}

/* The element in slot i, for walks over the whole table (i < cap; skip
 * those whose pid is 0). */
static inline void *jpu_pidtab_slot(const struct jpu_pidtab *h, uint32_t i)
{
	return h->slots + (size_t)i * h->elsize;
}

static inline uint32_t jpu_pid_hash(pid_t pid, uint32_t cap)
{
	/* Fibonacci hashing: sequential pids spread over the table */
	return ((uint32_t)pid * 2654435761u) & (cap - 1);
}

/* The element of pid, NULL when absent. Inline: the tick looks up every
 * member and every listed PID. */
static inline void *jpu_pidtab_find(const struct jpu_pidtab *h, pid_t pid)
{
	uint32_t i;

	if (h->cap == 0 || pid <= 0)
		return NULL;
	for (i = jpu_pid_hash(pid, h->cap);; i = (i + 1) & (h->cap - 1)) {
		pid_t p = jpu_pidtab_pid(h, i);

		if (p == pid)
			return jpu_pidtab_slot(h, i);
		if (p == 0)
			return NULL;
	}
}

/* Insert pid (which must not be present); returns its zeroed slot with pid
 * set, or NULL when out of memory. Invalidates earlier slot pointers. */
void *jpu_pidtab_insert(struct jpu_pidtab *h, pid_t pid);
/* Remove pid if present. Invalidates earlier slot pointers. */
void jpu_pidtab_remove(struct jpu_pidtab *h, pid_t pid);
/* Free the slots; the table is empty again (elsize kept). */
void jpu_pidtab_clear(struct jpu_pidtab *h);

/* Append pid to the growable array *v of *n elements (capacity *cap).
 * 0 or -ENOMEM. */
int jpu_pid_push(pid_t **v, size_t *n, size_t *cap, pid_t pid);

#endif /* JPU_PROC_PIDTAB_H */
