/*
 * hsmagentd.c - the parent: start-up order, event loop, stop.
 *
 * Start-up order (ARCHITECTURE.md, and main() at the end of this file):
 * config; public material (trust store, certificate chain), child
 * identity, CA names; then the child is started BEFORE any PKCS#11 call;
 * only then the HSM login; then READY.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "acme_signer.h"
#include "connect_broker.h"
#include "hsm_worker.h"
#include "http01_server.h"
#include "agent.h"
#include "log.h"
#include "audit_checkpoint.h"
#include "probe_run.h"
#include "secret_file.h"
#include "util.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR	"/usr/local/etc/hsmagent"
#endif
static volatile int	 quit;
static int64_t		 drain_deadline_ms;

static __attribute__((noreturn)) void
usage(void)
{
	fprintf(stderr, "usage: hsmagentd [-dtV] [-c config]\n"
	    "       hsmagentd -P [-dS] [-c config] [-n count]\n");
	exit(2);
}

/* Non-dumpable (no ptrace by our uid, no core), private files only. */
static void
harden_process(void)
{
	struct rlimit rl = { 0, 0 };

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("prctl(PR_SET_DUMPABLE)");
	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		fatal("setrlimit(RLIMIT_CORE)");
	umask(077);
	signal(SIGPIPE, SIG_IGN);
}

int
leaf_key_type(const char *pem, size_t len, int *type)
{
	BIO		*bio = BIO_new_mem_buf(pem, (int)len);
	X509		*x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	EVP_PKEY	*pk = x ? X509_get0_pubkey(x) : NULL;
	int		 r = -1;

	if (pk != NULL && EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC) {
		*type = IPC_KEY_EC;
		r = 0;
	} else if (pk != NULL && EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA) {
		*type = IPC_KEY_RSA;
		r = 0;
	}
	X509_free(x);
	BIO_free(bio);
	ERR_clear_error();
	return r;
}

/*
 * TLS 1.3 only is the default: a TLS 1.2 handshake signature is over a
 * digest the parent cannot tell from any other. Each place that allows
 * it is named, on -t and at every start.
 */
static void
say_tls12(const struct config *cfg, int test_only)
{
	for (size_t i = 0; i <= cfg->nconnectors; i++) {
		const char *what = i < cfg->nconnectors ?
		    cfg->connectors[i].name : "[probe]";

		if (i < cfg->nconnectors ? !cfg->connectors[i].allow_tls12 :
		    cfg->probe_url == NULL || !cfg->probe_allow_tls12)
			continue;
		if (test_only)
			printf("%s%s allows TLS 1.2: its handshake signatures "
			    "are over digests the agent cannot check (see "
			    "SECURITY.md)\n", i < cfg->nconnectors ?
			    "connector " : "", what);
		else
			log_warn("tls: %s%s allows TLS 1.2: its handshake "
			    "signatures are over digests the agent cannot check",
			    i < cfg->nconnectors ? "connector " : "", what);
	}
}

/* Everything public the child needs, checked before anything starts. */
static int
load_public(struct agent *a, char *err, size_t errlen)
{
	struct config *cfg = a->cfg;

	if (access(cfg->connector_path, X_OK) == -1) {
		snprintf(err, errlen, "connector_path %s: %s",
		    cfg->connector_path, strerror(errno));
		return -1;
	}
	if (access(cfg->hsm_module, R_OK) == -1) {
		snprintf(err, errlen, "[hsm] module %s: %s", cfg->hsm_module,
		    strerror(errno));
		return -1;
	}
	if (read_file_capped(cfg->tls_ca_file, IPC_MAX_BLOB, &a->pub.trust_pem,
	    &a->pub.trust_len) == -1 || a->pub.trust_len == 0) {
		snprintf(err, errlen, "[tls] ca_file %s: %s", cfg->tls_ca_file,
		    a->pub.trust_pem ? "empty" : strerror(errno));
		return -1;
	}
	if (read_file_capped(cfg->hsm_certificate, IPC_MAX_BLOB, &a->pub.chain_pem,
	    &a->pub.chain_len) == -1 ||
	    leaf_key_type(a->pub.chain_pem, a->pub.chain_len, &a->pub.key_type) == -1) {
		snprintf(err, errlen, "[hsm] certificate %s: %s",
		    cfg->hsm_certificate, a->pub.chain_pem ? "no EC or RSA "
		    "certificate in it" : strerror(errno));
		return -1;
	}
	/* For health: the gateway credential's own expiry. */
	(void)pem_cert_dates(a->pub.chain_pem, &a->pub.cert_not_before,
	    &a->pub.cert_not_after);
	if (connector_targets_split(cfg, a->ca_targets, err, errlen) == -1)
		return -1;
	return probe_target_split(cfg, a->probe.host, sizeof(a->probe.host),
	    &a->probe.port, &a->probe.host_is_ip, err, errlen);
}

