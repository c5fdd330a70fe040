/**
 * WAL archiving into the cluster's pgBackRest repository, through the built CLI (coord-a/coord-b,
 * g1-a/g1-b; ports 31100-31109, Temporal 32311), without the monitor:
 * - `up` provisions the repository volume and the backup container, and creates one stanza per group.
 * - Each primary archives (archive_mode on: one archiver per stanza); `pgbackrest check` from each
 *   primary sees its WAL arrive.
 * - g1-a stops archiving, completes three segments and is killed; `failover g1`: the new primary pushes
 *   the three, timeline 1 has no hole up to the switch, timeline 2 and its history file follow.
 * Needs: `npm run build`, Docker, the temporal CLI (TEMPORAL_CLI_PATH) and the images.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { containerState, execIn } from '../../lib/docker/docker-helpers';
import { stanzaInfo } from '../../lib/backup/pgbackrest';
import { PGBACKREST_CONF } from '../../lib/backup/pgbackrest-config';
import { citusVersion, destroyCluster, docker, layout, logCitus, makeCluster, su, upJson } from './support/cluster';
import { acquireRunLock, cliJson, livePrimary, removeLeftovers, setting, waitFor } from './support/failover';

jest.setTimeout(10 * 60_000);

const c = makeCluster(
  layout({ name: 'it-archive', basePort: 31100, temporalPort: 32311, rows: 200, shardCount: 4, workers: ['g1'] }),
  32311,
);
const backupContainer = `citusctl-${c.name}-backup`;
const pgbackrest = (container: string, args: string[]) =>
  execIn(docker, container, ['pgbackrest', `--config=${PGBACKREST_CONF}`, ...args], 'postgres');

describe('WAL archiving into the backup repository', () => {
  let release: (() => void) | undefined;
  beforeAll(async () => {
    release = await acquireRunLock(c.name);
    await removeLeftovers(c);
    const up = await upJson(c);
    expect(up.ok).toBe(true);
    logCitus(await citusVersion(c), c.name);
  });
  afterAll(async () => {
    await destroyCluster(c);
    release?.();
  });

  it('up provisions the repository and the backup container, with a stanza per group', async () => {
    expect(await containerState(docker, backupContainer)).toBe('running');
    const volumes = await docker.listVolumes({ filters: { name: [`citusctl-${c.name}-backups`] } });
    expect(volumes.Volumes?.map((v) => v.Name)).toContain(`citusctl-${c.name}-backups`);
    const info = await stanzaInfo(docker, backupContainer);
    expect(info.map((s) => s.name).sort()).toEqual(['coordinator', 'g1']);
  });

  it('each primary archives (archive_mode on) and passes pgbackrest check', async () => {
    for (const m of ['coord-a', 'coord-b', 'g1-a', 'g1-b']) expect(await setting(c, m, 'archive_mode')).toBe('on');
    for (const [stanza, primary] of [
      ['coordinator', 'coord-a'],
      ['g1', 'g1-a'],
    ] as const) {
      const r = await pgbackrest(`citusctl-${c.name}-${primary}`, [`--stanza=${stanza}`, 'check']);
      expect({ stanza, code: r.exitCode, out: r.stdout + r.stderr }).toMatchObject({ stanza, code: 0 });
    }
  });

  it('a failover pushes the segments the dead primary had not archived: no gap, the new timeline follows', async () => {
    // g1-a stops archiving (its archive_command fails), then completes three segments and dies.
    const broken = await execIn(
      docker,
      `citusctl-${c.name}-g1-a`,
      ['sh', '-c', 'printf "#!/bin/sh\\nexit 1\\n" > /citusctl/pgbackrest-archive.sh'],
      'root',
    );
    expect(broken.exitCode).toBe(0);
    const unarchived: string[] = [];
    await su(c, 'g1-a', async (cl) => {
      await cl.query('CREATE TABLE IF NOT EXISTS archive_gap (x int)');
      for (let i = 0; i < 3; i++) {
        await cl.query('INSERT INTO archive_gap VALUES ($1)', [i]);
        unarchived.push(
          (await cl.query<{ f: string }>('SELECT pg_walfile_name(pg_current_wal_lsn()) AS f')).rows[0]!.f,
        );
        await cl.query('SELECT pg_switch_wal()');
      }
    });
    await waitFor('g1-a failing to archive', async () => {
      const failed = await su(c, 'g1-a', async (cl) =>
        Number((await cl.query<{ n: string }>('SELECT failed_count AS n FROM pg_stat_archiver')).rows[0]!.n),
      );
      return failed > 0 ? failed : undefined;
    });
    await docker.getContainer(`citusctl-${c.name}-g1-a`).kill();
    await cliJson(c, ['failover', 'g1']);
    expect(await livePrimary(c, 'g1')).toBe('g1-b');

    // The new primary archives (check switches a segment and waits for it in the repository).
    const check = await pgbackrest(`citusctl-${c.name}-g1-b`, ['--stanza=g1', 'check']);
    expect({ code: check.exitCode, out: check.stdout + check.stderr }).toMatchObject({ code: 0 });
    const [g1] = await stanzaInfo(docker, backupContainer, 'g1');
    const archiveId = g1!.archive.at(-1)!.id;
    const listing = await execIn(docker, backupContainer, [
      'sh',
      '-c',
      `ls /var/lib/pgbackrest/archive/g1/${archiveId}/ /var/lib/pgbackrest/archive/g1/${archiveId}/*/`,
    ]);
    const files = listing.stdout.split('\n').filter(Boolean);
    const segments = files.filter((f) => /^[0-9A-F]{24}-[0-9a-f]{40}/.test(f)).map((f) => f.slice(0, 24));
    for (const s of unarchived) expect(segments).toContain(s);
    // Timeline 1 has no hole from its first archived segment to the switch; timeline 2 and its history follow.
    const index = (s: string) => parseInt(s.slice(8, 16), 16) * 256 + parseInt(s.slice(16, 24), 16);
    const tl1 = segments
      .filter((s) => s.startsWith('00000001'))
      .map(index)
      .sort((a, b) => a - b);
    expect(tl1.length).toBeGreaterThan(3);
    expect(tl1.at(-1)! - tl1[0]! + 1).toBe(new Set(tl1).size);
    expect(files).toContain('00000002.history');
    expect(segments.some((s) => s.startsWith('00000002'))).toBe(true);
  });
});
