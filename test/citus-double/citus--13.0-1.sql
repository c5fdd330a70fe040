/*
 * citus--13.0-1.sql -- the Citus TEST DOUBLE of citusctl (test/citus-double).
 *
 * THIS IS NOT CITUS. It is written from Citus's documented behaviour
 * (the Citus documentation, https://docs.citusdata.com, chiefly its "Citus
 * Utility Functions" and "Citus Tables and Views" reference pages) and emulates only
 * the functions and catalog tables that citusctl calls:
 *
 *   citus_version, citus_is_coordinator, citus_get_active_worker_nodes,
 *   citus_set_coordinator_host, citus_add_node, citus_remove_node,
 *   citus_update_node, citus_pause_node_within_txn,
 *   citus_check_cluster_node_health (+ citus_check_connection_to_node),
 *   create_distributed_table (+ column_to_column_name),
 *   pg_dist_node, pg_dist_partition, pg_dist_shard, pg_dist_placement,
 *   pg_dist_colocation, pg_dist_local_group, pg_dist_node_metadata,
 *   the view pg_dist_shard_placement;
 *   a metadata-level rebalancer: citus_set_node_property,
 *   citus_move_shard_placement, citus_rebalance_start/_status/_wait/_stop,
 *   citus_job_status/_list/_wait/_cancel, get_rebalance_progress,
 *   replicate_reference_tables, citus_cleanup_orphaned_resources,
 *   recover_prepared_transactions (a no-op: nothing is ever prepared),
 *   pg_dist_background_job, pg_dist_background_task, pg_dist_cleanup.
 *
 * What it does NOT do: query routing (distributed tables are ordinary local
 * tables on the coordinator; shard tables on the workers stay empty), 2PC,
 * reference tables, background jobs (rebalance moves run synchronously inside
 * citus_rebalance_start and copy no data), DDL propagation, metadata sync of
 * table metadata to workers.
 *
 * Node-to-node connections use libpq through the C functions of the dblink
 * library, declared privately in schema citus_double_internal, so that
 * CREATE EXTENSION citus needs no other extension. Passwords come from
 * libpq's PGPASSFILE / ~/.pgpass, as with real Citus. Every node connection
 * carries citus.node_conninfo (default sslmode=require), and CREATE EXTENSION
 * turns ssl on (self-signed certificate when none exists), as documented for
 * Citus: see citus_double_internal.ensure_ssl at the end of this script.
 */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION citus" to load this file. \quit

-- Real Citus keeps its catalog tables in pg_catalog; creating relations there
-- needs allow_system_table_mods (superuser-settable since PostgreSQL 12).
-- A plain SET would outlive CREATE EXTENSION, so the script RESETs it at its end.
-- (CREATE EXTENSION itself runs the script with search_path = pg_catalog.)
SET allow_system_table_mods = on;

-- Loading the C module here makes CREATE EXTENSION fail like real Citus when
-- citus is not in shared_preload_libraries.
CREATE FUNCTION pg_catalog.citus_version()
    RETURNS text
    LANGUAGE C STRICT IMMUTABLE
    AS 'MODULE_PATHNAME', 'citus_double_banner';
COMMENT ON FUNCTION pg_catalog.citus_version()
    IS 'Citus test double: returns a banner starting with "Citus test double"';

CREATE SCHEMA citus;
CREATE SCHEMA citus_double_internal;
REVOKE ALL ON SCHEMA citus_double_internal FROM PUBLIC;

CREATE TYPE citus.distribution_type AS ENUM ('hash', 'range', 'append');
CREATE TYPE pg_catalog.noderole AS ENUM ('primary', 'secondary', 'unavailable');

------------------------------------------------------------------------------
-- catalog tables
------------------------------------------------------------------------------
CREATE SEQUENCE pg_catalog.pg_dist_groupid_seq MINVALUE 1 MAXVALUE 4294967296 NO CYCLE;
CREATE SEQUENCE pg_catalog.pg_dist_node_nodeid_seq MINVALUE 1 MAXVALUE 4294967296 NO CYCLE;
CREATE SEQUENCE pg_catalog.pg_dist_colocationid_seq MINVALUE 1 MAXVALUE 4294967296 NO CYCLE;
CREATE SEQUENCE pg_catalog.pg_dist_shardid_seq MINVALUE 102008 START WITH 102008 NO CYCLE;
CREATE SEQUENCE pg_catalog.pg_dist_placement_placementid_seq MINVALUE 1 NO CYCLE;

CREATE TABLE pg_catalog.pg_dist_node (
    nodeid           integer NOT NULL DEFAULT nextval('pg_catalog.pg_dist_node_nodeid_seq') PRIMARY KEY,
    groupid          integer NOT NULL DEFAULT nextval('pg_catalog.pg_dist_groupid_seq'),
    nodename         text    NOT NULL,
    nodeport         integer NOT NULL DEFAULT 5432,
    noderack         text    NOT NULL DEFAULT 'default',
    hasmetadata      boolean NOT NULL DEFAULT false,
    isactive         boolean NOT NULL DEFAULT true,
    noderole         pg_catalog.noderole NOT NULL DEFAULT 'primary',
    nodecluster      name    NOT NULL DEFAULT 'default',
    metadatasynced   boolean DEFAULT false,
    shouldhaveshards boolean NOT NULL DEFAULT true,
    UNIQUE (nodename, nodeport)
);

CREATE TABLE pg_catalog.pg_dist_local_group (
    groupid integer NOT NULL
);
INSERT INTO pg_catalog.pg_dist_local_group VALUES (0);

-- server_id identifies this data directory; a clone (pg_basebackup) copies it.
CREATE TABLE pg_catalog.pg_dist_node_metadata (
    metadata jsonb NOT NULL
);
INSERT INTO pg_catalog.pg_dist_node_metadata
    VALUES (jsonb_build_object('server_id', gen_random_uuid()::text));

CREATE TABLE pg_catalog.pg_dist_colocation (
    colocationid                integer NOT NULL PRIMARY KEY,
    shardcount                  integer NOT NULL,
    replicationfactor           integer NOT NULL,
    distributioncolumntype      oid     NOT NULL,
    distributioncolumncollation oid     NOT NULL
);

CREATE TABLE pg_catalog.pg_dist_partition (
    logicalrelid  regclass NOT NULL PRIMARY KEY,
    partmethod    "char"   NOT NULL,
    partkey       text,
    colocationid  integer  NOT NULL DEFAULT 0,
    repmodel      "char"   NOT NULL DEFAULT 'c',
    autoconverted boolean  DEFAULT false
);

CREATE TABLE pg_catalog.pg_dist_shard (
    logicalrelid  regclass NOT NULL,
    shardid       bigint   NOT NULL PRIMARY KEY,
    shardstorage  "char"   NOT NULL,
    shardalias    text,
    shardminvalue text,
    shardmaxvalue text
);
CREATE INDEX pg_dist_shard_logical_relid_index ON pg_catalog.pg_dist_shard (logicalrelid);

CREATE TABLE pg_catalog.pg_dist_placement (
    placementid bigint  NOT NULL DEFAULT nextval('pg_catalog.pg_dist_placement_placementid_seq') PRIMARY KEY,
    shardid     bigint  NOT NULL,
    shardstate  integer NOT NULL,
    shardlength bigint  NOT NULL,
    groupid     integer NOT NULL
);
CREATE INDEX pg_dist_placement_shardid_index ON pg_catalog.pg_dist_placement (shardid);
CREATE INDEX pg_dist_placement_groupid_index ON pg_catalog.pg_dist_placement (groupid);

-- Placements joined with the PRIMARY node of their group (secondaries filtered).
CREATE VIEW pg_catalog.pg_dist_shard_placement AS
    SELECT p.shardid, p.shardstate, p.shardlength, n.nodename, n.nodeport, p.placementid
      FROM pg_catalog.pg_dist_placement p
      JOIN pg_catalog.pg_dist_node n
        ON p.groupid = n.groupid AND n.noderole = 'primary';

GRANT SELECT ON pg_catalog.pg_dist_node, pg_catalog.pg_dist_local_group,
    pg_catalog.pg_dist_node_metadata, pg_catalog.pg_dist_colocation,
    pg_catalog.pg_dist_partition, pg_catalog.pg_dist_shard,
    pg_catalog.pg_dist_placement, pg_catalog.pg_dist_shard_placement TO PUBLIC;

------------------------------------------------------------------------------
-- internal helpers (schema citus_double_internal)
------------------------------------------------------------------------------

-- libpq through dblink's C functions (the dblink library ships with
-- PostgreSQL's contrib; no dblink extension is created).
CREATE FUNCTION citus_double_internal.dblink_exec(text, text)
    RETURNS text LANGUAGE C STRICT
    AS '$libdir/dblink', 'dblink_exec';
CREATE FUNCTION citus_double_internal.dblink(text, text)
    RETURNS SETOF record LANGUAGE C STRICT
    AS '$libdir/dblink', 'dblink_record';

CREATE FUNCTION citus_double_internal.conninfo_quote(v text)
    RETURNS text LANGUAGE sql IMMUTABLE STRICT
    AS $$ SELECT '''' || replace(replace(v, '\', '\\'), '''', '\''') || '''' $$;

-- Connection string for host:port in the current database as the current
-- user, with citus.node_conninfo appended (no password: .pgpass supplies it).
-- EVERY node connection of the double is built here, so all of them carry
-- citus.node_conninfo (default sslmode=require: a node without working ssl
-- fails, as with real Citus).
CREATE FUNCTION citus_double_internal.connstr(host text, port integer, timeout_ms integer DEFAULT NULL)
    RETURNS text LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog
AS $$
DECLARE
    t integer := coalesce(timeout_ms,
                          (SELECT s.setting::integer FROM pg_settings s
                            WHERE s.name = 'citus.node_connection_timeout'),
                          30000);
BEGIN
    RETURN format('host=%s port=%s dbname=%s user=%s connect_timeout=%s application_name=citus_double %s',
                  citus_double_internal.conninfo_quote(host), port,
                  citus_double_internal.conninfo_quote(current_database()),
                  citus_double_internal.conninfo_quote(current_user),
                  greatest(2, ceil(t / 1000.0)::integer),
                  coalesce(current_setting('citus.node_conninfo', true), ''));
