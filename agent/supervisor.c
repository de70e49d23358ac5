/*
 * supervisor.c - starting, feeding, watching and restarting the
 * connector child.
 *
 * The child is fork+exec'd: a fresh address space holds nothing of the
 * parent's (no PIN cached by libp11, no SoftHSM state), even when it is
 * restarted long after the login. Its contract: fd 3 is the IPC socket
 * and nothing is open past it (the http-01 port stays with the parent,
 * which answers it), fds 0 and 1 are /dev/null, fd 2 is
 * the parent's stderr only in debug mode (so a hijacked child cannot
 * forge lines in the agent's log), the environment is empty but for
 * sanitizer settings, no signal is blocked.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "connect_broker.h"
#include "log.h"
#include "util.h"

static const char *const passed_env[] = {
	"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", NULL
};

/* What the child is sent must fit what it holds. */
_Static_assert(CONFIG_MAX_CONNECTORS <= IPC_MAX_CONNECTORS,
    "more connectors configured than the IPC carries");
_Static_assert(AGENT_MAX_JOBS <= IPC_MAX_JOBS,
    "more jobs in flight than the child holds");

/*
 * fd 3 as the child expects it, moved above 3 first (it may sit on 3
 * already, where dup2 would leave FD_CLOEXEC set), and nothing past it.
 */
static int
place_fds(int ipc)
{
	if ((ipc = fcntl(ipc, F_DUPFD, CHILD_IPC_FD + 1)) == -1 ||
	    dup2(ipc, CHILD_IPC_FD) == -1)
		return -1;
	close_range(CHILD_IPC_FD + 1, ~0U, 0);
	return 0;
}

static __attribute__((noreturn)) void
exec_child(struct agent *a, int ipc)
{
	char		*argv[] = { "hsmagent-connector", NULL };
	char		*envp[4];
	size_t		 ne = 0;
	sigset_t	 none;
	int		 null;

	for (size_t i = 0; passed_env[i] != NULL; i++) {
		char *v = getenv(passed_env[i]), buf[512];

		if (v != NULL && (size_t)snprintf(buf, sizeof(buf), "%s=%s",
		    passed_env[i], v) < sizeof(buf))
			envp[ne++] = strdup(buf);
	}
	envp[ne] = NULL;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if ((null = open("/dev/null", O_RDWR)) == -1 ||
	    dup2(null, STDIN_FILENO) == -1 || dup2(null, STDOUT_FILENO) == -1 ||
	    (!a->debug && dup2(null, STDERR_FILENO) == -1) ||
	    place_fds(ipc) == -1)
		_exit(127);
	execve(a->cfg->connector_path, argv, envp);
	log_error("supervisor: cannot exec %s: %s", a->cfg->connector_path,
	    strerror(errno));
	_exit(127);
}

static int
send_blob(struct agent *a, uint8_t kind, const char *data, size_t len)
{
	for (size_t off = 0; off < len; off += IPC_BLOB_CHUNK) {
		struct ipc_cfg_blob	 m;
		struct wbuf		 b;
		int			 r;

		m.kind = kind;
		m.total = (uint32_t)len;
		m.offset = (uint32_t)off;
		m.data = (const uint8_t *)data + off;
		m.len = len - off < IPC_BLOB_CHUNK ? len - off : IPC_BLOB_CHUNK;
		wbuf_init(&b, IPC_MAX_PAYLOAD);
		ipc_enc_cfg_blob(&b, &m);
		r = child_send(a, IPC_CFG_BLOB, 0, &b);
		wbuf_free(&b);
		if (r == -1)
			return -1;
	}
	return 0;
}

#define STR(dst, src)	snprintf((dst), sizeof(dst), "%s", (src) ? (src) : "")

/* The settings of the connector's own kind: its part of the message. */
static void
kind_part(const struct connector_cfg *cc, struct ipc_cfg_connector *m)
{
	switch (ipc_cfg_part_of(cc->type)) {
	case IPC_PART_ENTRUST:
		STR(m->kind.entrust.ca_id, cc->ca_id);
		STR(m->kind.entrust.profile_id, cc->profile_id);
		break;
	case IPC_PART_SECTIGO:
		STR(m->kind.sectigo.customer_uri, cc->customer_uri);
		STR(m->kind.sectigo.login, cc->login);
		STR(m->kind.sectigo.external_requester,
		    cc->external_requester);
		m->kind.sectigo.org_id = cc->org_id;
		m->kind.sectigo.cert_type = cc->cert_type;
		m->kind.sectigo.term = cc->term;
		break;
	case IPC_PART_ACME:
		STR(m->kind.acme.contact, cc->contact);
		STR(m->kind.acme.preferred_chain, cc->preferred_chain);
		STR(m->kind.acme.eab_kid, cc->eab_kid);
		break;
	case IPC_PART_NONE:
		break;
	}
}

