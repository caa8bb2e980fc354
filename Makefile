# KVM guest_memfd in-place conversion selftests.
#
#   make                      build every test program for ARCH (default: this machine)
#   make run_tests            build, then run the suite through run_tests.sh
#   make check                the project's own unit tests, then the suite, with a TAP check
#   make gate BASE=dir NEW=dir    compare two runs' records (scripts/gate.pl)
#   make install INSTALL_PATH=dir   kselftest install layout (run_kselftest.sh, kselftest-list.txt)
#   make ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-   cross build (LLVM=1: clang)
#   make SANITIZE=address,undefined                    sanitizer variant (host code only)
#   KDIR=<kernel tree>        kselftest headers from that tree
#   KHDR_INCLUDES=-isystem <dir>   a patched kernel's `make headers` output
#
# Copied into a kernel tree as tools/testing/selftests/kvm_gmem, it is one of
# that tree's selftest targets: `make -C tools/testing/selftests TARGETS=kvm_gmem
# [run_tests|install|gen_tar|clean]` or `make kselftest-all TARGETS=kvm_gmem`.
# It then takes the tree's kselftest headers and `make headers` output, and
# follows the kselftest top level's OUTPUT, O, KHDR_INCLUDES, INSTALL_PATH
# (install: this collection's directory) and COLLECTION (emit_tests).

COLLECTION := kvm_gmem
ARCH ?= $(shell uname -m)
arch_to_srcarch = $(if $(filter x86 x86_64 amd64,$(1)),x86,$(if $(filter arm64 aarch64,$(1)),arm64))
# The kernel's top level exports its own SRCARCH: this one follows ARCH.
override SRCARCH := $(call arch_to_srcarch,$(ARCH))
ifeq ($(SRCARCH),)
$(error unsupported ARCH=$(ARCH): use x86_64 or arm64)
endif
HOST_SRCARCH := $(call arch_to_srcarch,$(shell uname -m))

# As the kernel's lib.mk: LLVM=1 (or a prefix/, or a -suffix) selects clang,
# with --target from CROSS_COMPILE or, for another architecture, from ARCH.
# The kernel's top level runs make with -R (no built-in variables), hence
# "undefined" as well as "default".
ifneq ($(LLVM),)
ifneq ($(filter %/,$(LLVM)),)
LLVM_PREFIX := $(LLVM)
else ifneq ($(filter -%,$(LLVM)),)
LLVM_SUFFIX := $(LLVM)
endif
CLANG_TARGET_x86 := x86_64-linux-gnu
CLANG_TARGET_arm64 := aarch64-linux-gnu
ifneq ($(CROSS_COMPILE),)
CLANG_FLAGS := --target=$(notdir $(CROSS_COMPILE:%-=%))
else ifneq ($(SRCARCH),$(HOST_SRCARCH))
CLANG_FLAGS := --target=$(CLANG_TARGET_$(SRCARCH))
endif
CC := $(LLVM_PREFIX)clang$(LLVM_SUFFIX) $(CLANG_FLAGS)
CXX := $(LLVM_PREFIX)clang++$(LLVM_SUFFIX) $(CLANG_FLAGS)
AR := $(LLVM_PREFIX)llvm-ar$(LLVM_SUFFIX)
else
ifneq ($(filter default undefined,$(origin CC)),)
CC := $(CROSS_COMPILE)gcc
endif
ifneq ($(filter default undefined,$(origin CXX)),)
CXX := $(CROSS_COMPILE)g++
endif
AR := $(CROSS_COMPILE)ar
endif
# Nothing here is found through VPATH (the kernel's top level exports one
# when it builds with O=).
VPATH :=

top_srcdir := $(CURDIR)

# Inside a kernel tree the collection's parent holds kselftest_harness.h.
KSFT_TREE_DIR := $(abspath $(top_srcdir)/..)
ifneq ($(wildcard $(KSFT_TREE_DIR)/kselftest_harness.h),)
IN_KERNEL_TREE := 1
KERNEL_TREE := $(abspath $(top_srcdir)/../../../..)
# O= (or KBUILD_OUTPUT), relative to the tree as in the kselftest Makefile.
ifeq ($(origin O),command line)
KBUILD_OUTPUT := $(O)
endif
ifneq ($(strip $(KBUILD_OUTPUT)),)
KERNEL_OBJTREE := $(abspath $(if $(filter /%,$(KBUILD_OUTPUT)),,$(KERNEL_TREE)/)$(KBUILD_OUTPUT))
endif
endif

