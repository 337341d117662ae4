// A self-signed certificate for 127.0.0.1, made with openssl for one test run.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe } from 'vitest';
import { which } from './net.js';

/**
 * `describe` for a suite that makes a certificate with {@link selfSignedCertificate}: skipped,
 * with a line saying how to run it, when openssl is missing on a developer's machine — never
 * under CI, where the suite then fails.
 */
export function describeWithOpenssl(what: string): typeof describe | typeof describe.skip {
  if (which('openssl') || process.env.CI) return describe;
  console.warn(`skipping ${what}: openssl is not installed (apt-get install -y openssl)`);
  return describe.skip;
}

/**
 * Writes `key.pem` and `cert.pem` (RSA 2048, a day, CN and subjectAltName 127.0.0.1) into `dir`.
 * @returns The two files' paths.
 * @throws Error when openssl is missing or fails.
 */
export function selfSignedCertificate(dir: string): { key: string; cert: string } {
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  return { key, cert };
}