END $$;

-- Run a command on a node (autocommit there; a multi-statement string runs in
-- one implicit transaction). Connection failures are reported like Citus.
CREATE FUNCTION citus_double_internal.remote_exec(host text, port integer, cmd text, timeout_ms integer DEFAULT NULL)
    RETURNS void LANGUAGE plpgsql
    SET search_path = pg_catalog
AS $$
DECLARE
    d text;
BEGIN
    PERFORM citus_double_internal.dblink_exec(citus_double_internal.connstr(host, port, timeout_ms), cmd);
EXCEPTION WHEN sqlclient_unable_to_establish_sqlconnection THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
    RAISE EXCEPTION 'connection to the remote node %@%:% failed with the following error: %',
        current_user, host, port, btrim(coalesce(d, 'unknown error'), E' \n')
        USING ERRCODE = 'connection_failure';
END $$;

-- One text value from a node.
CREATE FUNCTION citus_double_internal.remote_value(host text, port integer, query text, timeout_ms integer DEFAULT NULL)
    RETURNS text LANGUAGE plpgsql
    SET search_path = pg_catalog
AS $$
DECLARE
    d text;
    v text;
BEGIN
    SELECT r.v INTO v
      FROM citus_double_internal.dblink(citus_double_internal.connstr(host, port, timeout_ms), query) AS r(v text);
    RETURN v;
EXCEPTION WHEN sqlclient_unable_to_establish_sqlconnection THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
    RAISE EXCEPTION 'connection to the remote node %@%:% failed with the following error: %',
        current_user, host, port, btrim(coalesce(d, 'unknown error'), E' \n')
        USING ERRCODE = 'connection_failure';
END $$;

CREATE FUNCTION citus_double_internal.local_group_id()
    RETURNS integer LANGUAGE sql STABLE
    AS $$ SELECT groupid FROM pg_catalog.pg_dist_local_group LIMIT 1 $$;

-- Real Citus runs node management only on the coordinator.
CREATE FUNCTION citus_double_internal.ensure_coordinator()
    RETURNS void LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog
AS $$
BEGIN
    IF citus_double_internal.local_group_id() IS DISTINCT FROM 0 THEN
        RAISE EXCEPTION 'operation is not allowed on this node'
            USING HINT = 'Connect to the coordinator and run it again.';
    END IF;
END $$;

-- Advisory-lock class used for the per-group write fence (see README):
-- pg_advisory_xact_lock(1129600083 /* 'CDBS' */, groupid).
CREATE FUNCTION citus_double_internal.group_lock_class()
    RETURNS integer LANGUAGE sql IMMUTABLE
    AS $$ SELECT 1129600083 $$;

-- Take the group's write fence (transaction-level exclusive advisory lock)
-- until the transaction ends. With force, holders that still block after
-- lock_cooldown ms are terminated, as real Citus does for conflicting backends.
CREATE FUNCTION citus_double_internal.lock_group_for_update(gid integer, force boolean, lock_cooldown integer)
    RETURNS void LANGUAGE plpgsql
    SET search_path = pg_catalog
AS $$
DECLARE
    cls integer := citus_double_internal.group_lock_class();
    started timestamptz := clock_timestamp();
    holder integer;
BEGIN
    IF NOT force THEN
        PERFORM pg_advisory_xact_lock(cls, gid);
        RETURN;
    END IF;
    LOOP
        EXIT WHEN pg_try_advisory_xact_lock(cls, gid);
        IF clock_timestamp() - started >= make_interval(secs => greatest(lock_cooldown, 0) / 1000.0) THEN
            FOR holder IN
                SELECT DISTINCT l.pid FROM pg_locks l
                 WHERE l.locktype = 'advisory' AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                   AND l.classid = cls::oid AND l.objid = gid::oid AND l.objsubid = 2
                   AND l.granted AND l.pid <> pg_backend_pid()
            LOOP
                RAISE WARNING 'terminating backend % that holds the write lock of group % (citus test double, force)', holder, gid;
                PERFORM pg_terminate_backend(holder);
            END LOOP;
        END IF;
        PERFORM pg_sleep(0.05);
    END LOOP;
END $$;

-- Push node metadata to one node: its local group id and pg_dist_node.
CREATE FUNCTION citus_double_internal.node_metadata_commands(target_group integer)
    RETURNS text LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog
AS $$
DECLARE
    rows text;
BEGIN
    SELECT string_agg(format('(%s,%s,%L,%s,%L,%L,%L,%L,%L,%L,%L)',
                             nodeid, groupid, nodename, nodeport, noderack, hasmetadata, isactive,
                             noderole, nodecluster, metadatasynced, shouldhaveshards), ',' ORDER BY nodeid)
      INTO rows FROM pg_dist_node;
    RETURN 'BEGIN; '
        || format('UPDATE pg_catalog.pg_dist_local_group SET groupid = %s; ', target_group)
        || 'DELETE FROM pg_catalog.pg_dist_node; '
        || CASE WHEN rows IS NULL THEN '' ELSE
           'INSERT INTO pg_catalog.pg_dist_node (nodeid, groupid, nodename, nodeport, noderack, hasmetadata, '
           || 'isactive, noderole, nodecluster, metadatasynced, shouldhaveshards) VALUES ' || rows || '; ' END
        || 'COMMIT;';
END $$;

-- Best effort: refresh pg_dist_node on every primary worker with metadata
-- (real Citus does this through its maintenance daemon). Returns the number
-- of nodes that could not be reached.
CREATE FUNCTION citus_double_internal.sync_node_metadata_best_effort()
    RETURNS integer LANGUAGE plpgsql
    SET search_path = pg_catalog
AS $$
DECLARE
    n record;
    failed integer := 0;
BEGIN
    FOR n IN SELECT * FROM pg_dist_node
              WHERE groupid <> 0 AND noderole = 'primary' AND hasmetadata AND isactive
              ORDER BY nodeid
    LOOP
        BEGIN
            PERFORM citus_double_internal.remote_exec(n.nodename, n.nodeport,
                citus_double_internal.node_metadata_commands(n.groupid), 3000);
        EXCEPTION WHEN OTHERS THEN
            failed := failed + 1;
            RAISE DEBUG 'citus test double: could not sync node metadata to %:%: %', n.nodename, n.nodeport, SQLERRM;
        END;
    END LOOP;
    RETURN failed;
END $$;

------------------------------------------------------------------------------
-- node management UDFs
------------------------------------------------------------------------------

CREATE FUNCTION pg_catalog.citus_is_coordinator()
    RETURNS boolean LANGUAGE sql STABLE
    SET search_path = pg_catalog
AS $$
    SELECT citus_double_internal.local_group_id() = 0
       AND EXISTS (SELECT 1 FROM pg_catalog.pg_dist_node)
$$;

CREATE FUNCTION pg_catalog.citus_get_active_worker_nodes(OUT node_name text, OUT node_port bigint)
    RETURNS SETOF record LANGUAGE sql STABLE
    SET search_path = pg_catalog
AS $$
    SELECT nodename, nodeport::bigint FROM pg_catalog.pg_dist_node
     WHERE isactive AND noderole = 'primary' AND groupid <> 0
     ORDER BY nodename, nodeport
$$;

CREATE FUNCTION pg_catalog.citus_set_coordinator_host(
        host text,
        port integer DEFAULT current_setting('port')::integer,
        node_role pg_catalog.noderole DEFAULT 'primary',
        node_cluster name DEFAULT 'default')
    RETURNS void LANGUAGE plpgsql
    SET search_path = pg_catalog
AS $$
DECLARE
    v_host text := host;
    v_port integer := port;
BEGIN
    PERFORM citus_double_internal.ensure_coordinator();
    LOCK TABLE pg_catalog.pg_dist_node IN SHARE ROW EXCLUSIVE MODE;
    UPDATE pg_catalog.pg_dist_node d SET nodename = v_host, nodeport = v_port
     WHERE d.groupid = 0 AND d.noderole = node_role AND d.nodecluster = node_cluster;
    IF NOT FOUND THEN
        IF EXISTS (SELECT 1 FROM pg_catalog.pg_dist_node d WHERE d.nodename = v_host AND d.nodeport = v_port) THEN
            RAISE EXCEPTION 'there is already another node with the specified hostname and port';
        END IF;
        INSERT INTO pg_catalog.pg_dist_node
               (groupid, nodename, nodeport, hasmetadata, isactive, noderole, nodecluster,
                metadatasynced, shouldhaveshards)
        VALUES (0, v_host, v_port, true, true, node_role, node_cluster, true, false);
    END IF;
    PERFORM citus_double_internal.sync_node_metadata_best_effort();
END $$;

CREATE FUNCTION pg_catalog.citus_add_node(
        nodename text,
        nodeport integer,
        groupid integer DEFAULT -1,
        noderole pg_catalog.noderole DEFAULT 'primary',
        nodecluster name DEFAULT 'default')
    RETURNS integer LANGUAGE plpgsql
    SET search_path = pg_catalog
AS $$
DECLARE
    v_name text := nodename;
    v_port integer := nodeport;
    v_group integer := groupid;
    v_role pg_catalog.noderole := noderole;
    v_cluster name := nodecluster;
    v_id integer;
    coord record;
    remote_server_id text;
    local_server_id text;
