/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The cgroup module (lib/cgroup.c): /proc/PID/cgroup of cgroup v1, v2 and
 * hybrid hosts and of the software that makes cgroups (fixture files in
 * tests/fixtures/cgroup/, one /proc/PID/cgroup each), the strict parser's
 * refusals, the usage files of a process's cgroup and of user slices in
 * throw-away sysfs trees, and the live machine.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "check.h"
#include "internal.h"

#define CID "3f1e9b6c2a8d4e7f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f"
#define POD "7c5a1d2e-3f4b-4c6d-8e9f-0a1b2c3d4e5f"

/* ---- helpers ------------------------------------------------------------ */

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_rf(const char *path)
{
	nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* write `content` to dir/rel, making parent directories */
static void put(const char *dir, const char *rel, const char *content)
{
	char path[PATH_MAX];
	size_t len;
	int fd;

	snprintf(path, sizeof path, "%s/%s", dir, rel);
	len = strlen(dir) + 1;
	for (size_t i = len; path[i]; i++) {
		if (path[i] == '/') {
			path[i] = '\0';
			mkdir(path, 0755);
			path[i] = '/';
		}
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		perror(path);
		return;
	}
	if (write(fd, content, strlen(content)) != (ssize_t)strlen(content))
		perror(path);
	close(fd);
}

static const char *fixtures(void)
{
	const char *f = getenv("JPU_FIXTURES");

	if (!f) {
		/* meson test sets it; a committed fixture is never "missing" */
		fprintf(stderr, "JPU_FIXTURES is not set: run through meson test\n");
		exit(1);
	}
	return f;
}

/* The content of tests/fixtures/cgroup/<name>, parsed. */
static int parse_fixture(const char *name, struct jpu_cgroup_paths *p)
{
	char path[PATH_MAX], buf[16384];
	ssize_t n;

	snprintf(path, sizeof path, "%s/cgroup/%s", fixtures(), name);
	n = jpu_read_at(AT_FDCWD, path, buf, sizeof buf);
	if (n < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror((int)-n));
		return (int)n;
	}
	return jpu_cgroup_parse_pid(buf, (size_t)n, p);
}

static struct jpu_cgroup_paths *paths_new(void)
{
	struct jpu_cgroup_paths *p = calloc(1, sizeof *p);

	if (!p) {
		perror("calloc");
		exit(2);
	}
	return p;
}

/* ---- every fixture: parse, pick the main path, classify ------------------ */

