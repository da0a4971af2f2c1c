/* SPDX-License-Identifier: BSD-3-Clause */
/* The daemon's scopes over the engine (scopes.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "internal.h"
#include "peer.h"
#include "scopes.h"

enum kind { K_USER, K_CONTAINER, K_PROCESS, K_TAG };

#define OWNER_MAX 40 /* "4294967295.c:" and 16 hex digits */

struct entry {
	char key[JPUD_KEY_MAX];
	enum kind kind;
	uid_t uid;                   /* K_USER, K_TAG: owner */
	pid_t pid;                   /* K_PROCESS, K_TAG: daemon-side PID */
	pid_t nspid;                 /* K_TAG: as its owner named it */
	char tag[65];                /* K_TAG */
	char owner[OWNER_MAX];       /* K_TAG: "UID", or "UID.c:HASH" in a container */
	char *cgroup;                /* K_CONTAINER: the unit's cgroup path */
	struct jpu_cgroup_unit unit; /* K_CONTAINER: for the labels */
	char names[3][64];           /* K_CONTAINER on Kubernetes: pod, namespace, container */
	unsigned missed;             /* discovery passes without it (users, containers) */
	uint64_t used_usec;          /* K_PROCESS: last asked for */
};

struct jpud_scopes {
	pthread_mutex_t lock;
	struct jpud_scopes_opts o;
	struct jpu_logger log;
	struct entry *v;
	size_t n, cap;
};

/* FNV-1a 64 of a cgroup path: a key of fixed size and safe characters
 * for a path that may hold anything printable. */
static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static struct entry *find(struct jpud_scopes *s, const char *key)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i].key, key))
			return &s->v[i];
	return NULL;
}

static struct entry *push(struct jpud_scopes *s, const struct entry *en)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct entry *v = realloc(s->v, cap * sizeof *v);

		if (!v)
			return NULL;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n] = *en;
	return &s->v[s->n++];
}

static void drop(struct jpud_scopes *s, struct entry *en)
{
	free(en->cgroup);
	*en = s->v[--s->n];
}

/* Hand one entry to the engine. -EEXIST is fine: it is there already. */
static int engine_add(struct jpud_scopes *s, jpu_engine *e, const struct entry *en)
{
	jpu_scope_spec sp = {.sz = sizeof sp};
	char uidbuf[16], name[64];
	unsigned nl = 0;
	int r;

	switch (en->kind) {
	case K_USER: {
		struct passwd pwbuf, *pw = NULL;
		char pwtext[1024];

		sp.scope = JPU_SCOPE_USER;
		sp.uid = en->uid;
		sp.prometheus = 1;
		sp.history_len = s->o.history_len;
		/* every user is followed for Prometheus; a ring only for those
		 * who read their scope (a Jupyter panel) */
		sp.history_on_demand = 1;
		snprintf(uidbuf, sizeof uidbuf, "%u", (unsigned)en->uid);
		sp.labels[nl][0] = "uid";
		sp.labels[nl++][1] = uidbuf;
		if (getpwuid_r(en->uid, &pwbuf, pwtext, sizeof pwtext, &pw) == 0 && pw) {
			snprintf(name, sizeof name, "%s", pw->pw_name);
			sp.labels[nl][0] = "user";
			sp.labels[nl++][1] = name;
		}
		break;
	}
	case K_CONTAINER:
		sp.scope = JPU_SCOPE_CGROUP;
		sp.cgroup = en->cgroup;
		sp.prometheus = 1;
		sp.history_len = s->o.history_len;
		sp.history_on_demand = 1; /* as users' */
		/* Kepler's names where the path tells them: a pod's uid and a
		 * container's id (the pod's name and namespace live in the
		 * API server, not in the cgroup path) */
		sp.labels[nl][0] = "cgroup_kind"; /* "kind" is the series' own */
		sp.labels[nl++][1] = jpu_cgroup_kind_name(en->unit.kind);
		if (en->unit.pod[0]) {
			sp.labels[nl][0] = "pod_uid";
			sp.labels[nl++][1] = en->unit.pod;
		}
		if (en->unit.id[0]) {
			sp.labels[nl][0] = en->unit.kind == JPU_CGROUP_SLURM     ? "slurm_job"
			                   : en->unit.kind == JPU_CGROUP_MACHINE ? "machine"
			                                                         : "container_id";
			sp.labels[nl++][1] = en->unit.id;
		}
		/* and, where kubelet's log links tell them, the names */
		for (unsigned i = 0; i < 3; i++)
			if (en->names[i][0]) {
				sp.labels[nl][0] =
				        (const char *[]){"pod", "namespace", "container"}[i];
				sp.labels[nl++][1] = en->names[i];
			}
		break;
	case K_PROCESS:
	case K_TAG:
		sp.scope = JPU_SCOPE_PROCESS;
		sp.pid = en->pid;
		sp.prometheus = s->o.process_metrics;
		sp.history_len = en->kind == K_TAG ? s->o.history_len : 0;
		if (en->kind == K_TAG) {
			snprintf(uidbuf, sizeof uidbuf, "%u", (unsigned)en->uid);
			sp.labels[nl][0] = "uid";
			sp.labels[nl++][1] = uidbuf;
			sp.labels[nl][0] = "tag";
			sp.labels[nl++][1] = en->tag;
		}
		break;
	}
	r = jpu_scope_add(e, en->key, &sp);
	return r == -EEXIST ? 0 : r;
}