BEGIN
    PERFORM citus_double_internal.ensure_coordinator();
    LOCK TABLE pg_catalog.pg_dist_node IN SHARE ROW EXCLUSIVE MODE;

    -- Repeating returns the existing nodeid, whatever that row's state.
    SELECT d.nodeid INTO v_id FROM pg_catalog.pg_dist_node d
     WHERE d.nodename = v_name AND d.nodeport = v_port;
    IF FOUND THEN
        RETURN v_id;
    END IF;

    -- Documented pitfall: coordinator recorded implicitly as localhost.
    IF v_group <> 0 AND v_name <> 'localhost' THEN
        SELECT * INTO coord FROM pg_catalog.pg_dist_node d
         WHERE d.groupid = 0 AND d.noderole = 'primary' LIMIT 1;
        IF FOUND AND coord.nodename = 'localhost' THEN
            RAISE EXCEPTION 'cannot add a worker node when the coordinator hostname is set to localhost'
                USING DETAIL = 'Worker nodes need to be able to connect to the coordinator to transfer data.',
                      HINT = 'Use SELECT citus_set_coordinator_host(''<hostname>'') to configure the coordinator hostname';
        END IF;
    END IF;

    IF v_role = 'primary' AND v_group >= 0 AND EXISTS (
            SELECT 1 FROM pg_catalog.pg_dist_node d
             WHERE d.groupid = v_group AND d.noderole = 'primary' AND d.nodecluster = v_cluster) THEN
        RAISE EXCEPTION 'group % already has a primary node', v_group;
    END IF;
    IF v_role <> 'primary' AND v_group < 0 THEN
        RAISE EXCEPTION 'a node with role % must be added to an existing group (pass groupid)', v_role;
    END IF;
    IF v_role <> 'primary' AND NOT EXISTS (
            SELECT 1 FROM pg_catalog.pg_dist_node d WHERE d.groupid = v_group AND d.noderole = 'primary') THEN
        RAISE EXCEPTION 'group % does not have a primary node', v_group;
    END IF;

    IF v_group <> 0 THEN
        -- Connects to the node (fails when unreachable or without citus) and
        -- compares server ids: a node whose data directory was cloned from
        -- this one carries the same server_id.
        remote_server_id := citus_double_internal.remote_value(v_name, v_port,
            'SELECT metadata ->> ''server_id'' AS server_id FROM pg_dist_node_metadata');
        SELECT m.metadata ->> 'server_id' INTO local_server_id FROM pg_catalog.pg_dist_node_metadata m;
        IF remote_server_id IS NOT DISTINCT FROM local_server_id THEN
            RAISE EXCEPTION 'Node cannot add itself as a worker.'
                USING HINT = format('Add the node as a coordinator by using: SELECT citus_set_coordinator_host(''%s'', %s);',
                                    v_name, v_port);
        END IF;
    END IF;

    IF v_group < 0 THEN
        v_group := nextval('pg_catalog.pg_dist_groupid_seq');
    END IF;

    INSERT INTO pg_catalog.pg_dist_node AS d
           (groupid, nodename, nodeport, hasmetadata, isactive, noderole, nodecluster,
            metadatasynced, shouldhaveshards)
    VALUES (v_group, v_name, v_port,
            v_role = 'primary' OR v_group = 0, true, v_role, v_cluster,
            v_role = 'primary' OR v_group = 0, v_group <> 0)
    RETURNING d.nodeid INTO v_id;

    -- Activation: the new primary learns its group and the node list.
    IF v_role = 'primary' AND v_group <> 0 THEN
        PERFORM citus_double_internal.remote_exec(v_name, v_port,
            citus_double_internal.node_metadata_commands(v_group));
    END IF;
    PERFORM citus_double_internal.sync_node_metadata_best_effort();
    RETURN v_id;
END $$;

CREATE FUNCTION pg_catalog.citus_remove_node(nodename text, nodeport integer)
    RETURNS void LANGUAGE plpgsql
    SET search_path = pg_catalog
AS $$
DECLARE
    v_name text := nodename;
    v_port integer := nodeport;
    n record;
    blocker record;
BEGIN
    PERFORM citus_double_internal.ensure_coordinator();
    LOCK TABLE pg_catalog.pg_dist_node IN SHARE ROW EXCLUSIVE MODE;
    SELECT * INTO n FROM pg_catalog.pg_dist_node d WHERE d.nodename = v_name AND d.nodeport = v_port;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'node at "%:%" does not exist', v_name, v_port;
    END IF;

    IF n.noderole = 'primary' THEN
        SELECT p.shardid, s.logicalrelid INTO blocker
          FROM pg_catalog.pg_dist_placement p
          JOIN pg_catalog.pg_dist_shard s USING (shardid)
         WHERE p.groupid = n.groupid AND p.shardstate = 1
           AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_placement o
                            JOIN pg_catalog.pg_dist_node on_ ON on_.groupid = o.groupid
                                 AND on_.noderole = 'primary' AND on_.isactive
                           WHERE o.shardid = p.shardid AND o.groupid <> n.groupid AND o.shardstate = 1)
         ORDER BY p.shardid LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'cannot remove or disable the node %:% because because it contains the only shard placement for shard %',
                    v_name, v_port, blocker.shardid
                USING DETAIL = format('One of the table(s) that prevents the operation complete successfully is %s',
                                      blocker.logicalrelid::regclass::text),
                      HINT = 'To proceed, either drop the tables or use undistribute_table() function to convert them to local tables';
        END IF;
    END IF;

    DELETE FROM pg_catalog.pg_dist_node d WHERE d.nodeid = n.nodeid;
    IF n.noderole = 'primary' THEN
        DELETE FROM pg_catalog.pg_dist_placement p WHERE p.groupid = n.groupid;
    END IF;

    -- Best effort: the removed primary forgets the cluster metadata.
    IF n.groupid <> 0 AND n.noderole = 'primary' THEN
        BEGIN
            PERFORM citus_double_internal.remote_exec(n.nodename, n.nodeport,
                'BEGIN; UPDATE pg_catalog.pg_dist_local_group SET groupid = 0; DELETE FROM pg_catalog.pg_dist_node; COMMIT;', 3000);
        EXCEPTION WHEN OTHERS THEN
            NULL;
        END;
    END IF;
    PERFORM citus_double_internal.sync_node_metadata_best_effort();
END $$;

CREATE FUNCTION pg_catalog.citus_update_node(
        node_id integer,
        new_node_name text,
        new_node_port integer,
        force boolean DEFAULT false,
        lock_cooldown integer DEFAULT 10000)
    RETURNS void LANGUAGE plpgsql
    SET search_path = pg_catalog
AS $$
DECLARE
    n record;
BEGIN
    PERFORM citus_double_internal.ensure_coordinator();
    SELECT * INTO n FROM pg_catalog.pg_dist_node d WHERE d.nodeid = node_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'node % not found', node_id;
    END IF;
    -- Same host:port again: nothing to do.
    IF n.nodename = new_node_name AND n.nodeport = new_node_port THEN
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_dist_node d
                WHERE d.nodename = new_node_name AND d.nodeport = new_node_port) THEN
        RAISE EXCEPTION 'there is already another node with the specified hostname and port';
    END IF;

    -- Write fence for the group's placements until commit (advisory-lock emulation).
    IF n.noderole = 'primary' THEN
        PERFORM citus_double_internal.lock_group_for_update(n.groupid, force, lock_cooldown);
    END IF;
    LOCK TABLE pg_catalog.pg_dist_node IN SHARE ROW EXCLUSIVE MODE;

    UPDATE pg_catalog.pg_dist_node d
       SET nodename = new_node_name, nodeport = new_node_port, metadatasynced = true
     WHERE d.nodeid = node_id;
    PERFORM citus_double_internal.sync_node_metadata_best_effort();
END $$;

CREATE FUNCTION pg_catalog.citus_pause_node_within_txn(
        node_id integer,
        force boolean DEFAULT false,
        lock_cooldown integer DEFAULT 10000)
    RETURNS void LANGUAGE plpgsql
    SET search_path = pg_catalog
AS $$
DECLARE
    gid integer;
BEGIN
    PERFORM citus_double_internal.ensure_coordinator();
    SELECT d.groupid INTO gid FROM pg_catalog.pg_dist_node d WHERE d.nodeid = node_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'node % not found', node_id;
    END IF;
    PERFORM citus_double_internal.lock_group_for_update(gid, force, lock_cooldown);
END $$;

CREATE FUNCTION pg_catalog.citus_check_connection_to_node(nodename text, nodeport integer DEFAULT 5432)
    RETURNS boolean LANGUAGE plpgsql
    SET search_path = pg_catalog
AS $$
BEGIN
    PERFORM 1 FROM citus_double_internal.dblink(citus_double_internal.connstr(nodename, nodeport), 'SELECT 1')
             AS r(one integer);
    RETURN true;
EXCEPTION WHEN OTHERS THEN
    RETURN false;
END $$;

-- For every ordered pair of active primary nodes (coordinator included):
-- the coordinator connects to "from" and runs citus_check_connection_to_node
-- for each "to" there; the coordinator's own row is checked locally. When the
-- coordinator cannot reach "from", its rows have result NULL.
CREATE FUNCTION pg_catalog.citus_check_cluster_node_health(
        OUT from_nodename text, OUT from_nodeport integer,
        OUT to_nodename text, OUT to_nodeport integer, OUT result boolean)
    RETURNS SETOF record LANGUAGE plpgsql
    SET search_path = pg_catalog
AS $$
DECLARE
    f record;
    t record;
    q text;
    local_gid integer := citus_double_internal.local_group_id();
BEGIN
    FOR f IN SELECT nodename, nodeport, groupid FROM pg_catalog.pg_dist_node
              WHERE isactive AND noderole = 'primary' ORDER BY nodeid
    LOOP
        IF f.groupid = local_gid THEN
            FOR t IN SELECT nodename, nodeport FROM pg_catalog.pg_dist_node
                      WHERE isactive AND noderole = 'primary' ORDER BY nodeid
            LOOP
                from_nodename := f.nodename; from_nodeport := f.nodeport;
                to_nodename := t.nodename; to_nodeport := t.nodeport;
                result := pg_catalog.citus_check_connection_to_node(t.nodename, t.nodeport);
                RETURN NEXT;
            END LOOP;
        ELSE
            SELECT 'SELECT n, p, pg_catalog.citus_check_connection_to_node(n, p) FROM (VALUES '
                   || string_agg(format('(%L::text,%s::integer,%s)', nodename, nodeport, nodeid), ',')
                   || ') v(n, p, o) ORDER BY o'
              INTO q
              FROM pg_catalog.pg_dist_node WHERE isactive AND noderole = 'primary';
            BEGIN
                FOR t IN SELECT * FROM citus_double_internal.dblink(
                             citus_double_internal.connstr(f.nodename, f.nodeport), q)
                             AS r(n text, p integer, ok boolean)
                LOOP
                    from_nodename := f.nodename; from_nodeport := f.nodeport;
                    to_nodename := t.n; to_nodeport := t.p; result := t.ok;
                    RETURN NEXT;
                END LOOP;
            EXCEPTION WHEN OTHERS THEN
                FOR t IN SELECT nodename, nodeport FROM pg_catalog.pg_dist_node
                          WHERE isactive AND noderole = 'primary' ORDER BY nodeid
                LOOP
                    from_nodename := f.nodename; from_nodeport := f.nodeport;
                    to_nodename := t.nodename; to_nodeport := t.nodeport; result := NULL;
                    RETURN NEXT;
                END LOOP;
            END;
        END IF;
    END LOOP;