static const struct expect {
	const char *file;
	const char *main_path;
	enum jpu_cgroup_kind kind;
	const char *id, *pod, *runtime;
	long uid; /* -1: none */
	const char *unit;
} expects[] = {
        {"v2-session", "/user.slice/user-1000.slice/session-2.scope", JPU_CGROUP_USER, "1000", "",
         NULL, 1000, "/user.slice/user-1000.slice"},
        /* v1 systemd: cpuacct is per slice only, systemd's hierarchy names the user */
        {"v1-session", "/user.slice/user-1000.slice/session-2.scope", JPU_CGROUP_USER, "1000", "",
         NULL, 1000, "/user.slice/user-1000.slice"},
        {"hybrid-session", "/user.slice/user-1000.slice/session-3.scope", JPU_CGROUP_USER, "1000",
         "", NULL, 1000, "/user.slice/user-1000.slice"},
        {"v2-root", "/", JPU_CGROUP_ROOT, "", "", NULL, -1, "/"},
        {"v2-service", "/system.slice/cron.service", JPU_CGROUP_OTHER, "", "", NULL, -1,
         "/system.slice/cron.service"},
        /* hybrid: the v2 line is "/", the container is in v1 */
        {"kubepods-cgroupfs-v1", "/kubepods/burstable/pod" POD "/" CID, JPU_CGROUP_KUBEPODS, CID,
         POD, NULL, -1, "/kubepods/burstable/pod" POD "/" CID},
        {"kubepods-containerd-v2",
         "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod7c5a1d2e_3f4b_4c6d_"
         "8e9f_0a1b2c3d4e5f.slice/cri-containerd-" CID ".scope",
         JPU_CGROUP_KUBEPODS, CID, POD, "containerd", -1,
         "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod7c5a1d2e_3f4b_4c6d_"
         "8e9f_0a1b2c3d4e5f.slice/cri-containerd-" CID ".scope"},
        {"kubepods-crio-v2",
         "/kubepods.slice/kubepods-pod7c5a1d2e_3f4b_4c6d_8e9f_0a1b2c3d4e5f.slice/crio-" CID
         ".scope",
         JPU_CGROUP_KUBEPODS, CID, POD, "cri-o", -1,
         "/kubepods.slice/kubepods-pod7c5a1d2e_3f4b_4c6d_8e9f_0a1b2c3d4e5f.slice/crio-" CID
         ".scope"},
        {"kubepods-pod-v2",
         "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod7c5a1d2e_3f4b_4c6d_8e9f_"
         "0a1b2c3d4e5f.slice",
         JPU_CGROUP_KUBEPODS, "", POD, NULL, -1,
         "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod7c5a1d2e_3f4b_4c6d_8e9f_"
         "0a1b2c3d4e5f.slice"},
        /* hybrid: v2 has the shim's service, v1 the container */
        {"docker-cgroupfs-v1", "/docker/" CID, JPU_CGROUP_DOCKER, CID, "", NULL, -1,
         "/docker/" CID},
        {"docker-systemd-v2", "/system.slice/docker-" CID ".scope", JPU_CGROUP_DOCKER, CID, "",
         NULL, -1, "/system.slice/docker-" CID ".scope"},
        {"containerd-nerdctl-v2", "/system.slice/nerdctl-" CID ".scope", JPU_CGROUP_CONTAINERD, CID,
         "", NULL, -1, "/system.slice/nerdctl-" CID ".scope"},
        {"containerd-cri-v2", "/system.slice/cri-containerd-" CID ".scope", JPU_CGROUP_CONTAINERD,
         CID, "", NULL, -1, "/system.slice/cri-containerd-" CID ".scope"},
        {"podman-rootful-v2", "/machine.slice/libpod-" CID ".scope/container", JPU_CGROUP_PODMAN,
         CID, "", NULL, -1, "/machine.slice/libpod-" CID ".scope"},
        {"podman-rootless-v2",
         "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" CID ".scope/container",
         JPU_CGROUP_PODMAN, CID, "", NULL, 1000,
         "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" CID ".scope"},
        /* conmon watches a container but is not in it: the user's */
        {"podman-conmon-v2",
         "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-conmon-" CID ".scope",
         JPU_CGROUP_USER, "1000", "", NULL, 1000, "/user.slice/user-1000.slice"},
        {"machine-libvirt-v2", "/machine.slice/machine-qemu\\x2d1\\x2dvm1.scope/libvirt/vcpu0",
         JPU_CGROUP_MACHINE, "qemu\\x2d1\\x2dvm1", "", NULL, -1,
         "/machine.slice/machine-qemu\\x2d1\\x2dvm1.scope"},
        /* v1: systemd's hierarchy has slurmd's service, cpuacct the job */
        {"slurm-v1", "/slurm/uid_1000/job_4242/step_0/task_0", JPU_CGROUP_SLURM, "4242", "", NULL,
         1000, "/slurm/uid_1000/job_4242"},
        {"slurm-v2", "/system.slice/slurmstepd.scope/job_4242/step_batch/user/task_0",
         JPU_CGROUP_SLURM, "4242", "", NULL, -1, "/system.slice/slurmstepd.scope/job_4242"},
        {"v2-deleted", "/system.slice/docker.service", JPU_CGROUP_OTHER, "", "", NULL, -1,
         "/system.slice/docker.service"},
        {"v2-outside-ns", "/../../system.slice/cron.service", JPU_CGROUP_OTHER, "", "", NULL, -1,
         "/../../system.slice/cron.service"},
};

static void test_fixtures(void)
{
	struct jpu_cgroup_paths *p = paths_new();

	for (size_t i = 0; i < JPU_ARRAY_SIZE(expects); i++) {
		const struct expect *x = &expects[i];
		struct jpu_cgroup_unit u;
		const char *main_path;
		char unit[JPU_CGROUP_PATH_MAX];

		memset(p, 0, sizeof *p);
		fprintf(stderr, "# %s\n", x->file);
		CHECK_EQ_INT(parse_fixture(x->file, p), 0);
		main_path = jpu_cgroup_main_path(p);
		CHECK_STR(main_path, x->main_path);
		CHECK_EQ_INT(jpu_cgroup_classify(main_path, &u), 0);
		CHECK_STR(jpu_cgroup_kind_name(u.kind), jpu_cgroup_kind_name(x->kind));
		CHECK_STR(u.id, x->id);
		CHECK_STR(u.pod, x->pod);
		CHECK(x->runtime ? u.runtime && strcmp(u.runtime, x->runtime) == 0 : !u.runtime);
		CHECK_EQ_INT(u.has_uid ? (long)u.uid : -1, x->uid);
		CHECK(u.unit_len <= strlen(main_path));
		snprintf(unit, sizeof unit, "%.*s", (int)u.unit_len, main_path);
		CHECK_STR(unit, x->unit);
	}
	free(p);
}