/* Who the child becomes: a dedicated user when we run as root. */
static int
child_identity(struct agent *a, char *err, size_t errlen)
{
	struct passwd	*pw;
	struct stat	 st;

	if (geteuid() != 0) {
		a->child_uid = geteuid();
		a->child_gid = getegid();
		return 0;
	}
	if ((pw = getpwnam(a->cfg->child_user)) == NULL) {
		snprintf(err, errlen, "child_user '%s' does not exist; create "
		    "it (useradd --system --no-create-home --shell "
		    "/usr/sbin/nologin %s) or name another", a->cfg->child_user,
		    a->cfg->child_user);
		return -1;
	}
	if (pw->pw_uid == 0 || pw->pw_gid == 0) {
		snprintf(err, errlen, "child_user '%s' is root", a->cfg->child_user);
		return -1;
	}
	a->child_uid = pw->pw_uid;
	a->child_gid = pw->pw_gid;
	/* The child receives the path in a fixed field: never cut it short. */
	if (strlen(a->cfg->chroot_dir) > IPC_MAX_PATH) {
		snprintf(err, errlen, "chroot_dir is longer than %d bytes",
		    IPC_MAX_PATH);
		return -1;
	}
	if (stat(a->cfg->chroot_dir, &st) == -1 && errno == ENOENT &&
	    mkdir(a->cfg->chroot_dir, 0755) == -1) {
		snprintf(err, errlen, "chroot_dir %s: %s", a->cfg->chroot_dir,
		    strerror(errno));
		return -1;
	}
	/* mkdir honours our umask 077; the dir only needs to be searchable. */
	if (stat(a->cfg->chroot_dir, &st) == 0 && st.st_uid == 0 &&
	    (st.st_mode & 0777) == 0700)
		chmod(a->cfg->chroot_dir, 0755);
	return 0;
}

static int
setup_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		fatal("sigprocmask");
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

/*
 * SIGTERM: no new connections and no new CA calls; the jobs in flight
 * get until the deadline ([global] shutdown_timeout) to finish, so an
 * answer the CA already gave is stored, not asked for again after the
 * restart. A second SIGTERM stops at once. Whatever is left is in
 * orders.db already (the intent is committed before each CA call) and
 * resumes at the next start.
 */
static void
start_drain(struct agent *a)
{
	char status[64];

	if (a->draining) {
		log_info("event=agent.stopping second signal: stopping now");
		quit = 1;
		return;
	}
	a->draining = 1;
	drain_deadline_ms = monotime_ms() +
	    (int64_t)a->cfg->shutdown_timeout_s * 1000;
	api_stop_listening(&a->api);
	snprintf(status, sizeof(status), "stopping: %d jobs in flight",
	    jobs_active(a));
	log_info("event=agent.stopping %s (at most %u s)", status,
	    a->cfg->shutdown_timeout_s);
	notify_stopping(status);
}

/* Drain over? Nothing in flight, or the deadline passed. */
static int
drained(struct agent *a, int64_t now)
{
	int n;

	if (!a->draining)
		return 0;
	if ((n = jobs_active(a)) == 0)
		return 1;
	if (now < drain_deadline_ms)
		return 0;
	log_warn("event=agent.stopping %d jobs still in flight at the "
	    "deadline; their orders resume at the next start", n);
	agent_audit(a, "agent.drain", NULL, "timeout", json_pack("{s:i}",
	    "jobs_in_flight", n));
	return 1;
}

static void
handle_signals(struct agent *a)
{
	struct signalfd_siginfo si;

	while (read(a->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			child_reap(a);
			break;
		case SIGTERM:
		case SIGINT:
			start_drain(a);
			break;
		case SIGUSR1:
			probe_daemon_now(a);
			break;
		case SIGHUP:
			if (!a->draining)
				agent_reload(a);
			break;
		}
	}
}

