import http from 'node:http';

const KIB = 'x'.repeat(1024);
const which = process.argv[2];
const extra: Record<string, string> =
  which === 'long'
    ? { 'cache-status': 'mortar; fwd=uri-miss; fwd-status=200; detail=no-store' }
    : which === 'short'
      ? { 'x-a': 'b' }
      : which === 'longv'
        ? { 'cache-control': 'no-store, mortar; fwd=uri-miss; fwd-status=200; detail=no-store' }
        : {};
const s = http.createServer((_q, r) => {
  r.writeHead(200, {
    'cache-control': 'no-store',
    'content-type': 'text/plain; charset=UTF-8',
    'content-length': '1024',
    ...extra,
  }).end(KIB);
});
s.listen(0, '127.0.0.1', () => console.log(`http://127.0.0.1:${(s.address() as any).port}`));
process.once('SIGTERM', () => process.exit(0));