/* What the parser keeps from a hybrid host's file. */
static void test_parse_fields(void)
{
	struct jpu_cgroup_paths *p = paths_new();

	CHECK_EQ_INT(parse_fixture("hybrid-session", p), 0);
	CHECK(p->has_v2 && p->has_cpuacct && p->has_memory && p->has_systemd);
	CHECK(!p->v2_deleted);
	CHECK_STR(p->v2, "/user.slice/user-1000.slice/session-3.scope");
	CHECK_STR(p->cpuacct, "/user.slice");
	CHECK_STR(p->cpuacct_ctrl, "cpu,cpuacct");
	CHECK_STR(p->memory, "/user.slice/user-1000.slice/session-3.scope");
	CHECK_STR(p->systemd, "/user.slice/user-1000.slice/session-3.scope");

	memset(p, 0, sizeof *p);
	CHECK_EQ_INT(parse_fixture("v1-session", p), 0);
	CHECK(!p->has_v2 && p->has_cpuacct && p->has_memory && p->has_systemd);
	CHECK_STR(p->cpuacct_ctrl, "cpuacct,cpu");

	memset(p, 0, sizeof *p);
	CHECK_EQ_INT(parse_fixture("v2-session", p), 0);
	CHECK(p->has_v2 && !p->has_cpuacct && !p->has_memory && !p->has_systemd);

	/* a dead v2 cgroup: the kernel's mark is not part of the path */
	memset(p, 0, sizeof *p);
	CHECK_EQ_INT(parse_fixture("v2-deleted", p), 0);
	CHECK(p->v2_deleted);
	CHECK_STR(p->v2, "/system.slice/docker.service");

	/* the last line may lack its newline */
	memset(p, 0, sizeof *p);
	CHECK_EQ_INT(jpu_cgroup_parse_pid("0::/a", 5, p), 0);
	CHECK_STR(p->v2, "/a");
	free(p);
}

/* ---- the strict parser's refusals ----------------------------------------- */

static void test_parse_refusals(void)
{
	static const char *const bad[] = {
	        "",
	        "\n",
	        "0::",
	        "0::\n",
	        "0:cpu:/\n",                      /* v2 has no controller list */
	        "1::/\n",                         /* v1 has one */
	        "x::/\n",                         /* id not a number */
	        "-1::/\n",                        /* nor signed */
	        " 0::/\n",                        /* nor padded */
	        "00::/\n",                        /* nor with a leading zero */
	        "2147483648:cpu:/\n",             /* beyond %d */
	        "0::a\n",                         /* relative path */
	        "0::/a//b\n",                     /* empty component */
	        "0::/a/\n",                       /* trailing slash */
	        "0::/a\tb\n",                     /* control byte */
	        "0::/a\n\n",                      /* empty line */
	        "\n0::/a\n",                      /* empty first line */
	        "0::/a\n0::/b\n",                 /* an id twice */
	        "1:cpu,,cpuacct:/\n",             /* empty controller */
	        "1:,cpu:/\n",                     /* leading comma */
	        "1:cpu,:/\n",                     /* trailing comma */
	        "1:cp u:/\n",                     /* not a controller name */
	        "2:cpuacct:/\n3:cpuacct,cpu:/\n", /* a controller bound twice */
	        "2:memory:/\n3:memory:/\n",
	        "1:name=systemd:/\n2:name=systemd:/\n",
	        "0:/\n", /* two fields */
	        "0\n",
	};
	struct jpu_cgroup_paths *p = paths_new(), *before = paths_new();
	char *big;

	for (size_t i = 0; i < JPU_ARRAY_SIZE(bad); i++) {
		int r;

		memset(p, 0x5a, sizeof *p);
		memcpy(before, p, sizeof *p);
		r = jpu_cgroup_parse_pid(bad[i], strlen(bad[i]), p);
		if (r != -EBADMSG)
			fprintf(stderr, "accepted: \"%s\" (%d)\n", bad[i], r);
		CHECK_EQ_INT(r, -EBADMSG);
		/* written only on success */
		CHECK(memcmp(p, before, sizeof *p) == 0);
	}
	/* a path of PATH_MAX bytes or more */
	big = malloc(JPU_CGROUP_PATH_MAX + 8);
	if (big) {
		memcpy(big, "0::/", 4);
		memset(big + 4, 'a', JPU_CGROUP_PATH_MAX);
		CHECK_EQ_INT(jpu_cgroup_parse_pid(big, JPU_CGROUP_PATH_MAX + 4, p), -ENAMETOOLONG);
		/* one byte shorter than the limit is a path */
		CHECK_EQ_INT(jpu_cgroup_parse_pid(big, JPU_CGROUP_PATH_MAX + 2, p), 0);
		free(big);
	}
	/* the parser must not read past len */
	CHECK_EQ_INT(jpu_cgroup_parse_pid("0::/ab", 5, p), 0);
	CHECK_STR(p->v2, "/a");
	free(before);
	free(p);
}

