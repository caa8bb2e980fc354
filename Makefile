# KVM guest_memfd in-place conversion selftests.
#
#   make                      build every test program for ARCH (default: this machine)
#   make run_tests            build, then run the suite through run_tests.sh
#   make check                the project's own unit tests, then the suite, with a TAP check
#   make install INSTALL_PATH=dir   kselftest install layout (run_kselftest.sh, kselftest-list.txt)
#   make ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-   cross build
#   make SANITIZE=address,undefined                    sanitizer variant (host code only)
#   KDIR=<kernel tree>        kselftest headers from that tree
#   KHDR_INCLUDES=-isystem <dir>   a patched kernel's `make headers` output

COLLECTION := kvm_gmem
ARCH ?= $(shell uname -m)
ifneq ($(filter x86 x86_64 amd64,$(ARCH)),)
SRCARCH := x86
else ifneq ($(filter arm64 aarch64,$(ARCH)),)
SRCARCH := arm64
else
$(error unsupported ARCH=$(ARCH): use x86_64 or arm64)
endif

ifneq ($(LLVM),)
CC := clang
CXX := clang++
else
ifeq ($(origin CC),default)
CC := $(CROSS_COMPILE)gcc
endif
ifeq ($(origin CXX),default)
CXX := $(CROSS_COMPILE)g++
endif
endif
AR := $(CROSS_COMPILE)ar

top_srcdir := $(CURDIR)
OUTPUT ?= $(top_srcdir)/build/$(SRCARCH)$(if $(SANITIZE),-san)$(if $(STATIC),-static)
override OUTPUT := $(abspath $(OUTPUT))
KSFT_CACHE := $(top_srcdir)/build/ksft
LINUX_SOURCE_TARBALL ?= /usr/src/linux-source-6.12.tar.xz

ifneq ($(KDIR),)
KSFT_DIR := $(abspath $(KDIR))/tools/testing/selftests
else
KSFT_DIR := $(KSFT_CACHE)/tools/testing/selftests
endif
KSFT_STAMP := $(KSFT_DIR)/kselftest_harness.h

# liburing is optional (the io_uring reference holder needs it); a cross
# build finds it only when the target's liburing-dev is installed.
ifeq ($(origin HAVE_LIBURING),undefined)
HAVE_LIBURING := $(shell printf '\043include <liburing.h>\nint main(void) { return 0; }\n' | \
	$(CC) -x c - -o /dev/null -luring $(if $(STATIC),-static) >/dev/null 2>&1 && echo 1)
endif
LDLIBS_PROG := $(if $(HAVE_LIBURING),-luring)

WARNINGS := -Wall -Wextra -Werror
COMMON_FLAGS := -O2 -g -MMD -MP -D_GNU_SOURCE $(if $(HAVE_LIBURING),-DHAVE_LIBURING=1) $(KHDR_INCLUDES) -I$(top_srcdir)/include \
	-I$(top_srcdir)/$(SRCARCH) -isystem $(KSFT_DIR) -fno-omit-frame-pointer
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
	-fno-tree-loop-distribute-patterns -fno-exceptions -fno-rtti -fno-sanitize=all
LDFLAGS_PROG := -pthread $(SAN_FLAGS) $(if $(STATIC),-static)