END $$;

------------------------------------------------------------------------------
-- distributed tables
------------------------------------------------------------------------------

-- Name of the column that a pg_dist_partition.partkey text denotes.
CREATE FUNCTION pg_catalog.column_to_column_name(table_name regclass, column_var_text text)
    RETURNS text LANGUAGE sql STABLE STRICT
    SET search_path = pg_catalog
AS $$
    SELECT a.attname::text FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = table_name
       AND a.attnum = (regexp_match(column_var_text, ':varattno (\d+)'))[1]::smallint
$$;

-- CREATE TABLE statement of one shard of rel (columns, NOT NULL, PRIMARY KEY,
-- UNIQUE and CHECK constraints; constraint names suffixed with the shard id).
CREATE FUNCTION citus_double_internal.shard_ddl(rel regclass, shard bigint)
    RETURNS text LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog
AS $$
DECLARE
    nsp text;
    rname text;
    cols text;
    cons text;
BEGIN
    SELECT n.nspname, c.relname INTO nsp, rname
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = rel;
    SELECT string_agg(format('%I %s%s%s', a.attname, format_type(a.atttypid, a.atttypmod),
                             CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
                                  THEN format(' COLLATE %I.%I', cn.nspname, co.collname) ELSE '' END,
                             CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END),
                      ', ' ORDER BY a.attnum)
      INTO cols
      FROM pg_attribute a
      JOIN pg_type t ON t.oid = a.atttypid
      LEFT JOIN pg_collation co ON co.oid = a.attcollation
      LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
     WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped;
    SELECT string_agg(format(', CONSTRAINT %I %s', c.conname || '_' || shard, pg_get_constraintdef(c.oid)),
                      '' ORDER BY c.contype DESC, c.conname)
      INTO cons
      FROM pg_constraint c
     WHERE c.conrelid = rel AND c.contype IN ('p', 'u', 'c');
    RETURN CASE WHEN nsp <> 'public' THEN format('CREATE SCHEMA IF NOT EXISTS %I; ', nsp) ELSE '' END
        || format('CREATE TABLE %I.%I (%s%s);', nsp, rname || '_' || shard, coalesce(cols, ''), coalesce(cons, ''));
END $$;

CREATE FUNCTION pg_catalog.create_distributed_table(
        table_name regclass,
        distribution_column text,
        distribution_type citus.distribution_type DEFAULT 'hash',
        colocate_with text DEFAULT 'default',
        shard_count integer DEFAULT NULL)
    RETURNS void LANGUAGE plpgsql
    -- no SET search_path: colocate_with is resolved with the caller's search_path
AS $$
DECLARE
    rel oid := table_name;
    rname text;
    att record;
    partkey text;
    n_shards integer;
    coloc_id integer;
    coloc_rel regclass;
    coloc_groups integer[];
    groups integer[];
    g integer;
    inc bigint;
    minv bigint;
    maxv bigint;
    sid bigint;
    i integer;
    node record;
    cmds text;
BEGIN
    PERFORM citus_double_internal.ensure_coordinator();
    SELECT c.relname INTO rname FROM pg_class c WHERE c.oid = rel;
    EXECUTE format('LOCK TABLE %s IN EXCLUSIVE MODE', table_name);
    LOCK TABLE pg_catalog.pg_dist_node IN SHARE MODE;
    LOCK TABLE pg_catalog.pg_dist_partition IN SHARE ROW EXCLUSIVE MODE;

    IF EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = table_name) THEN
        RAISE EXCEPTION 'table "%" is already distributed', rname
            USING ERRCODE = 'invalid_table_definition';
    END IF;
    IF distribution_column IS NULL THEN
        RAISE EXCEPTION 'distribution_column cannot be NULL (the citus test double does not emulate single-shard tables)';
    END IF;

    SELECT a.attnum, a.atttypid, a.atttypmod, a.attcollation INTO att
      FROM pg_attribute a
     WHERE a.attrelid = rel AND a.attname = distribution_column AND a.attnum > 0 AND NOT a.attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column "%" of relation "%" does not exist', distribution_column, rname
            USING ERRCODE = 'undefined_column';
    END IF;

    partkey := format('{VAR :varno 1 :varattno %s :vartype %s :vartypmod %s :varcollid %s%s :varlevelsup 0 :varnosyn 1 :varattnosyn %s :location -1}',
                      att.attnum, att.atttypid, att.atttypmod, att.attcollation,
                      CASE WHEN current_setting('server_version_num')::integer >= 160000 THEN ' :varnullingrels (b)' ELSE '' END,
                      att.attnum);

    IF distribution_type <> 'hash' THEN
        -- append/range tables start without shards.
        INSERT INTO pg_catalog.pg_dist_partition (logicalrelid, partmethod, partkey, colocationid, repmodel, autoconverted)
        VALUES (table_name, CASE distribution_type WHEN 'range' THEN 'r' ELSE 'a' END, partkey, 0, 'c', false);
        RETURN;
    END IF;

    IF NOT EXISTS (SELECT 1 FROM pg_opclass oc JOIN pg_am am ON am.oid = oc.opcmethod
                    WHERE am.amname = 'hash' AND oc.opcdefault
                      AND (oc.opcintype = att.atttypid
                           OR oc.opcintype = (SELECT typbasetype FROM pg_type WHERE oid = att.atttypid)
                           OR EXISTS (SELECT 1 FROM pg_cast ca WHERE ca.castsource = att.atttypid
                                         AND ca.casttarget = oc.opcintype AND ca.castmethod = 'b')
                           OR (oc.opcintype = 'anyenum'::regtype
                               AND EXISTS (SELECT 1 FROM pg_type WHERE oid = att.atttypid AND typtype = 'e')))) THEN
        RAISE EXCEPTION 'could not identify a hash function for type %', format_type(att.atttypid, NULL)
            USING DETAIL = 'Partition column types must have a hash function defined to use hash partitioning.';
    END IF;

    -- Unique constraints must include the distribution column.
    IF EXISTS (SELECT 1 FROM pg_index x WHERE x.indrelid = rel AND x.indisunique
                AND NOT (att.attnum = ANY (x.indkey::smallint[]))) THEN
        RAISE EXCEPTION 'cannot create constraint on "%"', rname
            USING DETAIL = 'Distributed relations cannot have UNIQUE, EXCLUDE, or PRIMARY KEY constraints that do not include the partition column (with an equality operator if EXCLUDE).',
                  ERRCODE = 'feature_not_supported';
    END IF;

    IF shard_count IS NOT NULL AND (shard_count < 1 OR shard_count > 64000) THEN
        RAISE EXCEPTION '% is outside the valid range for parameter "shard_count" (1 .. 64000)', shard_count;
    END IF;

    -- Colocation.
    IF lower(colocate_with) = 'none' THEN
        coloc_id := NULL;
    ELSIF lower(colocate_with) = 'default' THEN
        n_shards := coalesce(shard_count, nullif(current_setting('citus.shard_count', true), '')::integer, 32);
        SELECT c.colocationid INTO coloc_id FROM pg_catalog.pg_dist_colocation c
         WHERE c.shardcount = n_shards AND c.replicationfactor = 1
           AND c.distributioncolumntype = att.atttypid AND c.distributioncolumncollation = att.attcollation
         ORDER BY c.colocationid LIMIT 1;
    ELSE
        IF shard_count IS NOT NULL THEN
            RAISE EXCEPTION 'Cannot use colocate_with with a table and shard_count at the same time';
        END IF;
        coloc_rel := colocate_with::regclass;
        SELECT p.colocationid INTO coloc_id FROM pg_catalog.pg_dist_partition p
         WHERE p.logicalrelid = coloc_rel AND p.partmethod = 'h';
        IF NOT FOUND THEN
            RAISE EXCEPTION 'cannot colocate tables % and %', coloc_rel::text, rname
                USING DETAIL = format('Relation %s is not a hash distributed table.', coloc_rel::text);
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_colocation c
                        WHERE c.colocationid = coloc_id AND c.distributioncolumntype = att.atttypid) THEN
            RAISE EXCEPTION 'cannot colocate tables % and %', coloc_rel::text, rname
                USING DETAIL = format('Distribution column types don''t match for %s and %s.', coloc_rel::text, rname);
        END IF;
    END IF;

    IF coloc_id IS NOT NULL THEN
        SELECT c.shardcount INTO n_shards FROM pg_catalog.pg_dist_colocation c WHERE c.colocationid = coloc_id;
        -- Placement groups of the first table in the colocation group, by shard index.
        SELECT array_agg(pl.groupid ORDER BY s.shardid) INTO coloc_groups
          FROM pg_catalog.pg_dist_shard s
          JOIN pg_catalog.pg_dist_placement pl ON pl.shardid = s.shardid
         WHERE s.logicalrelid = (SELECT p.logicalrelid FROM pg_catalog.pg_dist_partition p
                                  WHERE p.colocationid = coloc_id ORDER BY p.logicalrelid::oid LIMIT 1);
    ELSE
        n_shards := coalesce(shard_count, nullif(current_setting('citus.shard_count', true), '')::integer, 32);
    END IF;

    -- Real Citus inserts the coordinator as localhost when the cluster is empty
    -- (single-node mode); a later citus_add_node then fails (documented pitfall).
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_node) THEN
        INSERT INTO pg_catalog.pg_dist_node
               (groupid, nodename, nodeport, hasmetadata, isactive, noderole, nodecluster, metadatasynced, shouldhaveshards)
        VALUES (0, 'localhost', current_setting('port')::integer, true, true, 'primary', 'default', true, true);
    END IF;

    SELECT array_agg(d.groupid ORDER BY d.nodename, d.nodeport) INTO groups
      FROM pg_catalog.pg_dist_node d
     WHERE d.isactive AND d.noderole = 'primary' AND d.shouldhaveshards AND d.nodecluster = 'default';
    IF groups IS NULL THEN
        RAISE EXCEPTION 'no worker nodes are available for placing shards'
            USING HINT = 'Add more worker nodes.';
    END IF;

    IF coloc_id IS NULL THEN
        coloc_id := nextval('pg_catalog.pg_dist_colocationid_seq');
        INSERT INTO pg_catalog.pg_dist_colocation VALUES (coloc_id, n_shards, 1, att.atttypid, att.attcollation);
    END IF;

    INSERT INTO pg_catalog.pg_dist_partition (logicalrelid, partmethod, partkey, colocationid, repmodel, autoconverted)
    VALUES (table_name, 'h', partkey, coloc_id, 's', false);

    -- Hash ranges over int4, split evenly; the last shard ends at INT32_MAX.
    CREATE TEMP TABLE IF NOT EXISTS citus_double_new_shards (shardid bigint, groupid integer) ON COMMIT DROP;
    TRUNCATE citus_double_new_shards;
    inc := 4294967296 / n_shards;
    FOR i IN 0 .. n_shards - 1 LOOP
        minv := -2147483648 + i * inc;
        maxv := CASE WHEN i = n_shards - 1 THEN 2147483647 ELSE minv + inc - 1 END;
        sid := nextval('pg_catalog.pg_dist_shardid_seq');
        IF coloc_groups IS NOT NULL AND array_length(coloc_groups, 1) = n_shards THEN
            g := coloc_groups[i + 1];
        ELSE
            g := groups[(i % array_length(groups, 1)) + 1];
        END IF;
        INSERT INTO pg_catalog.pg_dist_shard VALUES (table_name, sid, 't', NULL, minv::text, maxv::text);
        INSERT INTO pg_catalog.pg_dist_placement (shardid, shardstate, shardlength, groupid) VALUES (sid, 1, 0, g);
        INSERT INTO citus_double_new_shards VALUES (sid, g);
    END LOOP;

    -- Create the shard tables: one implicit transaction per node.
    FOR node IN SELECT d.groupid, d.nodename, d.nodeport FROM pg_catalog.pg_dist_node d
                 WHERE d.noderole = 'primary' AND d.groupid IN (SELECT DISTINCT ns.groupid FROM citus_double_new_shards ns)
                 ORDER BY d.groupid
    LOOP
        SELECT string_agg(citus_double_internal.shard_ddl(table_name, ns.shardid), ' ' ORDER BY ns.shardid) INTO cmds
          FROM citus_double_new_shards ns WHERE ns.groupid = node.groupid;
        IF node.groupid = citus_double_internal.local_group_id() THEN
            EXECUTE cmds;
        ELSE
            PERFORM citus_double_internal.remote_exec(node.nodename, node.nodeport, cmds);
        END IF;
    END LOOP;
    DROP TABLE citus_double_new_shards;