static void test_names(void)
{
	static const char *const bad_slices[] = {
	        "user-.slice",
	        "user-1x.slice",
	        "user- 1.slice",
	        "user-1\n.slice",
	        "user-1.scope",
	        "user.slice",
	        "user-4294967295.slice", /* (uid_t)-1 */
	        "user-99999999999999999999.slice",
	};
	struct jpu_cgroup_unit u;
	uint64_t usec = 7;
	uid_t uid = 7;

	CHECK_EQ_INT(jpu_cgroup_parse_user_slice("user-1000.slice", 15, &uid), 0);
	CHECK_EQ_INT(uid, 1000);
	CHECK_EQ_INT(jpu_cgroup_parse_user_slice("user-0.slice", 12, &uid), 0);
	CHECK_EQ_INT(uid, 0);
	for (size_t i = 0; i < JPU_ARRAY_SIZE(bad_slices); i++) {
		uid = 7;
		CHECK_EQ_INT(
		        jpu_cgroup_parse_user_slice(bad_slices[i], strlen(bad_slices[i]), &uid),
		        -EINVAL);
		CHECK_EQ_INT(uid, 7);
	}

	/* cpu.stat: usage_usec anywhere among the keyed lines, strictly */
	CHECK_EQ_INT(jpu_cgroup_parse_cpu_stat("usage_usec 123\nuser_usec 100\n", 30, &usec), 0);
	CHECK_EQ_U64(usec, 123);
	CHECK_EQ_INT(jpu_cgroup_parse_cpu_stat("nr_periods 0\nusage_usec 5", 25, &usec), 0);
	CHECK_EQ_U64(usec, 5);
	CHECK_EQ_INT(jpu_cgroup_parse_cpu_stat("usage_usec -1\n", 14, &usec), -EBADMSG);
	CHECK_EQ_INT(jpu_cgroup_parse_cpu_stat("usage_usec 12 x\n", 16, &usec), -EBADMSG);
	CHECK_EQ_INT(jpu_cgroup_parse_cpu_stat("user_usec 12\n", 13, &usec), -EBADMSG);
	CHECK_EQ_INT(jpu_cgroup_parse_cpu_stat("xusage_usec 12\n", 15, &usec), -EBADMSG);

	/* not absolute */
	CHECK_EQ_INT(jpu_cgroup_classify("user.slice", &u), -EINVAL);
	/* a container id is 64 lowercase hex digits, nothing else */
	CHECK_EQ_INT(jpu_cgroup_classify("/docker/" CID "0", &u), 0);
	CHECK_EQ_INT(u.kind, JPU_CGROUP_OTHER);
	CHECK_EQ_INT(jpu_cgroup_classify("/system.slice/docker-ABC.scope", &u), 0);
	CHECK_EQ_INT(u.kind, JPU_CGROUP_OTHER);
	/* a 64-hex name outside docker/ or kubepods is no container */
	CHECK_EQ_INT(jpu_cgroup_classify("/" CID, &u), 0);
	CHECK_EQ_INT(u.kind, JPU_CGROUP_OTHER);
	/* kubelet's static pods: a 32-hex uid */
	CHECK_EQ_INT(jpu_cgroup_classify("/kubepods/pod0123456789abcdef0123456789abcdef/" CID, &u),
	             0);
	CHECK_EQ_INT(u.kind, JPU_CGROUP_KUBEPODS);
	CHECK_STR(u.pod, "0123456789abcdef0123456789abcdef");
	CHECK_STR(u.id, CID);
	/* kind (Kubernetes in Docker): the innermost, the pod's container */
	CHECK_EQ_INT(jpu_cgroup_classify("/docker/" CID "/kubepods/besteffort/pod" POD "/" CID, &u),
	             0);
	CHECK_EQ_INT(u.kind, JPU_CGROUP_KUBEPODS);
	CHECK_STR(u.pod, POD);
	/* Slurm with several slurmd on a host: slurm_<node> */
	CHECK_EQ_INT(jpu_cgroup_classify("/slurm_node7/uid_0/job_9/step_extern", &u), 0);
	CHECK_EQ_INT(u.kind, JPU_CGROUP_SLURM);
	CHECK_STR(u.id, "9");
	CHECK(u.has_uid && u.uid == 0);
	/* job_N outside Slurm's tree is someone else's name */
	CHECK_EQ_INT(jpu_cgroup_classify("/system.slice/job_9", &u), 0);
	CHECK_EQ_INT(u.kind, JPU_CGROUP_OTHER);
	/* Podman with the cgroupfs manager */
	CHECK_EQ_INT(jpu_cgroup_classify("/libpod_parent/libpod-" CID, &u), 0);
	CHECK_EQ_INT(u.kind, JPU_CGROUP_PODMAN);
	CHECK_STR(u.id, CID);
}

