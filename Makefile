# hsmagent - see README.md. GNU make.
#
#   make            build the daemon, the connector child and the tools
#   make test       install missing Debian packages, build, run the suite
#   make demo       end-to-end demonstration on a fresh SoftHSM token
#   make asan       the whole suite under AddressSanitizer + UBSan (clang)
#   make fuzz       a short run of every libFuzzer target (clang)
#   make bench      benchmarks (ratios measured side by side)
#   make lint       clang-tidy and cppcheck

# Installation directories: the GNU names (prefix, bindir, mandir, ...),
# each of which may be set on the command line; the upper-case names of
# earlier releases (PREFIX, SBINDIR, ...) still work. DESTDIR is only
# prepended by install and uninstall, never compiled in.
PREFIX		?= /usr/local
prefix		?= $(PREFIX)
exec_prefix	?= $(or $(EXEC_PREFIX),$(prefix))
bindir		?= $(or $(BINDIR),$(exec_prefix)/bin)
sbindir		?= $(or $(SBINDIR),$(exec_prefix)/sbin)
libexecdir	?= $(or $(LIBEXECDIR),$(exec_prefix)/libexec)
sysconfdir	?= $(or $(SYSCONFDIR),$(prefix)/etc)
localstatedir	?= $(prefix)/var
runstatedir	?= $(or $(RUNSTATEDIR),/run)
datarootdir	?= $(or $(DATAROOTDIR),$(prefix)/share)
datadir		?= $(datarootdir)
mandir		?= $(or $(MANDIR),$(datarootdir)/man)
man1dir		?= $(mandir)/man1
man5dir		?= $(mandir)/man5
man8dir		?= $(mandir)/man8
docdir		?= $(datarootdir)/doc/hsmagent
systemdunitdir	?= $(prefix)/lib/systemd/system
sysusersdir	?= $(prefix)/lib/sysusers.d
DESTDIR		?=

BUILD		?= build
CC		?= cc
PKG_CONFIG	?= pkg-config

# Debian packages the build, the tests and the demo need (make deps);
# pebble and lego are the ACME peers of the tests and of make bench; swtpm,
# tpm2-abrmd (with its TCTI), tpm2-pkcs11 and a D-Bus daemon make the TPM
# token of the TPM tests (tpm-fixtures/tpm-token.sh).
DEB_PKGS = build-essential pkg-config clang libclang-rt-14-dev \
	libssl-dev openssl libp11-dev libengine-pkcs11-openssl libp11-kit-dev \
	libcurl4-openssl-dev libjansson-dev libseccomp-dev libsqlite3-dev \
	libcmocka-dev softhsm2 opensc p11-kit gnutls-bin curl python3 \
	valgrind certmonger \
	procps iproute2 mandoc pebble lego python3-cryptography \
	swtpm swtpm-tools tpm2-abrmd libtss2-tcti-tabrmd0 libtpm2-pkcs11-1 \
	libtpm2-pkcs11-tools tpm2-tools dbus-daemon dbus-bin p11-kit-modules

PARENT_PKGS	:= openssl libp11 p11-kit-1 jansson sqlite3
CLIENT_PKGS	:= openssl jansson
CHILD_PKGS	:= openssl libcurl jansson libseccomp

WARN	 = -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wformat=2 \
	   -Wstrict-prototypes -Wmissing-prototypes -Wvla
HARDEN	 = -fstack-protector-strong -fPIE -fno-strict-aliasing
OPT	?= -O2 -D_FORTIFY_SOURCE=2
BASE_CFLAGS = -std=c17 -g $(OPT) $(WARN) $(HARDEN) -D_GNU_SOURCE \
	   -include $(DIRS_H)

# The walls between rooms, kept by the build: an object is compiled with
# the include paths of its room only (its folder: ARCHITECTURE.md), so an
# include across a wall fails to compile. The child's connectors see
# common/ alone; policy/, hsm/ and audit/ are leaves that see common/;
# the parent's rooms see each other and the leaves, never connectors/;
# the client sees audit/ (it verifies the log). Tests, fuzz targets and
# benchmarks see it all.
INC_ALL		:= -Icommon -Iagent -Iconfig -Iapi -Iorders -Iaudit -Ihsm \
		   -Ipolicy -Iconnectors
