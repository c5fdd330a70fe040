/** A required image is missing or unusable; nothing was created (exit code 3). */
export class PreflightError extends Error {}
