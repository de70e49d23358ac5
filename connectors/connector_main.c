/*
 * connector_main.c - hsmagent-connector, the sandboxed child.
 *
 * Startup: check the IPC fd contract, preload what loads lazily,
 * receive the configuration, enter the sandbox, say READY. Then: run
 * jobs with the curl multi interface and answer nothing but the parent.
 * The child trusts the parent; the parent does not trust the child.
 */
#include <sys/socket.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/ssl.h>

#include "child.h"
#include "child_limits.h"
#include "connector.h"
#include "keyproxy.h"
#include "log.h"
#include "sandbox.h"
#include "wipe_alloc.h"
#include "util.h"

#define CONFIG_WAIT_MS	10000

struct blob {
	uint8_t		*data;
	uint32_t	 total;
	uint32_t	 have;
};

static void
check_fd_contract(void)
{
	int		 type = 0;
	socklen_t	 len = sizeof(type);

	if (getsockopt(CHILD_IPC_FD, SOL_SOCKET, SO_TYPE, &type, &len) == -1 ||
	    type != SOCK_SEQPACKET) {
		fprintf(stderr, "hsmagent-connector: fd 3 is not the IPC "
		    "socket; this program is started by hsmagentd only\n");
		_exit(CHILD_EXIT_USAGE);
	}
}

static void
add_chunk(struct blob *blobs, const struct ipc_cfg_blob *m)
{
	struct blob *bl = &blobs[m->kind];

	if (bl->data == NULL) {
		bl->data = xcalloc(1, m->total);
		bl->total = m->total;
	}
	/* Chunks arrive in order, once, with one agreed total. */
	if (m->total != bl->total || m->offset != bl->have)
		child_violation("cfg-blob chunks out of order");
	memcpy(bl->data + bl->have, m->data, m->len);
	bl->have += (uint32_t)m->len;
}

static void
receive_config(struct child *c)
{
	struct blob		 blobs[BLOB_KIND_MAX];
	struct ipc_msg		 msg;
	struct ipc_cfg_blob	 cb;
	struct ipc_cfg_connector cc;

	memset(blobs, 0, sizeof(blobs));
	for (;;) {
		if (child_recv_wait(c, &msg, CONFIG_WAIT_MS) == 0)
			child_violation("no configuration from the parent");
		if (msg.type == IPC_CFG_BLOB) {
			if (ipc_dec_cfg_blob(&msg, &cb) == -1)
				child_violation("bad cfg-blob");
			add_chunk(blobs, &cb);
		} else if (msg.type == IPC_CFG_CONNECTOR) {
			if (ipc_dec_cfg_connector(&msg, &cc) == -1)
				child_violation("bad cfg-connector");
			if (ca_configure(c, &cc) == -1)
				_exit(CHILD_EXIT_CONFIG);
		} else if (msg.type == IPC_CFG_DONE) {
			if (ipc_dec_cfg_done(&msg, &c->cfg) == -1)
				child_violation("bad cfg-done");
			break;
		} else
			child_violation("unexpected message before cfg-done");
	}
	for (int k = 1; k < BLOB_KIND_MAX; k++) {
		if (blobs[k].data == NULL || blobs[k].have != blobs[k].total)
			child_violation("configuration incomplete");
	}
	if (tls_load_trust(c, blobs[BLOB_TRUST_PEM].data,
	    blobs[BLOB_TRUST_PEM].total) == -1 ||
	    tls_load_chain(c, blobs[BLOB_CHAIN_PEM].data,
	    blobs[BLOB_CHAIN_PEM].total) == -1)
		_exit(CHILD_EXIT_SETUP);
	for (int k = 1; k < BLOB_KIND_MAX; k++)
		free(blobs[k].data);
}

/*
 * The sandbox self-test: on the parent's request, try what the sandbox
 * must stop. Reaching the log line after the call means it did not.
 */
static void
selftest(uint8_t what)
{
	long rc;

	if (what == SELFTEST_OPENAT) {
		rc = syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY);
		log_error("sandbox self-test: openat was NOT stopped (rc %ld, "
		    "errno %d)", rc, errno);
	} else {
		char *const argv[] = { "/bin/true", NULL }, *const envp[] = { NULL };

		rc = syscall(SYS_execve, "/bin/true", argv, envp);
		log_error("sandbox self-test: execve was NOT stopped (rc %ld, "
		    "errno %d)", rc, errno);
	}
}

static void
dispatch(struct child *c, const struct ipc_msg *msg)
{
	struct ipc_job_probe	jp;
	struct ipc_job_ca	jc;
	struct ipc_selftest	st;

	switch (msg->type) {
	case IPC_JOB_PROBE:
		if (ipc_dec_job_probe(msg, &jp) == -1)
			child_violation("bad job-probe");
		probe_start(c, msg->id, jp.url, jp.allow_tls12);
		break;
	case IPC_JOB_CA:
		if (ipc_dec_job_ca(msg, &jc) == -1)
			child_violation("bad job-ca");
		ca_start(c, msg->id, &jc);
		break;
	case IPC_SELFTEST:
		if (ipc_dec_selftest(msg, &st) == -1)
			child_violation("bad selftest");
		selftest(st.what);
		break;
	case IPC_CONNECT_REPLY:
		/* The answer to a connect request that had timed out. */
		if (msg->fd != -1)
			close(msg->fd);
		break;
	case IPC_SIGN_REPLY:
		/*
		 * The answer to a signature this child stopped waiting for
		 * (reply_timeout_ms): the parent's token was slow. Dropped.
		 */
		break;
	default:
		child_violation("unexpected message type");
	}
	if (msg->type != IPC_CONNECT_REPLY && msg->fd != -1)
		child_violation("a descriptor with a message that has none");
}