INC_PARENT	:= -Icommon -Iagent -Iconfig -Iapi -Iorders -Iaudit -Ihsm \
		   -Ipolicy
INC_common	:= -Icommon
INC_connectors	:= -Icommon -Iconnectors
INC_policy	:= -Icommon -Ipolicy
INC_hsm		:= -Icommon -Ihsm
INC_audit	:= -Icommon -Iaudit
INC_client	:= -Icommon -Iclient -Iaudit
INC_agent	:= $(INC_PARENT)
INC_config	:= $(INC_PARENT)
INC_api		:= $(INC_PARENT)
INC_orders	:= $(INC_PARENT)
room_inc	= $(or $(INC_$(firstword $(subst /, ,$(1)))),$(INC_ALL))
# What a room's objects are compiled with (tests/integration/test_walls.sh).
room-cflags-%:
	@echo $(BASE_CFLAGS) $(call room_inc,$*/x.c) \
		$(shell $(PKG_CONFIG) --cflags $(PARENT_PKGS) $(CHILD_PKGS))
BASE_LDFLAGS = -pie -Wl,-z,relro,-z,now

ifeq ($(SAN),1)
CC	 = clang
OPT	 = -O1
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=all
endif

CFLAGS_P  = $(BASE_CFLAGS) $(SANFLAGS) -pthread $(shell $(PKG_CONFIG) --cflags $(PARENT_PKGS))
CFLAGS_C  = $(BASE_CFLAGS) $(SANFLAGS) $(shell $(PKG_CONFIG) --cflags $(CHILD_PKGS))
LIBS_P	  = $(shell $(PKG_CONFIG) --libs $(PARENT_PKGS)) -ldl -pthread
LIBS_C	  = $(shell $(PKG_CONFIG) --libs $(CHILD_PKGS))
CFLAGS_U  = $(BASE_CFLAGS) $(SANFLAGS) $(shell $(PKG_CONFIG) --cflags $(CLIENT_PKGS))
LIBS_U	  = $(shell $(PKG_CONFIG) --libs $(CLIENT_PKGS))
LIBS_T	  = $(shell $(PKG_CONFIG) --libs cmocka)
LDFLAGS_ALL = $(BASE_LDFLAGS) $(SANFLAGS) $(LDFLAGS)

POLICY_SRCS	:= policy/policy_parse.c policy/policy_eval.c policy/san.c \
		   policy/csr.c
COMMON_SRCS	:= common/log.c common/util.c common/buf.c common/ipc.c \
		   common/scheme.c common/tls13_cv.c
PARENT_SRCS	:= agent/hsmagentd.c agent/probe_run.c config/config.c \
		   agent/audit_checkpoint.c agent/audit_receipts.c \
		   agent/supervisor.c \
		   hsm/hsm_public.c config/config_check.c \
		   agent/dispatch.c agent/jobs.c agent/resolve.c agent/notify.c \
		   hsm/hsm.c hsm/hsm_sign.c hsm/keygen.c hsm/mechs.c hsm/p11uri.c hsm/pin.c \
		   common/secret_file.c policy/sign_policy.c \
		   api/api_server.c api/peer_ident.c api/api_request.c api/api_ops.c \
		   orders/order_flow.c agent/agent_audit.c api/local_api.c \
		   api/activation.c agent/reload.c api/health.c \
		   api/metrics.c audit/audit.c audit/merkle.c \
		   audit/signed_note.c audit/checkpoint.c audit/tlog_proof.c \
		   audit/tlog_receipt.c orders/orders.c \
		   config/poll_schedule.c agent/hsm_worker.c agent/cred_watch.c \
		   agent/http01_listen.c agent/http01_server.c agent/acme_http01.c \
		   config/connector_kind.c agent/key_roles.c \
		   agent/connect_broker.c agent/resolver.c api/api_budget.c \
		   agent/path_trust.c \
		   orders/tracked.c orders/tracking.c orders/order_new.c \
		   orders/cert_hash.c \
		   api/api_track.c \
		   api/api_credential.c api/api_chain.c \
		   policy/acme_sign_policy.c policy/acme_url_pin.c \
		   common/acme_jws.c common/b64url.c \
		   hsm/account_key.c agent/acme_signer.c agent/acme_eab.c \
		   $(POLICY_SRCS)