ifeq ($(strip $(OUTPUT)),)
override OUTPUT := $(if $(KERNEL_OBJTREE),$(KERNEL_OBJTREE)/kselftest/$(COLLECTION),$(top_srcdir)/build/$(SRCARCH)$(if $(SANITIZE),-san)$(if $(STATIC),-static))
endif
override OUTPUT := $(abspath $(OUTPUT))
KSFT_CACHE := $(top_srcdir)/build/ksft
LINUX_SOURCE_TARBALL ?= /usr/src/linux-source-6.12.tar.xz

ifneq ($(KDIR),)
KSFT_DIR := $(abspath $(KDIR))/tools/testing/selftests
else ifneq ($(IN_KERNEL_TREE),)
KSFT_DIR := $(KSFT_TREE_DIR)
else
KSFT_DIR := $(KSFT_CACHE)/tools/testing/selftests
endif
KSFT_STAMP := $(KSFT_DIR)/kselftest_harness.h
ifneq ($(KDIR),)
ifeq ($(wildcard $(KSFT_STAMP)),)
$(error KDIR=$(KDIR): no tools/testing/selftests/kselftest_harness.h in that tree)
endif
endif

# liburing is optional (the io_uring reference holder needs it); a cross
# build finds it only when the target's liburing-dev is installed.
ifeq ($(origin HAVE_LIBURING),undefined)
HAVE_LIBURING := $(shell printf '\043include <liburing.h>\nint main(void) { return 0; }\n' | \
	$(CC) -x c - -o /dev/null -luring $(if $(STATIC),-static) >/dev/null 2>&1 && echo 1)
endif
LDLIBS_PROG := $(if $(HAVE_LIBURING),-luring)

# Kernel headers: KHDR_INCLUDES (exported by the kselftest top level) first;
# inside a tree without it, the tree's (or O='s) `make headers` output.
ifneq ($(IN_KERNEL_TREE),)
ifeq ($(strip $(KHDR_INCLUDES)),)
KERNEL_HDR_DIR := $(if $(KERNEL_OBJTREE),$(KERNEL_OBJTREE),$(KERNEL_TREE))/usr/include
ifneq ($(wildcard $(KERNEL_HDR_DIR)/linux/kvm.h),)
KHDR_INCLUDES := -isystem $(KERNEL_HDR_DIR)
endif
endif
endif
# The directories of KHDR_INCLUDES that hold linux/kvm.h: what the programs
# report in their "# profile:" line (KVMT_HEADERS_DESC).
KHDR_DIRS := $(strip $(foreach d,$(patsubst -isystem%,%,$(patsubst -idirafter%,%,$(patsubst -I%,%,$(KHDR_INCLUDES)))),\
	$(if $(wildcard $(d)/linux/kvm.h),$(abspath $(d)))))
