/**
 * No Temporal CLI anywhere (TEMPORAL_CLI_PATH unset, none on PATH): ensureTemporal obtains the dev
 * server through its downloader (the SDK's cached download in the product; here a stand-in that
 * hands over the installed binary, since tests never depend on a download), once, and runs it; a
 * download that fails gives the clear message with its reason and starts nothing.
 * Temporal port 32960 (UI 33960).
 */
import { afterAll, describe, expect, it, jest } from '@jest/globals';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { downloadDir, ensureTemporal } from '../../lib/temporal-server';
import { stopTemporal, temporalCli } from './support/cluster';

jest.setTimeout(2 * 60_000);

const PORT = 32960;
const roots: string[] = [];
const newRoot = () => {
  const r = fs.mkdtempSync(path.join(os.tmpdir(), 'citusctl-it-download-'));
  roots.push(r);
  return r;
};
/** No CLI anywhere: no TEMPORAL_CLI_PATH, a PATH without `temporal`. */
const bareEnv = (): NodeJS.ProcessEnv => ({
  PATH: '/usr/bin:/bin',
  HOME: process.env.HOME,
  CITUSCTL_TEMPORAL_PORT: String(PORT),
});

afterAll(async () => {
  for (const r of roots) {
    await stopTemporal(r);
    fs.rmSync(r, { recursive: true, force: true });
  }
});

describe('a machine without the Temporal CLI', () => {
  it('downloads the dev server once into the state directory and runs it', async () => {
    const root = newRoot();
    const calls: string[] = [];
    const download = async (dir: string) => {
      calls.push(dir);
      fs.mkdirSync(dir, { recursive: true });
      // the installed CLI under its own name (a pyenv shim finds its program by it)
      const bin = path.join(dir, 'temporal');
      fs.symlinkSync(temporalCli(), bin);
      return bin;
    };
    const endpoint = await ensureTemporal(root, bareEnv(), download).catch((err: Error) => {
      const log = path.join(root, 'temporal', 'server.log');
      throw new Error(
        `${err.message}\n${fs.existsSync(log) ? fs.readFileSync(log, 'utf8').slice(-2000) : '(no server log)'}`,
      );
    });
    expect(endpoint).toMatchObject({ address: `127.0.0.1:${PORT}`, embedded: true });
    expect(calls).toEqual([downloadDir(root)]);
    await stopTemporal(root);
    // Started again later: the binary in the state directory is used, nothing is downloaded again.
    await ensureTemporal(root, bareEnv(), download);
    expect(calls).toHaveLength(1);
    await stopTemporal(root);
  });

  it('a download that fails: the clear message with its reason, no server started', async () => {
    const root = newRoot();
    const failing = async () => {
      throw new Error('getaddrinfo ENOTFOUND temporal.download');
    };
    await expect(ensureTemporal(root, bareEnv(), failing)).rejects.toThrow(
      new RegExp(
        'no Temporal server: set TEMPORAL_ADDRESS, or install the temporal CLI .* ' +
          'downloading the dev server into .*temporal/cli failed: getaddrinfo ENOTFOUND temporal.download',
      ),
    );
    expect(fs.existsSync(path.join(root, 'temporal', 'server.pid'))).toBe(false);
  });
});
