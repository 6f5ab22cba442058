// security-redis-server.ts: a redis-server from PATH with ACL users and, optionally, TLS with
// certificates made by openssl for the test (a CA, a server certificate for localhost and
// 127.0.0.1, a client certificate), in a temporary folder removed on stop.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from '../helpers/free-port';

export interface TlsFiles {
  ca: string;
  clientCert: string;
  clientKey: string;
}

export interface SecuredRedis {
  port: number;
  /** Certificates when started with TLS. */
  tls: TlsFiles | null;
  stop(): Promise<void>;
}

/** ACL lines of redis.conf: `user <name> on >password ~keys &channels +commands`. */
export type AclUser = string;

function openssl(dir: string, args: string[]): void {
  try {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const reason =
      (error as { code?: string }).code === 'ENOENT' ? 'openssl not found: apt-get install openssl' : '';
    throw new Error(`openssl ${args[0]} failed: ${reason || (error as Error).message}`);
  }
}

/** A CA, a server certificate (localhost, 127.0.0.1) and a client certificate, all signed by the CA. */
function makeCertificates(dir: string): TlsFiles & { serverCert: string; serverKey: string } {
  const days = ['-days', '1'];
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    ...days,
    '-subj',
    '/CN=headkv-test-ca',
  ]);
  fs.writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  for (const name of ['server', 'client']) {
    openssl(dir, [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=headkv-test-${name}`,
    ]);
    openssl(dir, [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      ...days,
      ...(name === 'server' ? ['-extfile', 'server.ext'] : []),
    ]);
  }
  const file = (name: string) => path.join(dir, name);
  return {
    ca: file('ca.crt'),
    serverCert: file('server.crt'),
    serverKey: file('server.key'),
    clientCert: file('client.crt'),
    clientKey: file('client.key'),
  };
}

async function waitForPort(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 10000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  // A redis-server built without TLS stops here with "Bad directive" on tls-port.
  throw new Error(
    `redis-server did not listen on ${port}: ${output().trim().split('\n').slice(-3).join(' | ')}`,
  );
}

/**
 * Starts redis-server with the given ACL users (the default user is switched off, so every
 * connection must log in) on a plain port, or with `tls` on a TLS-only port; `clientCertificates`
 * makes the server require a client certificate.
 */
export async function startSecuredRedis(
  users: AclUser[],
  options: { tls?: boolean; clientCertificates?: boolean } = {},
): Promise<SecuredRedis> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'headkv-secured-redis-'));
  const port = await freePort();
  const lines = ['bind 127.0.0.1', 'save ""', 'appendonly no', `dir ${dir}`, 'user default off', ...users];
  let tls: TlsFiles | null = null;
  if (options.tls) {
    const files = makeCertificates(dir);
    tls = { ca: files.ca, clientCert: files.clientCert, clientKey: files.clientKey };
    lines.push(
      'port 0',
      `tls-port ${port}`,
      `tls-cert-file ${files.serverCert}`,
      `tls-key-file ${files.serverKey}`,
      `tls-ca-cert-file ${files.ca}`,
      `tls-auth-clients ${options.clientCertificates ? 'yes' : 'no'}`,
    );
  } else {
    lines.push(`port ${port}`);
  }
  fs.writeFileSync(path.join(dir, 'redis.conf'), lines.join('\n') + '\n');
  const child = spawn('redis-server', [path.join(dir, 'redis.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (data) => (output += data.toString()));
  child.stderr?.on('data', (data) => (output += data.toString()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, child, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, tls, stop };
}
