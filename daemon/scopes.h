/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The daemon's scopes over the one engine: every user and container on the
 * node (found by a periodic /proc pass, for Prometheus and for callers),
 * the processes callers ask about, and the trees they track under tags in
 * their own namespace. The engine accounts all of them in the same tick
 * (jpu_scope_add); this module decides which exist and names them:
 *   u:UID          a user
 *   c:HASH         a container, Slurm job or machine (its unit cgroup)
 *   p:PID          a process tree a caller asked for (PID in the daemon's namespace)
 *   t:UID:TAG      a tree a caller tracks (its own tag namespace)
 * and re-creates them in a new engine after a reload (their totals come
 * back from the state file by key).
 */
#ifndef JPUD_SCOPES_H
#define JPUD_SCOPES_H

#include <stdbool.h>
#include <sys/types.h>

#include "jpu/jpu.h"

#define JPUD_KEY_MAX       128
#define JPUD_TAGS_PER_USER 256

struct jpud_scopes;

struct jpud_scopes_opts {
	int procfs_fd;         /* borrowed */
	int container_logs_fd; /* borrowed, -1: none (kubelet's /var/log/containers) */
	bool process_metrics;  /* per-process series in Prometheus (cardinality) */
	unsigned history_len;  /* samples kept per user/container/tracked scope */
	jpu_log_fn log;
	void *log_userdata;
};

int jpud_scopes_new(const struct jpud_scopes_opts *o, struct jpud_scopes **ret);
struct jpud_scopes *jpud_scopes_free(struct jpud_scopes *s);

/* One /proc pass: add the users and containers that appeared, remove those
 * gone for three passes. */
void jpud_scopes_discover(struct jpud_scopes *s, jpu_engine *e);
/* Add every scope known here to a new engine (after a reload). */
void jpud_scopes_replay(struct jpud_scopes *s, jpu_engine *e);

/* What a caller (pid and uid from SO_PEERCRED) may see. Each returns 0 and
 * the engine key, or -errno with *ret_err saying why in a static string:
 * -EPERM (403), -ESRCH or -ENOENT (404), -ENOSPC (429: too many tags). */

/* "user": the caller's container when it runs in one (on Kubernetes every
 * user may be uid 1000), else its uid. */
int jpud_scopes_user(struct jpud_scopes *s, jpu_engine *e, pid_t caller, uid_t uid,
                     char ret_key[JPUD_KEY_MAX], const char **ret_err);
/* "container": the caller's container; -ENOENT outside one. */
int jpud_scopes_container(struct jpud_scopes *s, jpu_engine *e, pid_t caller,
                          char ret_key[JPUD_KEY_MAX], const char **ret_err);
/* "process": nspid as the caller sees it, owned by the caller (root may
 * ask for any it can see). */
int jpud_scopes_process(struct jpud_scopes *s, jpu_engine *e, pid_t caller, uid_t uid, pid_t nspid,
                        char ret_key[JPUD_KEY_MAX], const char **ret_err);
/* Who the caller is for its rate limit: its uid, or its uid and container
 * when it runs in one (pods that share uid 1000 are not one caller). */
uint64_t jpud_scopes_caller_id(struct jpud_scopes *s, pid_t caller, uid_t uid);
/* Track nspid's tree under the caller's tag; re-tracking a tag follows
 * the new tree and keeps its total (a restarted kernel). */
int jpud_scopes_track(struct jpud_scopes *s, jpu_engine *e, pid_t caller, uid_t uid, pid_t nspid,
                      const char *tag, const char **ret_err);
int jpud_scopes_untrack(struct jpud_scopes *s, jpu_engine *e, pid_t caller, uid_t uid,
                        const char *tag, const char **ret_err);
/* The caller's tags as a JSON array [{"tag":..,"pid":..,"sample":{..}},..].
 * Tags belong to the caller's uid and, inside a container, to that
 * container too: pods that share uid 1000 never see each other's. */
int jpud_scopes_tracked_json(struct jpud_scopes *s, jpu_engine *e, pid_t caller, uid_t uid,
                             char **ret_json);

#endif /* JPUD_SCOPES_H */