int jpud_scopes_new(const struct jpud_scopes_opts *o, struct jpud_scopes **ret)
{
	struct jpud_scopes *s = calloc(1, sizeof *s);

	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	s->o = *o;
	s->log.fn = o->log;
	s->log.userdata = o->log_userdata;
	*ret = s;
	return 0;
}

struct jpud_scopes *jpud_scopes_free(struct jpud_scopes *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].cgroup);
	free(s->v);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return NULL;
}

static bool is_container(enum jpu_cgroup_kind k)
{
	return k == JPU_CGROUP_KUBEPODS || k == JPU_CGROUP_DOCKER || k == JPU_CGROUP_CONTAINERD ||
	       k == JPU_CGROUP_PODMAN || k == JPU_CGROUP_MACHINE || k == JPU_CGROUP_SLURM;
}

/* kubelet links every container's log as /var/log/containers/
 * POD_NAMESPACE_CONTAINER-ID.log (names are DNS labels: no '_'). Fill
 * names[] (pod, namespace, container) of the container `id`; 0 or -ENOENT. */
static int container_names(int logs_fd, const char *id, char names[3][64])
{
	size_t idl = strlen(id);
	struct dirent *d;
	DIR *dir;
	int fd, r = -ENOENT;

	if (logs_fd < 0 || idl == 0 || (fd = dup(logs_fd)) < 0)
		return -ENOENT;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return -ENOENT;
	}
	rewinddir(dir);
	while ((d = readdir(dir))) {
		const char *n = d->d_name, *u1, *u2, *tail;
		size_t nl = strlen(n), cl;

		/* ..._CONTAINER-ID.log */
		if (nl < idl + 6 || strcmp(n + nl - 4, ".log") != 0 ||
		    strncmp(n + nl - 4 - idl, id, idl) != 0 || n[nl - 5 - idl] != '-')
			continue;
		u1 = strchr(n, '_');
		u2 = u1 ? strchr(u1 + 1, '_') : NULL;
		tail = n + nl - 5 - idl; /* the '-' before the id */
		if (!u1 || !u2 || u2 > tail || strchr(u2 + 1, '_') || u1 == n || u2 == u1 + 1 ||
		    tail == u2 + 1)
			continue;
		cl = (size_t)(tail - u2 - 1);
		if ((size_t)(u1 - n) >= 64 || (size_t)(u2 - u1 - 1) >= 64 || cl >= 64)
			continue;
		snprintf(names[0], 64, "%.*s", (int)(u1 - n), n);
		snprintf(names[1], 64, "%.*s", (int)(u2 - u1 - 1), u1 + 1);
		snprintf(names[2], 64, "%.*s", (int)cl, u2 + 1);
		r = 0;
		break;
	}
	closedir(dir);
	return r;
}

/* "c:HASH" of the unit's cgroup path: a key of fixed size and safe
 * characters for a path that may hold anything printable. */
static void container_key(const struct jpu_cgroup_of *cg, char key[JPUD_KEY_MAX])
{
	const char *path = jpu_cgroup_main_path(&cg->paths);
	char unit[JPU_CGROUP_PATH_MAX];

	snprintf(unit, sizeof unit, "%.*s", (int)cg->unit.unit_len, path);
	snprintf(key, JPUD_KEY_MAX, "c:%016llx", (unsigned long long)fnv1a(unit));
}

