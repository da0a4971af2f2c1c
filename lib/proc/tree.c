/* SPDX-License-Identifier: BSD-3-Clause */
/* Process trees of tree.h: a member set whose rule is "children of live
 * members", with a root that may be replaced (a restarted kernel). */
#include <errno.h>
#include <stdlib.h>

#include "proc/mset.h"
#include "proc/tree.h"

struct jpu_tree {
	struct jpu_mset s;
	pid_t root;
	uint64_t root_start;
	bool root_alive;
	uint64_t offset;   /* ticks accumulated under earlier roots */
	uint64_t baseline; /* set sum when the current root was adopted */
	uint64_t rss_pages;
};

static int tree_adopt(struct jpu_tree *tree, pid_t root)
{
	struct jpu_mrule rule = {.is_tree = true, .root = root};
	struct jpu_pid_stat st;
	uint64_t sum, rss;
	int r;

	r = jpu_read_pid_stat(tree->s.t->procfs_fd, root, &st);
	if (r < 0)
		return jpu_proc_gone(r) ? -ESRCH : r;
	if (!tree->s.t->children && !tree->s.scanner) {
		tree->s.scanner = true;
		tree->s.t->scanners++;
	}
	jpu_mset_clear(&tree->s);
	tree->s.carried = tree->s.last_sum = 0;
	tree->s.round++;
	r = jpu_mset_add(&tree->s, root, &st);
	if (r < 0)
		return r;
	if (!tree->s.t->children) {
		r = jpu_proctab_ensure(tree->s.t);
		if (r < 0)
			return r;
		tree->s.scans_seen = 0; /* walk the whole table once */
	}
	r = jpu_mset_update(&tree->s, &rule, &sum, &rss);
	if (r < 0)
		return r;
	tree->root = root;
	tree->root_start = st.starttime;
	tree->root_alive = true;
	tree->baseline = sum;
	tree->rss_pages = rss;
	return 0;
}

int jpu_tree_new(struct jpu_proctab *t, pid_t root, struct jpu_tree **ret)
{
	struct jpu_tree *tree;
	int r;

	if (!t || root <= 0)
		return -EINVAL;
	tree = calloc(1, sizeof *tree);
	if (!tree)
		return -ENOMEM;
	tree->s.t = t;
	tree->s.m.elsize = sizeof(struct jpu_member);
	r = tree_adopt(tree, root);
	if (r < 0) {
		jpu_tree_free(tree);
		return r;
	}
	/* a new tree counts the root's whole life, not only from now */
	tree->baseline = 0;
	*ret = tree;
	return 0;
}

struct jpu_tree *jpu_tree_free(struct jpu_tree *tree)
{
	if (!tree)
		return NULL;
	jpu_mset_fini(&tree->s);
	free(tree);
	return NULL;
}

static uint64_t tree_value(const struct jpu_tree *tree)
{
	/* last_sum never decreases and never falls below baseline */
	return tree->offset + (tree->s.last_sum - tree->baseline);
}

int jpu_tree_reroot(struct jpu_tree *tree, pid_t root)
{
	uint64_t keep;
	int r;

	if (!tree || root <= 0)
		return -EINVAL;
	keep = tree_value(tree);
	r = tree_adopt(tree, root);
	if (r < 0)
		return r;
	/* the new tree's time so far belongs to the restarted kernel's
	 * start, not to this interval: start counting from here */
	tree->offset = keep;
	return 0;
}

int jpu_tree_update(struct jpu_tree *tree, uint64_t *ret_ticks, uint64_t *ret_rss_bytes)
{
	struct jpu_mrule rule;
	uint64_t sum, rss;
	int r;

	if (!tree)
		return -EINVAL;
	rule = (struct jpu_mrule){.is_tree = true, .root = tree->root};
	if (tree->s.m.n > 0) {
		r = jpu_mset_update(&tree->s, &rule, &sum, &rss);
		if (r < 0)
			return r;
		tree->rss_pages = rss;
	} else {
		tree->rss_pages = 0;
	}
	if (tree->root_alive) {
		const struct jpu_member *m = jpu_pidtab_find(&tree->s.m, tree->root);

		tree->root_alive = m && m->starttime == tree->root_start;
	}
	/* documented in tree.h: the value stays readable after the root
	 * exits (orphaned members keep being counted), so it is written even
	 * with -ESRCH */
	*ret_ticks = tree_value(tree);
	*ret_rss_bytes = tree->rss_pages * (uint64_t)jpu_page_size();
	return tree->root_alive ? 0 : -ESRCH;
}

bool jpu_tree_alive(const struct jpu_tree *tree)
{
	return tree && tree->root_alive;
}

pid_t jpu_tree_root(const struct jpu_tree *tree)
{
	return tree ? tree->root : 0;
}

bool jpu_tree_contains(const struct jpu_tree *tree, pid_t pid)
{
	return tree && jpu_mset_live(&tree->s, pid);
}