# hsmagent links no libcrypto (half its start, bench/README.md): its
# audit and certmonger-helper commands run hsmagent-tools, the same
# client linked whole (client/tools.h).
CLIENT_SRCS	:= client/hsmagent.c client/deliver.c client/agent_conn.c \
		   common/util.c common/log.c
TOOLS_SRCS	:= $(CLIENT_SRCS) client/audit_cmd.c client/certmonger.c \
		   client/tools_inproc.c audit/audit.c audit/merkle.c \
		   audit/signed_note.c audit/checkpoint.c audit/tlog_verify.c \
		   audit/tlog_proof.c audit/tlog_receipt.c common/buf.c
CHILD_SRCS	:= connectors/connector_main.c connectors/child_ipc.c \
		   connectors/tls_setup.c connectors/probe.c \
		   connectors/keyproxy.c connectors/sandbox_linux.c \
		   connectors/ca_job.c connectors/registry.c \
		   connectors/entrust.c connectors/entrust_msg.c \
		   connectors/sectigo.c connectors/sectigo_msg.c \
		   connectors/pem_bundle.c \
		   connectors/wipe_alloc.c connectors/acme.c \
		   connectors/acme_msg.c \
		   common/acme_jws.c common/b64url.c

# Parent and child objects are built apart: they link different libraries.
obj_p = $(patsubst %.c,$(BUILD)/p/%.o,$(1))
obj_c = $(patsubst %.c,$(BUILD)/c/%.o,$(1))
obj_u = $(patsubst %.c,$(BUILD)/u/%.o,$(1))

HSMAGENTD	:= $(BUILD)/hsmagentd
CONNECTOR	:= $(BUILD)/hsmagent-connector
CLIENT		:= $(BUILD)/hsmagent
TOOLS		:= $(BUILD)/hsmagent-tools
PROGRAMS	:= $(HSMAGENTD) $(CONNECTOR) $(CLIENT) $(TOOLS)

.PHONY: all clean test test-build test-run demo asan fuzz fuzz-long bench lint deps \
	install valgrind valgrind-run \
	uninstall fixtures man man-lint FORCE

all: $(PROGRAMS)

# The directories compiled in (the default configuration, connector and
# socket paths): written on every make, replaced only when they change,
# so that "make install prefix=/usr sysconfdir=/etc" after a plain
# "make" rebuilds what names them instead of installing /usr/local's.
DIRS_H		:= $(BUILD)/dirs.h
$(DIRS_H): FORCE
	@mkdir -p $(dir $@)
	@printf '#define LIBEXECDIR "%s"\n#define SYSCONFDIR "%s"\n#define HSMAGENT_SOCKET "%s"\n' \
		'$(libexecdir)/hsmagent' '$(sysconfdir)/hsmagent' \
		'$(runstatedir)/hsmagent/hsmagent.sock' >$@.new
	@if cmp -s $@.new $@; then rm -f $@.new; else mv $@.new $@; fi

$(BUILD)/p/%.o: %.c $(DIRS_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_P) $(call room_inc,$<) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/c/%.o: %.c $(DIRS_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_C) $(call room_inc,$<) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/u/%.o: %.c $(DIRS_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_U) $(call room_inc,$<) $(CFLAGS) -MMD -MP -c $< -o $@

$(HSMAGENTD): $(call obj_p,$(PARENT_SRCS) $(COMMON_SRCS))
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_P)

$(CONNECTOR): $(call obj_c,$(CHILD_SRCS) $(COMMON_SRCS))
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_C)

