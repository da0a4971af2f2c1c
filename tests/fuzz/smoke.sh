#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Run every libFuzzer target of a fuzz build for a few seconds each, started
# from its seed corpus (tests/fuzz/seeds/<target>/, required) and with its
# dictionary where it has one (tests/fuzz/dicts/<target>.dict), and print
# the coverage each reached: one line per target, from libFuzzer's final
# "#N DONE cov: C ft: F corp: U/S ..." line.
#
#   tests/fuzz/smoke.sh BUILD_DIR [SECONDS]      (from the repository root)
#   tests/fuzz/smoke.sh --no-seeds BUILD_DIR 10  (baseline: empty corpus, no
#                                                 dictionary, for comparison)
#
# Targets are found in BUILD_DIR/tests (any executable named fuzz_*), so a
# target added to tests/fuzz/meson.build is picked up with no change here;
# one without a seed directory fails the run.
set -euo pipefail
cd "$(dirname "$0")/../.."
seeded=1
if [ "${1:-}" = "--no-seeds" ]; then
	seeded=0
	shift
fi
build="${1:?usage: tests/fuzz/smoke.sh [--no-seeds] BUILD_DIR [SECONDS]}"
secs="${2:-10}"
work="$build/fuzz-smoke"
rm -rf "$work"
mkdir -p "$work"

targets=$(find "$build/tests" -type f -name 'fuzz_*' -executable | sort)
[ -n "$targets" ] || { echo "fuzz: no targets in $build/tests" >&2; exit 1; }
missing=0
for f in $targets; do
	t=$(basename "$f")
	seeds="tests/fuzz/seeds/$t"
	if [ "$seeded" = 1 ] && ! find -L "$seeds" -type f 2>/dev/null | grep -q .; then
		echo "fuzz: $t has no seed corpus: add files (or links to fixtures) under $seeds/" >&2
		missing=$((missing + 1))
	fi
done
[ "$missing" = 0 ] || exit 1

n=0
for f in $targets; do
	t=$(basename "$f")
	corpus="$work/$t"
	mkdir -p "$corpus"
	args=(-max_total_time="$secs" -rss_limit_mb=1024 -print_final_stats=1)
	nseeds=0
	dict=no
	if [ "$seeded" = 1 ]; then
		nseeds=$(find -L "tests/fuzz/seeds/$t" -type f | wc -l)
		if [ -f "tests/fuzz/dicts/$t.dict" ]; then
			args+=(-dict="tests/fuzz/dicts/$t.dict")
			dict=yes
		fi
		dirs=("$corpus" "tests/fuzz/seeds/$t")
	else
		dirs=("$corpus")
	fi
	if ! "$f" "${args[@]}" "${dirs[@]}" >/dev/null 2>"$corpus.log"; then
		cat "$corpus.log" >&2
		echo "fuzz: target $t failed (log above, inputs in $corpus)" >&2
		exit 1
	fi
	# "#1234567	DONE   cov: 214 ft: 480 corp: 61/3420b lim: ... exec/s: ... rss: ..."
	done_line=$(grep -a 'DONE .*cov: ' "$corpus.log" | tail -n 1 || true)
	runs=$(grep -a '^stat::number_of_executed_units:' "$corpus.log" | awk '{print $2}' || true)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")
	corp=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$done_line")
	printf 'fuzz: %-20s cov %5s  ft %6s  corpus %4s  runs %9s  (%d s, seeds %d, dict %s)\n' \
		"$t" "${cov:-?}" "${ft:-?}" "${corp:-?}" "${runs:-?}" "$secs" "$nseeds" "$dict"
	n=$((n + 1))
done
echo "fuzz: $n targets ran $secs s each without a crash"