static int
send_config(struct agent *a)
{
	struct ipc_cfg_done	 d;
	struct wbuf		 b;
	int			 r;

	if (send_blob(a, BLOB_TRUST_PEM, a->pub.trust_pem, a->pub.trust_len) == -1 ||
	    send_blob(a, BLOB_CHAIN_PEM, a->pub.chain_pem, a->pub.chain_len) == -1)
		return -1;
	for (size_t i = 0; i < a->cfg->nconnectors; i++) {
		const struct connector_cfg	*cc = &a->cfg->connectors[i];
		struct ipc_cfg_connector	 m;

		memset(&m, 0, sizeof(m));
		snprintf(m.name, sizeof(m.name), "%s", cc->name);
		snprintf(m.type, sizeof(m.type), "%s", cc->type);
		snprintf(m.url, sizeof(m.url), "%s", cc->url);
		snprintf(m.spki_pin, sizeof(m.spki_pin), "%s", cc->spki_pin ?
		    cc->spki_pin : "");
		snprintf(m.proxy, sizeof(m.proxy), "%s", cc->proxy ? cc->proxy :
		    "");
		m.allow_tls12 = cc->allow_tls12 ? 1 : 0;
		/* The password itself is not configuration: jobs carry it. */
		m.auth = cc->password_file != NULL ? IPC_AUTH_PASSWORD :
		    IPC_AUTH_CERT;
		kind_part(cc, &m);
		wbuf_init(&b, IPC_MAX_PAYLOAD);
		ipc_enc_cfg_connector(&b, &m);
		r = child_send(a, IPC_CFG_CONNECTOR, 0, &b);
		wbuf_free(&b);
		if (r == -1)
			return -1;
	}
	memset(&d, 0, sizeof(d));
	d.uid = a->child_uid;
	d.gid = a->child_gid;
	snprintf(d.chroot_dir, sizeof(d.chroot_dir), "%s", a->cfg->chroot_dir);
	d.tls_timeout_s = a->cfg->tls_timeout_s;
	d.sign_timeout_ms = a->cfg->sign_timeout_ms;
	d.key_type = (uint8_t)a->pub.key_type;
	/* Landlock (ABI >= 4) lets the child connect to these ports only. */
	if (a->probe.port != 0)
		d.ports[d.nports++] = a->probe.port;
	for (size_t i = 0; i < 2 * a->cfg->nconnectors; i++) {
		const struct ca_target *t = &a->ca_targets[i / 2];
		uint16_t port = i % 2 ? t->proxy_port : t->port;
		size_t k;

		for (k = 0; k < d.nports && d.ports[k] != port; k++)
			;
		if (port != 0 && k == d.nports && d.nports < IPC_MAX_PORTS)
			d.ports[d.nports++] = port;
	}
	d.http01 = a->http01 != NULL;	/* tokens may be registered */
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	ipc_enc_cfg_done(&b, &d);
	r = child_send(a, IPC_CFG_DONE, 0, &b);
	wbuf_free(&b);
	return r;
}

int
child_spawn(struct agent *a)
{
	struct child_proc	*c = &a->child;
	int			 sv[2], sz = IPC_SOCKBUF;
	pid_t			 pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_error("supervisor: socketpair: %s", strerror(errno));
		return -1;
	}
	for (int i = 0; i < 2; i++) {
		setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	if ((pid = fork()) == -1) {
		log_error("supervisor: fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0)
		exec_child(a, sv[1]);
	close(sv[1]);
	c->pid = pid;
	c->fd = sv[0];
	c->ready = 0;
	c->started_ms = monotime_ms();
	c->restart_at_ms = 0;
	/* A new child gets the settings as they are: nothing to refresh. */
	a->child_refresh = 0;
	log_info("supervisor: connector child started (pid %ld)", (long)pid);
	agent_audit(a, "child.start", NULL, "ok", json_pack("{s:I}", "pid",
	    (json_int_t)pid));
	/*
	 * A send that fails has killed the child (child_send), which may
	 * have exited on its own first: one that refuses its configuration
	 * exits while we still send. SIGCHLD then reaps it and reads its
	 * last words (child_reap), and that decides: a refusal stops the
	 * agent with the child's reason, anything else is a restart.
	 */
	if (send_config(a) == -1)
		return 0;
	/* Blocking sends for the config above; the loop is non-blocking. */
	if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) == -1) {
		child_kill(a, "cannot set the IPC socket non-blocking");
		return -1;
	}
	return 0;
}

int
child_send(struct agent *a, uint16_t type, uint32_t id, const struct wbuf *b)
{
	if (a->child.fd == -1)
		return -1;
	if (ipc_send(a->child.fd, type, id, b) == -1) {
		char	why[128];
		int	e = errno;

		snprintf(why, sizeof(why), "cannot send %s: %s",
		    ipc_type_name(type), strerror(e));
		/* A child that is gone may have said why: read it first. */
		if (e == EPIPE || e == ECONNRESET)
			child_last_words(a);
		child_kill(a, why);
		return -1;
	}
	return 0;
}

/*
 * Kill first, ask later: the child is untrusted, so any doubt about it
 * ends it. Reaping and the restart happen in child_reap().
 */