$(CLIENT): $(call obj_u,$(CLIENT_SRCS) client/tools_exec.c)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(shell $(PKG_CONFIG) --libs jansson)

$(TOOLS): $(call obj_u,$(TOOLS_SRCS))
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_U)

# ---- tests ---------------------------------------------------------------

T_COMMON	:= common/log.c common/util.c common/buf.c common/ipc.c common/tls13_cv.c \
		   common/scheme.c
UNIT_TESTS	:= test_ipc test_sign_policy test_p11uri test_config \
		   test_sandbox test_hsm test_audit test_orders test_policy \
		   test_csr test_api_request test_entrust_msg test_poll_schedule \
		   test_sectigo_msg test_acme_jws test_acme_sign_policy \
		   test_acme_msg test_acme_eab test_acme_http01 test_child_ipc \
		   test_http01_server test_hsm_worker test_acme_url_pin \
		   test_merkle test_signed_note test_api_budget test_cert_hash \
		   test_keyproxy
UNIT_BINS	:= $(addprefix $(BUILD)/tests/,$(UNIT_TESTS))
ROGUE		:= $(BUILD)/tests/rogue-connector
ACME_PROBE	:= $(BUILD)/tests/acme-account-probe
HOSTILE		:= $(BUILD)/tests/hostile-child
TEST_CHILD	:= $(BUILD)/tests/hsmagent-connector-test
SLOW_P11	:= $(BUILD)/tests/pkcs11-slow.so
QUIRKS_P11	:= $(BUILD)/tests/pkcs11-quirks.so
KILL_SYNC	:= $(BUILD)/tests/kill-after-sync.so
FIXTURES	:= $(BUILD)/fixtures

# Tests link rooms, not files: each room's objects are one archive per
# flavour (parent or child), and the linker takes from it what the test
# uses. The rooms are linked as a group: the parent's refer to each other.
PARENT_ROOMS	:= agent api orders config audit hsm policy common
CHILD_ROOMS	:= connectors common
room_lib_p	= $(BUILD)/lib/p/$(1).a
room_lib_c	= $(BUILD)/lib/c/$(1).a
define parent_room
$(call room_lib_p,$(1)): $(call obj_p,$(filter-out agent/hsmagentd.c, \
	$(filter $(1)/%,$(sort $(PARENT_SRCS) $(COMMON_SRCS)))))
endef
define child_room
$(call room_lib_c,$(1)): $(call obj_c,$(filter-out \
	connectors/connector_main.c connectors/registry.c, \
	$(filter $(1)/%,$(sort $(CHILD_SRCS) $(COMMON_SRCS)))))
endef
$(foreach r,$(PARENT_ROOMS),$(eval $(call parent_room,$(r))))
$(foreach r,$(CHILD_ROOMS),$(eval $(call child_room,$(r))))
# Two rules: one pattern rule with two targets would make both at once.
$(BUILD)/lib/p/%.a:
	@mkdir -p $(dir $@)
	@rm -f $@
	$(AR) rcs $@ $^
$(BUILD)/lib/c/%.a:
	@mkdir -p $(dir $@)
	@rm -f $@
	$(AR) rcs $@ $^
ROOMS_P		:= $(foreach r,$(PARENT_ROOMS),$(call room_lib_p,$(r)))
ROOMS_C		:= $(foreach r,$(CHILD_ROOMS),$(call room_lib_c,$(r)))

P_TESTS		:= test_sign_policy test_p11uri test_config test_hsm \
		   test_audit test_orders test_policy test_csr test_api_request \
		   test_poll_schedule test_hsm_worker test_acme_sign_policy \
		   test_acme_url_pin test_acme_eab test_acme_http01 \
		   test_http01_server test_merkle test_signed_note \
		   test_api_budget test_cert_hash
C_TESTS		:= $(filter-out $(P_TESTS),$(UNIT_TESTS))
$(foreach t,$(P_TESTS),$(eval $(BUILD)/tests/$(t): \
	$(call obj_p,tests/unit/$(t).c) $(ROOMS_P)))