static int
poll_timeout(const struct agent *a, int64_t now)
{
	int64_t next = now + 1000, t;

	if (a->child.pid == 0 && a->child.restart_at_ms != 0 &&
	    a->child.restart_at_ms < next)
		next = a->child.restart_at_ms;
	if ((t = jobs_next_deadline(a)) != 0 && t < next)
		next = t;
	if ((t = probe_daemon_next_ms()) != 0 && t < next)
		next = t;
	if (a->draining && drain_deadline_ms < next)
		next = drain_deadline_ms;
	return next <= now ? 0 : (int)(next - now);
}

static void
event_loop(struct agent *a, int command)
{
	size_t		 room = 2 + 1 + a->api.max + HTTP01_MAX_POLLFDS +
			    BROKER_MAX_POLLFDS + 1;
	struct pollfd	*pfd = xcalloc(room, sizeof(*pfd));

	while (!quit && !a->child.config_refused && !drained(a,
	    monotime_ms())) {
		int64_t		 now = monotime_ms(), t;
		size_t		 n = 1, napi, nh, nb;
		int		 timeout, child_at = -1;

		if (command && probe_run_step(a, now))
			break;
		pfd[0] = (struct pollfd){ a->sigfd, POLLIN, 0 };
		if (a->child.fd != -1) {
			child_at = (int)n;
			pfd[n++] = (struct pollfd){ a->child.fd, POLLIN, 0 };
		}
		napi = api_pollfds(&a->api, pfd + n, room - n);
		/* Last: the jobs before may have added or dropped tokens. */
		nh = http01_pollfds(a->http01, pfd + n + napi, room - n - napi);
		nb = broker_pollfds(a->broker, pfd + n + napi + nh,
		    room - n - napi - nh);
		pfd[n + napi + nh + nb] = (struct pollfd){
		    hsm_worker_fd(a->hsm_worker), POLLIN, 0 };
		timeout = broker_timeout_ms(a->broker, http01_timeout_ms(a->http01,
		    poll_timeout(a, now)));
		if ((t = api_tick(&a->api, now)) != 0 && t - now < timeout)
			timeout = t <= now ? 0 : (int)(t - now);
		if ((t = agent_audit_tick(a, now)) != 0 && t - now < timeout)
			timeout = t <= now ? 0 : (int)(t - now);
		if ((t = api_ops_budget_tick(a, now)) != 0 && t - now < timeout)
			timeout = t <= now ? 0 : (int)(t - now);
		if ((t = audit_ckpt_tick(a, now)) != 0 && t - now < timeout)
			timeout = t <= now ? 0 : (int)(t - now);
		if ((t = hsm_worker_deadline(a->hsm_worker,
		    a->cfg->sign_timeout_ms)) != 0 && t - now < timeout)
			timeout = t <= now ? 0 : (int)(t - now);
		/* The worker may finish a signature while we wait. */
		pthread_mutex_unlock(&a->loop_lock);
		if (poll(pfd, n + napi + nh + nb + 1, timeout) == -1 &&
		    errno != EINTR)
			fatal("poll");
		pthread_mutex_lock(&a->loop_lock);
		if (pfd[0].revents & POLLIN)
			handle_signals(a);
		if (child_at != -1 && pfd[child_at].revents != 0)
			child_readable(a);
		now = monotime_ms();
		if (napi > 0)
			api_handle(a, &a->api, pfd + n, napi, now);
		http01_handle(a->http01, pfd + n + napi, nh);
		broker_handle(a, pfd + n + napi + nh, nb);
		if (pfd[n + napi + nh + nb].revents & POLLIN)
			hsm_work_done(a);
		hsm_work_tick(a, now);
		/* Draining: no restarts, no new polls or probes. */
		if (!a->draining || a->child.pid != 0)
			child_tick(a, now);
		if (a->draining)
			continue;
		cred_watch_tick(a, now);
		if (a->orders != NULL)
			orders_tick(a, now);
		if (!command)
			probe_daemon_tick(a, now);
	}
	free(pfd);
}