/* The container entry of a process's cgroup, made if new. s->lock held. */
static struct entry *container_of(struct jpud_scopes *s, jpu_engine *e,
                                  const struct jpu_cgroup_of *cg, int *ret_r)
{
	const char *path = jpu_cgroup_main_path(&cg->paths);
	char unit[JPU_CGROUP_PATH_MAX];
	struct entry en = {0}, *have;

	snprintf(unit, sizeof unit, "%.*s", (int)cg->unit.unit_len, path);
	container_key(cg, en.key);
	have = find(s, en.key);
	if (have) {
		have->missed = 0;
		*ret_r = 0;
		return have;
	}
	en.kind = K_CONTAINER;
	en.unit = cg->unit;
	if (cg->unit.kind != JPU_CGROUP_SLURM && cg->unit.kind != JPU_CGROUP_MACHINE)
		container_names(s->o.container_logs_fd, cg->unit.id, en.names);
	en.cgroup = strdup(unit);
	if (!en.cgroup) {
		*ret_r = -ENOMEM;
		return NULL;
	}
	*ret_r = engine_add(s, e, &en);
	if (*ret_r < 0) {
		jpu_logf(&s->log, JPU_LOG_WARNING, "container cgroup %s: %s", unit,
		         strerror(-*ret_r));
		free(en.cgroup);
		return NULL;
	}
	have = push(s, &en);
	if (!have) {
		jpu_scope_remove(e, en.key);
		free(en.cgroup);
		*ret_r = -ENOMEM;
	}
	return have;
}

static struct entry *user_of(struct jpud_scopes *s, jpu_engine *e, uid_t uid, int *ret_r)
{
	struct entry en = {0}, *have;

	snprintf(en.key, sizeof en.key, "u:%u", (unsigned)uid);
	have = find(s, en.key);
	if (have) {
		have->missed = 0;
		*ret_r = 0;
		return have;
	}
	en.kind = K_USER;
	en.uid = uid;
	*ret_r = engine_add(s, e, &en);
	if (*ret_r < 0)
		return NULL;
	have = push(s, &en);
	if (!have) {
		jpu_scope_remove(e, en.key);
		*ret_r = -ENOMEM;
	}
	return have;
}

void jpud_scopes_discover(struct jpud_scopes *s, jpu_engine *e)
{
	int dfd = openat(s->o.procfs_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *de;
	int r;

	if (!dir) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].kind == K_USER || s->v[i].kind == K_CONTAINER)
			s->v[i].missed++;
	while ((de = readdir(dir))) {
		struct jpud_status st;
		struct jpu_cgroup_of cg;
		uint64_t p;

		if (jpu_parse_u64(de->d_name, strlen(de->d_name), &p) < 0 || p == 0 ||
		    p > INT32_MAX)
			continue;
		if (jpud_read_status(s->o.procfs_fd, (pid_t)p, &st) < 0)
			continue;
		/* kernel threads (children of kthreadd, PID 2) belong to nobody */
		if (p == 2 || st.ppid == 2)
			continue;
		user_of(s, e, st.uid, &r);
		if (jpu_cgroup_of_pid(s->o.procfs_fd, (pid_t)p, &cg) == 0 &&
		    is_container(cg.unit.kind))
			container_of(s, e, &cg, &r);
	}
	closedir(dir);
	/* gone for three passes: forget them (their totals fold in the
	 * engine's state, and come back if they do) */
	for (size_t i = 0; i < s->n;) {
		struct entry *en = &s->v[i];

		if ((en->kind == K_USER || en->kind == K_CONTAINER) && en->missed >= 3) {
			jpu_scope_remove(e, en->key);
			drop(s, en);
			continue;
		}
		if (en->kind == K_PROCESS && jpu_now_mono_usec() - en->used_usec > 300000000ull) {
			/* nobody asked for five minutes */
			jpu_scope_remove(e, en->key);
			drop(s, en);
			continue;
		}
		i++;
	}
	pthread_mutex_unlock(&s->lock);
}

void jpud_scopes_replay(struct jpud_scopes *s, jpu_engine *e)
{
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n; i++) {
		int r = engine_add(s, e, &s->v[i]);

		if (r < 0)
			jpu_logf(&s->log, JPU_LOG_WARNING, "reload: scope %s: %s", s->v[i].key,
			         strerror(-r));
	}
	pthread_mutex_unlock(&s->lock);
}

static int caller_container(struct jpud_scopes *s, jpu_engine *e, pid_t caller,
                            char ret_key[JPUD_KEY_MAX], const char **err)
{
	struct jpu_cgroup_of cg;
	struct entry *en;
	int r;

	r = jpu_cgroup_of_pid(s->o.procfs_fd, caller, &cg);
	if (r < 0) {
		*err = "cannot read the caller's cgroup";
		return -ESRCH;
	}
	if (!is_container(cg.unit.kind)) {
		*err = "the caller runs in no container";
		return -ENOENT;
	}
	pthread_mutex_lock(&s->lock);
	en = container_of(s, e, &cg, &r);
	if (en)
		snprintf(ret_key, JPUD_KEY_MAX, "%s", en->key);
	pthread_mutex_unlock(&s->lock);
	if (!en)
		*err = "cannot account the caller's container";
	return en ? 0 : r;
}

