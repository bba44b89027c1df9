// Browser test of the staff web app, in Debian's Chromium driven by playwright-core.
// Usage: node flow.mjs BASE_URL ARTIFACT_DIR
// For each scenario: fill the "someone is asking" screen, answer the questions the
// engine asks, check the outcome shown, time first tap to answer, take screenshots,
// and run axe-core on every screen (no serious or critical violations allowed).
import { chromium } from 'playwright-core';
import { readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const [base, artifacts] = process.argv.slice(2);
mkdirSync(artifacts, { recursive: true });

const detainerText = new URL('../../../testdata/documents/i247a_detainer.txt', import.meta.url).pathname;

const scenarios = [
  { name: 'detainer-at-the-jail', first: { where: 'jail', who: 'ice', what: 'hold', paper: 'ice-detainer' }, answers: { 'subject.in_custody': 'true' }, outcome: 'decline' },
  { name: 'phone-call-release-date', first: { where: 'jail', who: 'ice', what: 'release-date', paper: 'none' }, answers: {}, outcome: 'decline' },
  { name: 'judges-criminal-warrant', first: { where: 'jail', who: 'federal', what: 'hold', paper: 'judge-warrant' }, answers: { 'documents[].signed_by': 'magistrate_judge', 'documents[].criminal': 'true' }, outcome: 'comply' },
  { name: 'ice-subpoena-id-records', first: { where: 'id-office', who: 'ice', what: 'id-records', paper: 'ice-subpoena' }, answers: { 'subject.consent': 'none' }, outcome: 'decline' },
  { name: 'foia-arrest-report', first: { where: 'records', who: 'public', what: 'foia-arrest', paper: 'foia' }, answers: {}, outcome: 'comply' },
  { name: 'written-consent', first: { where: 'human-services', who: 'public', what: 'status', paper: 'consent' }, answers: {}, outcome: 'comply' },
  { name: 'ice-at-the-library-door', first: { where: 'library', who: 'ice', what: 'enter', paper: 'none' }, answers: {}, outcome: 'decline' },
  { name: 'search-warrant-at-the-library', first: { where: 'library', who: 'ice', what: 'enter', paper: 'judge-warrant' }, answers: { 'documents[].signed_by': 'magistrate_judge' }, outcome: 'comply' },
  { name: 'u-visa-certification', first: { where: 'police', who: 'self', what: 'visa', paper: 'none' }, answers: { 'subject.crime_victim': 'true', 'subject.in_removal_proceedings': 'false' }, outcome: 'comply' },
  { name: 'ice-asks-status', first: { where: 'police', who: 'ice', what: 'status', paper: 'none' }, answers: {}, outcome: 'refer' },
  { name: 'photo-of-a-detainer', first: { where: 'jail', who: 'ice', what: 'hold', paper: 'unknown' }, upload: detainerText, answers: { 'subject.in_custody': 'true' }, outcome: 'decline' },
];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

let failures = 0;
const axeFailures = [];

async function audit(page, label) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  for (const v of bad) axeFailures.push(`${label}: ${v.id} (${v.impact}): ${v.help}`);
}

for (const width of [390, 1280]) {
  const context = await browser.newContext({ viewport: { width, height: 900 } });
  const page = await context.newPage();
  for (const s of scenarios) {
    const label = `${s.name}@${width}`;
    await page.goto(`${base}/ask`);
    if (s === scenarios[0]) {
      await audit(page, `ask@${width}`);
      await page.screenshot({ path: `${artifacts}/ask-${width}.png`, fullPage: true });
    }
    const started = Date.now();
    for (const [name, value] of Object.entries(s.first)) {
      await page.check(`input[name="${name}"][value="${value}"]`);
    }
    if (s.upload) await page.setInputFiles('#photo', s.upload);
    await page.click('button[type=submit]');
    for (let i = 0; i < 10; i++) {
      await page.waitForSelector('[data-outcome], input[name="fact"]', { state: 'attached' });
      const fact = await page.$eval('input[name="fact"]', (e) => e.value).catch(() => null);
      if (!fact) break;
      if (i === 0 && width === 1280) {
        await audit(page, `question-${s.name}`);
        await page.screenshot({ path: `${artifacts}/question-${s.name}.png`, fullPage: true });
      }
      const value = s.answers[fact];
      if (value === undefined) { console.log(`FAIL ${label}: unexpected question ${fact}`); failures++; break; }
      await page.check(`input[name="answer"][value="${value}"]`);
      await page.click('button[type=submit]');
      await page.waitForFunction((f) => !document.querySelector(`input[name="fact"][value="${f}"]`), fact);
    }
    const outcome = await page.$eval('[data-outcome]', (e) => e.dataset.outcome).catch(() => 'none');
    const ms = Date.now() - started;
    const headline = await page.$eval('#headline', (e) => e.textContent.trim()).catch(() => '');
    const ok = outcome === s.outcome;
    if (!ok) failures++;
    console.log(JSON.stringify({ scenario: s.name, width, outcome, expected: s.outcome, ms, headline, ok }));
    if (width === 1280) {
      await audit(page, `answer-${s.name}`);
      await page.screenshot({ path: `${artifacts}/answer-${s.name}.png`, fullPage: true });
      if (s === scenarios[0] || s.name === 'ice-asks-status') {
        // The letter to the requester: printable HTML, saved as PDF by the browser.
        await page.click('form[action="/letter"] button[type=submit]');
        await page.waitForSelector('#letter-h');
        await audit(page, `letter-${s.name}`);
        await page.screenshot({ path: `${artifacts}/letter-${s.name}.png`, fullPage: true });
        await page.pdf({ path: `${artifacts}/letter-${s.name}.pdf`, format: 'Letter', tagged: true });
      }
    }
  }
  await context.close();
}
await browser.close();
for (const f of axeFailures) console.log(`AXE ${f}`);
if (axeFailures.length) failures++;
console.log(failures === 0 ? 'e2e: all scenarios passed' : `e2e: ${failures} failures`);
process.exit(failures === 0 ? 0 : 1);
