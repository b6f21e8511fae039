// A small W3C WebDriver client: enough to drive Firefox (geckodriver) and WebKit
// (WebKitWebDriver) through the page the way the Chromium suite drives Chromium with
// Playwright, which cannot drive Debian's Firefox or WebKitGTK. Most checks run as
// scripts in the page, so what they test reads the same in every browser.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const GECKODRIVER = process.env.GECKODRIVER || path.join(os.homedir(), '.cargo', 'bin', 'geckodriver');
const MINIBROWSER = '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';

/** Starts each browser with its driver: { session, stop } (stop ends the driver and any Xvfb). */
export const launchers = {
  chromium: async () => {
    const port = await freePort();
    const driver = await startDriver(process.env.CHROMEDRIVER || '/usr/bin/chromedriver', [`--port=${port}`], port);
    const session = await Session.start(`http://127.0.0.1:${port}`, {
      browserName: 'chrome',
      'goog:chromeOptions': { binary: process.env.CHROMIUM || '/usr/bin/chromium',
        args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] },
    });
    return { session, stop: () => driver.kill() };
  },
  firefox: async () => {
    const port = await freePort();
    const driver = await startDriver(GECKODRIVER, ['--host', '127.0.0.1', '--port', String(port)], port);
    const session = await Session.start(`http://127.0.0.1:${port}`, {
      browserName: 'firefox',
      'moz:firefoxOptions': { binary: '/usr/bin/firefox-esr', args: ['-headless'] },
    });
    return { session, stop: () => driver.kill() };
  },
  webkit: async () => {
    // WebKitGTK needs a display: a private Xvfb.
    const display = `:${90 + Math.floor(Math.random() * 800)}`;
    const xvfb = spawn('Xvfb', [display, '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 1000));
    const port = await freePort();
    const driver = await startDriver('WebKitWebDriver', [`--port=${port}`], port, { ...process.env, DISPLAY: display });
    const session = await Session.start(`http://127.0.0.1:${port}`, {
      browserName: 'MiniBrowser',
      'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] },
    });
    return { session, stop: () => { driver.kill(); xvfb.kill(); } };
  },
};

/** A free local TCP port. */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
}

/** Starts a driver binary on `port` and waits until it answers /status; returns the process. */
export async function startDriver(command, args, port, env = process.env) {
  const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${command} exited (${child.exitCode}): ${stderr}`);
    try {
      const r = await fetch(`http://127.0.0.1:${port}/status`);
      if (r.ok) return child;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill();
  throw new Error(`${command} did not answer on port ${port} within 30 s: ${stderr}`);
}

export class Session {
  constructor(server, id) { this.server = server; this.id = id; }

  /** A new browser session with these capabilities (W3C alwaysMatch). */
  static async start(server, capabilities) {
    const value = await command(`${server}/session`, 'POST', { capabilities: { alwaysMatch: capabilities } });
    return new Session(server, value.sessionId);
  }

  cmd(method, path, body) { return command(`${this.server}/session/${this.id}${path}`, method, body); }

  goto(url) { return this.cmd('POST', '/url', { url }); }

  /** Runs `fn(...args)` in the page and returns its (JSON) result. */
  run(fn, ...args) {
    return this.cmd('POST', '/execute/sync', { script: `return (${fn}).apply(null, arguments);`, args });
  }

  /** Runs the async `fn(...args)` in the page and returns what its promise resolves to. */
  runAsync(fn, ...args) {
    const script = `const done = arguments[arguments.length - 1];
      Promise.resolve((${fn}).apply(null, Array.prototype.slice.call(arguments, 0, -1)))
        .then((v) => done({ ok: v }), (e) => done({ error: String(e && e.stack || e) }));`;
    return this.cmd('POST', '/execute/async', { script, args }).then((r) => {
      if (r && 'error' in r) throw new Error(r.error);
      return r.ok;
    });
  }

  /** Polls `fn(...args)` in the page until it returns something truthy; returns that. */
  async waitFor(what, timeoutMs, fn, ...args) {
    const deadline = Date.now() + timeoutMs;
    let last;
    for (;;) {
      last = await this.run(fn, ...args);
      if (last) return last;
      if (Date.now() > deadline) {
        const errors = await this.run(() => document.querySelector('.errors')?.innerText || '');
        throw new Error(`waited ${timeoutMs / 1000} s for ${what}${errors ? `; the page says: ${errors}` : ''}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async screenshot(file) {
    fs.writeFileSync(file, Buffer.from(await this.cmd('GET', '/screenshot'), 'base64'));
  }

  async setWindow(width, height) { await this.cmd('POST', '/window/rect', { width, height }); }

  quit() { return this.cmd('DELETE', '').catch(() => {}); }
}

async function command(url, method, body) {
  const response = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json().catch(() => ({}));
  if (!response.ok || json.value?.error) {
    throw new Error(`WebDriver ${method} ${url}: ${json.value?.error || response.status} ${json.value?.message || ''}`.trim());
  }
  return json.value;
}
