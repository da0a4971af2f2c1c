/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cgroups (cgroup.h): usage files, per-user slices, /proc/PID/cgroup and
 * the layouts of the software that makes cgroups.
 *
 * Layouts recognised by jpu_cgroup_classify, one path component at a time,
 * the innermost match winning (facts from each project's documentation and
 * from paths seen on hosts that run it):
 *   systemd-logind  /user.slice/user-1000.slice/session-2.scope
 *   kubelet         /kubepods/burstable/pod<uid>/<64 hex>            (cgroupfs driver)
 *                   /kubepods.slice/kubepods-besteffort.slice/
 *                     kubepods-besteffort-pod<uid, _ for ->.slice/
 *                     cri-containerd-<64 hex>.scope                  (systemd driver;
 *                     also crio-<id>.scope, docker-<id>.scope)
 *   Docker          /docker/<64 hex>, /system.slice/docker-<64 hex>.scope
 *   containerd      /system.slice/cri-containerd-<64 hex>.scope, nerdctl-<64 hex>.scope
 *   Podman          /machine.slice/libpod-<64 hex>.scope, rootless under
 *                   user@UID.service/user.slice/, /libpod_parent/libpod-<64 hex>
 *   systemd-machined /machine.slice/machine-<name>.scope
 *   Slurm           /slurm/uid_1000/job_42/step_0 (v1),
 *                   /system.slice/slurmstepd.scope/job_42/step_0/user/task_0 (v2)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "internal.h"
#include "proc/procfile.h"

#define CPU_FILE_BUF 1024 /* cpu.stat has about ten short lines */
#define MAX_LINES    128  /* more hierarchies than any kernel mounts */

/* Where per-user slices are looked for, in the order the engine has always
 * tried them: v2 first, then v1 cpuacct under its two usual mount names. */
static const struct user_layout {
	enum jpu_cgroup_version version;
	const char *cpu_dir, *cpu_file;
	const char *mem_dir, *mem_file;
} user_layouts[] = {
        {JPU_CGROUP_V2, "fs/cgroup", "cpu.stat", "fs/cgroup", "memory.current"},
        {JPU_CGROUP_V1, "fs/cgroup/cpuacct", "cpuacct.usage", "fs/cgroup/memory",
         "memory.usage_in_bytes"},
        {JPU_CGROUP_V1, "fs/cgroup/cpu,cpuacct", "cpuacct.usage", "fs/cgroup/memory",
         "memory.usage_in_bytes"},
};

/* s[0..len) is one or more decimal digits (jpu_parse_u64 alone would also
 * take leading spaces and a trailing newline), parsed into *ret. */
static bool digits_u64(const char *s, size_t len, uint64_t *ret)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return jpu_parse_u64(s, len, ret) == 0;
}

static const char *line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	return nl ? nl : end;
}

/* ---- usage files -------------------------------------------------------- */

void jpu_cgroup_files_close(struct jpu_cgroup_files *f)
{
	if (!f)
		return;
	if (f->cpu_fd >= 0)
		close(f->cpu_fd);
	if (f->mem_fd >= 0)
		close(f->mem_fd);
	*f = (struct jpu_cgroup_files)JPU_CGROUP_FILES_INIT;
}

int jpu_cgroup_parse_cpu_stat(const char *buf, size_t len, uint64_t *ret_usec)
{
	const char *p = buf, *end = buf + len, *le;

	for (; p < end; p = le + 1) {
		le = line_end(p, end);
		if (le - p > 11 && memcmp(p, "usage_usec ", 11) == 0) {
			if (jpu_parse_u64(p + 11, (size_t)(le - p - 11), ret_usec) < 0)
				return -EBADMSG;
			return 0;
		}
		if (le == end)
			break;
	}
	return -EBADMSG;
}