static void
shutdown_child(struct agent *a)
{
	int64_t deadline = monotime_ms() + 2000;

	if (a->child.fd != -1) {
		close(a->child.fd);	/* EOF: the child exits by itself */
		a->child.fd = -1;
	}
	while (a->child.pid > 0 && monotime_ms() < deadline) {
		if (waitpid(a->child.pid, NULL, WNOHANG) == a->child.pid) {
			a->child.pid = 0;
			return;
		}
		usleep(10000);
	}
	if (a->child.pid > 0) {
		kill(a->child.pid, SIGKILL);
		waitpid(a->child.pid, NULL, 0);
		a->child.pid = 0;
	}
}

static void
report_counters(const struct agent *a)
{
	const struct sign_policy *p = &a->sp;

	log_info("hsmagentd: signatures granted %llu, refused %llu "
	    "(scheme %llu, digest-length %llu, no-job %llu, rate %llu, "
	    "acme-policy %llu, tls12 %llu), hsm-failed %llu; child restarts %llu, "
	    "sandbox kills %llu, protocol violations %llu",
	    (unsigned long long)p->count[SIGN_GRANT],
	    (unsigned long long)(sign_policy_refused(p) + a->count.acme_refused),
	    (unsigned long long)p->count[SIGN_DENY_SCHEME],
	    (unsigned long long)p->count[SIGN_DENY_LENGTH],
	    (unsigned long long)p->count[SIGN_DENY_NO_JOB],
	    (unsigned long long)p->count[SIGN_DENY_RATE],
	    (unsigned long long)a->count.acme_refused,
	    (unsigned long long)p->count[SIGN_DENY_TLS12],
	    (unsigned long long)p->failed,
	    (unsigned long long)a->child.restarts,
	    (unsigned long long)a->child.sigsys_kills,
	    (unsigned long long)a->child.violations);
}

/* What the command line asks for. */
struct options {
	const char	*conffile;
	int		 debug, test_only, command, selftest;
	unsigned	 count;
};

static void
parse_options(int argc, char *argv[], struct options *o)
{
	int ch;

	o->conffile = SYSCONFDIR "/hsmagentd.conf";
	o->count = 1;
	while ((ch = getopt(argc, argv, "c:dn:PStV")) != -1) {
		switch (ch) {
		case 'c': o->conffile = optarg; break;
		case 'd': o->debug = 1; break;
		case 'n':
			o->count = (unsigned)strtoul(optarg, NULL, 10);
			if (o->count < 1 || o->count > PROBE_MAX_COUNT)
				usage();
			break;
		case 'P': o->command = 1; break;
		case 'S': o->selftest = 1; break;
		case 't': o->test_only = 1; break;
		case 'V': printf("hsmagentd %s\n", HSMAGENT_VERSION); exit(0);
		default: usage();
		}
	}
	if (optind != argc || (o->selftest && !o->command))
		usage();
}

/*
 * Step 1: the configuration and everything public the child needs, the
 * policy, the state and the socket; no secret is read, nothing started.
 */
static void
start_config(struct agent *a, struct config *cfg, const struct options *o)
{
	enum log_level	 lvl;
	char		 err[1024];

	if (config_load(o->conffile, cfg, err, sizeof(err)) == -1)
		fatalc(AGENT_EXIT_CONFIG, "%s", err);
	a->cfg = cfg;
	a->debug = o->debug;
	if (log_level_from_name(cfg->log_level, &lvl) == 0)
		log_set_level(a->debug ? LOG_LVL_DEBUG : lvl);
	if (!o->test_only && strcmp(cfg->log_target, "syslog") == 0)
		log_use_syslog();
	if (path_trust_check(cfg, err, sizeof(err)) == -1 ||
	    load_public(a, err, sizeof(err)) == -1 ||
	    connector_passwords_load(cfg, a->conn_password,
	    a->conn_password_cap, err, sizeof(err)) == -1 ||
	    local_api_open(a, o->test_only, err, sizeof(err)) == -1 ||
	    config_check(a, o->test_only, stdout, err, sizeof(err)) == -1)
		fatalc(AGENT_EXIT_CONFIG, "%s", err);
	a->started_ms = monotime_ms();
	a->started_at = (int64_t)time(NULL);
	a->child.stop_cause = -1;
	a->http01_fd = -1;
	say_tls12(cfg, o->test_only);
}

/* -t: step 1 passed; say so and leave nothing behind. */
static int
check_only(struct agent *a, struct config *cfg, const char *conffile)
{
	local_api_close(a, "check only", 0);
	printf("%s: configuration OK\n", conffile);
	freezero(a->pub.trust_pem, a->pub.trust_len);
	freezero(a->pub.chain_pem, a->pub.chain_len);
	connector_passwords_free(a->conn_password, a->conn_password_cap);
	config_free(cfg);
	return 0;
}