KVMT_HEADERS_DESC := $(if $(KHDR_DIRS),$(KHDR_DIRS),project defaults)
HEADERS_DEFINE := -DKVMT_HEADERS_DESC='"$(KVMT_HEADERS_DESC)"'
BUILD_GOALS := $(if $(MAKECMDGOALS),$(filter-out clean distclean emit_tests,$(MAKECMDGOALS)),all)
ifneq ($(BUILD_GOALS),)
ifneq ($(if $(KHDR_DIRS),,$(IN_KERNEL_TREE)$(strip $(KHDR_INCLUDES))),)
$(warning $(COLLECTION): no linux/kvm.h in $(or $(strip $(KHDR_INCLUDES)),$(KERNEL_HDR_DIR)) (run `make headers` in the kernel tree); building with the project's own definitions)
endif
# Headers of another architecture (a cross build after a native `make headers`)
# would fail later and less clearly.
KHDR_ARCH_FILE_x86 := asm/vmx.h
KHDR_ARCH_FILE_arm64 := asm/sve_context.h
KHDR_OTHER_ARCH := $(foreach d,$(KHDR_DIRS),$(if $(wildcard $(d)/$(KHDR_ARCH_FILE_$(SRCARCH))),,$(d)))
ifneq ($(KHDR_OTHER_ARCH),)
$(error $(COLLECTION): $(KHDR_OTHER_ARCH) holds no $(KHDR_ARCH_FILE_$(SRCARCH)): headers of another architecture than ARCH=$(ARCH) (run `make ARCH=$(ARCH) headers`, e.g. with O=<dir>))
endif
endif

WARNINGS := -Wall -Wextra -Werror
# The library by layer: headers in include/<layer>/, sources in lib/<layer>/
# (guest code in lib/<layer>/guest/), the architecture's own code last.
LIB_LAYERS := harness kvm gmem holders model $(SRCARCH)
COMMON_FLAGS := -O2 -g -MMD -MP -D_GNU_SOURCE $(if $(HAVE_LIBURING),-DHAVE_LIBURING=1) $(KHDR_INCLUDES) \
	$(foreach l,$(LIB_LAYERS),-I$(top_srcdir)/include/$(l)) -isystem $(KSFT_DIR) -fno-omit-frame-pointer
SAN_FLAGS := $(if $(SANITIZE),-fsanitize=$(SANITIZE) -fno-sanitize-recover=all)
CFLAGS_HOST := $(COMMON_FLAGS) $(WARNINGS) $(SAN_FLAGS) -std=gnu11
CXXFLAGS_HOST := $(COMMON_FLAGS) $(WARNINGS) $(SAN_FLAGS) -std=gnu++17
# Guest code runs inside the VM: no libc, no sanitizer, no vector registers
# (the host's instruction emulator rejects SSE arithmetic and AVX), no calls
# that the compiler invents (memset/memcpy from loops).
GUEST_FLAGS_x86 := -march=x86-64 -mgeneral-regs-only -mno-red-zone -fcf-protection=none
GUEST_FLAGS_arm64 := -mgeneral-regs-only
CXXFLAGS_GUEST := $(COMMON_FLAGS) $(WARNINGS) -std=gnu++17 $(GUEST_FLAGS_$(SRCARCH)) \
	-ffreestanding -fno-builtin -fno-stack-protector -fno-tree-vectorize \
	$(if $(findstring clang,$(CXX)),,-fno-tree-loop-distribute-patterns) -fno-exceptions -fno-rtti -fno-sanitize=all
LDFLAGS_PROG := -pthread $(SAN_FLAGS) $(if $(STATIC),-static)

LIB_SRCS := $(foreach l,$(LIB_LAYERS),$(wildcard lib/$(l)/*.cc))
LIB_GUEST_SRCS := $(foreach l,$(LIB_LAYERS),$(wildcard lib/$(l)/guest/*.cc))
LIB_C_SRCS := lib/harness/harness_glue.c
# The harness glue first: a harness it does not support stops the build early.
LIB_OBJS := $(patsubst %.c,$(OUTPUT)/obj/%.o,$(LIB_C_SRCS)) \
	$(patsubst %.cc,$(OUTPUT)/obj/%.o,$(LIB_SRCS)) \
	$(patsubst %.cc,$(OUTPUT)/obj/%.guest.o,$(LIB_GUEST_SRCS))
LIB := $(OUTPUT)/libkvmgmem.a

# Test programs: <dir>/<name>.cc, plus <dir>/<name>_guest.cc when it has guest
# code; the arch-neutral ones in selftests/kvm/, the architecture's own in
# $(SRCARCH)/ (x86/, arm64/, as upstream's tools/testing/selftests/kvm).
TEST_SRCS := $(wildcard selftests/kvm/*_test.cc) $(wildcard $(SRCARCH)/*_test.cc)
TEST_GEN_PROGS := $(notdir $(TEST_SRCS:.cc=))
UNIT_SRCS := $(wildcard tests/*_unit.cc)
UNIT_PROG := $(OUTPUT)/unit/project_unit_test
# LD_PRELOAD of the broken-kernel self-test (scripts/broken_kernel_test.sh).
BROKEN_KVM_SO := $(OUTPUT)/unit/broken_kvm_preload.so

PROGS := $(addprefix $(OUTPUT)/,$(TEST_GEN_PROGS))

.PHONY: all run_tests check unit install emit_tests clean distclean ksft-headers bench bench-compare gate FORCE
all: $(PROGS) $(UNIT_PROG) $(BROKEN_KVM_SO) $(OUTPUT)/tests.list

$(KSFT_CACHE)/tools/testing/selftests/kselftest_harness.h:
	@test -r $(LINUX_SOURCE_TARBALL) || { echo "kselftest headers: $(LINUX_SOURCE_TARBALL) missing (apt-get install linux-source-6.12, or pass KDIR=<kernel tree>)" >&2; exit 1; }
	@mkdir -p $(KSFT_CACHE)
	tar -xJf $(LINUX_SOURCE_TARBALL) -C $(KSFT_CACHE) --strip-components=1 --wildcards \
		'*/tools/testing/selftests/kselftest.h' '*/tools/testing/selftests/kselftest_harness.h' \
		'*/tools/testing/selftests/run_kselftest.sh' '*/tools/testing/selftests/kselftest/*'
	@touch $@

ksft-headers: $(KSFT_STAMP)

# Objects are rebuilt when the flags change (SANITIZE, HAVE_LIBURING, ...).
# The stamp has a rule of its own: with OUTPUT equal to this directory, make
# has listed the directory before the stamp exists.
FLAGS_STAMP := $(OUTPUT)/.flags
FLAGS_NOW := $(CXX) $(CXXFLAGS_HOST) | $(CXXFLAGS_GUEST) | $(LDFLAGS_PROG) $(LDLIBS_PROG) | $(HEADERS_DEFINE)
ifneq ($(FLAGS_NOW),$(file <$(FLAGS_STAMP)))
$(shell mkdir -p $(OUTPUT))
$(FLAGS_STAMP): FORCE
endif
$(FLAGS_STAMP):
	$(file >$@,$(FLAGS_NOW))
FORCE:

# Only the profile says which kernel headers the program was built with.
$(OUTPUT)/obj/lib/gmem/profile.o: CXXFLAGS_HOST += $(HEADERS_DEFINE)

$(OUTPUT)/obj/%.guest.o: %.cc $(FLAGS_STAMP) | $(KSFT_STAMP)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS_GUEST) -c $< -o $@

$(OUTPUT)/obj/%_guest.o: %_guest.cc $(FLAGS_STAMP) | $(KSFT_STAMP)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS_GUEST) -c $< -o $@

$(OUTPUT)/obj/%.o: %.cc $(FLAGS_STAMP) | $(KSFT_STAMP)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS_HOST) -c $< -o $@

$(OUTPUT)/obj/%.o: %.c $(FLAGS_STAMP) | $(KSFT_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_HOST) -c $< -o $@

# lib/harness/harness_glue.c is the one file that uses kselftest_harness.h's
# internals, and checks them at compile time (its "harness internals" block).
# When it does not compile against this harness, one line says why (the
# glue's own message, else the compiler's first error); the compiler's
# output stays in <object>.log.
GLUE_OBJ := $(OUTPUT)/obj/lib/harness/harness_glue.o
$(GLUE_OBJ): lib/harness/harness_glue.c $(FLAGS_STAMP) | $(KSFT_STAMP)
	@mkdir -p $(dir $@)
	@echo '$(CC) $(CFLAGS_HOST) -c $< -o $@'
	@$(CC) $(CFLAGS_HOST) -c $< -o $@ 2> $@.log || { \
		msg=$$(sed -n 's/^[^ ]*: error: //p' $@.log | head -n 1); \
		case $$msg in *'"kselftest_harness.h'*) msg=$${msg#*\"}; msg=$${msg%\"*} ;; \
		*) msg="lib/harness/harness_glue.c (for Linux 6.9 or later) does not compile: $$msg" ;; esac; \
		echo "$(COLLECTION): $$msg [$(KSFT_STAMP); compiler output in $@.log]" >&2; exit 1; }
	@cat $@.log >&2; rm -f $@.log

$(LIB): $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

guest_obj = $(if $(wildcard $(1)_guest.cc),$(OUTPUT)/obj/$(1)_guest.o)
define PROG_RULE
$(OUTPUT)/$(notdir $(1)): $(OUTPUT)/obj/$(1).o $(call guest_obj,$(1)) $(LIB)
	$$(CXX) $$(LDFLAGS_PROG) -o $$@ $$^ $$(LDLIBS_PROG)
endef
$(foreach src,$(TEST_SRCS:.cc=),$(eval $(call PROG_RULE,$(src))))

$(BROKEN_KVM_SO): tests/broken_kernel/broken_kvm_preload.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -Wextra -Werror -shared -fPIC -o $@ $< -ldl

$(UNIT_PROG): $(patsubst %.cc,$(OUTPUT)/obj/%.o,$(UNIT_SRCS)) $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS_PROG) -o $@ $^ $(LDLIBS_PROG)

# Rewritten whenever the set of programs changes (a new *_test.cc).
TESTS_LIST_NOW := $(sort $(TEST_GEN_PROGS))
ifneq ($(TESTS_LIST_NOW),$(shell cat $(OUTPUT)/tests.list 2>/dev/null))
.PHONY: $(OUTPUT)/tests.list
endif
$(OUTPUT)/tests.list:
	@mkdir -p $(OUTPUT)
	@printf '%s\n' $(TESTS_LIST_NOW) > $@

run_tests: all
	./run_tests.sh --bin-dir $(OUTPUT) $(if $(KERNEL),--kernel $(KERNEL)) $(RUN_TESTS_ARGS)

unit: $(UNIT_PROG)
	$(UNIT_PROG)

check: all
	./scripts/check.sh $(OUTPUT)

# make's own status is 2 whenever the gate does not pass; scripts/gate.pl
# itself tells a regression (1) from bad input (2).
gate:
	@test -n "$(BASE)" && test -n "$(NEW)" || \
		{ echo "usage: make gate BASE=<run dir> NEW=<run dir>" >&2; exit 2; }
	@perl scripts/gate.pl $(BASE) $(NEW)

# Installed, the records of run_tests.sh name the suite's revision from here.
REVISION_NOW = $(or $(shell git -C $(top_srcdir) describe --always --dirty 2>/dev/null),unknown (installed without git))

INSTALL_PATH ?= $(top_srcdir)/build/install
ifneq ($(IN_KERNEL_TREE),)
# The kselftest top level installs run_kselftest.sh and kselftest/, and asks
# each target for its part: INSTALL_PATH is this collection's directory, and
# emit_tests adds its lines to kselftest-list.txt.
install: all
	@mkdir -p $(INSTALL_PATH)
	install -m 0755 $(PROGS) run_tests.sh scripts/record_run.pl $(INSTALL_PATH)/
	install -m 0644 settings $(OUTPUT)/tests.list $(INSTALL_PATH)/
	@echo '$(REVISION_NOW)' > $(INSTALL_PATH)/REVISION
else
install: all
	@mkdir -p $(INSTALL_PATH)/$(COLLECTION)
	install -m 0755 $(PROGS) run_tests.sh scripts/record_run.pl $(INSTALL_PATH)/$(COLLECTION)/
	install -m 0644 settings $(OUTPUT)/tests.list $(INSTALL_PATH)/$(COLLECTION)/
	@echo '$(REVISION_NOW)' > $(INSTALL_PATH)/$(COLLECTION)/REVISION
	install -m 0755 $(KSFT_DIR)/run_kselftest.sh $(INSTALL_PATH)/
	@mkdir -p $(INSTALL_PATH)/kselftest
	cp -a $(KSFT_DIR)/kselftest/. $(INSTALL_PATH)/kselftest/
	@for p in $(sort $(TEST_GEN_PROGS)); do echo "$(COLLECTION):$$p"; done > $(INSTALL_PATH)/kselftest-list.txt
	@echo "installed into $(INSTALL_PATH)"
endif

# The kselftest top level: make -s OUTPUT=... COLLECTION=<target> emit_tests
emit_tests:
	@for p in $(sort $(TEST_GEN_PROGS)); do echo "$(COLLECTION):$$p"; done

# OUTPUT may be this directory (the kselftest top level's default) or hold
# it: then only what the build made goes ($(OUTPUT)/bench is then bench/).
ifeq ($(filter $(OUTPUT)/%,$(top_srcdir)/),)
clean:
	rm -rf $(OUTPUT)
else
clean:
	rm -rf $(PROGS) $(LIB) $(OUTPUT)/obj $(OUTPUT)/unit $(BENCH_PROG) $(BENCH_SMOKE_DIR) \
		$(OUTPUT)/logs $(OUTPUT)/tests.list $(FLAGS_STAMP)
endif

distclean:
	rm -rf build results

-include $(shell find $(OUTPUT)/obj -name '*.d' 2>/dev/null)
-include bench/bench.mk
