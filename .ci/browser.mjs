// report.html as a person sees it: Playwright drives Debian's Chromium, opens the report at
// 1280 px (a laptop) and at 390 px (a phone), checks the rendered DOM and takes a full-page
// screenshot at each width. `--screenshot` alone cannot tell whether a phone has to scroll
// the page sideways; the layout measured here can, and names the element that sticks out.
//
// usage: node .ci/browser.mjs NODE_PREFIX REPORT OUT_DIR
// NODE_PREFIX is where `npm install --prefix` put playwright-core. Writes
// OUT_DIR/report-1280.png and OUT_DIR/report-390.png. Exits 1 when a check fails, and 2 when
// the browser fails or takes over 60 s.
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [prefix, report, outDir] = process.argv.slice(2);
if (!prefix || !report || !outDir) {
  console.error('usage: node .ci/browser.mjs NODE_PREFIX REPORT OUT_DIR');
  process.exit(2);
}
const { chromium } = createRequire(join(resolve(prefix), 'node_modules', '/'))('playwright-core');
const url = pathToFileURL(resolve(report)).href;
const ids = ['load', 'chart-planned', 'chart-users', 'chart-rps', 'chart-errors', 'chart-latency',
  'row-latency-0', 'dist-0', 'verdicts', 'endpoints'];

let browser;
function fatal(message) {
  console.error(`browser check: ${message}`);
  browser?.close().catch(() => {});
  process.exit(2);
}
const timer = setTimeout(() => fatal('Chromium did not finish within 60 s'), 60_000);

const failures = [];
try {
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
} catch (e) {
  fatal(`cannot start /usr/bin/chromium: ${e.message}`);
}
for (const width of [1280, 390]) {
  const page = await browser.newPage({ viewport: { width, height: 900 }, deviceScaleFactor: 1 });
  // The report promises to work offline: anything but the file itself is a failure, whether
  // or not the request would have succeeded.
  const outside = [];
  page.on('request', (r) => { if (!r.url().startsWith('file:')) outside.push(r.url()); });
  await page.goto(url, { waitUntil: 'load' });
  const found = await page.evaluate((ids) => {
    const missing = ids.filter((id) => !document.getElementById(id));
    const charts = [...document.querySelectorAll('svg.chart')];
    // Every chart with data can be hovered for its values.
    const unhoverable = charts
      .filter((svg) => ![...svg.querySelectorAll('text')].some((t) => t.textContent === 'no data'))
      .filter((svg) => ![...svg.querySelectorAll('rect.hover > title')].some((t) => t.textContent.trim()))
      .map((svg) => svg.closest('figure')?.id ?? '(a chart without a figure)');
    const root = document.documentElement.scrollWidth;
    const body = document.body.scrollWidth;
    // What sticks out of the viewport and is not inside a box that scrolls or clips it.
    const clipped = (el) => {
      for (let p = el.parentElement; p; p = p.parentElement) {
        if (['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(p).overflowX)) return true;
      }
      return false;
    };
    // How far right an element reaches: its box, or the content overflowing it (a long
    // line in a <pre> reaches past the <pre>'s own box) unless it scrolls or clips that.
    const reach = (el) => {
      const r = el.getBoundingClientRect();
      const spills = getComputedStyle(el).overflowX === 'visible';
      return Math.round(Math.max(r.right, spills ? r.left + el.scrollWidth : 0));
    };
    const depth = (el) => { let d = 0; for (let e = el; e; e = e.parentElement) d++; return d; };
    const describe = (el) => {
      const path = [];
      for (let e = el; e && e !== document.body; e = e.parentElement) {
        path.unshift(e.tagName.toLowerCase() + (e.id ? `#${e.id}` : '')
          + (typeof e.className === 'string' && e.className ? `.${e.className.trim().split(/\s+/).join('.')}` : ''));
      }
      return `${path.join(' > ')} (reaches ${reach(el)} px: "${(el.textContent ?? '').trim().slice(0, 60)}")`;
    };
    // The one that reaches furthest; of a parent and the child that makes it reach as far,
    // the child.
    const widest = [...document.body.querySelectorAll('*')]
      .filter((el) => reach(el) > window.innerWidth && !clipped(el))
      .sort((a, b) => reach(b) - reach(a) || depth(b) - depth(a))[0];
    return {
      missing, charts: charts.length, unhoverable, root, body, inner: window.innerWidth,
      widest: widest ? describe(widest) : null,
    };
  }, ids);
  const fail = (message) => failures.push(`at ${width} px: ${message}`);
  if (found.missing.length) fail(`the rendered DOM lacks ${found.missing.map((id) => `#${id}`).join(', ')}`);
  if (found.charts < 4) fail(`the rendered DOM has ${found.charts} charts, expected at least 4`);
  if (found.unhoverable.length) fail(`charts without hover values (rect.hover > title): ${found.unhoverable.join(', ')}`);
  if (found.root > found.inner || found.body > found.inner) {
    fail(`the page scrolls sideways: documentElement.scrollWidth ${found.root}, body.scrollWidth `
      + `${found.body}, window.innerWidth ${found.inner}; widest: ${found.widest ?? '(no element found)'}`);
  }
  if (outside.length) fail(`requests beyond the file: ${outside.join(', ')}`);
  const shot = join(outDir, `report-${width}.png`);
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`${width} px: ${found.charts} charts, scrollWidth ${found.root} (body ${found.body}) `
    + `of ${found.inner}, ${outside.length} requests beyond the file, screenshot ${shot}`);
  await page.close();
}
await browser.close();
clearTimeout(timer);
for (const f of failures) console.error(`FAIL ${f}`);
process.exit(failures.length ? 1 : 0);