int jpu_cgroup_read_cpu_ns(const struct jpu_cgroup_files *f, uint64_t *ret_ns)
{
	char buf[CPU_FILE_BUF];
	uint64_t v;
	ssize_t n;
	int r;

	if (!f || f->cpu_fd < 0)
		return -EBADF;
	n = jpu_pread_all(f->cpu_fd, buf, sizeof buf);
	if (n < 0)
		return (int)n;
	if (f->version == JPU_CGROUP_V2) {
		r = jpu_cgroup_parse_cpu_stat(buf, (size_t)n, &v);
		if (r < 0)
			return r;
		if (v > UINT64_MAX / 1000)
			return -ERANGE;
		*ret_ns = v * 1000;
		return 0;
	}
	/* v1 cpuacct.usage: one decimal, nanoseconds */
	r = jpu_parse_u64(buf, (size_t)n, &v);
	if (r < 0)
		return -EBADMSG;
	*ret_ns = v;
	return 0;
}

int jpu_cgroup_read_mem_bytes(const struct jpu_cgroup_files *f, uint64_t *ret_bytes)
{
	int r;

	if (!f || f->mem_fd < 0)
		return -ENOENT;
	r = jpu_read_u64_fd(f->mem_fd, ret_bytes);
	/* "max" or garbage is a malformed file, not a bad argument */
	return r == -EINVAL ? -EBADMSG : r;
}

/* ---- per-user slices ------------------------------------------------------ */

int jpu_cgroup_parse_user_slice(const char *name, size_t len, uid_t *ret_uid)
{
	uint64_t uid;

	/* "user-" digits ".slice" (systemd-logind, user-UID.slice) */
	if (len < 12 || memcmp(name, "user-", 5) != 0 || memcmp(name + len - 6, ".slice", 6) != 0)
		return -EINVAL;
	if (!digits_u64(name + 5, len - 11, &uid))
		return -EINVAL;
	/* (uid_t)-1 is "no uid" to the kernel's set*id calls */
	if (uid >= (uid_t)-1)
		return -EINVAL;
	*ret_uid = (uid_t)uid;
	return 0;
}

int jpu_cgroup_open_user(int sysfs_fd, uid_t uid, struct jpu_cgroup_files *ret)
{
	char path[160];

	if (sysfs_fd < 0)
		return -ENOENT;
	for (size_t i = 0; i < JPU_ARRAY_SIZE(user_layouts); i++) {
		const struct user_layout *l = &user_layouts[i];
		int fd;

		snprintf(path, sizeof path, "%s/user.slice/user-%u.slice/%s", l->cpu_dir,
		         (unsigned)uid, l->cpu_file);
		fd = jpu_open_at(sysfs_fd, path);
		if (fd < 0)
			continue;
		snprintf(path, sizeof path, "%s/user.slice/user-%u.slice/%s", l->mem_dir,
		         (unsigned)uid, l->mem_file);
		ret->version = l->version;
		ret->cpu_fd = fd;
		ret->mem_fd = jpu_open_at(sysfs_fd, path);
		if (ret->mem_fd < 0)
			ret->mem_fd = -1;
		return 0;
	}
	return -ENOENT;
}