END $$;

-- DROP TABLE of a distributed table drops its metadata and its shard tables
-- (workers must be reachable, as with real Citus).
CREATE FUNCTION citus_double_internal.drop_trigger()
    RETURNS event_trigger LANGUAGE plpgsql
    SET search_path = pg_catalog
AS $$
DECLARE
    o record;
    node record;
    cmds text;
BEGIN
    -- DROP EXTENSION citus, or the catalog already gone: nothing to do.
    IF EXISTS (SELECT 1 FROM pg_event_trigger_dropped_objects() x
                WHERE x.object_type = 'table' AND x.schema_name = 'pg_catalog' AND x.object_name = 'pg_dist_partition')
       OR to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
        RETURN;
    END IF;
    FOR o IN SELECT x.objid, x.schema_name, x.object_name FROM pg_event_trigger_dropped_objects() x
              WHERE x.object_type = 'table' AND x.original
    LOOP
        CONTINUE WHEN NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid::oid = o.objid);
        FOR node IN SELECT d.groupid, d.nodename, d.nodeport FROM pg_catalog.pg_dist_node d
                     WHERE d.noderole = 'primary'
                       AND d.groupid IN (SELECT pl.groupid FROM pg_catalog.pg_dist_placement pl
                                           JOIN pg_catalog.pg_dist_shard s USING (shardid)
                                          WHERE s.logicalrelid::oid = o.objid)
        LOOP
            SELECT string_agg(format('DROP TABLE IF EXISTS %I.%I;', o.schema_name, o.object_name || '_' || s.shardid), ' ')
              INTO cmds
              FROM pg_catalog.pg_dist_shard s JOIN pg_catalog.pg_dist_placement pl USING (shardid)
             WHERE s.logicalrelid::oid = o.objid AND pl.groupid = node.groupid;
            IF node.groupid = citus_double_internal.local_group_id() THEN
                EXECUTE cmds;
            ELSE
                PERFORM citus_double_internal.remote_exec(node.nodename, node.nodeport, cmds);
            END IF;
        END LOOP;
        DELETE FROM pg_catalog.pg_dist_placement pl
         WHERE pl.shardid IN (SELECT s.shardid FROM pg_catalog.pg_dist_shard s WHERE s.logicalrelid::oid = o.objid);
        DELETE FROM pg_catalog.pg_dist_shard s WHERE s.logicalrelid::oid = o.objid;
        DELETE FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid::oid = o.objid;
    END LOOP;
END $$;

CREATE EVENT TRIGGER citus_double_cascade_to_shards ON sql_drop
    EXECUTE FUNCTION citus_double_internal.drop_trigger();

