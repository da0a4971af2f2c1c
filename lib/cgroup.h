/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cgroups: the one place that knows where the kernel accounts a group of
 * processes' CPU time, and the layouts systemd, container runtimes and
 * batch systems give those groups.
 *
 * - Per-user slices (systemd-logind's user.slice/user-UID.slice): the user
 *   scope (lib/proc/user.c) and the idle policy "even" (accounting.c).
 * - Which cgroup a process is in (/proc/PID/cgroup, cgroups(7)), which unit
 *   that is (a login user, a Kubernetes pod's container, a Docker,
 *   containerd or Podman container, a systemd machine, a Slurm job) and
 *   that unit's CPU time, on cgroup v1, v2 and hybrid hosts: what a node
 *   daemon asks to serve each container its own figures.
 *
 * CPU time is cgroup v2 cpu.stat usage_usec (there whether the cpu
 * controller is enabled or not, Documentation/admin-guide/cgroup-v2.rst) or
 * v1 cpuacct.usage in ns (Documentation/admin-guide/cgroup-v1/cpuacct.rst).
 * Every path is relative to the sysfs root (STYLE rule 6): hierarchies are
 * looked for where systemd mounts them, <sysfs>/fs/cgroup (v2 or v1
 * controllers) and <sysfs>/fs/cgroup/unified (v2 on a hybrid host).
 */
#ifndef JPU_CGROUP_H
#define JPU_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Longest cgroup path accepted (the kernel's PATH_MAX, with the NUL). */
#define JPU_CGROUP_PATH_MAX 4096

enum jpu_cgroup_version {
	JPU_CGROUP_NONE = 0,
	JPU_CGROUP_V1,
	JPU_CGROUP_V2,
};

/* ---- one cgroup's usage files ------------------------------------------- */

/* The CPU and memory files of one cgroup, opened once and read with one
 * pread per tick (STYLE rule 7). */
struct jpu_cgroup_files {
	enum jpu_cgroup_version version; /* NONE: nothing open */
	int cpu_fd;                      /* owned: cpu.stat (v2) or cpuacct.usage (v1), -1 */
	int mem_fd; /* owned: memory.current (v2) or memory.usage_in_bytes (v1), -1 = none */
};
/* clang-format off */
#define JPU_CGROUP_FILES_INIT {JPU_CGROUP_NONE, -1, -1}
/* clang-format on */

/* Close both files; *f is JPU_CGROUP_FILES_INIT again. NULL-safe. */
void jpu_cgroup_files_close(struct jpu_cgroup_files *f);
/* Cumulative CPU time of the cgroup in ns. -EBADMSG on a malformed file,
 * -ERANGE when it would overflow, -EBADF when nothing is open, -errno. */
int jpu_cgroup_read_cpu_ns(const struct jpu_cgroup_files *f, uint64_t *ret_ns);
/* Current memory of the cgroup in bytes. -ENOENT when it has no memory
 * file, -EBADMSG on a malformed one, -errno. */
int jpu_cgroup_read_mem_bytes(const struct jpu_cgroup_files *f, uint64_t *ret_bytes);

/* usage_usec of a v2 cpu.stat ("usage_usec N" among other keyed lines).
 * -EBADMSG when absent or not a plain decimal. */
int jpu_cgroup_parse_cpu_stat(const char *buf, size_t len, uint64_t *ret_usec);

/* ---- per-user slices ------------------------------------------------------ */

/* The uid of a systemd-logind slice name "user-UID.slice" (name[0..len),
 * one path component). -EINVAL for any other name. */
int jpu_cgroup_parse_user_slice(const char *name, size_t len, uid_t *ret_uid);
/* Open the usage files of uid's slice, trying v2 (fs/cgroup), then v1
 * cpuacct (fs/cgroup/cpuacct, fs/cgroup/cpu,cpuacct, with memory from
 * fs/cgroup/memory). The memory file is optional. -ENOENT when uid has no
 * slice (or sysfs_fd < 0). Nothing is read: a caller that must know the
 * files are usable reads them once. */
int jpu_cgroup_open_user(int sysfs_fd, uid_t uid, struct jpu_cgroup_files *ret);

typedef void jpu_cgroup_user_fn(uid_t uid, uint64_t cpu_ns, void *userdata);
/* Call fn for every user slice whose CPU time reads, in the first of the
 * places of jpu_cgroup_open_user that has a user.slice. 0, or -ENOENT when
 * no place has one. */
int jpu_cgroup_each_user(int sysfs_fd, jpu_cgroup_user_fn *fn, void *userdata);

/* ---- the cgroup of a process ---------------------------------------------- */

/* What /proc/PID/cgroup says: "hierarchy-ID:controller-list:cgroup-path"
 * a line (cgroups(7)); the v2 hierarchy is the line "0::PATH". Kept: the
 * paths in the hierarchies that account CPU and memory, and in systemd's
 * named v1 hierarchy (which carries the unit names on a v1 host). A path
 * with ".." components lies outside the reader's cgroup namespace. */
struct jpu_cgroup_paths {
	bool has_v2, has_cpuacct, has_memory, has_systemd;
	bool v2_deleted;       /* the kernel marked the v2 cgroup " (deleted)" */
	char cpuacct_ctrl[64]; /* controllers of the cpuacct line ("cpu,cpuacct"):
	                          the usual name of its mount point */
	char v2[JPU_CGROUP_PATH_MAX];
	char cpuacct[JPU_CGROUP_PATH_MAX];
	char memory[JPU_CGROUP_PATH_MAX];
	char systemd[JPU_CGROUP_PATH_MAX];
};

/* Parse the content of /proc/PID/cgroup, strictly: every line well formed
 * (a decimal id, controllers of [A-Za-z0-9_.=-] separated by single
 * commas, an absolute path of printable bytes with no empty component),
 * hierarchy 0 with no controller, no id twice. -EBADMSG on anything else,
 * -ENAMETOOLONG for a path of JPU_CGROUP_PATH_MAX bytes or more. *ret is
 * written only on success. */
int jpu_cgroup_parse_pid(const char *buf, size_t len, struct jpu_cgroup_paths *ret);
/* Read and parse /proc/PID/cgroup. -ENOENT/-ESRCH when the process is
 * gone. */
int jpu_cgroup_read_pid(int procfs_fd, pid_t pid, struct jpu_cgroup_paths *ret);
/* The path that names the process's unit best: of the v2, cpuacct and
 * systemd paths, the one in the most specific unit (a container, machine or
 * job, then a user's slice, then any cgroup but the root), the first in
 * this order where they tie. A hybrid host may keep a container at the v2
 * root, or in the v2 cgroup of the service that started it, while v1 has
 * the container's own. Borrowed from p. */
const char *jpu_cgroup_main_path(const struct jpu_cgroup_paths *p);

/* What a cgroup path is, by the layouts of the software that made it. */
enum jpu_cgroup_kind {
	JPU_CGROUP_ROOT = 0,   /* "/": the root cgroup */
	JPU_CGROUP_OTHER,      /* a cgroup of no known layout (a system service...) */
	JPU_CGROUP_USER,       /* systemd-logind: user.slice/user-UID.slice */
	JPU_CGROUP_KUBEPODS,   /* kubelet's kubepods tree: a pod, or one of its containers */
	JPU_CGROUP_DOCKER,     /* docker/ID or docker-ID.scope */
	JPU_CGROUP_CONTAINERD, /* cri-containerd-ID.scope or nerdctl-ID.scope outside kubepods */
	JPU_CGROUP_PODMAN,     /* libpod-ID(.scope), rootful or rootless */
	JPU_CGROUP_MACHINE,    /* systemd-machined: machine-NAME.scope (nspawn, libvirt) */
	JPU_CGROUP_SLURM,      /* a Slurm job: job_N in slurm/, slurm_NODE/, slurmstepd.scope/ */
};
/* "root", "other", "user", "kubepods", "docker", "containerd", "podman",
 * "machine", "slurm". */
const char *jpu_cgroup_kind_name(enum jpu_cgroup_kind k);

/* The innermost known unit a cgroup path lies in: a container inside a
 * user's slice (rootless Podman) is the container, a pod inside a Docker
 * container (kind) the pod. */
struct jpu_cgroup_unit {
	enum jpu_cgroup_kind kind;
	/* container id (64 hex digits), machine name (as systemd escapes it:
	 * "qemu\x2d1\x2dvm"), Slurm job id, user uid, in decimal; "" for a pod
	 * without a container, root and other */
	char id[256];
	char pod[40];        /* kubepods: the pod uid with dashes; "" outside a pod */
	const char *runtime; /* kubepods: "containerd", "cri-o" or "docker" when the
	                        path says (systemd cgroup driver); NULL otherwise */
	bool has_uid;        /* a user slice, a rootless container's, Slurm's uid_N */
	uid_t uid;
	size_t unit_len; /* path[0, unit_len) is the unit's own cgroup; the whole
	                    path for root and other */
};
/* Classify a cgroup path (absolute, as jpu_cgroup_parse_pid keeps it).
 * -EINVAL when path is not absolute. */
int jpu_cgroup_classify(const char *path, struct jpu_cgroup_unit *ret);

/* Which cgroup and unit pid is in: its paths and the unit of the main path
 * (jpu_cgroup_main_path). -ENOENT/-ESRCH when the process is gone. */
struct jpu_cgroup_of {
	struct jpu_cgroup_paths paths;
	struct jpu_cgroup_unit unit;
};
int jpu_cgroup_of_pid(int procfs_fd, pid_t pid, struct jpu_cgroup_of *ret);

/* Open the usage files of a process's cgroup (its own, or with `unit` the
 * enclosing unit's: the container, the job, the user's slice): v2 cpu.stat
 * under fs/cgroup or fs/cgroup/unified, else v1 cpuacct.usage under
 * fs/cgroup/<its controllers>, fs/cgroup/cpuacct or fs/cgroup/cpu,cpuacct.
 * The hierarchy whose path tells more comes first, as for
 * jpu_cgroup_main_path. -ENOENT when no hierarchy has the cgroup, -EXDEV when
 * its path lies outside this cgroup namespace, -ENAMETOOLONG. */
int jpu_cgroup_open_pid(int sysfs_fd, const struct jpu_cgroup_paths *p, bool unit,
                        struct jpu_cgroup_files *ret);

/* Open the usage files of the cgroup at `path` (absolute, as
 * /proc/PID/cgroup names it: the v2 "0::" path or the v1 cpuacct path),
 * looked for as jpu_cgroup_open_pid looks (v2 under fs/cgroup or
 * fs/cgroup/unified, then v1 cpuacct under fs/cgroup/cpu,cpuacct,
 * fs/cgroup/cpuacct; memory from fs/cgroup/memory on v1): the CGROUP scope.
 * -EINVAL when not absolute, -ENOENT when no hierarchy has it, -EXDEV for
 * ".." components, -ENAMETOOLONG, -ENOMEM. */
int jpu_cgroup_open_path(int sysfs_fd, const char *path, struct jpu_cgroup_files *ret);

#endif /* JPU_CGROUP_H */