int jpu_cgroup_each_user(int sysfs_fd, jpu_cgroup_user_fn *fn, void *userdata)
{
	for (size_t i = 0; i < JPU_ARRAY_SIZE(user_layouts); i++) {
		const struct user_layout *l = &user_layouts[i];
		char dir[96];
		struct dirent *de;
		DIR *d;
		int fd;

		snprintf(dir, sizeof dir, "%s/user.slice", l->cpu_dir);
		fd = sysfs_fd >= 0 ? openat(sysfs_fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
		d = fd >= 0 ? fdopendir(fd) : NULL;
		if (!d) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		while ((de = readdir(d))) {
			struct jpu_cgroup_files f = {l->version, -1, -1};
			char path[128 + sizeof de->d_name];
			uint64_t ns;
			uid_t uid;
			int r;

			if (jpu_cgroup_parse_user_slice(de->d_name, strlen(de->d_name), &uid) < 0)
				continue;
			snprintf(path, sizeof path, "%s/%s/%s", dir, de->d_name, l->cpu_file);
			f.cpu_fd = jpu_open_at(sysfs_fd, path);
			if (f.cpu_fd < 0)
				continue;
			r = jpu_cgroup_read_cpu_ns(&f, &ns);
			jpu_cgroup_files_close(&f);
			/* a slice that is going away or unreadable is no user */
			if (r == 0)
				fn(uid, ns, userdata);
		}
		closedir(d);
		return 0;
	}
	return -ENOENT;
}

/* ---- /proc/PID/cgroup ----------------------------------------------------- */

static bool ctrl_char(char c)
{
	/* controller names and v1 "name=" hierarchy names
	 * (kernel/cgroup/cgroup-v1.c, cgroup1_parse_param) */
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-' || c == '=';
}

/* Whether the comma-separated list ctrl[0..len) holds the token tok. */
static bool has_token(const char *ctrl, size_t len, const char *tok)
{
	size_t tl = strlen(tok);

	for (const char *p = ctrl, *end = ctrl + len; p < end;) {
		const char *c = memchr(p, ',', (size_t)(end - p));
		size_t n = (size_t)((c ? c : end) - p);

		if (n == tl && memcmp(p, tok, tl) == 0)
			return true;
		p += n + 1;
	}
	return false;
}

/* A cgroup path as the kernel prints it: absolute, no empty component
 * (cgroup_path_ns writes "/" alone or "/a/b"), no control byte (a name with
 * a newline would make the file ambiguous; nothing makes one). */
static int check_path(const char *p, size_t len)
{
	if (len == 0 || p[0] != '/')
		return -EBADMSG;
	if (len >= JPU_CGROUP_PATH_MAX)
		return -ENAMETOOLONG;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x20 || c == 0x7f)
			return -EBADMSG;
		if (c == '/' && i > 0 && p[i - 1] == '/')
			return -EBADMSG;
	}
	if (len > 1 && p[len - 1] == '/')
		return -EBADMSG;
	return 0;
}

static void keep_path(char *dst, const char *p, size_t len)
{
	memcpy(dst, p, len);
	dst[len] = '\0';
}

int jpu_cgroup_parse_pid(const char *buf, size_t len, struct jpu_cgroup_paths *ret)
{
	/* kernel/cgroup/cgroup.c, proc_cgroup_show: a dead v2 cgroup */
	static const char deleted[] = " (deleted)";
	const size_t dl = sizeof deleted - 1;
	uint64_t seen[MAX_LINES];
	const char *p = buf, *end = buf + len;
	struct jpu_cgroup_paths *out;
	size_t n_lines = 0;
	int r;

	if (len == 0)
		return -EBADMSG;
	/* large (four paths): built aside so *ret is written only on success */
	out = calloc(1, sizeof *out);
	if (!out)
		return -ENOMEM;
	r = -EBADMSG;
	while (p < end) {
		const char *le = line_end(p, end), *c1, *c2, *path;
		size_t clen, plen;
		uint64_t id;

		c1 = memchr(p, ':', (size_t)(le - p));
		c2 = c1 ? memchr(c1 + 1, ':', (size_t)(le - c1 - 1)) : NULL;
		/* the kernel prints the id with %d: no sign, no leading 0 */
		if (!c2 || !digits_u64(p, (size_t)(c1 - p), &id) || id > INT_MAX ||
		    (p[0] == '0' && c1 - p > 1))
			goto fail;
		for (size_t i = 0; i < n_lines; i++)
			if (seen[i] == id)
				goto fail;
		if (n_lines == MAX_LINES)
			goto fail;
		seen[n_lines++] = id;
		/* controllers: tokens of ctrl_char, single commas between */
		clen = (size_t)(c2 - c1 - 1);
		for (size_t i = 0; i < clen; i++) {
			char c = c1[1 + i];

			if (c == ',' ? i == 0 || i + 1 == clen || c1[i] == ',' : !ctrl_char(c))
				goto fail;
		}
		/* hierarchy 0 is v2, which has no controller list; a v1
		 * hierarchy has at least one controller or a name= */
		if ((id == 0) != (clen == 0))
			goto fail;
		path = c2 + 1;
		plen = (size_t)(le - path);
		if (id == 0 && plen > dl && memcmp(path + plen - dl, deleted, dl) == 0) {
			out->v2_deleted = true;
			plen -= dl;
		}
		r = check_path(path, plen);
		if (r < 0)
			goto fail;
		r = -EBADMSG;
		if (id == 0) {
			out->has_v2 = true;
			keep_path(out->v2, path, plen);
		}
		/* a controller is bound to one hierarchy (and systemd's name
		 * to one): a second line with it is not the kernel's */
		if (has_token(c1 + 1, clen, "cpuacct")) {
			if (out->has_cpuacct || clen >= sizeof out->cpuacct_ctrl)
				goto fail;
			out->has_cpuacct = true;
			keep_path(out->cpuacct, path, plen);
			keep_path(out->cpuacct_ctrl, c1 + 1, clen);
		}
		if (has_token(c1 + 1, clen, "memory")) {
			if (out->has_memory)
				goto fail;
			out->has_memory = true;
			keep_path(out->memory, path, plen);
		}
		if (has_token(c1 + 1, clen, "name=systemd")) {
			if (out->has_systemd)
				goto fail;
			out->has_systemd = true;
			keep_path(out->systemd, path, plen);
		}
		if (le == end)
			break;
		/* a line ends with '\n'; an empty line is not a line */
		p = le + 1;
		if (p < end && *p == '\n')
			goto fail;
	}
	*ret = *out;
	free(out);
	return 0;
fail:
	free(out);
	return r;
}

