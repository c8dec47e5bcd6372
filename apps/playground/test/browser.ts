import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { readFileSync, statSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

const TYPES: Record<string, string> = {
  '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.json': 'application/json',
};

/** One request the server answered: path, the Range header if any, bytes sent. */
export interface Served {
  path: string;
  range: string | null;
  bytes: number;
}

/** Serves a folder on 127.0.0.1 (a secure context, so navigator.gpu exists), with HTTP range requests; logs requests. */
export async function serve(root: string): Promise<{ url: string; server: Server; log: Served[] }> {
  const log: Served[] = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]);
    const rel = normalize(path).replace(/^(\.\.[/\\])+/, '');
    let file = join(root, rel);
    try {
      if (statSync(file).isDirectory()) file = join(file, 'index.html');
      const body = readFileSync(file);
      const type = TYPES[extname(file)] ?? 'application/octet-stream';
      const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
      if (range) {
        const a = Number(range[1]);
        const b = Math.min(body.length - 1, range[2] ? Number(range[2]) : body.length - 1);
        if (a >= body.length) {
          res.writeHead(416, { 'Content-Range': `bytes */${body.length}` }).end();
          return;
        }
        res.writeHead(206, { 'Content-Type': type, 'Accept-Ranges': 'bytes', 'Content-Range': `bytes ${a}-${b}/${body.length}`, 'Content-Length': String(b - a + 1) });
        res.end(body.subarray(a, b + 1));
        log.push({ path, range: req.headers.range!, bytes: b - a + 1 });
        return;
      }
      res.writeHead(200, { 'Content-Type': type, 'Accept-Ranges': 'bytes', 'Content-Length': String(body.length) });
      res.end(req.method === 'HEAD' ? undefined : body);
      log.push({ path, range: null, bytes: req.method === 'HEAD' ? 0 : body.length });
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}/`, server, log };
}

/** Debian's chromium, headless (playwright gives it a fresh profile folder), with WebGPU on SwiftShader where there is no GPU, and no network chatter. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--enable-unsafe-swiftshader',
      '--no-sandbox', '--disable-gpu-sandbox', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-quic',
    ],
  });
}

/** Builds the playground, serves it and opens it in headless Chromium. */
export async function openPlayground(root: string): Promise<{ page: Page; url: string; log: Served[]; close(): Promise<void> }> {
  execFileSync('npx', ['vite', 'build', '--logLevel', 'error'], { cwd: root, stdio: 'inherit' });
  const { url, server, log } = await serve(`${root}/dist`);
  const browser = await launchChromium();
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error('page error:', e));
  await page.goto(url);
  return {
    page,
    url,
    log,
    async close() {
      await browser.close();
      server.close();
    },
  };
}