/*
 * Step 2: the process hardened, the child's identity, signals, the
 * http-01 port and the connection broker, then the child, BEFORE any
 * PKCS#11 call: no token state exists yet to leak into it.
 */
static void
start_child(struct agent *a, const struct options *o)
{
	char err[1024];

	if (o->command && a->cfg->probe_url == NULL)
		fatalc(AGENT_EXIT_CONFIG, "%s: -P needs a [probe] section with "
		    "a url", o->conffile);
	harden_process();
	if (child_identity(a, err, sizeof(err)) == -1)
		fatalc(AGENT_EXIT_CONFIG, "%s", err);
	if ((a->sigfd = setup_signals()) == -1)
		fatal("signalfd");
	a->rx = xmalloc(IPC_MAX_DGRAM + 1);
	a->child.fd = -1;
	/* Bound by us and answered by us: the child binds nothing. */
	if (http01_listen_open(a, err, sizeof(err)) == -1) {
		local_api_close(a, "http-01 listener error", 1);
		fatalx("%s", err);
	}
	if (a->http01_fd != -1 && (a->http01 = http01_server_new(
	    a->http01_fd)) == NULL)
		fatalx("http-01: the listener is not a listening TCP socket");
	/* The child's connections: made here, names resolved off the loop. */
	if ((a->broker = broker_new()) == NULL)
		fatal("cannot start the resolver");
	if (child_spawn(a) == -1)
		fatalx("cannot start the connector child");
}

/* Step 3: the login; the TLS key's attributes checked (hsm_open). */
static void
start_hsm(struct agent *a)
{
	const struct config	*cfg = a->cfg;
	struct hsm_params	 hp;
	enum hsm_fail		 hfail = HSM_FAIL_OTHER;
	char			 err[1024];

	memset(&hp, 0, sizeof(hp));
	hp.module = cfg->hsm_module;
	hp.key_uri = cfg->hsm_key_uri;
	hp.pin_file = cfg->hsm_pin_file;
	hp.cert_file = cfg->hsm_certificate;
	hp.allow_extractable = cfg->hsm_insecure_allow_extractable;
	hp.fail = &hfail;
	if ((a->hsm = hsm_open(&hp, err, sizeof(err))) != NULL)
		return;
	agent_audit(a, hfail == HSM_FAIL_CREDENTIAL ? "hsm.login" : "hsm.open",
	    cfg->hsm_key_uri, "failed", json_pack("{s:s}", "error", err));
	shutdown_child(a);
	local_api_close(a, "HSM error", 1);
	fatalc(hfail == HSM_FAIL_CREDENTIAL ? AGENT_EXIT_CREDENTIAL :
	    hfail == HSM_FAIL_CONFIG ? AGENT_EXIT_CONFIG : 1, "hsm: %s", err);
}

/*
 * Step 4: the keys' roles. Each ACME account key is checked now, not at
 * its first JWS, and no two roles share a key; then the signing policy
 * and the HSM worker that signs off the loop from here on.
 */