int jpu_cgroup_read_pid(int procfs_fd, pid_t pid, struct jpu_cgroup_paths *ret)
{
	char path[32], *buf = NULL;
	ssize_t n;
	int r;

	if (pid <= 0)
		return -EINVAL;
	snprintf(path, sizeof path, "%d/cgroup", (int)pid);
	/* a v1 host lists a dozen hierarchies; four paths of PATH_MAX at most
	 * are kept, so a file beyond that is refused by the parser anyway */
	n = jpu_proc_read_grow(procfs_fd, path, 4096, 16 * JPU_CGROUP_PATH_MAX, &buf);
	if (n < 0)
		return (int)n;
	r = jpu_cgroup_parse_pid(buf, (size_t)n, ret);
	free(buf);
	return r;
}

/* ---- layouts -------------------------------------------------------------- */

const char *jpu_cgroup_kind_name(enum jpu_cgroup_kind k)
{
	switch (k) {
	case JPU_CGROUP_ROOT:
		return "root";
	case JPU_CGROUP_OTHER:
		return "other";
	case JPU_CGROUP_USER:
		return "user";
	case JPU_CGROUP_KUBEPODS:
		return "kubepods";
	case JPU_CGROUP_DOCKER:
		return "docker";
	case JPU_CGROUP_CONTAINERD:
		return "containerd";
	case JPU_CGROUP_PODMAN:
		return "podman";
	case JPU_CGROUP_MACHINE:
		return "machine";
	case JPU_CGROUP_SLURM:
		return "slurm";
	}
	return "other";
}

/* One path component c[0..n). */
struct comp {
	const char *c;
	size_t n;
};

static bool comp_is(struct comp k, const char *s)
{
	return k.n == strlen(s) && memcmp(k.c, s, k.n) == 0;
}

/* If k is prefix + middle + suffix, the middle (else n = 0). */
static struct comp comp_mid(struct comp k, const char *prefix, const char *suffix)
{
	size_t pl = strlen(prefix), sl = strlen(suffix);
	struct comp none = {NULL, 0};

	if (k.n <= pl + sl || memcmp(k.c, prefix, pl) != 0 ||
	    memcmp(k.c + k.n - sl, suffix, sl) != 0)
		return none;
	return (struct comp){k.c + pl, k.n - pl - sl};
}

/* A container id as Docker, containerd, CRI-O and Podman write it: 64
 * lowercase hex digits. */