int jpud_scopes_user(struct jpud_scopes *s, jpu_engine *e, pid_t caller, uid_t uid,
                     char ret_key[JPUD_KEY_MAX], const char **ret_err)
{
	struct entry *en;
	int r;

	/* in a container, "user" is the container: a uid alone isolates
	 * nobody where every user is uid 1000; never wider than that */
	r = caller_container(s, e, caller, ret_key, ret_err);
	if (r != -ENOENT)
		return r;
	pthread_mutex_lock(&s->lock);
	en = user_of(s, e, uid, &r);
	if (en)
		snprintf(ret_key, JPUD_KEY_MAX, "%s", en->key);
	pthread_mutex_unlock(&s->lock);
	if (!en)
		*ret_err = "cannot account the caller's user";
	return en ? 0 : r;
}

int jpud_scopes_container(struct jpud_scopes *s, jpu_engine *e, pid_t caller,
                          char ret_key[JPUD_KEY_MAX], const char **ret_err)
{
	return caller_container(s, e, caller, ret_key, ret_err);
}

/* nspid as the caller sees it, translated and checked: its process must
 * be the caller's (uid 0 may name any it can see). */
static int owned_pid(struct jpud_scopes *s, pid_t caller, uid_t uid, pid_t nspid, pid_t *ret,
                     const char **err)
{
	struct jpud_status st;
	pid_t pid;

	if (jpud_translate_pid(s->o.procfs_fd, caller, nspid, &pid) < 0 ||
	    jpud_read_status(s->o.procfs_fd, pid, &st) < 0) {
		*err = "no such process in the caller's PID namespace";
		return -ESRCH;
	}
	if (uid != 0 && st.uid != uid) {
		*err = "that process belongs to another user";
		return -EPERM;
	}
	*ret = pid;
	return 0;
}

int jpud_scopes_process(struct jpud_scopes *s, jpu_engine *e, pid_t caller, uid_t uid, pid_t nspid,
                        char ret_key[JPUD_KEY_MAX], const char **ret_err)
{
	struct entry en = {0}, *have;
	pid_t pid;
	int r;

	r = owned_pid(s, caller, uid, nspid, &pid, ret_err);
	if (r < 0)
		return r;
	snprintf(en.key, sizeof en.key, "p:%d", (int)pid);
	pthread_mutex_lock(&s->lock);
	have = find(s, en.key);
	if (!have) {
		en.kind = K_PROCESS;
		en.pid = pid;
		r = engine_add(s, e, &en);
		have = r < 0 ? NULL : push(s, &en);
		if (!have && r == 0) {
			jpu_scope_remove(e, en.key);
			r = -ENOMEM;
		}
	}
	if (have) {
		have->used_usec = jpu_now_mono_usec();
		snprintf(ret_key, JPUD_KEY_MAX, "%s", have->key);
	}
	pthread_mutex_unlock(&s->lock);
	if (!have) {
		*ret_err = r == -ESRCH ? "the process is gone" : "cannot account the process";
		return r == -ESRCH ? -ESRCH : r;
	}
	return 0;
}

/* Whose tags the caller's are: its uid, and its container when it runs in
 * one. On Kubernetes every user may be uid 1000: by uid alone, one pod
 * would list and remove another's kernels. */
static int tag_owner(struct jpud_scopes *s, pid_t caller, uid_t uid, char owner[OWNER_MAX],
                     const char **err)
{
	struct jpu_cgroup_of cg;
	char key[JPUD_KEY_MAX];

	if (jpu_cgroup_of_pid(s->o.procfs_fd, caller, &cg) < 0) {
		*err = "cannot read the caller's cgroup";
		return -ESRCH;
	}
	if (!is_container(cg.unit.kind)) {
		snprintf(owner, OWNER_MAX, "%u", (unsigned)uid);
		return 0;
	}
	container_key(&cg, key);
	snprintf(owner, OWNER_MAX, "%u.%.18s", (unsigned)uid, key);
	return 0;
}

uint64_t jpud_scopes_caller_id(struct jpud_scopes *s, pid_t caller, uid_t uid)
{
	struct jpu_cgroup_of cg;
	char key[JPUD_KEY_MAX];

	if (jpu_cgroup_of_pid(s->o.procfs_fd, caller, &cg) < 0 || !is_container(cg.unit.kind))
		return uid;
	container_key(&cg, key);
	/* above every uid: a container's bucket is never a host user's */
	return (1ull << 63) | (fnv1a(key) ^ uid);
}

