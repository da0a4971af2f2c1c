/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The sampler's side of tracked process trees (one per Jupyter kernel).
 *
 * jpu_track() and jpu_untrack() run on the caller's thread (the Jupyter
 * event loop) and only edit the published list under e->lock: a tag, the
 * pid to follow and a request number (gen). At its next tick the sampler
 * copies that list, makes or re-roots the process trees it names and
 * measures them; the tick then publishes each tree's figures under e->lock
 * to the entry it measured. The trees and their baselines belong to the
 * sampler alone (sample_lock), the published entries to e->lock alone, so
 * no field is written under one lock and read under the other.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

/* What the sampler needs of one published entry. */
struct want {
	char tag[128];
	uint64_t gen;
	pid_t pid;
};

/* The tree following tag in the old list, or NULL. Lists are mostly in
 * the same order from one tick to the next: try the same index first. */
static struct jpu_tracked_tree *old_tree(struct jpu_tracked_tree *old, size_t n, size_t hint,
                                         const char *tag)
{
	if (hint < n && old[hint].tag[0] && strcmp(old[hint].tag, tag) == 0)
		return &old[hint];
	for (size_t i = 0; i < n; i++)
		if (old[i].tag[0] && strcmp(old[i].tag, tag) == 0)
			return &old[i];
	return NULL;
}

int jpu_tracked_sync(struct jpu_engine *e)
{
	struct jpu_tracked_tree *trees = NULL;
	struct want *want = NULL;
	size_t n = 0;

	/* copy the requests: the lock is held for a memcpy-sized loop only */
	pthread_mutex_lock(&e->lock);
	if (e->n_tracked) {
		want = malloc(e->n_tracked * sizeof *want);
		if (!want) {
			pthread_mutex_unlock(&e->lock);
			return -ENOMEM;
		}
		n = e->n_tracked;
		for (size_t i = 0; i < n; i++) {
			memcpy(want[i].tag, e->tracked[i].tag, sizeof want[i].tag);
			want[i].gen = e->tracked[i].gen;
			want[i].pid = e->tracked[i].pid;
		}
	}
	pthread_mutex_unlock(&e->lock);

	if (n) {
		trees = calloc(n, sizeof *trees);
		if (!trees) {
			free(want);
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct jpu_tracked_tree *t = &trees[i];
		struct jpu_tracked_tree *o = old_tree(e->trees, e->n_trees, i, want[i].tag);

		if (o) {
			/* keep the tree and its baseline; mark the old slot taken */
			*t = *o;
			memset(o, 0, sizeof *o);
		} else {
			memcpy(t->tag, want[i].tag, sizeof t->tag);
		}
		if (t->gen != want[i].gen) {
			/* a new request: follow its pid from the next update */
			t->gen = want[i].gen;
			t->pid = want[i].pid;
			t->pending = want[i].pid > 0;
		}
	}
	/* tags untracked since the last tick */
	for (size_t i = 0; i < e->n_trees; i++)
		jpu_tree_free(e->trees[i].tree);
	free(e->trees);
	free(want);
	e->trees = trees;
	e->n_trees = n;
	return (int)n;
}

void jpu_tracked_update(struct jpu_engine *e)
{
	for (size_t i = 0; i < e->n_trees; i++) {
		struct jpu_tracked_tree *t = &e->trees[i];
		uint64_t ticks = 0, bytes = 0;
		int r;

		if (t->pending) {
			/* a restarted kernel keeps its tree (and tag totals);
			 * a new tag gets one. Either way the next interval
			 * starts from here: energy counts from the request. */
			t->pending = false;
			t->have_prev = false;
			r = t->tree ? jpu_tree_reroot(t->tree, t->pid)
			            : jpu_tree_new(e->proctab, t->pid, &t->tree);
			if (r < 0) {
				/* gone since jpu_track() checked it */
				if (r != -ESRCH && r != -ENOENT)
					jpu_logf(&e->log, JPU_LOG_WARNING, "tracked %s: pid %d: %s",
					         t->tag, (int)t->pid, strerror(-r));
				t->tree = jpu_tree_free(t->tree);
			}
		}
		if (!t->tree) {
			/* restored from the state file and not tracked again,
			 * or its process was gone when the request came */
			t->alive = false;
			t->ticks_delta = t->rss_bytes = 0;
			continue;
		}
		r = jpu_tree_update(t->tree, &ticks, &bytes);
		t->alive = r >= 0;
		t->ticks_delta = t->have_prev && ticks >= t->prev_ticks ? ticks - t->prev_ticks : 0;
		t->rss_bytes = r >= 0 ? bytes : 0;
		t->prev_ticks = ticks;
		t->have_prev = true;
	}
}

struct jpu_tracked *jpu_tracked_find(struct jpu_engine *e, size_t i)
{
	const struct jpu_tracked_tree *t = &e->trees[i];
	struct jpu_tracked *p = NULL;

	if (i < e->n_tracked && strcmp(e->tracked[i].tag, t->tag) == 0) {
		p = &e->tracked[i];
	} else {
		for (size_t k = 0; k < e->n_tracked && !p; k++)
			if (strcmp(e->tracked[k].tag, t->tag) == 0)
				p = &e->tracked[k];
	}
	/* a newer request (re-tracked, or untracked and tracked again) starts
	 * from its own call: this interval measured the old tree */
	return p && p->gen == t->gen ? p : NULL;
}

void jpu_tracked_free_trees(struct jpu_engine *e)
{
	for (size_t i = 0; i < e->n_trees; i++)
		jpu_tree_free(e->trees[i].tree);
	free(e->trees);
	e->trees = NULL;
	e->n_trees = 0;
}