static bool is_container_id(struct comp k)
{
	if (k.n != 64)
		return false;
	for (size_t i = 0; i < k.n; i++)
		if (!((k.c[i] >= '0' && k.c[i] <= '9') || (k.c[i] >= 'a' && k.c[i] <= 'f')))
			return false;
	return true;
}

static bool is_decimal(struct comp k, uint64_t *ret)
{
	return digits_u64(k.c, k.n, ret);
}

/* A pod uid: a UUID (36 characters; the systemd driver writes '_' for '-')
 * or the 32 hex digits kubelet gives static pods (an md5 of the manifest). */
static bool pod_uid(struct comp k, char *out, size_t size)
{
	if ((k.n != 36 && k.n != 32) || k.n >= size)
		return false;
	for (size_t i = 0; i < k.n; i++) {
		char c = k.c[i];

		if (k.n == 36 && (i == 8 || i == 13 || i == 18 || i == 23)) {
			if (c != '-' && c != '_')
				return false;
			out[i] = '-';
			continue;
		}
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
		out[i] = c;
	}
	out[k.n] = '\0';
	return true;
}

static void set_id(struct jpu_cgroup_unit *u, struct comp id)
{
	size_t n = id.n < sizeof u->id ? id.n : sizeof u->id - 1;

	memcpy(u->id, id.c, n);
	u->id[n] = '\0';
}

/* A kubepods component: the pod ("pod<uid>", "kubepods[-qos]-pod<uid>.slice")
 * or a container of it. Returns whether k was one. */
static bool kube_comp(struct jpu_cgroup_unit *u, struct comp k)
{
	static const struct {
		const char *prefix, *runtime;
	} scopes[] = {
	        {"cri-containerd-", "containerd"},
	        {"crio-", "cri-o"},
	        {"docker-", "docker"},
	};
	struct comp m;

	if (comp_is(k, "besteffort") || comp_is(k, "burstable") ||
	    comp_is(k, "kubepods-besteffort.slice") || comp_is(k, "kubepods-burstable.slice"))
		return true;
	m = comp_mid(k, "pod", "");
	if (!m.n && k.n > 9 && memcmp(k.c, "kubepods-", 9) == 0) {
		/* the systemd driver: kubepods-pod<uid>.slice for guaranteed
		 * pods, kubepods-<qos>-pod<uid>.slice for the others */
		const char *pod = NULL;

		for (size_t i = 8; i + 4 <= k.n; i++)
			if (k.c[i] == '-' && memcmp(k.c + i + 1, "pod", 3) == 0) {
				pod = k.c + i + 4;
				break;
			}
		if (pod)
			m = comp_mid((struct comp){pod, (size_t)(k.c + k.n - pod)}, "", ".slice");
	}
	if (m.n && pod_uid(m, u->pod, sizeof u->pod)) {
		u->id[0] = '\0';
		u->runtime = NULL;
		return true;
	}
	if (is_container_id(k)) {
		set_id(u, k);
		u->runtime = NULL;
		return true;
	}
	for (size_t i = 0; i < JPU_ARRAY_SIZE(scopes); i++) {
		m = comp_mid(k, scopes[i].prefix, ".scope");
		if (is_container_id(m)) {
			set_id(u, m);
			u->runtime = scopes[i].runtime;
			return true;
		}
	}
	return false;
}

