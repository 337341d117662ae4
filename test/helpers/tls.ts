// A self-signed certificate for 127.0.0.1, made with openssl for one test run.
import { execFileSync } from 'node:child_process';
import path from 'node:path';

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
