// The built site over HTTP on a free local port, for every suite: `/` serves `root`, and
// each extra mount (a path prefix → a directory) serves its own directory below it.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css',
  '.json': 'application/json', '.gz': 'application/octet-stream', '.onnx': 'application/octet-stream' };

/** Starts serving; resolves to { server, base } once listening. */
export async function serve(root, mounts = {}) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const prefix = Object.keys(mounts).find((p) => url.pathname.startsWith(p));
    const dir = prefix ? mounts[prefix] : root;
    const rest = prefix ? url.pathname.slice(prefix.length - 1) : url.pathname;
    const file = path.join(dir, decodeURIComponent(rest === '/' ? '/index.html' : rest));
    if (!file.startsWith(dir) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404); res.end('not found'); return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${server.address().port}` };
}
