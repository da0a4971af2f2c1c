/* SPDX-License-Identifier: BSD-3-Clause */
/* The pid table and pid lists of pidtab.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proc/pidtab.h"

static int pidtab_grow(struct jpu_pidtab *h)
{
	uint32_t ncap = h->cap ? h->cap * 2 : 64, i;
	struct jpu_pidtab nh = {.elsize = h->elsize, .cap = ncap, .n = h->n};

	if (ncap == 0 || ncap > (1u << 28))
		return -ENOMEM;
	nh.slots = calloc(ncap, h->elsize);
	if (!nh.slots)
		return -ENOMEM;
	for (i = 0; i < h->cap; i++) {
		pid_t p = jpu_pidtab_pid(h, i);
		uint32_t j;

		if (p == 0)
			continue;
		for (j = jpu_pid_hash(p, ncap); jpu_pidtab_pid(&nh, j) != 0;
		     j = (j + 1) & (ncap - 1))
			;
		memcpy(jpu_pidtab_slot(&nh, j), jpu_pidtab_slot(h, i), h->elsize);
	}
	free(h->slots);
	*h = nh;
	return 0;
}

/* Insert pid (which must not be present); returns its zeroed slot with pid
 * set, or NULL when out of memory. Invalidates earlier slot pointers. */
void *jpu_pidtab_insert(struct jpu_pidtab *h, pid_t pid)
{
	uint32_t i;
	void *e;

	/* grown beyond 80 % full: linear probing still finds a present pid in
	 * ~3 probes there, and a node daemon's 100 member sets of 100
	 * processes fit 128 slots instead of 256 (issue 9's RSS budget) */
	if ((h->n + 1) * 5 > h->cap * 4 && pidtab_grow(h) < 0)
		return NULL;
	for (i = jpu_pid_hash(pid, h->cap); jpu_pidtab_pid(h, i) != 0; i = (i + 1) & (h->cap - 1))
		;
	e = jpu_pidtab_slot(h, i);
	memset(e, 0, h->elsize);
	memcpy(e, &pid, sizeof pid);
	h->n++;
	return e;
}

void jpu_pidtab_remove(struct jpu_pidtab *h, pid_t pid)
{
	uint32_t i, j, mask = h->cap - 1;

	if (h->cap == 0)
		return;
	for (i = jpu_pid_hash(pid, h->cap);; i = (i + 1) & mask) {
		pid_t p = jpu_pidtab_pid(h, i);

		if (p == 0)
			return;
		if (p == pid)
			break;
	}
	/* backward shift: pull later entries of the cluster into the hole
	 * when their home slot is not between the hole and them */
	for (j = (i + 1) & mask;; j = (j + 1) & mask) {
		pid_t p = jpu_pidtab_pid(h, j);
		uint32_t home;

		if (p == 0)
			break;
		home = jpu_pid_hash(p, h->cap);
		if (((j - home) & mask) >= ((j - i) & mask)) {
			memcpy(jpu_pidtab_slot(h, i), jpu_pidtab_slot(h, j), h->elsize);
			i = j;
		}
	}
	memset(jpu_pidtab_slot(h, i), 0, h->elsize);
	h->n--;
}

void jpu_pidtab_clear(struct jpu_pidtab *h)
{
	free(h->slots);
	h->slots = NULL;
	h->cap = h->n = 0;
}

int jpu_pid_push(pid_t **v, size_t *n, size_t *cap, pid_t pid)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		pid_t *nv = realloc(*v, nc * sizeof *nv);

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = nc;
	}
	(*v)[(*n)++] = pid;
	return 0;
}
