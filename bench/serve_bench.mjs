// The dashboard at scale: table API requests, the first render of the page
// in headless Chromium, and the delay of a live update, against an index of
// many runs (the sweep the Google Benchmark suite makes), each beside a
// same-run baseline: the same query through `lumo-db query`.
//
//   node bench/serve_bench.mjs --data /work/benchdata/sweep-100000 \
//        --lumo-db build-release/lumo-db --trainer build-release/example_trainer
//   (--api-only: the table API figures alone, without a browser)
//
// playwright-core comes from tests/browser/node_modules (tools/setup-deps.sh
// installs it); the browser is Debian's chromium. Figures are medians.
import {spawn, spawnSync} from 'node:child_process';
import {createRequire} from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const browserDir = process.env.LUMODB_BROWSER_DIR || path.join(here, '..', 'tests', 'browser');
const require = createRequire(path.join(browserDir, 'package.json'));

function arg(name, fallback) {
  const i = process.argv.indexOf('--' + name);
  return i > 0 ? process.argv[i + 1] : fallback;
}
const data = arg('data', '/work/benchdata/sweep-100000');
const lumoDb = path.resolve(arg('lumo-db', 'build-release/lumo-db'));
const trainer = path.resolve(arg('trainer', 'build-release/example_trainer'));
const repeats = Number(arg('repeats', '5'));
const chromiumPath = process.env.LUMODB_CHROMIUM || '/usr/bin/chromium';
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'lumodb-serve-bench-'));
// The trainer of the live-update figure finds the sweep's roots here.
fs.writeFileSync(path.join(scratch, '.lumorc.json'),
                 JSON.stringify({exp_root: path.join(data, 'info'), cache_dir: path.join(scratch, 'cache')}));
const common = ['--db', path.join(data, 'index'), '--info-root', path.join(data, 'info'),
                '--cache-root', path.join(scratch, 'cache')];

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x) => x.toFixed(1) + ' ms';

function startServer() {
  return new Promise((resolve, reject) => {
    const child = spawn(lumoDb, [...common, 'serve', '--port', '0'],
                        {stdio: ['ignore', 'ignore', 'pipe'], env: {...process.env, HOME: scratch}});
    let err = '';
    const t0 = performance.now();
    child.stderr.on('data', (d) => {
      err += d;
      const m = err.match(/lumo-db serve: (http:\/\/\S+)/);
      if (m) resolve({child, url: m[1], startMs: performance.now() - t0});
    });
    child.on('exit', (code) => reject(new Error('lumo-db serve exited ' + code + ': ' + err)));
  });
}

// The table requests of the issue: one page of 100 rows, a filter, a sort;
// each beside the same query through lumo-db query.
const requests = [
  {name: 'page 1, default sort', api: 'limit=100', cli: ['--limit', '100']},
  {name: 'filter + sort', api: 'q=' + encodeURIComponent('params.lr<0.01') + '&sort=-metrics.acc&limit=100',
   cli: ['params.lr<0.01', '--sort=-metrics.acc', '--limit', '100']},
  {name: 'two filters + sort, page 200', api: 'q=' + encodeURIComponent('status==finished params.seed>5000') +
       '&sort=params.lr&limit=100&offset=20000',
   cli: ['status==finished', 'params.seed>5000', '--sort=params.lr', '--limit', '100', '--offset', '20000']},
  {name: 'regex filter + sort', api: 'q=' + encodeURIComponent('exp_name~^sweep1') + '&sort=-metrics.loss&limit=100',
   cli: ['exp_name~^sweep1', '--sort=-metrics.loss', '--limit', '100']},
  {name: 'grouped, one group collapsed', api: 'group=1&collapsed=sweep00.mlp&sort=-metrics.acc&limit=100',
   cli: null},
];

async function timeFetch(url) {
  const t = performance.now();
  const res = await fetch(url);
  const body = await res.text();
  if (res.status !== 200) throw new Error(url + ': ' + res.status + ' ' + body);
  return {ms: performance.now() - t, body};
}

function timeCli(args) {
  const t = performance.now();
  const r = spawnSync(lumoDb, [...common, '--no-load', 'query', ...args, '--format', 'jsonl'],
                      {env: {...process.env, HOME: scratch}, maxBuffer: 1 << 28});
  if (r.status !== 0) throw new Error('lumo-db query ' + args.join(' ') + ': ' + r.stderr);
  return {ms: performance.now() - t, out: r.stdout.toString()};
}

