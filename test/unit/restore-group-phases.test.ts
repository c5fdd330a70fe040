import { scriptPhases } from '../../activities/backup/restore-group';

test('every phase done: the time of each, no failure', () => {
  const out = ['@phase restore', '@done restore 3120', '@phase replay', '@done replay 840', 'a log line'].join('\n');
  expect(scriptPhases(out)).toEqual({ ms: { restore: 3120, replay: 840 }, already: false });
});

test('a phase started and not done is the one the script failed in', () => {
  const out = ['@phase restore', '@done restore 3120', '@phase replay', 'FATAL:  recovery ended before ...'].join('\n');
  expect(scriptPhases(out)).toEqual({ ms: { restore: 3120 }, failedIn: 'replay', already: false });
});

test('failing in the first phase: nothing done', () => {
  expect(scriptPhases('@phase restore\nERROR: [075]: no backup set found')).toEqual({
    ms: {},
    failedIn: 'restore',
    already: false,
  });
});

test('a member restored before: said so, no phase run', () => {
  expect(scriptPhases('@already primary\n')).toEqual({ ms: {}, already: true });
});
