/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The state file (state.c): cumulative energy and CO2 of the scope and of
 * each tracked tag, kept across restarts. Format, lock, corrupt files and
 * folding are described in docs/architecture.md ("State file").
 */
#ifndef JPU_STATE_H
#define JPU_STATE_H

#include <stddef.h>
#include <stdint.h>

struct jpu_engine;
struct jpu_tracked;

/* A file larger than this is not one the engine wrote: moved aside. A
 * tag line is at most ~500 bytes, so this holds thousands of live tags. */
#define JPU_STATE_MAX_BYTES (4u << 20)
/* A tag neither alive nor tracked for this long is folded into the past
 * totals: Jupyter names kernels by a fresh id after every server restart,
 * so their tags never come back. */
#define JPU_STATE_DORMANT_USEC (7ULL * 24 * 3600 * 1000000)
/* At most this many dormant tags are kept; the longest-dormant ones are
 * folded first beyond it, whatever their age. */
#define JPU_STATE_MAX_DORMANT 256

/* Take the lock on <state_file>.lock (held until jpu_state_close), then
 * load the file. A file that does not parse or is too large is moved to
 * <state_file>.corrupt-<UTC time>, logged at error level, and the engine
 * starts from zero. -EBUSY when another engine holds the lock; other
 * errors (unreadable file, a corrupt file that cannot be moved aside)
 * refuse to start rather than overwrite the file later. 0 without a file. */
int jpu_state_open(struct jpu_engine *e);
/* Release the lock. NULL-safe on a half-built engine. */
void jpu_state_close(struct jpu_engine *e);
/* Fold dormant tags (with or without a file), then write the file durably
 * (unique temporary file, fsync, rename, fsync of the directory). The
 * caller holds e->sample_lock and not e->lock: the persist stage of the
 * tick, once per sample. */
int jpu_state_save(struct jpu_engine *e);
/* Parse state file content into e's totals, past totals and tags: all or
 * nothing (fuzzed). Tags of a version-2 file get seen_usec 0. */
int jpu_state_parse(struct jpu_engine *e, const char *buf, size_t len);
/* Add t's totals to the past totals; the caller holds e->lock and then
 * removes t (jpu_untrack, folding). */
void jpu_state_fold_tag(struct jpu_engine *e, const struct jpu_tracked *t);

/* The same for an added scope (jpu_scope_remove, folding of restored keys). */
struct jpu_xscope;
void jpu_state_fold_scope(struct jpu_engine *e, const struct jpu_xscope *x);

#endif /* JPU_STATE_H */