void
child_kill(struct agent *a, const char *why)
{
	struct child_proc *c = &a->child;

	if (c->pid > 0) {
		c->stop_cause = CHILD_KILLED;
		log_warn("supervisor: killing connector child %ld: %s",
		    (long)c->pid, why);
		agent_audit(a, "child.kill", NULL, "violation",
		    json_pack("{s:I,s:s}", "pid", (json_int_t)c->pid,
		    "reason", why));
		kill(c->pid, SIGKILL);
	}
	if (c->fd != -1) {
		close(c->fd);
		c->fd = -1;
	}
	c->ready = 0;
	broker_reset(a->broker);
	jobs_fail_sent(a, "connector child stopped");
}

static void
describe_death(struct agent *a, int status, char *buf, size_t len)
{
	struct child_proc	*c = &a->child;
	int			 cause = CHILD_EXITED;

	if (WIFSIGNALED(status))
		cause = WTERMSIG(status) == SIGSYS ? CHILD_SANDBOX :
		    CHILD_SIGNALED;
	/* What we did to it explains an exit or a SIGKILL, not a SIGSYS. */
	if (c->stop_cause >= 0 && cause != CHILD_SANDBOX)
		cause = c->stop_cause;
	c->ends[cause]++;
	c->stop_cause = -1;
	if (WIFEXITED(status) && child_exit_name(WEXITSTATUS(status)))
		snprintf(buf, len, "exited with status %d (%s)",
		    WEXITSTATUS(status), child_exit_name(WEXITSTATUS(status)));
	else if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS) {
		c->sigsys_kills++;
		snprintf(buf, len, "killed by SIGSYS: the sandbox stopped a "
		    "forbidden system call");
	} else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "ended (status 0x%x)", status);
}

/* On SIGCHLD: collect the child, say why it ended, plan a restart. */
void
child_reap(struct agent *a)
{
	struct child_proc	*c = &a->child;
	int			 status;
	pid_t			 pid;
	char			 why[160];

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid != c->pid)
			continue;
		describe_death(a, status, why, sizeof(why));
		child_last_words(a);
		if (c->selftest) {
			c->selftest_ok = WIFSIGNALED(status) &&
			    WTERMSIG(status) == SIGSYS;
			log_info("sandbox self-test: child %ld %s: %s", (long)pid,
			    why, c->selftest_ok ? "as required" : "NOT as required");
		} else
			log_warn("supervisor: connector child %ld %s",
			    (long)pid, why);
		agent_audit(a, WIFSIGNALED(status) && WTERMSIG(status) ==
		    SIGSYS ? "sandbox.violation" : "child.exit", NULL,
		    c->selftest ? "selftest" : "failed", json_pack("{s:I,s:s}",
		    "pid", (json_int_t)pid, "cause", why));
		c->pid = 0;
		if (c->fd != -1) {
			close(c->fd);
			c->fd = -1;
		}
		c->ready = 0;
		broker_reset(a->broker);
		jobs_fail_sent(a, "connector child died");
		if (WIFEXITED(status) && WEXITSTATUS(status) ==
		    CHILD_EXIT_CONFIG) {
			/* Its error line says which setting; a restart would not help. */
			log_error("supervisor: the connector child refused the "
			    "configuration (see its error); stopping");
			c->config_refused = 1;
			c->restart_at_ms = 0;
			continue;
		}
		if (monotime_ms() - c->started_ms >= CHILD_STABLE_MS)
			c->backoff = 0;
		{
			int64_t delay = RESTART_MIN_MS;

			for (unsigned i = 0; i < c->backoff && delay < RESTART_MAX_MS; i++)
				delay *= 2;
			if (delay > RESTART_MAX_MS)
				delay = RESTART_MAX_MS;
			c->backoff++;
			c->restart_at_ms = monotime_ms() + delay;
			log_info("supervisor: restarting the connector child in "
			    "%lld ms", (long long)delay);
			agent_audit(a, "child.restart", NULL, "scheduled",
			    json_pack("{s:I}", "delay_ms", (json_int_t)delay));
		}
	}
}

/* Timers: restarts, READY deadline, job deadlines (hung child). */
void
child_tick(struct agent *a, int64_t now)
{
	struct child_proc *c = &a->child;

	if (c->pid == 0 && c->restart_at_ms != 0 && now >= c->restart_at_ms) {
		c->restarts++;
		if (child_spawn(a) == -1 && c->pid == 0)
			c->restart_at_ms = now + RESTART_MAX_MS;
	}
	if (c->pid > 0 && !c->ready && c->fd != -1 &&
	    now - c->started_ms > CHILD_READY_MS)
		child_kill(a, "no READY in time");
	for (size_t i = 0; i < AGENT_MAX_JOBS; i++) {
		struct job *j = &a->jobs[i];

		if (j->state == JOB_SENT && now > j->deadline_ms) {
			/* Silent past its window: hung, or keeping a job open. */
			child_kill(a, now > j->sign_until_ms ? "a job passed "
			    "its signing window: child hung or looping" :
			    "a job passed its deadline: child hung");
			break;
		}
	}
}
