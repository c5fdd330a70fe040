/**
 * The pattern that finds one run's pgBackRest backup of one stanza by its command line (pgrep -f,
 * an extended regular expression; JavaScript's RegExp reads this one the same way).
 */
import { backupProcessPattern } from '../../lib/backup/stop-backup';

const line = (stanza: string, id: string) =>
  `pgbackrest --config=/citusctl/pgbackrest.conf --stanza=${stanza} --type=full --repo1-retention-full=9999999 ` +
  `--annotation=citusctl-backup=${id} --annotation=citusctl-member=g1-a backup`;

describe('backupProcessPattern', () => {
  const re = new RegExp(backupProcessPattern('g1', 'citusctl-backup', 'b-20261207t070518z'));

  test("matches the run's backup of the stanza", () => {
    expect(re.test(line('g1', 'b-20261207t070518z'))).toBe(true);
  });

  test('not another stanza, another run, a run whose id extends this one, or a hand backup', () => {
    expect(re.test(line('g10', 'b-20261207t070518z'))).toBe(false);
    expect(re.test(line('coordinator', 'b-20261207t070518z'))).toBe(false);
    expect(re.test(line('g1', 'b-20261207t070519z'))).toBe(false);
    expect(re.test(line('g1', 'b-20261207t070518z2'))).toBe(false);
    expect(re.test('pgbackrest --config=/citusctl/pgbackrest.conf --stanza=g1 --type=full backup')).toBe(false);
  });

  test('characters outside names are escaped (a dot is no wildcard)', () => {
    const dotted = new RegExp(backupProcessPattern('g.1', 'k', 'b.1'));
    expect(dotted.test('pgbackrest --stanza=g.1 --annotation=k=b.1 backup')).toBe(true);
    expect(dotted.test('pgbackrest --stanza=gx1 --annotation=k=bx1 backup')).toBe(false);
  });
});