$(foreach t,$(C_TESTS),$(eval $(BUILD)/tests/$(t): \
	$(call obj_c,tests/unit/$(t).c) $(ROOMS_C)))
$(ROGUE): $(call obj_c,tests/rogue_connector.c tests/stub_child.c) $(ROOMS_C)
$(HOSTILE): $(call obj_c,tests/hostile_child.c tests/stub_child.c) $(ROOMS_C)
# A test tool: an ACME account with EAB registered at Pebble through the
# ACME pieces, in one process (test_acme_account.sh).
$(ACME_PROBE): $(call obj_p,tests/acme_account_probe.c \
	connectors/acme_msg.c) $(ROOMS_P)
# The child with the test CA connector instead of the product registry.
$(TEST_CHILD): $(call obj_c,$(filter-out connectors/registry.c,$(CHILD_SRCS)) \
	tests/testca_connector.c tests/sandbox_probe_connector.c \
	bench/sign_connector.c bench/sign_loop.c tests/connector_registry_test.c $(COMMON_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_C)

# A PKCS#11 module that forwards to SoftHSM with a slow or hung C_Sign
# (test_hsm_slow.sh). Never instrumented: it stands for a vendor's module.
$(SLOW_P11): tests/pkcs11_slow.c tests/pkcs11_forward.h
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -fPIC -shared $(shell $(PKG_CONFIG) --cflags \
	    p11-kit-1) -o $@ $< -ldl

# One that forwards to SoftHSM and behaves as other tokens do, on demand
# (tpm2-pkcs11's quirks among them: test_hsm_quirks.sh).
$(QUIRKS_P11): tests/pkcs11_quirks.c tests/pkcs11_forward.h
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -fPIC -shared $(shell $(PKG_CONFIG) --cflags \
	    p11-kit-1) -o $@ $< -ldl

# The agent killed right after a given sync (test_records_order.sh).
# Never instrumented: it is preloaded into instrumented agents.
$(KILL_SYNC): tests/kill_after_sync.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -fPIC -shared -o $@ $< -ldl

$(UNIT_BINS) $(ROGUE) $(ACME_PROBE) $(HOSTILE):
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $(filter %.o,$^) -Wl,--start-group \
		$(filter %.a,$^) -Wl,--end-group $(LIBS_P) $(LIBS_C) $(LIBS_T) \
		-pthread

# ---- benchmarks (make bench): the peers the agent is measured against --

BENCH_SIGN	:= $(BUILD)/bench/sign-libp11
BENCH_HS	:= $(BUILD)/bench/handshake-engine
BENCH_TLS	:= $(BUILD)/bench/tls-server
BENCH_LOAD	:= $(BUILD)/bench/api-load
BENCH_AUDIT	:= $(BUILD)/bench/bench-audit
BENCH_FLOOR	:= $(BUILD)/bench/ipc-floor
BENCH_BINS	:= $(BENCH_SIGN) $(BENCH_HS) $(BENCH_TLS) $(BENCH_LOAD) \
		   $(BENCH_AUDIT) $(BENCH_FLOOR)
BENCH_COMMON	:= hsm/pin.c common/secret_file.c common/log.c common/util.c
$(BENCH_SIGN): $(call obj_p,bench/sign_libp11.c bench/sign_loop.c common/tls13_cv.c \
	$(BENCH_COMMON))
$(BENCH_HS): $(call obj_c,bench/handshake_engine.c $(BENCH_COMMON))
$(BENCH_TLS): $(call obj_c,bench/tls_server.c common/log.c)
$(BENCH_LOAD): $(call obj_p,bench/api_load.c common/log.c common/util.c)
$(BENCH_FLOOR): $(call obj_p,bench/ipc_floor.c)
# The audit room and the HSM room as the agent links them.
$(BENCH_AUDIT): $(call obj_p,bench/audit_tlog.c) $(ROOMS_P)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $(filter %.o,$^) -Wl,--start-group \
		$(filter %.a,$^) -Wl,--end-group $(LIBS_P) -pthread
BENCH_OTHERS	:= $(filter-out $(BENCH_AUDIT),$(BENCH_BINS))
$(BENCH_OTHERS):
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_P) $(LIBS_C) -pthread -lm