LIB_SRCS := $(wildcard lib/*.cc) $(wildcard $(SRCARCH)/lib/*.cc)
LIB_GUEST_SRCS := $(wildcard lib/guest/*.cc) $(wildcard $(SRCARCH)/lib/guest/*.cc)
LIB_C_SRCS := lib/harness_glue.c
LIB_OBJS := $(patsubst %.cc,$(OUTPUT)/obj/%.o,$(LIB_SRCS)) \
	$(patsubst %.cc,$(OUTPUT)/obj/%.guest.o,$(LIB_GUEST_SRCS)) \
	$(patsubst %.c,$(OUTPUT)/obj/%.o,$(LIB_C_SRCS))
LIB := $(OUTPUT)/libkvmgmem.a

# Test programs: <dir>/<name>.cc, plus <dir>/<name>_guest.cc when it has guest code.
TEST_SRCS := $(wildcard selftests/kvm/*_test.cc) $(wildcard $(SRCARCH)/*_test.cc)
TEST_GEN_PROGS := $(notdir $(TEST_SRCS:.cc=))
UNIT_SRCS := $(wildcard tests/*_unit.cc) $(wildcard $(SRCARCH)/tests/*_unit.cc)
UNIT_PROG := $(OUTPUT)/unit/project_unit_test

PROGS := $(addprefix $(OUTPUT)/,$(TEST_GEN_PROGS))

.PHONY: all run_tests check unit install clean distclean ksft-headers bench bench-compare
all: $(PROGS) $(UNIT_PROG) $(OUTPUT)/tests.list

$(KSFT_CACHE)/tools/testing/selftests/kselftest_harness.h:
	@test -r $(LINUX_SOURCE_TARBALL) || { echo "kselftest headers: $(LINUX_SOURCE_TARBALL) missing (apt-get install linux-source-6.12, or pass KDIR=<kernel tree>)" >&2; exit 1; }
	@mkdir -p $(KSFT_CACHE)
	tar -xJf $(LINUX_SOURCE_TARBALL) -C $(KSFT_CACHE) --strip-components=1 --wildcards \
		'*/tools/testing/selftests/kselftest.h' '*/tools/testing/selftests/kselftest_harness.h' \
		'*/tools/testing/selftests/run_kselftest.sh' '*/tools/testing/selftests/kselftest/*'
	@touch $@

ksft-headers: $(KSFT_STAMP)

# Objects are rebuilt when the flags change (SANITIZE, HAVE_LIBURING, ...).
FLAGS_STAMP := $(OUTPUT)/.flags
FLAGS_NOW := $(CXX) $(CXXFLAGS_HOST) | $(CXXFLAGS_GUEST) | $(LDFLAGS_PROG) $(LDLIBS_PROG)
ifneq ($(FLAGS_NOW),$(shell cat $(FLAGS_STAMP) 2>/dev/null))
$(shell mkdir -p $(OUTPUT) && echo '$(FLAGS_NOW)' > $(FLAGS_STAMP))
endif

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

$(LIB): $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

guest_obj = $(if $(wildcard $(1)_guest.cc),$(OUTPUT)/obj/$(1)_guest.o)
define PROG_RULE
$(OUTPUT)/$(notdir $(1)): $(OUTPUT)/obj/$(1).o $(call guest_obj,$(1)) $(LIB)
	$$(CXX) $$(LDFLAGS_PROG) -o $$@ $$^ $$(LDLIBS_PROG)
endef
$(foreach src,$(TEST_SRCS:.cc=),$(eval $(call PROG_RULE,$(src))))

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

INSTALL_PATH ?= $(top_srcdir)/build/install
install: all
	@mkdir -p $(INSTALL_PATH)/$(COLLECTION)
	install -m 0755 $(PROGS) run_tests.sh $(INSTALL_PATH)/$(COLLECTION)/
	install -m 0644 settings $(OUTPUT)/tests.list $(INSTALL_PATH)/$(COLLECTION)/
	install -m 0755 $(KSFT_DIR)/run_kselftest.sh $(INSTALL_PATH)/
	@mkdir -p $(INSTALL_PATH)/kselftest
	cp -a $(KSFT_DIR)/kselftest/. $(INSTALL_PATH)/kselftest/
	@for p in $(sort $(TEST_GEN_PROGS)); do echo "$(COLLECTION):$$p"; done > $(INSTALL_PATH)/kselftest-list.txt
	@echo "installed into $(INSTALL_PATH)"

clean:
	rm -rf $(OUTPUT)

distclean:
	rm -rf build results

-include $(shell find $(OUTPUT)/obj -name '*.d' 2>/dev/null)
-include bench/bench.mk