int jpud_scopes_track(struct jpud_scopes *s, jpu_engine *e, pid_t caller, uid_t uid, pid_t nspid,
                      const char *tag, const char **ret_err)
{
	struct entry en = {0}, *have;
	unsigned mine = 0;
	pid_t pid;
	int r;

	r = owned_pid(s, caller, uid, nspid, &pid, ret_err);
	if (r < 0)
		return r;
	r = tag_owner(s, caller, uid, en.owner, ret_err);
	if (r < 0)
		return r;
	snprintf(en.key, sizeof en.key, "t:%s:%s", en.owner, tag);
	pthread_mutex_lock(&s->lock);
	have = find(s, en.key);
	if (have && have->pid != pid) {
		/* a restarted kernel: the tag follows the new tree and keeps
		 * its total */
		r = jpu_scope_reroot(e, have->key, pid);
		if (r == 0) {
			have->pid = pid;
			have->nspid = nspid;
		}
	} else if (!have) {
		for (size_t i = 0; i < s->n; i++)
			mine += s->v[i].kind == K_TAG && !strcmp(s->v[i].owner, en.owner);
		if (mine >= JPUD_TAGS_PER_USER) {
			r = -ENOSPC;
		} else {
			en.kind = K_TAG;
			en.uid = uid;
			en.pid = pid;
			en.nspid = nspid;
			snprintf(en.tag, sizeof en.tag, "%s", tag);
			r = engine_add(s, e, &en);
			if (r == 0 && !push(s, &en)) {
				jpu_scope_remove(e, en.key);
				r = -ENOMEM;
			}
		}
	}
	pthread_mutex_unlock(&s->lock);
	if (r == -ENOSPC)
		*ret_err = "too many tags: untrack some first";
	else if (r < 0)
		*ret_err = "cannot track that process";
	return r;
}

int jpud_scopes_untrack(struct jpud_scopes *s, jpu_engine *e, pid_t caller, uid_t uid,
                        const char *tag, const char **ret_err)
{
	char key[JPUD_KEY_MAX], owner[OWNER_MAX];
	struct entry *en;
	int r;

	r = tag_owner(s, caller, uid, owner, ret_err);
	if (r < 0)
		return r;
	snprintf(key, sizeof key, "t:%s:%s", owner, tag);
	pthread_mutex_lock(&s->lock);
	en = find(s, key);
	if (en) {
		jpu_scope_remove(e, key);
		drop(s, en);
	}
	pthread_mutex_unlock(&s->lock);
	if (!en) {
		/* another user's tag of the same name is another key: the
		 * caller learns nothing of it */
		*ret_err = "no such tag";
		return -ENOENT;
	}
	return 0;
}

int jpud_scopes_tracked_json(struct jpud_scopes *s, jpu_engine *e, pid_t caller, uid_t uid,
                             char **ret_json)
{
	size_t len = 1, cap = 256;
	const char *err;
	char owner[OWNER_MAX], *out;
	bool first = true;

	if (tag_owner(s, caller, uid, owner, &err) < 0)
		return -ESRCH;
	out = malloc(cap);
	if (!out)
		return -ENOMEM;
	out[0] = '[';
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n; i++) {
		const struct entry *en = &s->v[i];
		char *sample = NULL, head[160];
		size_t need;
		int hl;

		if (en->kind != K_TAG || strcmp(en->owner, owner) != 0)
			continue;
		if (jpu_scope_json(e, en->key, &sample) < 0)
			sample = NULL;
		/* tags are [A-Za-z0-9._:-] (request.c): no escaping needed */
		hl = snprintf(head, sizeof head,
		              "%s{\"tag\":\"%s\",\"pid\":%d,\"sample\":", first ? "" : ",", en->tag,
		              (int)en->nspid);
		need = len + (size_t)hl + (sample ? strlen(sample) : 4) + 3;
		if (need > cap) {
			char *bigger;

			while (cap < need)
				cap *= 2;
			bigger = realloc(out, cap);
			if (!bigger) {
				free(sample);
				free(out);
				pthread_mutex_unlock(&s->lock);
				return -ENOMEM;
			}
			out = bigger;
		}
		memcpy(out + len, head, (size_t)hl);
		len += (size_t)hl;
		len += (size_t)sprintf(out + len, "%s}", sample ? sample : "null");
		free(sample);
		first = false;
	}
	pthread_mutex_unlock(&s->lock);
	out[len++] = ']';
	out[len] = '\0';
	*ret_json = out;
	return 0;
}