int jpu_cgroup_classify(const char *path, struct jpu_cgroup_unit *ret)
{
	struct jpu_cgroup_unit u = {.kind = JPU_CGROUP_OTHER};
	bool kube = false, slurm = false, docker_parent = false, libpod_parent = false;
	size_t len;

	if (!path || path[0] != '/')
		return -EINVAL;
	len = strlen(path);
	if (len == 1) {
		u.kind = JPU_CGROUP_ROOT;
		u.unit_len = 1;
		*ret = u;
		return 0;
	}
	for (const char *p = path + 1; p < path + len;) {
		const char *slash = strchr(p, '/');
		struct comp k = {p, (size_t)((slash ? slash : path + len) - p)}, m;
		size_t end = (size_t)(k.c + k.n - path);
		bool parent_docker = docker_parent, parent_libpod = libpod_parent;
		uint64_t num;
		uid_t uid;

		p += k.n + 1;
		docker_parent = libpod_parent = false;
		if (k.n == 0)
			continue;
		if (kube && kube_comp(&u, k)) {
			u.unit_len = end;
			continue;
		}
		if (comp_is(k, "kubepods") || comp_is(k, "kubepods.slice")) {
			kube = true;
			u = (struct jpu_cgroup_unit){.kind = JPU_CGROUP_KUBEPODS,
			                             .has_uid = u.has_uid,
			                             .uid = u.uid,
			                             .unit_len = end};
			continue;
		}
		if (slurm) {
			m = comp_mid(k, "uid_", "");
			if (is_decimal(m, &num) && num < (uid_t)-1) {
				u.has_uid = true;
				u.uid = (uid_t)num;
				continue;
			}
			m = comp_mid(k, "job_", "");
			if (is_decimal(m, &num)) {
				u.kind = JPU_CGROUP_SLURM;
				set_id(&u, m);
				u.pod[0] = '\0';
				u.runtime = NULL;
				u.unit_len = end;
				continue;
			}
		}
		if (jpu_cgroup_parse_user_slice(k.c, k.n, &uid) == 0) {
			u = (struct jpu_cgroup_unit){
			        .kind = JPU_CGROUP_USER, .has_uid = true, .uid = uid};
			set_id(&u, comp_mid(k, "user-", ".slice"));
			u.unit_len = end;
			continue;
		}
		if (comp_is(k, "slurm") || comp_mid(k, "slurm_", "").n ||
		    comp_is(k, "slurmstepd.scope")) {
			/* slurm_<node> where several slurmd share a host */
			slurm = true;
			continue;
		}
		if (comp_is(k, "docker")) {
			docker_parent = true;
			continue;
		}
		if (comp_is(k, "libpod_parent")) {
			libpod_parent = true;
			continue;
		}
		{
			enum jpu_cgroup_kind kind = JPU_CGROUP_OTHER;
			struct comp id = {NULL, 0};

			if (parent_docker && is_container_id(k)) {
				kind = JPU_CGROUP_DOCKER;
				id = k;
			} else if (is_container_id(m = comp_mid(k, "docker-", ".scope"))) {
				kind = JPU_CGROUP_DOCKER;
				id = m;
			} else if (is_container_id(m = comp_mid(k, "cri-containerd-", ".scope")) ||
			           is_container_id(m = comp_mid(k, "nerdctl-", ".scope"))) {
				kind = JPU_CGROUP_CONTAINERD;
				id = m;
			} else if (is_container_id(m = comp_mid(k, "libpod-", ".scope")) ||
			           (parent_libpod &&
			            is_container_id(m = comp_mid(k, "libpod-", "")))) {
				kind = JPU_CGROUP_PODMAN;
				id = m;
			} else if ((m = comp_mid(k, "machine-", ".scope")).n) {
				kind = JPU_CGROUP_MACHINE;
				id = m;
			}
			if (kind != JPU_CGROUP_OTHER) {
				/* a container in a user's slice keeps the uid */
				u = (struct jpu_cgroup_unit){.kind = kind,
				                             .has_uid = u.has_uid,
				                             .uid = u.uid,
				                             .unit_len = end};
				set_id(&u, id);
			}
		}
	}
	if (u.kind == JPU_CGROUP_OTHER)
		u.unit_len = len;
	*ret = u;
	return 0;
}

/* How much a path tells: 3 a container, machine or job, 2 a user's slice,
 * 1 some other cgroup, 0 the root. Where hierarchies disagree (a hybrid
 * host: runtimes with the cgroupfs driver write only the v1 controllers,
 * systemd keeps its units in v2) the workload's own group wins over the
 * login or service that started it. */
