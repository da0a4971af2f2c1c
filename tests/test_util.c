/* SPDX-License-Identifier: BSD-3-Clause */
/* Strict parsers and file helpers (counters: test_counter.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "internal.h"

static void test_parse_u64(void)
{
	uint64_t v = 7;

	CHECK_EQ_INT(jpu_parse_u64("123\n", 4, &v), 0);
	CHECK_EQ_U64(v, 123);
	CHECK_EQ_INT(jpu_parse_u64("18446744073709551615", 20, &v), 0);
	CHECK_EQ_U64(v, UINT64_MAX);
	v = 7;
	CHECK_EQ_INT(jpu_parse_u64("18446744073709551616", 20, &v), -ERANGE);
	CHECK_EQ_INT(jpu_parse_u64("-1", 2, &v), -EINVAL);
	CHECK_EQ_INT(jpu_parse_u64("", 0, &v), -EINVAL);
	CHECK_EQ_INT(jpu_parse_u64("\n", 1, &v), -EINVAL);
	CHECK_EQ_INT(jpu_parse_u64("12a", 3, &v), -EINVAL);
	CHECK_EQ_INT(jpu_parse_u64("12\n\n", 4, &v), -EINVAL);
	CHECK_EQ_INT(jpu_parse_u64("1 2", 3, &v), -EINVAL);
	CHECK_EQ_U64(v, 7); /* written only on success */
}

static void test_parse_i64(void)
{
	int64_t v = 0;

	CHECK_EQ_INT(jpu_parse_i64("-5", 2, &v), 0);
	CHECK_EQ_INT(v, -5);
	CHECK_EQ_INT(jpu_parse_i64("-9223372036854775808", 20, &v), 0);
	CHECK(v == INT64_MIN);
	CHECK_EQ_INT(jpu_parse_i64("9223372036854775808", 19, &v), -ERANGE);
	CHECK_EQ_INT(jpu_parse_i64("--5", 3, &v), -EINVAL);
	CHECK_EQ_INT(jpu_parse_i64("-", 1, &v), -EINVAL);
}

static void test_fields(void)
{
	const char *s = "  10 20\t30\n";
	const char *p = s, *end = s + strlen(s);
	uint64_t v;

	CHECK_EQ_INT(jpu_next_u64(&p, end, &v), 0);
	CHECK_EQ_U64(v, 10);
	CHECK_EQ_INT(jpu_skip_fields(&p, end, 1), 0);
	CHECK_EQ_INT(jpu_next_u64(&p, end, &v), 0);
	CHECK_EQ_U64(v, 30);
	CHECK_EQ_INT(jpu_next_u64(&p, end, &v), -EINVAL);
	CHECK_EQ_INT(jpu_skip_fields(&p, end, 1), -EINVAL);
}

static void test_files(void)
{
	char dir[] = "/tmp/jpu-test-util-XXXXXX";
	char buf[8];
	uint64_t v;
	int dfd, fd;

	CHECK(mkdtemp(dir) != NULL);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(dfd >= 0);
	fd = openat(dfd, "num", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK(write(fd, "42\n", 3) == 3);
	close(fd);
	CHECK_EQ_INT(jpu_read_u64_at(dfd, "num", &v), 0);
	CHECK_EQ_U64(v, 42);
	fd = openat(dfd, "long", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK(write(fd, "123456789", 9) == 9);
	close(fd);
	/* a full buffer is truncated input, not a number */
	CHECK_EQ_INT(jpu_read_at(dfd, "long", buf, sizeof buf), -EFBIG);
	CHECK_EQ_INT(jpu_read_u64_at(dfd, "missing", &v), -ENOENT);
	fd = openat(dfd, "empty", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	close(fd);
	CHECK_EQ_INT(jpu_read_u64_at(dfd, "empty", &v), -EINVAL);
	unlinkat(dfd, "num", 0);
	unlinkat(dfd, "long", 0);
	unlinkat(dfd, "empty", 0);
	close(dfd);
	rmdir(dir);
}

int main(void)
{
	test_parse_u64();
	test_parse_i64();
	test_fields();
	test_files();
	return check_summary();
}
