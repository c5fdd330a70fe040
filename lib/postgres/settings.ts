/**
 * The settings every node gets at initdb (standbys inherit them through the base backup): the
 * walsenders and slots replication needs, the WAL kept for a rewound old primary, the hints
 * pg_rewind needs, and how long Citus waits for a node connection. Written into the container as
 * postgresql.citusctl.conf.
 */
import { TLS_FILES } from '../tls/cluster-tls';

/** Citus's connections to the nodes (Citus accepts only some libpq keywords: sslmode, sslrootcert among them). */
export const NODE_CONNINFO = [
  'sslmode=verify-full',
  `sslrootcert=${TLS_FILES.ca}`,
  'keepalives_idle=1 keepalives_interval=1 keepalives_count=2 tcp_user_timeout=3000',
].join(' ');

export const POSTGRESQL_CONF = `
# --- citusctl ---
listen_addresses = '*'
port = 5432
shared_preload_libraries = 'citus'
# Shard moves (rebalance, drain) use logical replication.
wal_level = logical
max_wal_senders = 16
max_replication_slots = 16
hot_standby = on
hot_standby_feedback = on
# Keep recent WAL on every node, so a rewound old primary can usually stream from the new one.
wal_keep_size = '256MB'
# pg_rewind needs hints (or checksums, which initdb enables too).
wal_log_hints = on
password_encryption = 'scram-sha-256'
# TLS on every TCP connection (pg_hba.conf admits TCP only as hostssl), with the certificate the
# cluster's CA issued for this member (files put in the container by citusctl, replaced on renewal
# and picked up by a reload).
ssl = on
ssl_cert_file = '${TLS_FILES.cert}'
ssl_key_file = '${TLS_FILES.key}'
ssl_ca_file = '${TLS_FILES.ca}'
# A standby's value must be >= its primary's; set explicitly so both agree.
max_prepared_transactions = 200
shared_buffers = 64MB
# Citus waits this long for a connection to a node (default 30 s). A connection begun just after a
# worker primary died can hang that long (its address still cached, every SYN dropped), holding the
# transaction's row locks meanwhile: 30 s stalled every TPC-B client for 36 s across a failover.
citus.node_connection_timeout = '3s'
# Citus's connections to the other nodes notice a node cut off the network within ~3 s: an idle
# wait for its answer by keepalives (1 s idle, then 2 probes 1 s apart), data it never acknowledges
# by tcp_user_timeout. Without them a transaction writing to a partitioned worker waits for TCP's
# own limits (minutes), holding the shard locks a failover's citus_update_node needs; with them it
# fails, lets go, and its client retries against the new primary. A frozen (paused) node's kernel
# still answers both, so a freeze alone never trips them; on one Docker network nothing else drops
# a packet.
# verify-full: a node proves its name (pg_dist_node's, or citus.local_hostname = localhost) with a
# certificate from the cluster's CA before Citus sends it a password.
citus.node_conninfo = '${NODE_CONNINFO}'
`;
