/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Peer credentials and PID translation (peer.h). /proc/PID/status is read
 * with one pread and parsed strictly: a malformed line is an error, never a
 * guess, because a wrong PID would hand one user another's process.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"
#include "peer.h"

/* an ancestry walk longer than this is a loop in a racing /proc, not a tree */
#define MAX_WALK 4096

/* The value of `key:` in a status text (whitespace after the colon
 * skipped), up to the end of its line. NULL when the key is absent. */
static const char *status_field(const char *buf, const char *end, const char *key,
                                const char **ret_eol)
{
	size_t kl = strlen(key);
	const char *p = buf;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		if (!eol)
			eol = end;
		if ((size_t)(eol - p) > kl && memcmp(p, key, kl) == 0 && p[kl] == ':') {
			p += kl + 1;
			while (p < eol && (*p == ' ' || *p == '\t'))
				p++;
			*ret_eol = eol;
			return p;
		}
		p = eol + 1;
	}
	return NULL;
}

/* One whitespace-separated decimal field of a line into a pid_t. */
static int next_id(const char **p, const char *eol, uint64_t max, uint64_t *ret)
{
	const char *s = *p, *e;
	uint64_t v;
	int r;

	while (s < eol && (*s == ' ' || *s == '\t'))
		s++;
	e = s;
	while (e < eol && *e != ' ' && *e != '\t')
		e++;
	if (e == s)
		return -ENODATA;
	r = jpu_parse_u64(s, (size_t)(e - s), &v);
	if (r < 0 || v > max)
		return -EINVAL;
	*p = e;
	*ret = v;
	return 0;
}

int jpud_parse_status(const char *buf, size_t len, struct jpud_status *ret)
{
	const char *end = buf + len, *v, *eol;
	struct jpud_status st = {0};
	uint64_t x;
	int r;

	v = status_field(buf, end, "PPid", &eol);
	if (!v)
		return -ENODATA;
	if ((r = next_id(&v, eol, INT32_MAX, &x)) < 0)
		return r == -ENODATA ? -EINVAL : r;
	st.ppid = (pid_t)x;

	/* Uid: real effective saved fs; the real uid owns the process */
	v = status_field(buf, end, "Uid", &eol);
	if (!v)
		return -ENODATA;
	if ((r = next_id(&v, eol, UINT32_MAX - 1, &x)) < 0)
		return r == -ENODATA ? -EINVAL : r;
	st.uid = (uid_t)x;

	v = status_field(buf, end, "NSpid", &eol);
	if (!v) {
		/* before Linux 4.1: no namespaces to translate through */
		v = status_field(buf, end, "Pid", &eol);
		if (!v)
			return -ENODATA;
	}
	for (;;) {
		r = next_id(&v, eol, INT32_MAX, &x);
		if (r == -ENODATA)
			break;
		if (r < 0 || x == 0 || st.ns_depth == JPUD_NS_LEVELS)
			return -EINVAL;
		st.nspid[st.ns_depth++] = (pid_t)x;
	}
	if (st.ns_depth == 0)
		return -EINVAL;
	*ret = st;
	return 0;
}

int jpud_read_status(int procfs_fd, pid_t pid, struct jpud_status *ret)
{
	char path[32], buf[4096];
	ssize_t n;

	if (pid <= 0)
		return -ESRCH;
	snprintf(path, sizeof path, "%d/status", (int)pid);
	n = jpu_read_at(procfs_fd, path, buf, sizeof buf);
	if (n == -ENOENT)
		return -ESRCH;
	if (n < 0)
		return (int)n;
	return jpud_parse_status(buf, (size_t)n, ret);
}

int jpud_peer_cred(int fd, pid_t *ret_pid, uid_t *ret_uid, gid_t *ret_gid)
{
	struct ucred uc;
	socklen_t l = sizeof uc;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &l) < 0)
		return -errno;
	if (l != sizeof uc || uc.pid <= 0)
		return -EPROTO;
	*ret_pid = uc.pid;
	*ret_uid = uc.uid;
	*ret_gid = uc.gid;
	return 0;
}

/* The init (PID 1) of the namespace at `depth`, seen from `pid`, which is
 * in it: walk up the parents while they stay in it. -ESRCH when the walk
 * leaves the namespace first (a process that entered it with setns has
 * its parent outside) or the tree changes under us. */
static int ns_init(int procfs_fd, pid_t pid, unsigned depth, pid_t *ret)
{
	for (unsigned i = 0; i < MAX_WALK; i++) {
		struct jpud_status st;
		int r = jpud_read_status(procfs_fd, pid, &st);

		if (r < 0)
			return -ESRCH;
		if (st.ns_depth < depth)
			return -ESRCH;
		if (st.nspid[depth - 1] == 1) {
			*ret = pid;
			return 0;
		}
		pid = st.ppid;
	}
	return -ESRCH;
}

/* Whether `pid` descends from `init` (or is it). */
static bool descends_from(int procfs_fd, pid_t pid, pid_t init)
{
	for (unsigned i = 0; i < MAX_WALK && pid > 0; i++) {
		struct jpud_status st;

		if (pid == init)
			return true;
		if (jpud_read_status(procfs_fd, pid, &st) < 0)
			return false;
		pid = st.ppid;
	}
	return false;
}

int jpud_translate_pid(int procfs_fd, pid_t caller, pid_t nspid, pid_t *ret_pid)
{
	struct jpud_status cst, st;
	pid_t init = 0, found = 0;
	struct dirent *de;
	DIR *dir;
	int dfd, r;

	if (nspid <= 0)
		return -ESRCH;
	r = jpud_read_status(procfs_fd, caller, &cst);
	if (r < 0)
		return -ESRCH;
	if (cst.ns_depth == 1) {
		/* the caller shares the daemon's namespace: the PID is ours */
		if (jpud_read_status(procfs_fd, nspid, &st) < 0)
			return -ESRCH;
		*ret_pid = nspid;
		return 0;
	}
	r = ns_init(procfs_fd, caller, cst.ns_depth, &init);
	if (r < 0)
		return r;

	/* The kernel offers no lookup from an inner PID to ours: scan the
	 * status files. Several namespaces at the caller's depth may use the
	 * same number, so the candidate must descend from the caller's init. */
	dfd = openat(procfs_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	dir = fdopendir(dfd);
	if (!dir) {
		r = -errno;
		close(dfd);
		return r;
	}
	while ((de = readdir(dir))) {
		uint64_t p;

		if (jpu_parse_u64(de->d_name, strlen(de->d_name), &p) < 0 || p == 0 ||
		    p > INT32_MAX)
			continue;
		if (jpud_read_status(procfs_fd, (pid_t)p, &st) < 0)
			continue;
		if (st.ns_depth < cst.ns_depth || st.nspid[cst.ns_depth - 1] != nspid)
			continue;
		if (descends_from(procfs_fd, (pid_t)p, init)) {
			found = (pid_t)p;
			break;
		}
	}
	closedir(dir);
	if (!found)
		return -ESRCH;
	*ret_pid = found;
	return 0;
}
