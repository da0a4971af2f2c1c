/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Logging and the strict parsers, file helpers, clocks and wrap-aware
 * deltas of util.c: what every module of libjpu uses.
 */
#ifndef JPU_UTIL_H
#define JPU_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "jpu/jpu.h"

#define JPU_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define JPU_USEC_PER_SEC  1000000ULL

/* ---- logging (log.c) ---------------------------------------------------- */

struct jpu_logger {
	jpu_log_fn fn;
	void *userdata;
};

void jpu_logf(const struct jpu_logger *log, int level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* ---- strict parsers and file helpers (util.c) --------------------------- */

/* Parse a decimal unsigned integer filling the whole of s[0..len), allowing
 * leading spaces and one trailing newline. No sign, no overflow. -EINVAL on
 * anything else, -ERANGE on overflow. */
int jpu_parse_u64(const char *s, size_t len, uint64_t *ret);
/* Same for a signed value (leading '-' allowed). */
int jpu_parse_i64(const char *s, size_t len, int64_t *ret);
/* Parse the next whitespace-separated unsigned field from *p (< end),
 * advancing *p past it. -EINVAL when there is no such field. */
int jpu_next_u64(const char **p, const char *end, uint64_t *ret);
/* Skip n whitespace-separated fields. -EINVAL when the input ends first. */
int jpu_skip_fields(const char **p, const char *end, unsigned n);

/* Open `path` relative to dirfd with O_RDONLY|O_CLOEXEC. -errno. */
int jpu_open_at(int dirfd, const char *path);
/* One pread(fd, buf, size - 1, 0); NUL-terminates. Returns the length,
 * -EFBIG when the buffer came back full (truncated input), -errno. */
ssize_t jpu_pread_all(int fd, char *buf, size_t size);
/* openat + pread + close. */
ssize_t jpu_read_at(int dirfd, const char *path, char *buf, size_t size);
/* Read a file holding one unsigned decimal (sysfs style). */
int jpu_read_u64_at(int dirfd, const char *path, uint64_t *ret);
/* Read one unsigned decimal from an open fd (pread at offset 0). */
int jpu_read_u64_fd(int fd, uint64_t *ret);
/* Read a one-line string file; strips the trailing newline. */
int jpu_read_str_at(int dirfd, const char *path, char *buf, size_t size);

/* Monotonic and realtime clocks in microseconds. */
uint64_t jpu_now_mono_usec(void);
uint64_t jpu_now_real_usec(void);

/* Wrap and reset of cumulative counters: counter.h. */

#endif /* JPU_UTIL_H */
