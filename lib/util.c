/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Strict parsers and file helpers. No stdio on /proc and /sys (STYLE rule 7):
 * one pread per read, a full buffer means truncated input.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

int jpu_parse_u64(const char *s, size_t len, uint64_t *ret)
{
	size_t i = 0;
	uint64_t v = 0;
	size_t digits = 0;

	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (digits == 0)
		return -EINVAL;
	/* sysfs ends values with one newline; anything else is garbage */
	if (i < len && s[i] == '\n')
		i++;
	if (i != len)
		return -EINVAL;
	*ret = v;
	return 0;
}

int jpu_parse_i64(const char *s, size_t len, int64_t *ret)
{
	size_t i = 0;
	bool neg = false;
	uint64_t v;
	int r;

	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i < len && s[i] == '-') {
		neg = true;
		i++;
		/* "- 5" or "--5" are not numbers */
		if (i >= len || s[i] < '0' || s[i] > '9')
			return -EINVAL;
	}
	r = jpu_parse_u64(s + i, len - i, &v);
	if (r < 0)
		return r;
	if (neg) {
		if (v > (uint64_t)INT64_MAX + 1)
			return -ERANGE;
		*ret = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	} else {
		if (v > (uint64_t)INT64_MAX)
			return -ERANGE;
		*ret = (int64_t)v;
	}
	return 0;
}

int jpu_next_u64(const char **p, const char *end, uint64_t *ret)
{
	const char *s = *p;
	const char *e;
	int r;

	while (s < end && is_space(*s))
		s++;
	e = s;
	while (e < end && !is_space(*e))
		e++;
	if (e == s)
		return -EINVAL;
	r = jpu_parse_u64(s, (size_t)(e - s), ret);
	if (r < 0)
		return r;
	*p = e;
	return 0;
}

int jpu_skip_fields(const char **p, const char *end, unsigned n)
{
	const char *s = *p;

	while (n-- > 0) {
		while (s < end && is_space(*s))
			s++;
		if (s == end)
			return -EINVAL;
		while (s < end && !is_space(*s))
			s++;
	}
	*p = s;
	return 0;
}

int jpu_open_at(int dirfd, const char *path)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	return fd < 0 ? -errno : fd;
}

ssize_t jpu_pread_all(int fd, char *buf, size_t size)
{
	ssize_t n;

	if (size < 2)
		return -EINVAL;
	do {
		n = pread(fd, buf, size - 1, 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	/* a buffer that comes back full may have been cut: refuse to guess */
	if ((size_t)n == size - 1)
		return -EFBIG;
	buf[n] = '\0';
	return n;
}

ssize_t jpu_read_at(int dirfd, const char *path, char *buf, size_t size)
{
	int fd = jpu_open_at(dirfd, path);
	ssize_t n;

	if (fd < 0)
		return fd;
	n = jpu_pread_all(fd, buf, size);
	close(fd);
	return n;
}

int jpu_read_u64_fd(int fd, uint64_t *ret)
{
	char buf[32];
	ssize_t n = jpu_pread_all(fd, buf, sizeof buf);

	if (n < 0)
		return (int)n;
	return jpu_parse_u64(buf, (size_t)n, ret);
}

int jpu_read_u64_at(int dirfd, const char *path, uint64_t *ret)
{
	char buf[32];
	ssize_t n = jpu_read_at(dirfd, path, buf, sizeof buf);

	if (n < 0)
		return (int)n;
	return jpu_parse_u64(buf, (size_t)n, ret);
}

int jpu_read_str_at(int dirfd, const char *path, char *buf, size_t size)
{
	ssize_t n = jpu_read_at(dirfd, path, buf, size);

	if (n < 0)
		return (int)n;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

static uint64_t now_usec(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * JPU_USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t jpu_now_mono_usec(void)
{
	return now_usec(CLOCK_MONOTONIC);
}

uint64_t jpu_now_real_usec(void)
{
	return now_usec(CLOCK_REALTIME);
}

const char *jpu_source_name(enum jpu_source s)
{
	static const char *const names[] = {
	        [JPU_SRC_NONE] = "none", [JPU_SRC_RAPL] = "rapl", [JPU_SRC_HWMON] = "hwmon",
	        [JPU_SRC_PERF] = "perf", [JPU_SRC_NVML] = "nvml", [JPU_SRC_ESTIMATE] = "estimate",
	        [JPU_SRC_FAKE] = "fake",
	};

	return (unsigned)s < JPU_ARRAY_SIZE(names) ? names[s] : "none";
}

const char *jpu_reason_name(enum jpu_reason r)
{
	static const char *const names[] = {
	        [JPU_REASON_NONE] = "none",     [JPU_REASON_PERMISSION] = "permission",
	        [JPU_REASON_ABSENT] = "absent", [JPU_REASON_UNSUPPORTED] = "unsupported",
	        [JPU_REASON_ERROR] = "error",
	};

	return (unsigned)r < JPU_ARRAY_SIZE(names) ? names[r] : "error";
}

void jpu_logf(const struct jpu_logger *log, int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!log || !log->fn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log->fn(level, msg, log->userdata);
}