------------------------------------------------------------------------------
-- rebalancer (metadata level)
--
-- The double has no background workers: citus_rebalance_start plans the moves
-- and performs them SYNCHRONOUSLY inside the call, then records the job as
-- 'finished' with one 'done' task per move. A move creates the (empty) shard
-- tables on the target, repoints pg_dist_placement and drops the shard tables
-- on the source; no data is copied (the double's shard tables are empty).
-- Balancing is by placement COUNT per colocation group (an approximation of
-- Citus's default by_disk_size strategy). See README.md.
------------------------------------------------------------------------------

CREATE TYPE citus.shard_transfer_mode AS ENUM ('auto', 'force_logical', 'block_writes');
CREATE TYPE pg_catalog.citus_job_status AS ENUM
    ('scheduled', 'running', 'finished', 'cancelling', 'cancelled', 'failing', 'failed');
CREATE TYPE pg_catalog.citus_task_status AS ENUM
    ('blocked', 'runnable', 'running', 'done', 'cancelling', 'error', 'unscheduled', 'cancelled');

CREATE SEQUENCE pg_catalog.pg_dist_background_job_job_id_seq MINVALUE 1 NO CYCLE;
CREATE SEQUENCE pg_catalog.pg_dist_background_task_task_id_seq MINVALUE 1 NO CYCLE;

CREATE TABLE pg_catalog.pg_dist_background_job (
    job_id      bigint NOT NULL DEFAULT nextval('pg_catalog.pg_dist_background_job_job_id_seq') PRIMARY KEY,
    state       pg_catalog.citus_job_status NOT NULL DEFAULT 'scheduled',
    job_type    name NOT NULL,
    description text NOT NULL,
    started_at  timestamptz,
    finished_at timestamptz
);

CREATE TABLE pg_catalog.pg_dist_background_task (
    job_id         bigint NOT NULL REFERENCES pg_catalog.pg_dist_background_job (job_id),
    task_id        bigint NOT NULL DEFAULT nextval('pg_catalog.pg_dist_background_task_task_id_seq') PRIMARY KEY,
    owner          regrole NOT NULL DEFAULT CURRENT_USER::regrole,
    pid            integer,
    status         pg_catalog.citus_task_status NOT NULL DEFAULT 'runnable',
    command        text NOT NULL,
    retry_count    integer,
    not_before     timestamptz,
    message        text NOT NULL DEFAULT '',
    nodes_involved integer[],
    UNIQUE (job_id, task_id)
);

-- Real Citus records moved-away source shards here and drops them later; the
-- double drops them within the move, so this table stays empty.
CREATE TABLE pg_catalog.pg_dist_cleanup (
    record_id     bigint  NOT NULL PRIMARY KEY,
    operation_id  bigint  NOT NULL,
    object_type   integer NOT NULL,
    object_name   text    NOT NULL,
    node_group_id integer NOT NULL,
    policy_type   integer NOT NULL
);

GRANT SELECT ON pg_catalog.pg_dist_background_job, pg_catalog.pg_dist_background_task,
    pg_catalog.pg_dist_cleanup TO PUBLIC;
GRANT SELECT ON SEQUENCE pg_catalog.pg_dist_background_job_job_id_seq,
    pg_catalog.pg_dist_background_task_task_id_seq TO PUBLIC;

-- Run cmd on the primary of group gid (locally when gid is this node's group).
CREATE FUNCTION citus_double_internal.group_exec(gid integer, cmd text)
    RETURNS void LANGUAGE plpgsql
    SET search_path = pg_catalog
AS $$
DECLARE
    n record;
BEGIN
    IF gid = citus_double_internal.local_group_id() THEN
        EXECUTE cmd;
        RETURN;
    END IF;
    SELECT d.nodename, d.nodeport INTO n FROM pg_catalog.pg_dist_node d
     WHERE d.groupid = gid AND d.noderole = 'primary';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'group % has no primary node', gid;
    END IF;
    PERFORM citus_double_internal.remote_exec(n.nodename, n.nodeport, cmd);
END $$;

-- The shards that move together with shard s (as in Citus, a move takes the
-- whole shard group): the shard with the same hash range in every table of
-- s's colocation group.
CREATE FUNCTION citus_double_internal.shard_group(s bigint)
    RETURNS TABLE (shard bigint, rel regclass)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog
AS $$
    SELECT o.shardid, o.logicalrelid
      FROM pg_catalog.pg_dist_shard x
      JOIN pg_catalog.pg_dist_partition px ON px.logicalrelid = x.logicalrelid
      JOIN pg_catalog.pg_dist_partition po ON po.colocationid = px.colocationid AND px.colocationid <> 0
      JOIN pg_catalog.pg_dist_shard o ON o.logicalrelid = po.logicalrelid AND o.shardminvalue = x.shardminvalue
     WHERE x.shardid = s
    UNION
    SELECT x.shardid, x.logicalrelid FROM pg_catalog.pg_dist_shard x WHERE x.shardid = s
    ORDER BY 1
$$;

-- shard_transfer_mode 'auto' uses logical replication in Citus, which needs a
-- replica identity: fail like Citus for a table without one.
CREATE FUNCTION citus_double_internal.ensure_replica_identity(rels regclass[])
    RETURNS void LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog
AS $$
DECLARE
    bad text;
BEGIN
    SELECT c.relname INTO bad
      FROM pg_class c
     WHERE c.oid = ANY (rels::oid[])
       AND (c.relreplident = 'n'
            OR (c.relreplident = 'd'
                AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)))
     ORDER BY c.oid LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'cannot use logical replication to transfer shards of the relation % since it doesn''t have a REPLICA IDENTITY or PRIMARY KEY', bad
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'UPDATE and DELETE commands on the shard will error out during logical replication unless there is a REPLICA IDENTITY or PRIMARY KEY.',
                  HINT = 'If you wish to continue without a replica identity set the shard_transfer_mode to ''force_logical'' or ''block_writes''.';
    END IF;
END $$;

-- Move the shard group of shard s from group src to group tgt: check that the
-- source answers, create the (empty) shard tables on the target, repoint the
-- placements. Returns the DROP commands for the source's shard tables; callers
-- run them with drop_moved_shards once all moves of the call succeeded (real
-- Citus also drops moved-away shards after the move).
CREATE FUNCTION citus_double_internal.move_shard_group(s bigint, src integer, tgt integer)
    RETURNS text LANGUAGE plpgsql
    SET search_path = pg_catalog
AS $$
DECLARE
    create_cmds text;
    drop_cmds text;
    srcnode record;
BEGIN
    SELECT string_agg(citus_double_internal.shard_ddl(g.rel, g.shard), ' ' ORDER BY g.shard),
           string_agg(format('DROP TABLE IF EXISTS %I.%I;', n.nspname, c.relname || '_' || g.shard), ' ' ORDER BY g.shard)
      INTO create_cmds, drop_cmds
      FROM citus_double_internal.shard_group(s) g
      JOIN pg_class c ON c.oid = g.rel
      JOIN pg_namespace n ON n.oid = c.relnamespace;
    -- Real Citus copies from the source: it must answer.
    SELECT d.nodename, d.nodeport INTO srcnode FROM pg_catalog.pg_dist_node d
     WHERE d.groupid = src AND d.noderole = 'primary';
    IF FOUND AND src <> citus_double_internal.local_group_id() THEN
        PERFORM citus_double_internal.remote_value(srcnode.nodename, srcnode.nodeport, 'SELECT 1');
    END IF;
    -- A leftover of an earlier, failed call is replaced (the tables are empty).
    PERFORM citus_double_internal.group_exec(tgt, drop_cmds || ' ' || create_cmds);
    UPDATE pg_catalog.pg_dist_placement p SET groupid = tgt
     WHERE p.groupid = src AND p.shardid IN (SELECT g.shard FROM citus_double_internal.shard_group(s) g);
    RETURN drop_cmds;
END $$;

-- Best effort, like Citus's deferred cleanup: a failure leaves the empty
-- shard tables behind with a WARNING.
CREATE FUNCTION citus_double_internal.drop_moved_shards(src integer, cmds text)
    RETURNS void LANGUAGE plpgsql
    SET search_path = pg_catalog
AS $$
BEGIN
    PERFORM citus_double_internal.group_exec(src, cmds);
EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'citus test double: could not drop the moved-away shard tables of group %: %', src, SQLERRM;
END $$;

CREATE FUNCTION citus_double_internal.primary_nodeid(gid integer)
    RETURNS integer LANGUAGE sql STABLE
    AS $$ SELECT d.nodeid FROM pg_catalog.pg_dist_node d WHERE d.groupid = gid AND d.noderole = 'primary' $$;

-- The moves of a rebalance, in order, without side effects. Per colocation
-- group (hash tables only; a shard group is one shard of the group's first
-- table): first every shard group on a primary with shouldhaveshards = false
-- goes to the eligible group (active primary with shouldhaveshards) holding
-- the fewest of that colocation group; then, unless drain_only, shard groups
-- go from the fullest to the emptiest eligible group until their counts
-- differ by at most 1. Ties go by the placement count over all tables, then
-- by nodeid, so that the totals come out even as well.
CREATE FUNCTION citus_double_internal.rebalance_plan(drain_only boolean)
    RETURNS TABLE (move_shard bigint, move_source integer, move_target integer, move_colocation integer)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog
AS $$
DECLARE
    elig integer[];     -- eligible groups, by nodeid
    total integer[];    -- placements (all tables) per eligible group, as planned so far
    cnt integer[];      -- shard groups of the current colocation group per eligible group
    draining integer[]; -- groups whose primary has shouldhaveshards = false
    coloc record;
    sg_shard bigint[];
    sg_group integer[];
    ne integer;
    i integer;
    k integer;
    src integer;
    tgt integer;
BEGIN
    SELECT array_agg(d.groupid ORDER BY d.nodeid) INTO elig
      FROM pg_catalog.pg_dist_node d
     WHERE d.noderole = 'primary' AND d.isactive AND d.shouldhaveshards AND d.nodecluster = 'default';
    IF elig IS NULL THEN
        RETURN;
    END IF;
    ne := array_length(elig, 1);
    SELECT array_agg((SELECT count(*) FROM pg_catalog.pg_dist_placement p WHERE p.groupid = u.g)::integer ORDER BY u.o)
      INTO total FROM unnest(elig) WITH ORDINALITY AS u(g, o);
    SELECT coalesce(array_agg(d.groupid), '{}') INTO draining
      FROM pg_catalog.pg_dist_node d WHERE d.noderole = 'primary' AND NOT d.shouldhaveshards;

    FOR coloc IN SELECT p.colocationid, count(*)::integer AS ntables,
                        (array_agg(p.logicalrelid ORDER BY p.logicalrelid::oid))[1] AS rep
                   FROM pg_catalog.pg_dist_partition p
                  WHERE p.partmethod = 'h'
                  GROUP BY p.colocationid ORDER BY p.colocationid
    LOOP
        SELECT array_agg(s.shardid ORDER BY s.shardid), array_agg(pl.groupid ORDER BY s.shardid)
          INTO sg_shard, sg_group
          FROM pg_catalog.pg_dist_shard s JOIN pg_catalog.pg_dist_placement pl ON pl.shardid = s.shardid
         WHERE s.logicalrelid = coloc.rep;
        CONTINUE WHEN sg_shard IS NULL;
        cnt := array_fill(0, ARRAY[ne]);
        FOR i IN 1 .. array_length(sg_shard, 1) LOOP
            k := array_position(elig, sg_group[i]);
            IF k IS NOT NULL THEN
                cnt[k] := cnt[k] + 1;
            END IF;
        END LOOP;

        -- 1. drain
        FOR i IN 1 .. array_length(sg_shard, 1) LOOP
            CONTINUE WHEN NOT (sg_group[i] = ANY (draining));
            tgt := 1;
            FOR k IN 2 .. ne LOOP
                IF (cnt[k], total[k]) < (cnt[tgt], total[tgt]) THEN tgt := k; END IF;
            END LOOP;
            move_shard := sg_shard[i]; move_source := sg_group[i];
            move_target := elig[tgt]; move_colocation := coloc.colocationid;
            RETURN NEXT;
            sg_group[i] := elig[tgt];
            cnt[tgt] := cnt[tgt] + 1;
            total[tgt] := total[tgt] + coloc.ntables;
        END LOOP;
        CONTINUE WHEN drain_only;

        -- 2. even out
        LOOP
            src := 1;
            tgt := 1;
            FOR k IN 2 .. ne LOOP
                IF (cnt[k], total[k]) > (cnt[src], total[src]) THEN src := k; END IF;
                IF (cnt[k], total[k]) < (cnt[tgt], total[tgt]) THEN tgt := k; END IF;
            END LOOP;
            EXIT WHEN cnt[src] - cnt[tgt] <= 1;
            i := array_position(sg_group, elig[src]);  -- its lowest shard id
            move_shard := sg_shard[i]; move_source := elig[src];
            move_target := elig[tgt]; move_colocation := coloc.colocationid;
            RETURN NEXT;
            sg_group[i] := elig[tgt];
            cnt[src] := cnt[src] - 1;
            cnt[tgt] := cnt[tgt] + 1;
            total[src] := total[src] - coloc.ntables;
            total[tgt] := total[tgt] + coloc.ntables;
        END LOOP;
    END LOOP;
END $$;

CREATE FUNCTION pg_catalog.citus_set_node_property(nodename text, nodeport integer, property text, value boolean)
    RETURNS void LANGUAGE plpgsql STRICT
    SET search_path = pg_catalog
AS $$
DECLARE
    v_name text := nodename;
    v_port integer := nodeport;
BEGIN
    PERFORM citus_double_internal.ensure_coordinator();
    LOCK TABLE pg_catalog.pg_dist_node IN SHARE ROW EXCLUSIVE MODE;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_node d WHERE d.nodename = v_name AND d.nodeport = v_port) THEN
        RAISE EXCEPTION 'node at "%:%" does not exist', v_name, v_port;
    END IF;
    IF property <> 'shouldhaveshards' THEN
        RAISE EXCEPTION 'only the ''shouldhaveshards'' property can be set using this function';
    END IF;
    UPDATE pg_catalog.pg_dist_node d SET shouldhaveshards = value
     WHERE d.nodename = v_name AND d.nodeport = v_port;
    PERFORM citus_double_internal.sync_node_metadata_best_effort();
END $$;

CREATE FUNCTION pg_catalog.citus_move_shard_placement(
        shard_id bigint,
        source_node_id integer,
        target_node_id integer,
        transfer_mode citus.shard_transfer_mode DEFAULT 'auto')
    RETURNS void LANGUAGE plpgsql STRICT
    SET search_path = pg_catalog
AS $$
DECLARE
    src record;
    tgt record;
    rels regclass[];
BEGIN
    PERFORM citus_double_internal.ensure_coordinator();
    LOCK TABLE pg_catalog.pg_dist_node IN SHARE MODE;
    LOCK TABLE pg_catalog.pg_dist_placement IN EXCLUSIVE MODE;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_shard s WHERE s.shardid = shard_id) THEN
        RAISE EXCEPTION 'could not find valid entry for shard %', shard_id;
    END IF;
    SELECT * INTO src FROM pg_catalog.pg_dist_node d WHERE d.nodeid = source_node_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'node with node id % could not be found', source_node_id;
    END IF;
    SELECT * INTO tgt FROM pg_catalog.pg_dist_node d WHERE d.nodeid = target_node_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'node with node id % could not be found', target_node_id;
    END IF;
    IF src.nodeid = tgt.nodeid THEN
        RAISE EXCEPTION 'cannot move shard to the same node' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT tgt.shouldhaveshards THEN
        RAISE EXCEPTION 'Moving shards to a node that shouldn''t have a shard is not supported'
            USING ERRCODE = 'feature_not_supported',
                  HINT = format('Allow shards on the target node via SELECT * FROM citus_set_node_property(%L, %s, ''shouldhaveshards'', true);',
                                tgt.nodename, tgt.nodeport);
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_dist_placement p WHERE p.shardid = shard_id AND p.groupid = tgt.groupid) THEN
        RAISE WARNING 'shard is already present on node %:%', tgt.nodename, tgt.nodeport
            USING DETAIL = 'Move may have already completed.';
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_placement p WHERE p.shardid = shard_id AND p.groupid = src.groupid) THEN
        RAISE EXCEPTION 'could not find placement matching "%:%"', src.nodename, src.nodeport
            USING HINT = 'Confirm the placement still exists and try again.';
    END IF;
    IF transfer_mode = 'auto' THEN
        SELECT array_agg(g.rel) INTO rels FROM citus_double_internal.shard_group(shard_id) g;
        PERFORM citus_double_internal.ensure_replica_identity(rels);
    END IF;
    PERFORM citus_double_internal.drop_moved_shards(src.groupid,
        citus_double_internal.move_shard_group(shard_id, src.groupid, tgt.groupid));
