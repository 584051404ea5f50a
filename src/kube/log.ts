// pino JSON logs. Fields that could carry key material are redacted at the logger, so a careless
// `log.info({ secret })` still cannot leak a private key.
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

const REDACT = [
  '*.data',
  '*.stringData',
  '*.binaryData',
  '*.privateKey',
  '*.privateKeyPem',
  '*.key',
  '*.keyPem',
  '*.token',
  '*.password',
  'data',
  'stringData',
  'privateKey',
  'privateKeyPem',
];

export function createLogger(opts: { name: string; level?: string; destination?: pino.DestinationStream }): Logger {
  const options: LoggerOptions = {
    name: opts.name,
    level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: { paths: REDACT, censor: '[redacted]' },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/** A logger that drops everything, for library code used without a logger (tests, tools). */
export const silentLogger: Logger = pino({ level: 'silent' });