const names = (lines) => lines.map((r) => r.exp_name + '/' + r.test_name);

async function main() {
  const {child, url, startMs} = await startServer();
  console.log(`server up in ${ms(startMs)} (index of ${data})`);
  console.log('\n== table API (median of ' + (repeats * 4) + ' warm requests; first = the first request of its kind)');
  for (const r of requests) {
    const first = await timeFetch(url + 'api/runs?' + r.api);
    const warm = [];
    for (let i = 0; i < repeats * 4; ++i) warm.push((await timeFetch(url + 'api/runs?' + r.api)).ms);
    let line = `${r.name.padEnd(32)} first ${ms(first.ms).padStart(9)}  warm ${ms(median(warm)).padStart(8)}`;
    if (r.cli) {
      const runs = [];
      let out = '';
      for (let i = 0; i < Math.min(3, repeats); ++i) {
        const c = timeCli(r.cli);
        runs.push(c.ms);
        out = c.out;
      }
      const cliNames = names(out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)));
      const apiNames = names(JSON.parse(first.body).runs);
      const same = JSON.stringify(cliNames) === JSON.stringify(apiNames);
      line += `   lumo-db query ${ms(median(runs)).padStart(9)}  (x${(median(runs) / median(warm)).toFixed(0)})` +
              (same ? '  same runs' : '  DIFFERENT RUNS');
    }
    console.log(line);
  }

  if (process.argv.includes('--api-only')) {
    child.kill('SIGTERM');
    return;
  }
  const {chromium} = require('playwright-core');
  const browser = await chromium.launch({executablePath: chromiumPath, headless: true, args: ['--no-sandbox']});
  console.log('\n== first full render in headless Chromium (navigation start to 100 rows drawn), median of ' + repeats);
  for (const view of ['', '?q=' + encodeURIComponent('params.lr<0.01') + '&sort=-metrics.acc',
                      '?group=1&sort=-metrics.acc']) {
    const times = [];
    for (let i = 0; i < repeats; ++i) {
      const context = await browser.newContext({viewport: {width: 1600, height: 1000}});
      const page = await context.newPage();
      await page.goto(url + view, {waitUntil: 'commit'});
      await page.waitForFunction(() => document.querySelectorAll('tr.run-row').length >= 100,
                                 null, {polling: 'raf', timeout: 30000});
      times.push(await page.evaluate(() => performance.now()));
      await context.close();
    }
    console.log(`${('/' + view).padEnd(60)} ${ms(median(times))}`);
  }

  console.log('\n== live update: a new run\'s journal appears -> its row is on the page (median of ' + repeats + ')');
  const context = await browser.newContext({viewport: {width: 1600, height: 1000}});
  const page = await context.newPage();
  await page.goto(url, {waitUntil: 'load'});
  await page.waitForFunction(() => document.querySelectorAll('tr.run-row').length >= 100);
  const infoExp = path.join(data, 'info', 'live.bench');
  const delays = [];
  for (let i = 0; i < repeats; ++i) {
    const before = new Set(fs.existsSync(infoExp) ? fs.readdirSync(infoExp) : []);
    const t = spawn(trainer, ['--exp', 'live.bench', '--lr', '0.1', '--seed', String(i), '--epochs', '3',
                              '--sleep-ms', '300'],
                    {stdio: 'ignore', env: {...process.env, HOME: scratch, LUMODB_GIT_SNAPSHOT: '0'},
                    cwd: scratch});
    // The journal's first appearance on disk, polled every millisecond.
    let journalAt = 0, test = '';
    while (!journalAt) {
      if (fs.existsSync(infoExp)) {
        for (const name of fs.readdirSync(infoExp)) {
          if (!before.has(name) && fs.existsSync(path.join(infoExp, name, 'journal'))) {
            journalAt = Date.now();
            test = name;
          }
        }
      }
      if (!journalAt) await new Promise((r) => setTimeout(r, 1));
    }
    await page.waitForFunction((name) => !!document.querySelector(`tr.run-row[data-key$="/${name}"]`),
                               test, {polling: 'mutation', timeout: 30000});
    delays.push(Date.now() - journalAt);
    await new Promise((r) => t.on('exit', r));
  }
  console.log(`delays ${delays.map((d) => d + ' ms').join(', ')}; median ${ms(median(delays))}` +
              ` (the server loads every 200 ms)`);
  await browser.close();
  child.kill('SIGTERM');
  fs.rmSync(scratch, {recursive: true, force: true});
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