# Tests run against a fresh SoftHSM token every time.
fixtures:
	bash softhsm-fixtures/make-fixtures.sh $(FIXTURES)

deps:
	@missing=$$(for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "deps: all Debian packages present"; fi

# What the suite runs, built BUILD_JOBS at once (default: the CPUs; CI
# builds three flavours, and one compiler at a time left a CPU idle for
# minutes), and a fresh token.
BUILD_JOBS	?= $(shell nproc 2>/dev/null || echo 2)
test-build: all $(UNIT_BINS) $(ROGUE) $(TEST_CHILD) $(ACME_PROBE) \
	$(HOSTILE) $(SLOW_P11) $(QUIRKS_P11) $(KILL_SYNC) fixtures

# test-run: the suite without the package check (used by asan too).
test-run:
	$(MAKE) -j$(BUILD_JOBS) test-build
	BUILD=$(abspath $(BUILD)) HSMAGENT_FIXTURES=$(abspath $(FIXTURES)) \
		bash tests/run-all.sh

# The whole suite: each fuzz target briefly, then unit and integration
# tests (their "N passed, N failed" line comes last, for CI).
TEST_FUZZ_SECONDS ?= 5
test: deps
	$(MAKE) fuzz FUZZ_SECONDS=$(TEST_FUZZ_SECONDS)
	$(MAKE) test-run

# Sanitizer reports end the test that triggers them; libp11's own leaks
# are suppressed (tests/lsan.supp says which and why).
asan:
	$(MAKE) deps
	HSMAGENT_SUITE_VARIANT=asan \
	ASAN_OPTIONS=fast_unwind_on_malloc=0:detect_leaks=1 \
	LSAN_OPTIONS=suppressions=$(abspath tests/lsan.supp) \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(MAKE) BUILD=build-asan SAN=1 test-run

# The integration suite with the agent under valgrind's memcheck (the
# sandboxed child runs natively: valgrind cannot live under its seccomp
# filter). Any report in a log fails it; tests/valgrind.supp says what is
# not counted.
VALGRIND_LOGDIR	:= $(abspath $(BUILD))/valgrind
valgrind:
	$(MAKE) deps
	$(MAKE) valgrind-run

valgrind-run:
	$(MAKE) -j$(BUILD_JOBS) test-build
	@rm -rf $(VALGRIND_LOGDIR) && mkdir -p $(VALGRIND_LOGDIR)
	BUILD=$(abspath $(BUILD)) HSMAGENT_FIXTURES=$(abspath $(FIXTURES)) \
	HSMAGENT_SUITE_VARIANT=valgrind \
	VALGRIND_LOGDIR=$(VALGRIND_LOGDIR) bash -c 'set -a; \
		. $(abspath $(FIXTURES))/env.sh; set +a; \
		bash tests/run-integration.sh $(VALGRIND_TESTS)'
	@bad=$$(find $(VALGRIND_LOGDIR) -name '*.log' -size +0 | wc -l); \
	n=$$(find $(VALGRIND_LOGDIR) -name '*.log' | wc -l); \
	echo "valgrind: $$n agent processes checked, $$bad with reports"; \
	if [ "$$bad" -ne 0 ]; then \
		find $(VALGRIND_LOGDIR) -name '*.log' -size +0 -exec head -40 {} \; ; \
		exit 1; fi

# ---- fuzzing ---------------------------------------------------------------

FUZZ_SECONDS	?= 30
FUZZ_TARGETS	:= fuzz_ipc fuzz_config fuzz_p11uri fuzz_api_request \
		   fuzz_policy fuzz_csr fuzz_audit_verify fuzz_cagw \
		   fuzz_scm fuzz_acme_sign fuzz_acme_msg fuzz_acme_http01 \
		   fuzz_note
FUZZ_FLAGS	:= -std=c17 -g -O1 -D_GNU_SOURCE \
		   -fsanitize=fuzzer,address,undefined -Icommon -Iagent -Iconfig -Iapi \
		   -Iorders -Iaudit -Ihsm \
		   -Ipolicy -Iconnectors \
		   $(shell $(PKG_CONFIG) --cflags openssl jansson)
FUZZ_LIBS	:= $(shell $(PKG_CONFIG) --libs openssl jansson)
build-fuzz/fuzz_ipc: fuzz/fuzz_ipc.c orders/cert_hash.c $(T_COMMON)
build-fuzz/fuzz_config: fuzz/fuzz_config.c config/config.c \
	config/connector_kind.c hsm/p11uri.c \
	config/poll_schedule.c policy/acme_sign_policy.c common/b64url.c $(T_COMMON)
build-fuzz/fuzz_p11uri: fuzz/fuzz_p11uri.c hsm/p11uri.c $(T_COMMON)
build-fuzz/fuzz_api_request: fuzz/fuzz_api_request.c api/api_request.c \
	policy/san.c common/util.c common/log.c
build-fuzz/fuzz_policy: fuzz/fuzz_policy.c $(POLICY_SRCS) common/util.c \
	common/log.c
build-fuzz/fuzz_csr: fuzz/fuzz_csr.c $(POLICY_SRCS) common/util.c common/log.c
build-fuzz/fuzz_cagw: fuzz/fuzz_cagw.c connectors/entrust_msg.c $(T_COMMON)
build-fuzz/fuzz_scm: fuzz/fuzz_scm.c connectors/sectigo_msg.c \
	connectors/pem_bundle.c connectors/keyproxy.c $(T_COMMON)
build-fuzz/fuzz_acme_sign: fuzz/fuzz_acme_sign.c policy/acme_sign_policy.c policy/acme_url_pin.c \
	common/b64url.c $(T_COMMON)
build-fuzz/fuzz_acme_msg: fuzz/fuzz_acme_msg.c connectors/acme_msg.c \
	$(T_COMMON)
build-fuzz/fuzz_acme_http01: fuzz/fuzz_acme_http01.c \
	agent/acme_http01.c
build-fuzz/fuzz_note: fuzz/fuzz_note.c audit/signed_note.c audit/checkpoint.c \
	audit/tlog_proof.c common/util.c common/log.c
build-fuzz/fuzz_audit_verify: fuzz/fuzz_audit_verify.c audit/audit.c \
	audit/merkle.c common/buf.c common/util.c common/log.c
build-fuzz/%:
	@mkdir -p build-fuzz
	clang $(FUZZ_FLAGS) -o $@ $^ $(FUZZ_LIBS)

# Built, then run BUILD_JOBS at once (each fuzzer keeps one CPU busy).
fuzz: deps
	$(MAKE) -j$(BUILD_JOBS) $(addprefix build-fuzz/,$(FUZZ_TARGETS))
	@bash fuzz/run-targets.sh $(BUILD_JOBS) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Every target for FUZZ_MINUTES minutes (default 10): the long campaign.
FUZZ_MINUTES	?= 10
fuzz-long:
	$(MAKE) fuzz FUZZ_SECONDS=$$(( $(FUZZ_MINUTES) * 60 ))

# ---- demo, bench, lint, install --------------------------------------------

demo: deps
	$(MAKE) all
	BUILD=$(abspath $(BUILD)) bash tests/demo.sh

bench: deps
	$(MAKE) -j$(BUILD_JOBS) all $(TEST_CHILD) $(BENCH_BINS)
	BUILD=$(abspath $(BUILD)) bash bench/run.sh

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
		--std=c11 -D_GNU_SOURCE -Icommon -Iagent -Iconfig -Iapi -Iorders \
		-Iaudit -Ihsm -Iconnectors \
		-Ipolicy --suppress=missingIncludeSystem \
		common agent config api orders audit hsm connectors policy

# Man pages and units name the installed paths: made from their sources
# with the directories above (never with DESTDIR).
MANPAGES	:= hsmagent.1 hsmagentd.conf.5 hsmagent-policy.5 hsmagentd.8
UNITS		:= hsmagentd.service hsmagentd.socket
GENERATED	:= $(addprefix $(BUILD)/man/,$(MANPAGES)) \
		   $(addprefix $(BUILD)/systemd/,$(UNITS)) $(BUILD)/systemd/hsmagent.sysusers
SUBST		= sed -e 's|@sbindir@|$(sbindir)|g' -e 's|@bindir@|$(bindir)|g' \
		   -e 's|@libexecdir@|$(libexecdir)|g' \
		   -e 's|@sysconfdir@|$(sysconfdir)|g' \
		   -e 's|@runstatedir@|$(runstatedir)|g' \
		   -e 's|@docdir@|$(docdir)|g' -e 's|@prefix@|$(prefix)|g'

# Made again every time: they must name the directories of this make
# run (make install prefix=/usr), which make cannot see change.
$(BUILD)/man/%: man/% FORCE
	@mkdir -p $(dir $@)
	@$(SUBST) $< >$@
$(BUILD)/systemd/%: systemd/%.in FORCE
	@mkdir -p $(dir $@)
	@$(SUBST) $< >$@
FORCE:

man: $(GENERATED)

# Each man page lint-clean (mandoc -T lint at warning level).
man-lint: $(GENERATED)
	mandoc -T lint -W warning $(addprefix $(BUILD)/man/,$(MANPAGES))

# Everything install writes, as SOURCE:DESTINATION:MODE; uninstall
# removes exactly these files, then the package's own directories if
# they are empty.
INSTALLED := \
	$(HSMAGENTD):$(sbindir)/hsmagentd:0755 \
	$(CLIENT):$(bindir)/hsmagent:0755 \
	$(TOOLS):$(libexecdir)/hsmagent/hsmagent-tools:0755 \
	$(CONNECTOR):$(libexecdir)/hsmagent/hsmagent-connector:0755 \
	hsmagentd.conf.example:$(sysconfdir)/hsmagent/hsmagentd.conf.example:0644 \
	policy/policy.conf.example:$(sysconfdir)/hsmagent/policy.conf.example:0644 \
	$(BUILD)/man/hsmagent.1:$(man1dir)/hsmagent.1:0644 \
	$(BUILD)/man/hsmagentd.conf.5:$(man5dir)/hsmagentd.conf.5:0644 \
	$(BUILD)/man/hsmagent-policy.5:$(man5dir)/hsmagent-policy.5:0644 \
	$(BUILD)/man/hsmagentd.8:$(man8dir)/hsmagentd.8:0644 \
	$(BUILD)/systemd/hsmagentd.service:$(systemdunitdir)/hsmagentd.service:0644 \
	$(BUILD)/systemd/hsmagentd.socket:$(systemdunitdir)/hsmagentd.socket:0644 \
	$(BUILD)/systemd/hsmagent.sysusers:$(sysusersdir)/hsmagent.conf:0644 \
	README.md:$(docdir)/README.md:0644 \
	SECURITY.md:$(docdir)/SECURITY.md:0644 \
	policy/POLICY.md:$(docdir)/POLICY.md:0644
PKGDIRS := $(libexecdir)/hsmagent $(sysconfdir)/hsmagent $(docdir)
field = $(word $(1),$(subst :, ,$(2)))

install: all $(GENERATED)
	$(foreach e,$(INSTALLED),install -D -m $(call field,3,$(e)) \
		$(call field,1,$(e)) $(DESTDIR)$(call field,2,$(e)) &&) true

uninstall:
	rm -f $(foreach e,$(INSTALLED),$(DESTDIR)$(call field,2,$(e)))
	-rmdir $(addprefix $(DESTDIR),$(PKGDIRS)) 2>/dev/null

-include $(shell find $(BUILD) -path $(BUILD)/test-logs -prune -o -name '*.d' -type f -print 2>/dev/null)

clean:
	rm -rf build build-asan build-fuzz
