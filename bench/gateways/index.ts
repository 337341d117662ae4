/**
 * `npm run bench:gateways`: `hello` behind the front ends, in one run — direct HTTP, nginx →
 * HTTP proxy, nginx → mortar FastCGI (keep-conn), lighttpd → mortar FastCGI and SCGI, and
 * nginx and lighttpd → the npm node-fastcgi 2.0.0 for comparison. nginx and lighttpd run one
 * worker each; the application one process. Needs nginx and lighttpd
 * (`apt-get install -y nginx lighttpd`).
 */
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import {
  frontEndsAvailable,
  frontEndsSkipReason,
  startLighttpd,
  startNginx,
  workspace,
} from '../../test/helpers/frontends.js';
import { freePort } from '../../test/helpers/net.js';
import { connections, loader, measure, runs, seconds, startServer } from '../lib.js';

if (!frontEndsAvailable) {
  console.log(`bench/gateways needs them: ${frontEndsSkipReason}`);
  process.exit(0);
}

const { dir, remove } = workspace();
const script = new URL('./servers.ts', import.meta.url);
const httpPort = await freePort();
const sockets = {
  fastcgi: path.join(dir, 'mortar-fcgi.sock'),
  scgi: path.join(dir, 'mortar-scgi.sock'),
  'node-fastcgi': path.join(dir, 'node-fcgi.sock'),
};
const apps: ChildProcess[] = [];
const params = (kind: string) =>
  [
    'REQUEST_METHOD $request_method',
    'REQUEST_URI $request_uri',
    'QUERY_STRING $query_string',
    'SCRIPT_NAME ""',
    'HTTP_HOST $http_host',
    'REMOTE_ADDR $remote_addr',
    'SERVER_NAME $server_name',
    'SERVER_PORT $server_port',
    'SERVER_PROTOCOL $server_protocol',
    'CONTENT_LENGTH $content_length',
  ]
    .map((p) => `${kind}_param ${p};`)
    .join(' ');
try {
  apps.push((await startServer(script, 'http', {}, [String(httpPort)])).child);
  for (const [name, socket] of Object.entries(sockets))
    apps.push((await startServer(script, name, {}, [socket])).child);
  const nginx = await startNginx(
    dir,
    [
      `LISTEN location / { proxy_pass http://mortar_http; proxy_http_version 1.1; proxy_set_header Connection ""; }`,
      `LISTEN location / { ${params('fastcgi')} fastcgi_keep_conn on; fastcgi_pass mortar_fcgi; }`,
      `LISTEN location / { ${params('fastcgi')} fastcgi_keep_conn on; fastcgi_pass node_fcgi; }`,
    ],
    `upstream mortar_http { server 127.0.0.1:${httpPort}; keepalive 32; }
  upstream mortar_fcgi { server unix:${sockets.fastcgi}; keepalive 32; }
  upstream node_fcgi { server unix:${sockets['node-fastcgi']}; keepalive 32; }`,
  );
  const lighttpd = await startLighttpd(
    dir,
    `server.port = PORT0
server.modules += ( "mod_fastcgi", "mod_scgi" )
fastcgi.server = ( "/" => (( "socket" => "${sockets.fastcgi}", "check-local" => "disable", "fix-root-scriptname" => "enable" )) )
$SERVER["socket"] == "127.0.0.1:PORT1" {
  fastcgi.server = ()
  scgi.server = ( "/" => (( "socket" => "${sockets.scgi}", "check-local" => "disable", "fix-root-scriptname" => "enable" )) )
}
$SERVER["socket"] == "127.0.0.1:PORT2" {
  fastcgi.server = ( "/" => (( "socket" => "${sockets['node-fastcgi']}", "check-local" => "disable", "fix-root-scriptname" => "enable" )) )
}`,
    3,
  );
  const cases: [string, string][] = [
    ['direct HTTP (mortar serve)', `http://127.0.0.1:${httpPort}/`],
    ['nginx → HTTP proxy → mortar', `${nginx.urls[0]}/`],
    ['nginx → mortar FastCGI (keep-conn)', `${nginx.urls[1]}/`],
    ['nginx → node-fastcgi 2.0.0', `${nginx.urls[2]}/`],
    ['lighttpd → mortar FastCGI', `${lighttpd.urls[0]}/`],
    ['lighttpd → mortar SCGI', `${lighttpd.urls[1]}/`],
    ['lighttpd → node-fastcgi 2.0.0', `${lighttpd.urls[2]}/`],
  ];
  for (const [label, url] of cases) {
    const response = await fetch(url);
    const body = await response.text();
    if (response.status !== 200)
      throw new Error(`${label}: ${response.status} ${body.slice(0, 200)}`);
  }
  const results = await measure(cases.map(([, url]) => url));
  const proxy = results[1]!.requests;
  console.log(
    `\nmedian of ${runs} runs × ${seconds} s, ${connections} connections, ${loader}, Node ${process.version}\n`,
  );
  console.log('| path | req/s | × nginx HTTP proxy |\n|---|---:|---:|');
  for (const [index, [label]] of cases.entries()) {
    console.log(
      `| ${label} | ${Math.round(results[index]!.requests)} | ${(results[index]!.requests / proxy).toFixed(2)} |`,
    );
  }
  await nginx.stop();
  await lighttpd.stop();
} finally {
  for (const child of apps) child.kill();
  remove();
}
