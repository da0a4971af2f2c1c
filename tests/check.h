/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A minimal test harness: CHECK() records failures and carries on; each
 * test binary ends with main() returning check_summary(), which prints
 * "N passed, N failed" (the closing line CI reads) and the exit code.
 */
#ifndef JPU_TESTS_CHECK_H
#define JPU_TESTS_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static unsigned check_passed, check_failed;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (cond) {                                                                        \
			check_passed++;                                                            \
		} else {                                                                           \
			check_failed++;                                                            \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
		}                                                                                  \
	} while (0)

#define CHECK_EQ_U64(a, b)                                                                         \
	do {                                                                                       \
		uint64_t check_a_ = (uint64_t)(a), check_b_ = (uint64_t)(b);                       \
		if (check_a_ == check_b_) {                                                        \
			check_passed++;                                                            \
		} else {                                                                           \
			check_failed++;                                                            \
			fprintf(stderr, "%s:%d: %s == %s failed: %" PRIu64 " != %" PRIu64 "\n",    \
			        __FILE__, __LINE__, #a, #b, check_a_, check_b_);                   \
		}                                                                                  \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
	do {                                                                                       \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b);                    \
		if (check_a_ == check_b_) {                                                        \
			check_passed++;                                                            \
		} else {                                                                           \
			check_failed++;                                                            \
			fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__,        \
			        __LINE__, #a, #b, check_a_, check_b_);                             \
		}                                                                                  \
	} while (0)

#define CHECK_STR(a, b)                                                                            \
	do {                                                                                       \
		const char *check_a_ = (a), *check_b_ = (b);                                       \
		if (check_a_ && check_b_ && strcmp(check_a_, check_b_) == 0) {                     \
			check_passed++;                                                            \
		} else {                                                                           \
			check_failed++;                                                            \
			fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__,    \
			        __LINE__, #a, #b, check_a_ ? check_a_ : "(null)",                  \
			        check_b_ ? check_b_ : "(null)");                                   \
		}                                                                                  \
	} while (0)

/* |a - b| <= tol */
#define CHECK_NEAR(a, b, tol)                                                                      \
	do {                                                                                       \
		double check_a_ = (double)(a), check_b_ = (double)(b);                             \
		double check_d_ = check_a_ > check_b_ ? check_a_ - check_b_ : check_b_ - check_a_; \
		if (check_d_ <= (double)(tol)) {                                                   \
			check_passed++;                                                            \
		} else {                                                                           \
			check_failed++;                                                            \
			fprintf(stderr, "%s:%d: %s ~ %s failed: %g != %g (tol %g)\n", __FILE__,    \
			        __LINE__, #a, #b, check_a_, check_b_, (double)(tol));              \
		}                                                                                  \
	} while (0)

static inline int check_summary(void)
{
	printf("%u passed, %u failed\n", check_passed, check_failed);
	return check_failed ? 1 : 0;
}

/* meson's exit status for a test that did not run: reported as SKIP, never
 * as a pass */
#define CHECK_SKIP 77

/* A part that cannot run here says why and returns CHECK_SKIP. */
static inline int check_skip(const char *why)
{
	printf("SKIP: %s\n", why);
	return CHECK_SKIP;
}

/* The end of a binary that ran one part (a meson test of its own): SKIP only
 * when the part did not run and nothing before it failed. */
static inline int check_part_end(int part)
{
	if (part == CHECK_SKIP && !check_failed) {
		printf("%u passed, skipped\n", check_passed);
		return CHECK_SKIP;
	}
	return check_summary();
}

/* An argument no part of the binary knows */
static inline int check_bad_part(const char *arg)
{
	fprintf(stderr, "unknown test part %s\n", arg);
	return 2;
}

#endif
