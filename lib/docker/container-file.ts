/** Reading one file out of a container (created or running) through Docker's archive API. */
import type Docker from 'dockerode';
import { extract } from 'tar-stream';

export interface ContainerFile {
  text: string;
  /** Last modification, as the archive says (whole seconds). */
  mtime: Date | undefined;
}

/** The file's text and mtime; undefined when the container has no such file. */
export async function readContainerFile(
  docker: Docker,
  container: string,
  file: string,
): Promise<ContainerFile | undefined> {
  let archive: NodeJS.ReadableStream;
  try {
    archive = await docker.getContainer(container).getArchive({ path: file });
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return undefined;
    throw err;
  }
  const ex = extract();
  return new Promise<ContainerFile | undefined>((resolve, reject) => {
    let found: ContainerFile | undefined;
    ex.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        found ??= { text: Buffer.concat(chunks).toString('utf8'), mtime: header.mtime };
        next();
      });
      stream.resume();
    });
    ex.on('finish', () => resolve(found));
    ex.on('error', reject);
    archive.pipe(ex);
  });
}
