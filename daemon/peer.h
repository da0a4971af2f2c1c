/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Who is calling: the peer credentials of a Unix socket, and the processes
 * a caller may name. A PID in a request is a PID of the caller's own PID
 * namespace (a pod's Jupyter server knows its kernels by the pod's PIDs),
 * so it is translated through the NSpid lines of /proc/PID/status and
 * never used raw.
 */
#ifndef JPUD_PEER_H
#define JPUD_PEER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define JPUD_NS_LEVELS 8 /* PID namespaces nest at most 32 deep; 8 is plenty */

/* The fields of /proc/PID/status a caller check needs. */
struct jpud_status {
	pid_t ppid;
	uid_t uid;                   /* real uid */
	unsigned ns_depth;           /* entries in NSpid: 1 = the daemon's namespace */
	pid_t nspid[JPUD_NS_LEVELS]; /* nspid[0] = PID in the daemon's namespace */
};

/* Parse the text of /proc/PID/status. 0, or -EINVAL on a malformed
 * PPid/Uid/NSpid line, -ENODATA when one of them is missing (kernels before
 * 4.1 have no NSpid: then ns_depth is 1 and nspid[0] is the Pid line). */
int jpud_parse_status(const char *buf, size_t len, struct jpud_status *ret);

/* Read /proc/PID/status under procfs_fd. -ESRCH when the process is gone. */
int jpud_read_status(int procfs_fd, pid_t pid, struct jpud_status *ret);

/* The peer credentials of a connected Unix socket (SO_PEERCRED): the pid is
 * in the daemon's namespace, as the kernel translates it. */
int jpud_peer_cred(int fd, pid_t *ret_pid, uid_t *ret_uid, gid_t *ret_gid);

/*
 * Translate `nspid`, a PID as the caller (pid `caller`, in the daemon's
 * namespace) sees it, into the daemon's namespace. The process must be
 * visible from the caller's namespace: it descends from the init of that
 * namespace and has `nspid` at the caller's level. Returns 0 and the
 * daemon-side PID, or -ESRCH when the caller cannot see such a process.
 */
int jpud_translate_pid(int procfs_fd, pid_t caller, pid_t nspid, pid_t *ret_pid);

#endif /* JPUD_PEER_H */
