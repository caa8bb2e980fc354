# Benchmarks (included by the top-level Makefile).
#
#   make bench               build, run every benchmark (9 repetitions), write
#                            results/<kernel release>/<UTC time>.json + .png
#   make bench-smoke         CI: short repetitions into $(OUTPUT)/bench-smoke, plot,
#                            and the compare gate run on that JSON against itself
#   make bench-compare BASE=a.json NEW=b.json [THRESHOLD=0.10]
#                            per-benchmark change; exits 1 on a regression
#   BENCH_ARGS=...           more flags for gmem_bench (e.g. --benchmark_filter=peer/)
#   BENCH_RESULTS=dir        results folder (default: results)

BENCH_PROG := $(OUTPUT)/bench/gmem_bench
BENCH_SRCS := $(filter-out %_guest.cc,$(wildcard bench/*.cc))
BENCH_GUEST_SRCS := $(wildcard bench/*_guest.cc)
BENCH_OBJS := $(patsubst %.cc,$(OUTPUT)/obj/%.o,$(BENCH_SRCS) $(BENCH_GUEST_SRCS))
BENCH_LDLIBS := -lbenchmark -lpthread
BENCH_RESULTS ?= results
BENCH_RELEASE := $(shell uname -r)
# Debian's python3 has python3-scipy, which compare.py's U test needs.
BENCH_PYTHON ?= $(firstword $(wildcard /usr/bin/python3) python3)
BENCH_SMOKE_DIR := $(OUTPUT)/bench-smoke
BENCH_SMOKE_ARGS := --benchmark_repetitions=2 --benchmark_min_time=0.005
THRESHOLD ?= 0.10

.PHONY: bench bench-build bench-smoke bench-compare

# The library's registry.o (main() of the test programs) stays out of
# this link: nothing the benchmarks use refers to it (lib/harness/outcome.cc
# holds skip() and record_failure()).
$(BENCH_PROG): $(BENCH_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS_PROG) -o $@ $(BENCH_OBJS) $(LIB) $(BENCH_LDLIBS) $(LDLIBS_PROG)

bench-build: $(BENCH_PROG)

bench: $(BENCH_PROG)
	$(BENCH_PROG) --results_dir=$(BENCH_RESULTS) $(BENCH_ARGS)
	$(BENCH_PYTHON) bench/plot $(BENCH_RESULTS)/$(BENCH_RELEASE)/latest.json

# The gate must pass a run against itself and fail it against a copy 20% slower.
bench-smoke: $(BENCH_PROG)
	$(BENCH_PROG) --results_dir=$(BENCH_SMOKE_DIR) $(BENCH_SMOKE_ARGS) $(BENCH_ARGS)
	$(BENCH_PYTHON) bench/plot $(BENCH_SMOKE_DIR)/$(BENCH_RELEASE)/latest.json
	$(BENCH_PYTHON) bench/slowdown --factor 1.2 $(BENCH_SMOKE_DIR)/$(BENCH_RELEASE)/latest.json \
		$(BENCH_SMOKE_DIR)/slower.json
	$(BENCH_PYTHON) bench/compare --threshold $(THRESHOLD) $(BENCH_SMOKE_DIR)/$(BENCH_RELEASE)/latest.json \
		$(BENCH_SMOKE_DIR)/$(BENCH_RELEASE)/latest.json > $(BENCH_SMOKE_DIR)/gate-same.txt
	@tail -n 1 $(BENCH_SMOKE_DIR)/gate-same.txt
	@if $(BENCH_PYTHON) bench/compare --threshold $(THRESHOLD) \
		$(BENCH_SMOKE_DIR)/$(BENCH_RELEASE)/latest.json $(BENCH_SMOKE_DIR)/slower.json \
		> $(BENCH_SMOKE_DIR)/gate-slower.txt; then \
		echo "bench-smoke: the gate passed a 20% slowdown" >&2; exit 1; \
	else tail -n 1 $(BENCH_SMOKE_DIR)/gate-slower.txt; fi
	@echo "bench-smoke: ok (the gate passes a run against itself and fails it 20% slower)"

bench-compare:
	@test -n "$(BASE)" && test -n "$(NEW)" || \
		{ echo "usage: make bench-compare BASE=a.json NEW=b.json [THRESHOLD=0.10]" >&2; exit 2; }
	$(BENCH_PYTHON) bench/compare --threshold $(THRESHOLD) $(BASE) $(NEW)