static void
start_signing(struct agent *a)
{
	const struct config	*cfg = a->cfg;
	char			 err[1024];

	cred_watch_init(a);
	agent_audit(a, "hsm.login", cfg->hsm_key_uri, "ok", NULL);
	agent_audit(a, "hsm.key_check", hsm_key_label(a->hsm), "ok",
	    json_pack("{s:s,s:i,s:b}", "type", hsm_key_type(a->hsm) ==
	    HSM_KEY_EC ? "EC" : "RSA", "bits", hsm_key_bits(a->hsm),
	    "insecure_allow_extractable", cfg->hsm_insecure_allow_extractable));
	if (acme_signers_open(a->acme, &a->nacme, cfg, a->hsm, err,
	    sizeof(err)) == -1 || audit_ckpt_open(a, err, sizeof(err)) == -1 ||
	    key_roles_check(a, a->pub.chain_pem,
	    a->pub.chain_len, err, sizeof(err)) == -1) {
		agent_audit(a, "hsm.key_check", NULL, "failed",
		    json_pack("{s:s}", "error", err));
		shutdown_child(a);
		local_api_close(a, "ACME account key error", 1);
		hsm_close(a->hsm);
		fatalc(AGENT_EXIT_CONFIG, "%s", err);
	}
	sign_policy_init(&a->sp, cfg->sign_schemes, hsm_key_type(a->hsm) ==
	    HSM_KEY_EC, cfg->sign_rate, cfg->sign_burst, monotime_ms());
	if ((a->hsm_worker = hsm_worker_new()) == NULL)
		fatal("cannot start the HSM worker");
	/* From here on the loop holds its lock but in poll (agent.h). */
	pthread_mutex_init(&a->loop_lock, NULL);
	pthread_mutex_lock(&a->loop_lock);
	hsm_worker_set_finisher(a->hsm_worker, &a->loop_lock, hsm_work_finish,
	    a);
	/* The log's first checkpoint: what this start found. */
	(void)audit_ckpt_now(a, "start");
	log_info("hsmagentd %s: key %s (%s-%d) logged in", HSMAGENT_VERSION,
	    hsm_key_label(a->hsm), hsm_key_type(a->hsm) == HSM_KEY_EC ? "EC" :
	    "RSA", hsm_key_bits(a->hsm));
	/* READY=1 follows when the child reports its sandbox (dispatch.c). */
}

/* The loop is over: the child stopped, the summary audited, the API shut. */
static void
stop_serving(struct agent *a)
{
	shutdown_child(a);
	report_counters(a);
	agent_audit(a, "sign.summary", NULL, "ok", json_pack(
	    "{s:I,s:I,s:I,s:I}", "granted", (json_int_t)a->sp.count[SIGN_GRANT],
	    "refused", (json_int_t)(sign_policy_refused(&a->sp) +
	    a->count.acme_refused), "child_restarts",
	    (json_int_t)a->child.restarts, "sandbox_kills",
	    (json_int_t)a->child.sigsys_kills));
	(void)audit_ckpt_now(a, "stop");
	local_api_close(a, a->child.config_refused ? "connector configuration "
	    "refused" : a->draining || quit ? "signal" : "done",
	    a->child.config_refused);
	log_info("event=agent.stop state persisted; exiting");
}

/* Everything released; a token stuck inside a call is left open. */
static void
release_all(struct agent *a)
{
	int hung;

	/* Closing a token that hangs inside a call could hang too. */
	if ((hung = hsm_worker_stop(a->hsm_worker, 2000)) == -1)
		log_warn("hsm: a signature is still inside the token; it is "
		    "left open");
	else {
		hsm_work_done(a);	/* recorded, answered to no one */
		hsm_worker_free(a->hsm_worker);
		a->hsm_worker = NULL;
	}
	if (!hung) {
		acme_signers_close(a->acme, &a->nacme);
		audit_ckpt_close(a);
	}
	broker_free(a->broker);
	a->broker = NULL;
	http01_server_free(a->http01);
	a->http01 = NULL;
	http01_listen_close(a);
	if (!hung)
		hsm_close(a->hsm);
	freezero(a->pub.trust_pem, a->pub.trust_len);
	freezero(a->pub.chain_pem, a->pub.chain_len);
	connector_passwords_free(a->conn_password, a->conn_password_cap);
	free(a->rx);
	config_free(a->cfg);
}

/*
 * The start-up order, each step a function above: configuration and
 * public material; the child; the HSM login; the keys' roles; then the
 * loop. The stop: the child, the audit summary, the API, the token.
 */
int
main(int argc, char *argv[])
{
	/* Static: they live until exit, also on the fatal() paths. */
	static struct agent	 a;
	static struct config	 cfg;
	struct options		 o;

	memset(&o, 0, sizeof(o));
	log_init("hsmagentd", LOG_LVL_INFO);
	parse_options(argc, argv, &o);
	start_config(&a, &cfg, &o);
	if (o.test_only)
		return check_only(&a, &cfg, o.conffile);
	start_child(&a, &o);
	start_hsm(&a);
	start_signing(&a);
	if (o.command)
		probe_run_plan(o.count, o.selftest);
	else
		probe_daemon_schedule(&a, monotime_ms());
	event_loop(&a, o.command);
	stop_serving(&a);
	release_all(&a);
	/* Not a clean stop: the service manager must see it failed. */
	if (a.child.config_refused)
		return AGENT_EXIT_CONFIG;
	return o.command ? probe_run_report() : 0;
}