END $$;

CREATE FUNCTION pg_catalog.citus_move_shard_placement(
        shard_id bigint,
        source_node_name text,
        source_node_port integer,
        target_node_name text,
        target_node_port integer,
        shard_transfer_mode citus.shard_transfer_mode DEFAULT 'auto')
    RETURNS void LANGUAGE plpgsql STRICT
    SET search_path = pg_catalog
AS $$
DECLARE
    src integer;
    tgt integer;
BEGIN
    SELECT d.nodeid INTO src FROM pg_catalog.pg_dist_node d
     WHERE d.nodename = source_node_name AND d.nodeport = source_node_port;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'node at "%:%" does not exist', source_node_name, source_node_port;
    END IF;
    SELECT d.nodeid INTO tgt FROM pg_catalog.pg_dist_node d
     WHERE d.nodename = target_node_name AND d.nodeport = target_node_port;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'node at "%:%" does not exist', target_node_name, target_node_port;
    END IF;
    PERFORM pg_catalog.citus_move_shard_placement(shard_id, src, tgt, shard_transfer_mode);
END $$;

CREATE FUNCTION pg_catalog.citus_rebalance_start(
        rebalance_strategy name DEFAULT NULL,
        drain_only boolean DEFAULT false,
        shard_transfer_mode citus.shard_transfer_mode DEFAULT 'auto',
        parallel_transfer_reference_tables boolean DEFAULT false,
        parallel_transfer_colocated_shards boolean DEFAULT false)
    RETURNS bigint LANGUAGE plpgsql
    SET search_path = pg_catalog
AS $$
DECLARE
    mode citus.shard_transfer_mode := coalesce(shard_transfer_mode, 'auto');
    other bigint;
    job bigint;
    mv_shard bigint[];
    mv_src integer[];
    mv_tgt integer[];
    rels regclass[];
    drops text[] := '{}';
    i integer;
BEGIN
    PERFORM citus_double_internal.ensure_coordinator();
    IF rebalance_strategy IS NOT NULL AND rebalance_strategy NOT IN ('by_disk_size', 'by_shard_count') THEN
        RAISE EXCEPTION 'could not find rebalance strategy with name %', rebalance_strategy;
    END IF;
    -- One rebalance at a time; readers of the job tables are not blocked.
    LOCK TABLE pg_catalog.pg_dist_background_job IN EXCLUSIVE MODE;
    LOCK TABLE pg_catalog.pg_dist_node IN SHARE MODE;
    LOCK TABLE pg_catalog.pg_dist_placement IN EXCLUSIVE MODE;

    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p WHERE p.partmethod = 'h') THEN
        RAISE NOTICE 'No tables to rebalance';
        RETURN NULL;
    END IF;
    SELECT max(j.job_id) INTO other FROM pg_catalog.pg_dist_background_job j
     WHERE j.job_type = 'rebalance' AND j.state IN ('scheduled', 'running', 'cancelling', 'failing');
    IF other IS NOT NULL THEN
        RAISE EXCEPTION 'A rebalance is already running as job %', other
            USING DETAIL = 'A rebalance was already scheduled as background job',
                  HINT = 'To monitor progress, run: SELECT * FROM citus_rebalance_status();';
    END IF;

    SELECT array_agg(m.move_shard ORDER BY m.ord), array_agg(m.move_source ORDER BY m.ord),
           array_agg(m.move_target ORDER BY m.ord)
      INTO mv_shard, mv_src, mv_tgt
      FROM citus_double_internal.rebalance_plan(coalesce(drain_only, false)) WITH ORDINALITY
           AS m(move_shard, move_source, move_target, move_colocation, ord);
    IF mv_shard IS NULL THEN
        RAISE NOTICE 'No moves available for rebalancing';
        RETURN NULL;
    END IF;
    IF mode = 'auto' THEN
        SELECT array_agg(DISTINCT g.rel) INTO rels
          FROM unnest(mv_shard) AS u(s), citus_double_internal.shard_group(u.s) g;
        PERFORM citus_double_internal.ensure_replica_identity(rels);
    END IF;

    INSERT INTO pg_catalog.pg_dist_background_job AS j (state, job_type, description, started_at)
    VALUES ('running', 'rebalance', 'Rebalance all colocation groups', clock_timestamp())
    RETURNING j.job_id INTO job;
    FOR i IN 1 .. array_length(mv_shard, 1) LOOP
        drops := drops || citus_double_internal.move_shard_group(mv_shard[i], mv_src[i], mv_tgt[i]);
        -- The task as Citus's background executor leaves it when done.
        INSERT INTO pg_catalog.pg_dist_background_task
               (job_id, pid, status, command, retry_count, not_before, message, nodes_involved)
        VALUES (job, NULL, 'done',
                format('SELECT pg_catalog.citus_move_shard_placement(%s,%s,%s,%L)', mv_shard[i],
                       citus_double_internal.primary_nodeid(mv_src[i]),
                       citus_double_internal.primary_nodeid(mv_tgt[i]), mode),
                0, '2000-01-01 00:00:00+00', E'SELECT 1\n',
                ARRAY[citus_double_internal.primary_nodeid(mv_src[i]), citus_double_internal.primary_nodeid(mv_tgt[i])]);
    END LOOP;
    FOR i IN 1 .. array_length(mv_shard, 1) LOOP
        PERFORM citus_double_internal.drop_moved_shards(mv_src[i], drops[i]);
    END LOOP;
    UPDATE pg_catalog.pg_dist_background_job j SET state = 'finished', finished_at = clock_timestamp()
     WHERE j.job_id = job;

    RAISE NOTICE 'Scheduled % moves as job %', array_length(mv_shard, 1), job
        USING DETAIL = 'Rebalance scheduled as background job',
              HINT = 'To monitor progress, run: SELECT * FROM citus_rebalance_status();';
    RETURN job;
END $$;

-- details: {"tasks": [...], "task_state_counts": {...}} as in Citus. The
-- tasks array lists failed tasks and tasks waiting to retry; Citus also lists
-- running tasks with their progress, which the double never has.
CREATE FUNCTION pg_catalog.citus_job_status(job_id bigint, raw boolean DEFAULT false)
    RETURNS TABLE (job_id bigint, state pg_catalog.citus_job_status, job_type name, description text,
                   started_at timestamptz, finished_at timestamptz, details jsonb)
    LANGUAGE sql STABLE STRICT
    SET search_path = pg_catalog
AS $$
    SELECT j.job_id, j.state, j.job_type, j.description, j.started_at, j.finished_at,
           jsonb_build_object(
               'task_state_counts',
               (SELECT jsonb_object_agg(c.status, c.n)
                  FROM (SELECT t.status, count(*) AS n FROM pg_catalog.pg_dist_background_task t
                         WHERE t.job_id = j.job_id GROUP BY t.status) c),
               'tasks',
               coalesce((SELECT jsonb_agg(jsonb_build_object('state', t.status, 'retried', coalesce(t.retry_count, 0),
                                                             'message', t.message, 'command', t.command,
                                                             'task_id', t.task_id) ORDER BY t.task_id)
                           FROM pg_catalog.pg_dist_background_task t
                          WHERE t.job_id = j.job_id
                            AND (t.status = 'error' OR (t.status = 'runnable' AND t.retry_count > 0))),
                        '[]'::jsonb))
      FROM pg_catalog.pg_dist_background_job j
     WHERE j.job_id = $1
