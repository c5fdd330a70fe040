/** Bounded observations: the deadline helpers live in lib (lib/deadline.ts), shared with the CLI's reads. */
export { errMessage, withDeadline } from '../lib/deadline';