/* ---- usage files in throw-away sysfs trees -------------------------------- */

static char *mk_tmp(char *buf, size_t size)
{
	snprintf(buf, size, "/tmp/jpu-test-cgroup-XXXXXX");
	if (!mkdtemp(buf)) {
		perror("mkdtemp");
		exit(2);
	}
	return buf;
}

/* Open pid's cgroup (fixture `file`) in the tree at dir; CPU ns and memory
 * bytes, or the error. */
static int open_read(const char *dir, const char *file, bool unit, uint64_t *ns, uint64_t *mem,
                     enum jpu_cgroup_version *version)
{
	struct jpu_cgroup_files f = JPU_CGROUP_FILES_INIT;
	struct jpu_cgroup_paths *p = paths_new();
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	r = parse_fixture(file, p);
	if (r == 0)
		r = jpu_cgroup_open_pid(fd, p, unit, &f);
	if (r == 0) {
		*version = f.version;
		r = jpu_cgroup_read_cpu_ns(&f, ns);
		if (r == 0 && jpu_cgroup_read_mem_bytes(&f, mem) < 0)
			*mem = UINT64_MAX;
	}
	jpu_cgroup_files_close(&f);
	CHECK(f.cpu_fd == -1 && f.mem_fd == -1 && f.version == JPU_CGROUP_NONE);
	close(fd);
	free(p);
	return r;
}

static void test_open_pid(void)
{
	char dir[64];
	enum jpu_cgroup_version v = JPU_CGROUP_NONE;
	uint64_t ns = 0, mem = 0;

	mk_tmp(dir, sizeof dir);
	/* pure v2: fs/cgroup is the v2 hierarchy */
	put(dir, "fs/cgroup/system.slice/docker-" CID ".scope/cpu.stat",
	    "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n");
	put(dir, "fs/cgroup/system.slice/docker-" CID ".scope/memory.current", "8192\n");
	CHECK_EQ_INT(open_read(dir, "docker-systemd-v2", false, &ns, &mem, &v), 0);
	CHECK_EQ_U64(ns, 2500000);
	CHECK_EQ_U64(mem, 8192);
	CHECK_EQ_INT(v, JPU_CGROUP_V2);
	/* the unit's cgroup, not the process's own: Podman's "container" */
	put(dir, "fs/cgroup/machine.slice/libpod-" CID ".scope/cpu.stat", "usage_usec 7\n");
	put(dir, "fs/cgroup/machine.slice/libpod-" CID ".scope/container/cpu.stat",
	    "usage_usec 5\n");
	CHECK_EQ_INT(open_read(dir, "podman-rootful-v2", true, &ns, &mem, &v), 0);
	CHECK_EQ_U64(ns, 7000);
	CHECK_EQ_U64(mem, UINT64_MAX); /* no memory file: none, not 0 */
	CHECK_EQ_INT(open_read(dir, "podman-rootful-v2", false, &ns, &mem, &v), 0);
	CHECK_EQ_U64(ns, 5000);
	/* the root cgroup's own files */
	put(dir, "fs/cgroup/cpu.stat", "usage_usec 99\n");
	CHECK_EQ_INT(open_read(dir, "v2-root", true, &ns, &mem, &v), 0);
	CHECK_EQ_U64(ns, 99000);
	/* a cgroup no hierarchy has */
	CHECK_EQ_INT(open_read(dir, "v2-service", false, &ns, &mem, &v), -ENOENT);
	/* outside this cgroup namespace: refused, not looked up */
	put(dir, "system.slice/cron.service/cpu.stat", "usage_usec 1\n");
	CHECK_EQ_INT(open_read(dir, "v2-outside-ns", false, &ns, &mem, &v), -EXDEV);
	rm_rf(dir);

	/* hybrid: v2 at fs/cgroup/unified, v1 controllers beside it */
	mk_tmp(dir, sizeof dir);
	put(dir, "fs/cgroup/unified/user.slice/user-1000.slice/cpu.stat", "usage_usec 300\n");
	put(dir, "fs/cgroup/unified/user.slice/user-1000.slice/session-3.scope/cpu.stat",
	    "usage_usec 200\n");
	put(dir, "fs/cgroup/cpu,cpuacct/user.slice/cpuacct.usage", "123456789\n");
	CHECK_EQ_INT(open_read(dir, "hybrid-session", false, &ns, &mem, &v), 0);
	CHECK_EQ_U64(ns, 200000);
	CHECK_EQ_INT(v, JPU_CGROUP_V2);
	CHECK_EQ_INT(open_read(dir, "hybrid-session", true, &ns, &mem, &v), 0);
	CHECK_EQ_U64(ns, 300000);
	/* Docker's cgroupfs driver on a hybrid host: v2 has the shim's
	 * service, v1 the container; v1 is read */
	put(dir, "fs/cgroup/unified/system.slice/containerd.service/cpu.stat",
	    "usage_usec 1000000\n");
	put(dir, "fs/cgroup/cpu,cpuacct/docker/" CID "/cpuacct.usage", "4200\n");
	put(dir, "fs/cgroup/memory/docker/" CID "/memory.usage_in_bytes", "65536\n");
	CHECK_EQ_INT(open_read(dir, "docker-cgroupfs-v1", true, &ns, &mem, &v), 0);
	CHECK_EQ_U64(ns, 4200);
	CHECK_EQ_U64(mem, 65536);
	CHECK_EQ_INT(v, JPU_CGROUP_V1);
	/* kubepods with the cgroupfs driver: the v2 line is "/", the root of
	 * v2 would be the whole machine */
	put(dir, "fs/cgroup/unified/cpu.stat", "usage_usec 999999\n");
	put(dir, "fs/cgroup/cpu,cpuacct/kubepods/burstable/pod" POD "/" CID "/cpuacct.usage",
	    "777\n");
	CHECK_EQ_INT(open_read(dir, "kubepods-cgroupfs-v1", true, &ns, &mem, &v), 0);
	CHECK_EQ_U64(ns, 777);
	CHECK_EQ_INT(v, JPU_CGROUP_V1);
	rm_rf(dir);

	/* v1 only, hierarchy mounted under its controller list's name
	 * ("cpuacct,cpu" on EL7), the job's cgroup for the unit */
	mk_tmp(dir, sizeof dir);
	put(dir, "fs/cgroup/cpuacct,cpu/slurm/uid_1000/job_4242/cpuacct.usage", "5000000000\n");
	put(dir, "fs/cgroup/cpuacct,cpu/slurm/uid_1000/job_4242/step_0/task_0/cpuacct.usage",
	    "1000\n");
	put(dir, "fs/cgroup/memory/slurm/uid_1000/job_4242/memory.usage_in_bytes", "4096\n");
	CHECK_EQ_INT(open_read(dir, "slurm-v1", true, &ns, &mem, &v), 0);
	CHECK_EQ_U64(ns, 5000000000ULL);
	CHECK_EQ_U64(mem, 4096);
	CHECK_EQ_INT(open_read(dir, "slurm-v1", false, &ns, &mem, &v), 0);
	CHECK_EQ_U64(ns, 1000);
	CHECK_EQ_U64(mem, UINT64_MAX);
	/* a malformed usage file is an error, not a zero */
	put(dir, "fs/cgroup/cpuacct,cpu/slurm/uid_1000/job_4242/cpuacct.usage", "-5\n");
	CHECK_EQ_INT(open_read(dir, "slurm-v1", true, &ns, &mem, &v), -EBADMSG);
	rm_rf(dir);
}