static int path_rank(const char *path)
{
	struct jpu_cgroup_unit u;

	if (jpu_cgroup_classify(path, &u) < 0)
		return 0;
	switch (u.kind) {
	case JPU_CGROUP_ROOT:
		return 0;
	case JPU_CGROUP_OTHER:
		return 1;
	case JPU_CGROUP_USER:
		return 2;
	default:
		return 3;
	}
}

const char *jpu_cgroup_main_path(const struct jpu_cgroup_paths *p)
{
	/* in the order of preference when they tell as much: v2, then the
	 * hierarchy that accounts CPU, then systemd's (which on a v1 host
	 * knows the unit but not, for Slurm, the job) */
	const char *cand[] = {p->has_v2 ? p->v2 : NULL, p->has_cpuacct ? p->cpuacct : NULL,
	                      p->has_systemd ? p->systemd : NULL};
	const char *best = "/";
	int best_rank = -1;

	for (size_t i = 0; i < JPU_ARRAY_SIZE(cand); i++) {
		int r = cand[i] ? path_rank(cand[i]) : -1;

		if (r > best_rank) {
			best = cand[i];
			best_rank = r;
		}
	}
	return best;
}

int jpu_cgroup_of_pid(int procfs_fd, pid_t pid, struct jpu_cgroup_of *ret)
{
	struct jpu_cgroup_of *out;
	int r;

	out = malloc(sizeof *out);
	if (!out)
		return -ENOMEM;
	r = jpu_cgroup_read_pid(procfs_fd, pid, &out->paths);
	if (r == 0)
		r = jpu_cgroup_classify(jpu_cgroup_main_path(&out->paths), &out->unit);
	if (r == 0)
		*ret = *out;
	free(out);
	return r;
}

/* ---- opening a process's cgroup ------------------------------------------ */

/* path, cut to its unit's cgroup when `unit`, as a relative tail: "" for the
 * root, "/a/b" otherwise. -EXDEV when it climbs out of the namespace. */
static int cgroup_tail(const char *path, bool unit, char *out, size_t size)
{
	struct jpu_cgroup_unit u;
	size_t n;
	int r;

	r = jpu_cgroup_classify(path, &u);
	if (r < 0)
		return r;
	n = unit ? u.unit_len : strlen(path);
	for (const char *p = path; p < path + n; p++)
		if (p[0] == '/' && p[1] == '.' && p[2] == '.' && (p[3] == '/' || p[3] == '\0'))
			return -EXDEV;
	if (n == 1)
		n = 0; /* the root: the hierarchy's own files */
	if (n >= size)
		return -ENAMETOOLONG;
	memcpy(out, path, n);
	out[n] = '\0';
	return 0;
}

static int open_in(int sysfs_fd, const char *dir, const char *tail, const char *file)
{
	char path[JPU_CGROUP_PATH_MAX + 128];

	if ((size_t)snprintf(path, sizeof path, "%s%s/%s", dir, tail, file) >= sizeof path)
		return -ENAMETOOLONG;
	return jpu_open_at(sysfs_fd, path);
}

static int open_v2(int sysfs_fd, const struct jpu_cgroup_paths *p, bool unit,
                   struct jpu_cgroup_files *ret)
{
	static const char *const mounts[] = {"fs/cgroup", "fs/cgroup/unified"};
	char tail[JPU_CGROUP_PATH_MAX];
	int r = cgroup_tail(p->v2, unit, tail, sizeof tail);

	if (r < 0)
		return r;
	for (size_t i = 0; i < JPU_ARRAY_SIZE(mounts); i++) {
		int fd = open_in(sysfs_fd, mounts[i], tail, "cpu.stat");

		if (fd == -ENAMETOOLONG)
			return fd;
		if (fd < 0)
			continue;
		ret->version = JPU_CGROUP_V2;
		ret->cpu_fd = fd;
		/* the root has no memory.current */
		ret->mem_fd = open_in(sysfs_fd, mounts[i], tail, "memory.current");
		if (ret->mem_fd < 0)
			ret->mem_fd = -1;
		return 0;
	}
	return -ENOENT;
}

