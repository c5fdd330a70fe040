/*
 * citus_double.c -- the shared library of the citusctl Citus TEST DOUBLE.
 *
 * This is NOT Citus. It exists so that shared_preload_libraries='citus'
 * loads something, announces itself in the server log, and defines the few
 * citus.* settings the double's SQL reads. All behaviour lives in
 * citus--13.0-1.sql. Written from Citus's documented behaviour only.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
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
	 * Real Citus defaults to sslmode=require and turns ssl on at CREATE
	 * EXTENSION; the double does not touch ssl, so it defaults to prefer.
	 */
	DefineCustomStringVariable("citus.node_conninfo",
							   "Sets parameters used for outbound connections (test double).",
							   NULL,
							   &CitusDoubleNodeConninfo,
							   "sslmode=prefer",
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