/* ---- per-user slices -------------------------------------------------------- */

struct seen_users {
	unsigned n;
	uid_t uid[8];
	uint64_t ns[8];
};

static void seen_user(uid_t uid, uint64_t ns, void *userdata)
{
	struct seen_users *s = userdata;

	if (s->n < 8) {
		s->uid[s->n] = uid;
		s->ns[s->n] = ns;
	}
	s->n++;
}

static uint64_t seen_ns(const struct seen_users *s, uid_t uid)
{
	for (unsigned i = 0; i < s->n && i < 8; i++)
		if (s->uid[i] == uid)
			return s->ns[i];
	return UINT64_MAX;
}

static void test_user_slices(void)
{
	struct jpu_cgroup_files f = JPU_CGROUP_FILES_INIT;
	struct seen_users s = {0};
	char dir[64];
	uint64_t v;
	int fd;

	mk_tmp(dir, sizeof dir);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK_EQ_INT(jpu_cgroup_each_user(fd, seen_user, &s), -ENOENT);
	CHECK_EQ_INT(s.n, 0);
	CHECK_EQ_INT(jpu_cgroup_open_user(fd, 1000, &f), -ENOENT);
	CHECK_EQ_INT(jpu_cgroup_open_user(-1, 1000, &f), -ENOENT);

	/* v1 cpuacct: ns as they are */
	put(dir, "fs/cgroup/cpu,cpuacct/user.slice/user-1000.slice/cpuacct.usage", "1500\n");
	put(dir, "fs/cgroup/cpu,cpuacct/user.slice/user-1001.slice/cpuacct.usage", "garbage\n");
	put(dir, "fs/cgroup/cpu,cpuacct/user.slice/session-1.scope/cpuacct.usage", "9\n");
	CHECK_EQ_INT(jpu_cgroup_each_user(fd, seen_user, &s), 0);
	CHECK_EQ_INT(s.n, 1);
	CHECK_EQ_U64(seen_ns(&s, 1000), 1500);
	CHECK_EQ_INT(jpu_cgroup_open_user(fd, 1000, &f), 0);
	CHECK_EQ_INT(f.version, JPU_CGROUP_V1);
	CHECK_EQ_INT(jpu_cgroup_read_cpu_ns(&f, &v), 0);
	CHECK_EQ_U64(v, 1500);
	CHECK_EQ_INT(jpu_cgroup_read_mem_bytes(&f, &v), -ENOENT);
	jpu_cgroup_files_close(&f);
	CHECK_EQ_INT(jpu_cgroup_read_cpu_ns(&f, &v), -EBADF);
	jpu_cgroup_files_close(NULL);

	/* v2 comes first where both are, in µs turned into ns */
	put(dir, "fs/cgroup/user.slice/user-1000.slice/cpu.stat", "usage_usec 4\n");
	put(dir, "fs/cgroup/user.slice/user-1000.slice/memory.current", "max\n");
	put(dir, "fs/cgroup/user.slice/user-1002.slice/cpu.stat", "usage_usec 6\n");
	s.n = 0;
	CHECK_EQ_INT(jpu_cgroup_each_user(fd, seen_user, &s), 0);
	CHECK_EQ_INT(s.n, 2);
	CHECK_EQ_U64(seen_ns(&s, 1000), 4000);
	CHECK_EQ_U64(seen_ns(&s, 1002), 6000);
	CHECK_EQ_INT(jpu_cgroup_open_user(fd, 1000, &f), 0);
	CHECK_EQ_INT(f.version, JPU_CGROUP_V2);
	CHECK_EQ_INT(jpu_cgroup_read_cpu_ns(&f, &v), 0);
	CHECK_EQ_U64(v, 4000);
	/* "max" is no byte count */
	CHECK_EQ_INT(jpu_cgroup_read_mem_bytes(&f, &v), -EBADMSG);
	jpu_cgroup_files_close(&f);
	close(fd);
	rm_rf(dir);
}

