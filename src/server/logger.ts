import { pino } from 'pino';

export type Logger = pino.Logger;

/** Structured JSON logs on stderr (stdout stays free for CLI output). */
export function createLogger(level: string): Logger {
  return pino(
    {
      level,
      base: { service: 'aetheris' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['authorization', '*.authorization', 'token', '*.token'], remove: true },
    },
    pino.destination(2),
  );
}
