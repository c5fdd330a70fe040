/*
 * citus_double.c -- the shared library of the citusctl Citus TEST DOUBLE.
 *
 * This is NOT Citus. It exists so that shared_preload_libraries='citus'
 * loads something, announces itself in the server log, and defines the few
 * citus.* settings the double's SQL reads, and it turns ssl on at CREATE
 * EXTENSION (citus_double_ensure_ssl). All other behaviour lives in
 * citus--13.0-1.sql. Written from Citus's documented behaviour only.
 */
#include "postgres.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "storage/lwlock.h"
#include "utils/builtins.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

void _PG_init(void);

static int	CitusDoubleShardCount = 32;
static int	CitusDoubleNodeConnectionTimeout = 30000;
static char *CitusDoubleNodeConninfo = NULL;

#define CITUS_DOUBLE_BANNER \
	"Citus test double 13.0 (citusctl test/citus-double; no query routing)"

void
_PG_init(void)
{
	/* Like real Citus: only loadable through shared_preload_libraries. */
	if (!process_shared_preload_libraries_in_progress)
		ereport(ERROR,
				(errmsg("Citus can only be loaded via shared_preload_libraries"),
				 errhint("Add citus to shared_preload_libraries configuration "
						 "variable in postgresql.conf in master and workers. Note "
						 "that citus should be at the beginning of "
						 "shared_preload_libraries.")));

	DefineCustomIntVariable("citus.shard_count",
							"Sets the number of shards for a new hash-partitioned table (test double).",
							NULL,
							&CitusDoubleShardCount,
							32, 1, 64000,
							PGC_USERSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("citus.node_connection_timeout",
							"Sets the maximum duration to connect to worker nodes (test double).",
							NULL,
							&CitusDoubleNodeConnectionTimeout,
							30000, 10, 60 * 60 * 1000,
							PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);

	/*
	 * As documented for Citus: node-to-node connections require ssl by
	 * default, and CREATE EXTENSION turns ssl on (citus_double_ensure_ssl).
	 */
	DefineCustomStringVariable("citus.node_conninfo",
							   "Sets parameters used for outbound connections (test double).",
							   NULL,
							   &CitusDoubleNodeConninfo,
							   "sslmode=require",
							   PGC_SIGHUP, 0,
							   NULL, NULL, NULL);

#if PG_VERSION_NUM >= 150000
	MarkGUCPrefixReserved("citus");
#endif

	ereport(LOG,
			(errmsg("citus test double loaded: %s", CITUS_DOUBLE_BANNER),
			 errdetail("This is NOT Citus: it emulates Citus metadata functions for citusctl CI only.")));
}

PG_FUNCTION_INFO_V1(citus_double_banner);

Datum
citus_double_banner(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(CITUS_DOUBLE_BANNER));
}

/*
 * ---------------------------------------------------------------------------
 * ssl at CREATE EXTENSION
 *
 * As documented for Citus: when ssl is off, CREATE EXTENSION citus turns it
 * on, creating a self-signed certificate and key when none exists, so that
 * node connections with citus.node_conninfo's default sslmode=require work.
 * The double: ssl already on -> nothing. Otherwise, when neither the file of
 * ssl_cert_file nor that of ssl_key_file exists (defaults: server.crt and
 * server.key in the data directory), it writes a self-signed RSA-2048
 * certificate (CN "citus-test-double", 10 years) and its key there; when both
 * exist it uses them; when only one exists it leaves ssl off with a WARNING.
 * Then ALTER SYSTEM SET ssl = on (postgresql.auto.conf) and a reload (like
 * pg_reload_conf()). Neither step is undone if the transaction aborts.
 * ---------------------------------------------------------------------------
 */

static bool
citus_double_file_exists(const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0)
		return true;
	if (errno != ENOENT && errno != ENOTDIR)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("citus test double: could not stat file \"%s\": %m", path)));
	return false;
}

/* Write data (len bytes) to path through a temporary file and rename. */
static void
citus_double_write_file(const char *path, const char *data, int len, mode_t mode)
{
	char		tmp[MAXPGPATH];
	int			fd;

	snprintf(tmp, sizeof(tmp), "%s.citus-double.%d", path, MyProcPid);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("citus test double: could not create file \"%s\": %m", tmp)));
	errno = 0;
	if (fchmod(fd, mode) != 0 || write(fd, data, len) != len || fsync(fd) != 0)
	{
		int			save_errno = errno ? errno : ENOSPC;

		close(fd);
		unlink(tmp);
		errno = save_errno;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("citus test double: could not write file \"%s\": %m", tmp)));
	}
	close(fd);
	if (rename(tmp, path) != 0)
	{
		int			save_errno = errno;

		unlink(tmp);
		errno = save_errno;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("citus test double: could not rename \"%s\" to \"%s\": %m", tmp, path)));
	}
}

/* PEM of a BIO as a palloc'd string. */
static char *
citus_double_bio_string(BIO *bio, int *len)
{
	char	   *mem;
	long		n = BIO_get_mem_data(bio, &mem);
	char	   *out = palloc(n + 1);

	memcpy(out, mem, n);
	out[n] = '\0';
	*len = (int) n;
	return out;
}

