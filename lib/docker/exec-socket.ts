/**
 * A byte stream to a unix socket inside a container, through `docker exec` of a small relay (perl,
 * in citusctl's PgBouncer image). node-postgres takes it as its `stream`: the protocol, SCRAM
 * included, runs end to end as over TCP, and nothing secret is in the command line or environment.
 *
 * Why: PgBouncer's processes share one TCP port (so_reuseport), where the kernel picks the process;
 * only a process's own unix socket reaches that process, and that socket is inside the container.
 */
import type Docker from 'dockerode';
import { Duplex, PassThrough } from 'node:stream';

/** Copies stdin to the socket and the socket to stdout until either side ends. */
const RELAY = String.raw`
use IO::Socket::UNIX; use IO::Select;
my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "cannot connect to $ARGV[0]: $!\n";
binmode STDIN; binmode STDOUT;
sub put {
  my ($fh, $b) = @_;
  while (length $b) { my $w = syswrite($fh, $b); die "write: $!\n" unless defined $w; substr($b, 0, $w) = ''; }
}
my $sel = IO::Select->new(\*STDIN, $s);
while (1) {
  for my $h ($sel->can_read) {
    my $n = sysread($h, my $buf, 65536);
    exit 0 unless $n;
    put($h == $s ? \*STDOUT : $s, $buf);
  }
}
`;

export class ExecSocket extends Duplex {
  private io?: NodeJS.ReadWriteStream & { destroy(): void };
  private stderr: Buffer[] = [];

  constructor(
    private readonly docker: Docker,
    private readonly container: string,
    private readonly socketPath: string,
    private readonly user = 'postgres',
  ) {
    super();
  }

  /** node-postgres calls connect(port, host) and waits for 'connect'; the socket path is fixed. */
  connect(): this {
    void this.open();
    return this;
  }

  private async open(): Promise<void> {
    try {
      const exec = await this.docker.getContainer(this.container).exec({
        Cmd: ['perl', '-e', RELAY, this.socketPath],
        User: this.user,
        AttachStdin: true,
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
      });
      const io = (await exec.start({ hijack: true, stdin: true })) as unknown as NonNullable<ExecSocket['io']>;
      this.io = io;
      const out = new PassThrough();
      const err = new PassThrough();
      this.docker.modem.demuxStream(io, out, err);
      err.on('data', (c: Buffer) => this.stderr.push(c));
      out.on('data', (c: Buffer) => this.push(c));
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        const why = Buffer.concat(this.stderr).toString().trim();
        if (why) this.destroy(new Error(`${this.container} ${this.socketPath}: ${why}`));
        else this.push(null);
      };
      io.on('end', end);
      io.on('close', end);
      io.on('error', (e: Error) => this.destroy(e));
      this.emit('connect');
    } catch (e) {
      this.destroy(e as Error);
    }
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (!this.io) return cb(new Error('exec socket not connected'));
    this.io.write(chunk, (e?: Error | null) => cb(e));
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.io?.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.io?.destroy();
    cb(err);
  }

  // What node-postgres calls on a net.Socket; meaningless here.
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
}