static int open_v1(int sysfs_fd, const struct jpu_cgroup_paths *p, bool unit,
                   struct jpu_cgroup_files *ret)
{
	char dir[96], tail[JPU_CGROUP_PATH_MAX];
	const char *mounts[] = {dir, "fs/cgroup/cpuacct", "fs/cgroup/cpu,cpuacct"};
	int r = cgroup_tail(p->cpuacct, unit, tail, sizeof tail);

	if (r < 0)
		return r;
	/* systemd mounts a hierarchy at the name of its controller list and
	 * links each controller's name to it */
	snprintf(dir, sizeof dir, "fs/cgroup/%s", p->cpuacct_ctrl);
	for (size_t i = 0; i < JPU_ARRAY_SIZE(mounts); i++) {
		int fd = open_in(sysfs_fd, mounts[i], tail, "cpuacct.usage");

		if (fd == -ENAMETOOLONG)
			return fd;
		if (fd < 0)
			continue;
		ret->version = JPU_CGROUP_V1;
		ret->cpu_fd = fd;
		ret->mem_fd = -1;
		if (p->has_memory && cgroup_tail(p->memory, unit, tail, sizeof tail) == 0) {
			ret->mem_fd = open_in(sysfs_fd, "fs/cgroup/memory", tail,
			                      "memory.usage_in_bytes");
			if (ret->mem_fd < 0)
				ret->mem_fd = -1;
		}
		return 0;
	}
	return -ENOENT;
}

int jpu_cgroup_open_pid(int sysfs_fd, const struct jpu_cgroup_paths *p, bool unit,
                        struct jpu_cgroup_files *ret)
{
	struct jpu_cgroup_files f = JPU_CGROUP_FILES_INIT;
	bool v2_first;
	int r = -ENOENT, r2;

	if (sysfs_fd < 0 || !p)
		return -ENOENT;
	/* the hierarchy whose path tells more, as jpu_cgroup_main_path: a
	 * hybrid host may keep a container at the v2 root, or in the v2 cgroup
	 * of the service that started it, while v1 has the container's own */
	v2_first = p->has_v2 && (!p->has_cpuacct || path_rank(p->v2) >= path_rank(p->cpuacct));
	if (v2_first)
		r = open_v2(sysfs_fd, p, unit, &f);
	if (r < 0 && p->has_cpuacct) {
		r2 = open_v1(sysfs_fd, p, unit, &f);
		if (r2 == 0 || r == -ENOENT)
			r = r2;
	}
	if (r < 0 && !v2_first && p->has_v2) {
		r2 = open_v2(sysfs_fd, p, unit, &f);
		if (r2 == 0 || r == -ENOENT)
			r = r2;
	}
	if (r < 0)
		return r;
	*ret = f;
	return 0;
}

int jpu_cgroup_open_path(int sysfs_fd, const char *path, struct jpu_cgroup_files *ret)
{
	struct jpu_cgroup_paths *p;
	size_t n;
	int r;

	if (!path || path[0] != '/')
		return -EINVAL;
	n = strlen(path);
	if (n >= JPU_CGROUP_PATH_MAX)
		return -ENAMETOOLONG;
	/* 16 KiB of paths: on the heap, not a sampler thread's stack */
	p = calloc(1, sizeof *p);
	if (!p)
		return -ENOMEM;
	/* the same name in every hierarchy: a path from a "0::" line is found
	 * in v2, one from a cpuacct line in v1 (memory from the memory
	 * controller's tree of the same name, as container runtimes make it) */
	p->has_v2 = p->has_cpuacct = p->has_memory = true;
	snprintf(p->cpuacct_ctrl, sizeof p->cpuacct_ctrl, "cpu,cpuacct");
	memcpy(p->v2, path, n + 1);
	memcpy(p->cpuacct, path, n + 1);
	memcpy(p->memory, path, n + 1);
	r = jpu_cgroup_open_pid(sysfs_fd, p, false, ret);
	free(p);
	return r;
}