static void
run_deferred(struct child *c)
{
	while (c->ndeferred > 0) {
		struct deferred	d = c->deferred[0];
		struct ipc_msg	msg;

		memmove(&c->deferred[0], &c->deferred[1],
		    --c->ndeferred * sizeof(c->deferred[0]));
		if (ipc_parse(d.dgram, d.len, &msg) == -1)
			child_violation("bad deferred datagram");
		dispatch(c, &msg);
		/* A job may have carried a password. */
		freezero(d.dgram, d.len);
	}
}

static void
drain_ipc(struct child *c)
{
	struct ipc_msg msg;

	for (;;) {
		int r = ipc_recv(c->fd, c->rx, IPC_MAX_DGRAM + 1, &msg);

		if (r == 0)
			_exit(CHILD_EXIT_PARENT_GONE);
		if (r == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			child_violation("malformed datagram from the parent");
		}
		dispatch(c, &msg);
		/* A job may have carried a password: no copy stays in rx. */
		explicit_bzero(c->rx, (size_t)(msg.payload - c->rx) + msg.len);
	}
}

static __attribute__((noreturn)) void
main_loop(struct child *c)
{
	struct CURLMsg	*m;
	int		 running, left;

	for (;;) {
		struct curl_waitfd wfd[1] = { { c->fd, CURL_WAIT_POLLIN, 0 } };

		run_deferred(c);
		/* At the latest when a delayed request is due. */
		if (curl_multi_poll(c->multi, wfd, 1, c->kick ? 0 :
		    ca_wait_ms(c, 1000), NULL) != CURLM_OK)
			child_violation("curl_multi_poll failed");
		c->kick = 0;
		if (wfd[0].revents != 0)
			drain_ipc(c);
		ca_run_due(c);
		curl_multi_perform(c->multi, &running);
		while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
			struct probe_job *j = NULL;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
			    (char **)&j);
			if (j != NULL && j->kind == XFER_CA)
				ca_done(c, (struct ca_xfer *)j, m->data.result);
			else
				probe_done(c, m->easy_handle, m->data.result);
		}
	}
}

static void
enter_sandbox(struct child *c)
{
	struct sandbox_params	 p;
	struct sandbox_report	 rep;
	struct ipc_ready	 ready;
	struct wbuf		 b;
	char			 err[512];

	memset(&p, 0, sizeof(p));
	p.ipc_fd = c->fd;
	p.chroot_dir = c->cfg.chroot_dir;
	p.uid = (uid_t)c->cfg.uid;
	p.gid = (gid_t)c->cfg.gid;
	p.tcp_ports = c->cfg.ports;
	p.ntcp_ports = c->cfg.nports;
	memset(&rep, 0, sizeof(rep));
	if (sandbox_enter(&p, &rep, err, sizeof(err)) == -1) {
		log_error("sandbox: %s", err);
		_exit(CHILD_EXIT_SETUP);
	}
	memset(&ready, 0, sizeof(ready));
	ready.landlock_abi = (uint8_t)rep.landlock_abi;
	sandbox_describe(&rep, ready.sandbox, sizeof(ready.sandbox));
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	ipc_enc_ready(&b, &ready);
	child_send(c, IPC_READY, 0, &b);
	wbuf_free(&b);
}

int
main(int argc, char *argv[])
{
	static struct child c;

	/* hsmagentd -t asks which connector types this program has. */
	if (argc == 2 && strcmp(argv[1], "--types") == 0) {
		for (size_t i = 0; connector_types[i] != NULL; i++)
			printf("%s\n", connector_types[i]->name);
		return 0;
	}
	check_fd_contract();
	log_init("hsmagent-connector", LOG_LVL_DEBUG);
	log_set_exit(_exit);
	c.fd = CHILD_IPC_FD;
	c.rx = xmalloc(IPC_MAX_DGRAM + 1);
	child_log_attach(&c);

	/* Before OpenSSL or curl allocate anything (wipe_alloc.h says why). */
	if (wipe_alloc_install() == -1)
		fatalx("cannot install the wiping allocators");
	/* Lazy loaders first: tz data, OpenSSL tables, curl, the RNG. */
	tzset();
	/* jansson seeds its hash tables from /dev/urandom on first use. */
	json_object_seed(0);
	if (OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG, NULL) != 1 ||
	    keyproxy_init(child_sign, &c) == -1)
		fatalx("cannot initialise OpenSSL or libcurl");
	tls_warm_up();
	receive_config(&c);
	if ((c.multi = curl_multi_init()) == NULL ||
	    (c.connect_to = curl_slist_append(NULL, "::" CONNECT_PLACEHOLDER
	    ":")) == NULL)
		fatalx("curl_multi_init failed");
	/* Within the descriptors the sandbox leaves (child_limits.h). */
	if (curl_multi_setopt(c.multi, CURLMOPT_MAXCONNECTS,
	    (long)CHILD_IDLE_CONNECTIONS) != CURLM_OK ||
	    curl_multi_setopt(c.multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
	    (long)CHILD_MAX_CONNECTIONS) != CURLM_OK)
		fatalx("cannot cap curl's connections");
	enter_sandbox(&c);
	main_loop(&c);
}