/* ---- the live machine ------------------------------------------------------- */

/* meson: cgroup_live_self; SKIP where the kernel has no cgroup files */
static int test_live_self(void)
{
	struct jpu_cgroup_files f = JPU_CGROUP_FILES_INIT;
	struct jpu_cgroup_of *of = malloc(sizeof *of);
	int proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int sys = open("/sys", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	uint64_t a = 0, b = 0;
	int r, ret = 0;

	if (!of || proc < 0 || sys < 0 || faccessat(proc, "self/cgroup", R_OK, 0) < 0) {
		ret = check_skip("live /proc/self/cgroup: not on this kernel");
		goto out;
	}
	/* the kernel's own file parses, and names where this test runs */
	CHECK_EQ_INT(jpu_cgroup_of_pid(proc, getpid(), of), 0);
	CHECK(of->paths.has_v2 || of->paths.has_cpuacct || of->paths.has_systemd);
	printf("live: %s %s (%s)\n", jpu_cgroup_kind_name(of->unit.kind),
	       jpu_cgroup_main_path(&of->paths), of->unit.id);
	CHECK_EQ_INT(jpu_cgroup_of_pid(proc, 0, of), -EINVAL);
	r = jpu_cgroup_open_pid(sys, &of->paths, false, &f);
	if (r < 0) {
		printf("live cgroup CPU time: %s\n", strerror(-r));
		ret = check_skip("live cgroup CPU time: cannot open this process's cgroup files");
		goto out;
	}
	/* CPU time of our own cgroup grows while we spin */
	CHECK_EQ_INT(jpu_cgroup_read_cpu_ns(&f, &a), 0);
	for (volatile unsigned long i = 0; i < 200000000UL; i++)
		;
	CHECK_EQ_INT(jpu_cgroup_read_cpu_ns(&f, &b), 0);
	CHECK(b > a);
	printf("live: own cgroup %s, +%" PRIu64 " ns while spinning\n",
	       f.version == JPU_CGROUP_V2 ? "v2" : "v1", b - a);
out:
	jpu_cgroup_files_close(&f);
	if (proc >= 0)
		close(proc);
	if (sys >= 0)
		close(sys);
	free(of);
	return ret;
}

/* A container-like process: a cgroup made as kubelet's cgroupfs driver
 * makes them, in the first writable cpuacct hierarchy, a child moved into
 * it; its unit, pod, container id and CPU time are what the node daemon
 * would serve. Root only; the cgroup is removed at the end. meson:
 * cgroup_live_container; SKIP where it cannot be made. */
static int test_live_container(void)
{
	static const char *const roots[] = {"/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/cpuacct",
	                                    "/sys/fs/cgroup/unified", "/sys/fs/cgroup"};
	char base[PATH_MAX], cg[PATH_MAX + 128], path[PATH_MAX + 256], buf[32];
	struct jpu_cgroup_files f = JPU_CGROUP_FILES_INIT;
	struct jpu_cgroup_of *of = malloc(sizeof *of);
	const char *root = NULL;
	int proc = -1, sys = -1, status, fd;
	uint64_t a = 0, b = 0;
	pid_t child = -1;
	int ret = 0;

	if (!of || geteuid() != 0) {
		free(of);
		return check_skip("live container cgroup: needs root");
	}
	for (size_t i = 0; i < JPU_ARRAY_SIZE(roots) && !root; i++) {
		snprintf(path, sizeof path, "%s/cgroup.procs", roots[i]);
		if (access(path, W_OK) == 0)
			root = roots[i];
	}
	if (!root) {
		free(of);
		return check_skip("live container cgroup: no writable cgroup hierarchy");
	}
	snprintf(base, sizeof base, "%s/kubepods-jpu-test-%d", root, (int)getpid());
	/* under a parent of its own, so that a kubepods tree of the host is
	 * never touched */
	snprintf(cg, sizeof cg, "%s/kubepods/besteffort/pod" POD "/" CID, base);
	{
		char mk[sizeof cg];

		snprintf(mk, sizeof mk, "%s", cg);
		for (char *s = mk + strlen(root) + 1; (s = strchr(s, '/')); s++) {
			*s = '\0';
			mkdir(mk, 0755);
			*s = '/';
		}
		if (mkdir(mk, 0755) < 0 && errno != EEXIST) {
			printf("live container cgroup: mkdir %s: %s\n", mk, strerror(errno));
			ret = check_skip("live container cgroup: cannot make a cgroup");
			goto out;
		}
	}
	child = fork();
	if (child == 0) {
		for (;;)
			; /* busy until killed */
	}
	snprintf(path, sizeof path, "%s/cgroup.procs", cg);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	snprintf(buf, sizeof buf, "%d\n", (int)child);
	if (fd < 0 || write(fd, buf, strlen(buf)) < 0) {
		printf("live container cgroup: cannot move a process into %s\n", cg);
		ret = check_skip("live container cgroup: cannot move a process into it");
		if (fd >= 0)
			close(fd);
		goto out;
	}
	close(fd);
	proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	sys = open("/sys", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK_EQ_INT(jpu_cgroup_of_pid(proc, child, of), 0);
	CHECK_STR(jpu_cgroup_kind_name(of->unit.kind), "kubepods");
	CHECK_STR(of->unit.id, CID);
	CHECK_STR(of->unit.pod, POD);
	printf("live: child in %s\n", jpu_cgroup_main_path(&of->paths));
	CHECK_EQ_INT(jpu_cgroup_open_pid(sys, &of->paths, true, &f), 0);
	CHECK_EQ_INT(jpu_cgroup_read_cpu_ns(&f, &a), 0);
	usleep(300000);
	CHECK_EQ_INT(jpu_cgroup_read_cpu_ns(&f, &b), 0);
	/* the busy child's time, 0.3 s of wall clock on a shared machine */
	CHECK(b > a);
	printf("live: container cgroup (%s) +%" PRIu64 " ns in 0.3 s\n",
	       f.version == JPU_CGROUP_V2 ? "v2" : "v1", b - a);
out:
	jpu_cgroup_files_close(&f);
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, &status, 0);
	}
	/* rmdir from the leaf up; a cgroup dir is removed with rmdir only */
	{
		char rm[sizeof cg];

		snprintf(rm, sizeof rm, "%s", cg);
		while (strlen(rm) > strlen(root) + 1) {
			rmdir(rm);
			*strrchr(rm, '/') = '\0';
		}
	}
	if (proc >= 0)
		close(proc);
	if (sys >= 0)
		close(sys);
	free(of);
	return ret;
}

int main(int argc, char **argv)
{
	/* the live machine: tests of their own (meson: cgroup_live_self,
	 * cgroup_live_container) */
	if (argc > 1 && strcmp(argv[1], "--live-self") == 0)
		return check_part_end(test_live_self());
	if (argc > 1 && strcmp(argv[1], "--live-container") == 0)
		return check_part_end(test_live_container());
	if (argc > 1)
		return check_bad_part(argv[1]);
	test_fixtures();
	test_parse_fields();
	test_parse_refusals();
	test_names();
	test_open_pid();
	test_user_slices();
	return check_summary();
}
