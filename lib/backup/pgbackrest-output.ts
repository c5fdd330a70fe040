/**
 * The gist of pgBackRest's error output, for a message people read: its ERROR lines, and of an
 * S3 error the response's code and message (the rest is request and response headers, many lines,
 * some of them an access key id in an error body). Without an ERROR line, the output's last lines.
 */
export function pgbackrestErrorSummary(output: string): string {
  const errors = [...output.matchAll(/ERROR: \[(\d+)\]: ([^\n]*)/g)].map((m) => `[${m[1]}] ${m[2]!.trim()}`);
  if (!errors.length) return output.trim().split('\n').slice(-3).join(' | ');
  const code = /<Code>([^<]*)<\/Code>/.exec(output)?.[1];
  const message = /<Message>(?:<!\[CDATA\[)?([^<\]]*)/.exec(output)?.[1]?.trim();
  const s3 = code ? ` (${code}${message ? `: ${message}` : ''})` : '';
  return [...new Set(errors)].join(' | ') + s3;
}