/* Self-signed certificate + key as PEM strings (palloc'd). */
static void
citus_double_make_certificate(char **cert_pem, int *cert_len, char **key_pem, int *key_len)
{
	EVP_PKEY   *pkey = NULL;
	X509	   *x509 = NULL;
	X509_NAME  *name;
	X509_EXTENSION *ext;
	X509V3_CTX	ctx;
	BIO		   *cbio = NULL;
	BIO		   *kbio = NULL;
	unsigned char serial[16];
	BIGNUM	   *bn = NULL;
	const char *failed = NULL;

	if (!(pkey = EVP_RSA_gen(2048)))
		failed = "generate an RSA key";
	else if (!(x509 = X509_new()) || !X509_set_version(x509, 2))
		failed = "create a certificate";
	else if (RAND_bytes(serial, sizeof(serial)) != 1
			 || !(bn = BN_bin2bn(serial, sizeof(serial), NULL))
			 || !BN_set_bit(bn, 0) /* never zero */
			 || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x509)))
		failed = "set the serial number";
	else if (!X509_gmtime_adj(X509_getm_notBefore(x509), -3600)
			 || !X509_gmtime_adj(X509_getm_notAfter(x509), 3650L * 24 * 3600))
		failed = "set the validity";
	else if (!X509_set_pubkey(x509, pkey))
		failed = "set the public key";
	else
	{
		name = X509_get_subject_name(x509);
		if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
										(const unsigned char *) "citus-test-double", -1, -1, 0)
			|| !X509_set_issuer_name(x509, name))
			failed = "set the name";
		else
		{
			X509V3_set_ctx(&ctx, x509, x509, NULL, NULL, 0);
			ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:FALSE");
			if (!ext || !X509_add_ext(x509, ext, -1))
				failed = "add basicConstraints";
			if (ext)
				X509_EXTENSION_free(ext);
		}
	}
	if (!failed && !X509_sign(x509, pkey, EVP_sha256()))
		failed = "sign the certificate";
	if (!failed && (!(cbio = BIO_new(BIO_s_mem())) || !PEM_write_bio_X509(cbio, x509)))
		failed = "encode the certificate";
	if (!failed && (!(kbio = BIO_new(BIO_s_mem()))
					|| !PEM_write_bio_PrivateKey(kbio, pkey, NULL, NULL, 0, NULL, NULL)))
		failed = "encode the key";
	if (!failed)
	{
		*cert_pem = citus_double_bio_string(cbio, cert_len);
		*key_pem = citus_double_bio_string(kbio, key_len);
	}
	BIO_free(cbio);
	BIO_free(kbio);
	BN_free(bn);
	X509_free(x509);
	EVP_PKEY_free(pkey);
	if (failed)
		ereport(ERROR,
				(errmsg("citus test double: could not %s for the self-signed ssl certificate", failed)));
}

/* ALTER SYSTEM SET ssl = on (writes postgresql.auto.conf; not transactional). */
static void
citus_double_alter_system_ssl_on(void)
{
	AlterSystemStmt *stmt = makeNode(AlterSystemStmt);
	VariableSetStmt *set = makeNode(VariableSetStmt);
	A_Const    *val = makeNode(A_Const);

	val->val.sval.type = T_String;
	val->val.sval.sval = pstrdup("on");
	val->isnull = false;
	val->location = -1;
	set->kind = VAR_SET_VALUE;
	set->name = pstrdup("ssl");
	set->args = list_make1(val);
	set->is_local = false;
	stmt->setstmt = set;
	AlterSystemSetConfigFile(stmt);
}

PG_FUNCTION_INFO_V1(citus_double_ensure_ssl);

/* Returns what it did: 'already on', 'generated' or 'existing certificate'. */
Datum
citus_double_ensure_ssl(PG_FUNCTION_ARGS)
{
	const char *ssl = GetConfigOption("ssl", false, false);
	const char *cert_file = GetConfigOption("ssl_cert_file", false, false);
	const char *key_file = GetConfigOption("ssl_key_file", false, false);
	bool		have_cert;
	bool		have_key;
	const char *what;

	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("citus test double: only a superuser may turn ssl on")));
	if (ssl && strcmp(ssl, "on") == 0)
		PG_RETURN_TEXT_P(cstring_to_text("already on"));

	/* Relative paths are relative to the data directory (the backend's cwd). */
	LWLockAcquire(AutoFileLock, LW_EXCLUSIVE);
	have_cert = citus_double_file_exists(cert_file);
	have_key = citus_double_file_exists(key_file);
	if (have_cert != have_key)
	{
		LWLockRelease(AutoFileLock);
		ereport(WARNING,
				(errmsg("citus test double: ssl left off: \"%s\" %s but \"%s\" %s",
						cert_file, have_cert ? "exists" : "does not exist",
						key_file, have_key ? "exists" : "does not exist"),
				 errhint("Node connections use citus.node_conninfo (sslmode=require by default) and will fail.")));
		PG_RETURN_TEXT_P(cstring_to_text("left off"));
	}
	if (!have_cert)
	{
		char	   *cert_pem;
		char	   *key_pem;
		int			cert_len;
		int			key_len;

		citus_double_make_certificate(&cert_pem, &cert_len, &key_pem, &key_len);
		citus_double_write_file(key_file, key_pem, key_len, S_IRUSR | S_IWUSR);
		citus_double_write_file(cert_file, cert_pem, cert_len, S_IRUSR | S_IWUSR | S_IRGRP | S_IROTH);
		what = "generated";
	}
	else
		what = "existing certificate";
	LWLockRelease(AutoFileLock);

	citus_double_alter_system_ssl_on();
	if (kill(PostmasterPid, SIGHUP) != 0)
		ereport(WARNING,
				(errmsg("citus test double: failed to send signal to postmaster: %m")));
	ereport(LOG,
			(errmsg("citus test double: turned ssl on (ALTER SYSTEM SET ssl = on, reload) with %s",
					strcmp(what, "generated") == 0
					? psprintf("a new self-signed certificate \"%s\" and key \"%s\"", cert_file, key_file)
					: psprintf("the existing certificate \"%s\" and key \"%s\"", cert_file, key_file)),
			 errdetail("As Citus does at CREATE EXTENSION, for citus.node_conninfo's default sslmode=require.")));
	PG_RETURN_TEXT_P(cstring_to_text(what));
}