$$;

-- The latest rebalance job; no rows when there never was one.
CREATE FUNCTION pg_catalog.citus_rebalance_status(raw boolean DEFAULT false)
    RETURNS TABLE (job_id bigint, state pg_catalog.citus_job_status, job_type name, description text,
                   started_at timestamptz, finished_at timestamptz, details jsonb)
    LANGUAGE sql STABLE STRICT
    SET search_path = pg_catalog
AS $$
    SELECT s.* FROM pg_catalog.citus_job_status(
        (SELECT max(j.job_id) FROM pg_catalog.pg_dist_background_job j WHERE j.job_type = 'rebalance'), $1) s
$$;

CREATE FUNCTION pg_catalog.citus_job_list()
    RETURNS TABLE (job_id bigint, state pg_catalog.citus_job_status, job_type name, description text,
                   started_at timestamptz, finished_at timestamptz)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog
AS $$
    SELECT j.job_id, j.state, j.job_type, j.description, j.started_at, j.finished_at
      FROM pg_catalog.pg_dist_background_job j ORDER BY j.job_id
$$;

CREATE FUNCTION citus_double_internal.latest_unfinished_rebalance()
    RETURNS bigint LANGUAGE sql STABLE
    SET search_path = pg_catalog
AS $$
    SELECT max(j.job_id) FROM pg_catalog.pg_dist_background_job j
     WHERE j.job_type = 'rebalance' AND j.state IN ('scheduled', 'running', 'cancelling', 'failing')
$$;

-- Polls until the job is terminal (or in desired_status). The double's own
-- jobs are finished when created; a job row written by a test waits for the
-- test to change it, as a real job waits for its tasks.
CREATE FUNCTION pg_catalog.citus_job_wait(jobid bigint, desired_status pg_catalog.citus_job_status DEFAULT NULL)
    RETURNS void LANGUAGE plpgsql
    SET search_path = pg_catalog
AS $$
DECLARE
    st pg_catalog.citus_job_status;
BEGIN
    LOOP
        SELECT j.state INTO st FROM pg_catalog.pg_dist_background_job j WHERE j.job_id = jobid;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'no job found for job with jobid: %', jobid;
        END IF;
        IF st = desired_status THEN
            RETURN;
        END IF;
        IF st IN ('finished', 'cancelled', 'failed') THEN
            IF desired_status IS NOT NULL THEN
                RAISE EXCEPTION 'Job reached terminal state "%" instead of desired state "%"', st, desired_status;
            END IF;
            RETURN;
        END IF;
        PERFORM pg_sleep(0.1);
    END LOOP;
END $$;

CREATE FUNCTION pg_catalog.citus_job_cancel(jobid bigint)
    RETURNS void LANGUAGE plpgsql STRICT
    SET search_path = pg_catalog
AS $$
DECLARE
    st pg_catalog.citus_job_status;
BEGIN
    SELECT j.state INTO st FROM pg_catalog.pg_dist_background_job j WHERE j.job_id = jobid FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'could not find background jobs entry for job_id: %', jobid;
    END IF;
    IF st IN ('finished', 'cancelled', 'failed') THEN
        RETURN;
    END IF;
    UPDATE pg_catalog.pg_dist_background_task t SET status = 'cancelled', pid = NULL
     WHERE t.job_id = jobid AND t.status NOT IN ('done', 'cancelled');
    UPDATE pg_catalog.pg_dist_background_job j SET state = 'cancelled', finished_at = now()
     WHERE j.job_id = jobid;
END $$;

CREATE FUNCTION pg_catalog.citus_rebalance_wait()
    RETURNS void LANGUAGE plpgsql
    SET search_path = pg_catalog
AS $$
DECLARE
    job bigint := citus_double_internal.latest_unfinished_rebalance();
BEGIN
    IF job IS NULL THEN
        RAISE WARNING 'no ongoing rebalance that can be waited on';
        RETURN;
    END IF;
    PERFORM pg_catalog.citus_job_wait(job);
END $$;

CREATE FUNCTION pg_catalog.citus_rebalance_stop()
    RETURNS void LANGUAGE plpgsql
    SET search_path = pg_catalog
AS $$
DECLARE
    job bigint := citus_double_internal.latest_unfinished_rebalance();
BEGIN
    IF job IS NULL THEN
        RAISE EXCEPTION 'no ongoing rebalance that can be stopped';
    END IF;
    PERFORM pg_catalog.citus_job_cancel(job);
END $$;

-- Moves run synchronously inside citus_rebalance_start, so there is never a
-- move in progress to report (real Citus also returns no rows once a job is done).
CREATE FUNCTION pg_catalog.get_rebalance_progress()
    RETURNS TABLE (sessionid integer, table_name regclass, shardid bigint, shard_size bigint,
                   sourcename text, sourceport integer, targetname text, targetport integer,
                   progress bigint, source_shard_size bigint, target_shard_size bigint,
                   operation_type text, source_lsn pg_lsn, target_lsn pg_lsn, status text)
    LANGUAGE sql STABLE
AS $$
    SELECT NULL::integer, NULL::regclass, NULL::bigint, NULL::bigint, NULL::text, NULL::integer,
           NULL::text, NULL::integer, NULL::bigint, NULL::bigint, NULL::bigint, NULL::text,
           NULL::pg_lsn, NULL::pg_lsn, NULL::text
     WHERE false
$$;

-- No reference tables in the double: nothing to replicate.
CREATE FUNCTION pg_catalog.replicate_reference_tables(shard_transfer_mode citus.shard_transfer_mode DEFAULT 'auto')
    RETURNS void LANGUAGE plpgsql STRICT
    SET search_path = pg_catalog
AS $$
BEGIN
    PERFORM citus_double_internal.ensure_coordinator();
END $$;

-- Moved-away shards are dropped within the move: nothing is left to clean up.
CREATE PROCEDURE pg_catalog.citus_cleanup_orphaned_resources()
    LANGUAGE plpgsql
    SET search_path = pg_catalog
AS $$
BEGIN
    PERFORM citus_double_internal.ensure_coordinator();
END $$;

-- Documented: recover_prepared_transactions() resolves the transactions a
-- distributed commit left prepared on the nodes (commits those whose
-- coordinator transaction committed, rolls back the others) and returns how
-- many it resolved. The double has no two-phase commit: it never prepares a
-- transaction on a node, so nothing is ever in doubt.
CREATE FUNCTION pg_catalog.recover_prepared_transactions()
    RETURNS integer LANGUAGE sql
    SET search_path = pg_catalog
AS $$ SELECT 0 $$;
REVOKE ALL ON FUNCTION pg_catalog.recover_prepared_transactions() FROM PUBLIC;

-- Documented: citus_create_restore_point(name) makes a named restore point on
-- the coordinator and on every active primary worker, while it blocks
-- distributed commits (ExclusiveLock on pg_dist_node, pg_dist_partition and
-- pg_dist_transaction, on the coordinator only; the double has no
-- pg_dist_transaction). Coordinator only, superuser only; returns the
-- coordinator's point. Same errors as Citus: recovery in progress, a
-- wal_level too low, a name of 64 characters or more.
CREATE FUNCTION pg_catalog.citus_create_restore_point(name text)
    RETURNS pg_lsn LANGUAGE plpgsql
    SET search_path = pg_catalog
AS $$
DECLARE
    n record;
    local_point pg_lsn;
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'operation is not allowed'
            USING HINT = 'Run the command with a superuser.';
    END IF;
    PERFORM citus_double_internal.ensure_coordinator();
    IF pg_is_in_recovery() THEN
        RAISE EXCEPTION 'recovery is in progress'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'WAL control functions cannot be executed during recovery.';
    END IF;
    IF current_setting('wal_level') = 'minimal' THEN
        RAISE EXCEPTION 'WAL level not sufficient for creating a restore point'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'wal_level must be set to "replica" or "logical" at server start.';
    END IF;
    IF octet_length(name) >= 64 THEN
        RAISE EXCEPTION 'value too long for restore point (maximum 63 characters)'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Blocks distributed commits until the transaction ends.
    LOCK TABLE pg_catalog.pg_dist_node, pg_catalog.pg_dist_partition IN EXCLUSIVE MODE;
    -- The local point first: a failure here stops before any worker has one.
    local_point := pg_create_restore_point(name);
    FOR n IN SELECT nodename, nodeport FROM pg_catalog.pg_dist_node
              WHERE isactive AND noderole = 'primary' AND groupid <> 0 ORDER BY nodeid LOOP
        PERFORM citus_double_internal.remote_value(n.nodename, n.nodeport,
            format('SELECT pg_catalog.pg_create_restore_point(%L)::text', name));
    END LOOP;
    RETURN local_point;
END $$;

REVOKE ALL ON FUNCTION pg_catalog.citus_set_node_property(text, integer, text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_catalog.replicate_reference_tables(citus.shard_transfer_mode) FROM PUBLIC;

-- Only superusers manage the cluster (real Citus also restricts these).
REVOKE ALL ON FUNCTION pg_catalog.citus_set_coordinator_host(text, integer, pg_catalog.noderole, name) FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_catalog.citus_add_node(text, integer, integer, pg_catalog.noderole, name) FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_catalog.citus_remove_node(text, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_catalog.citus_update_node(integer, text, integer, boolean, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_catalog.citus_pause_node_within_txn(integer, boolean, integer) FROM PUBLIC;

-- As documented for Citus: CREATE EXTENSION turns ssl on when it is off,
-- with a self-signed certificate and key in the data directory when none
-- exists (ALTER SYSTEM SET ssl = on, then a reload). See citus_double.c.
CREATE FUNCTION citus_double_internal.ensure_ssl()
    RETURNS text LANGUAGE C STRICT VOLATILE
    AS 'MODULE_PATHNAME', 'citus_double_ensure_ssl';
REVOKE ALL ON FUNCTION citus_double_internal.ensure_ssl() FROM PUBLIC;
SELECT citus_double_internal.ensure_ssl();

RESET allow_system_table_mods;
