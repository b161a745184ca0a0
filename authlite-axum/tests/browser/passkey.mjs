// Drives the example service's passkey page in headless Chromium with a virtual
// authenticator (DevTools protocol: WebAuthn.enable, WebAuthn.addVirtualAuthenticator with
// a resident key, user verification and backup flags): sign up with a password, add a passkey, sign
// out, sign in with the passkey (usernameless), ask /me/session. Prints what the page did
// and what the server answered; exits non-zero at the first failed step.
//
//   node passkey.mjs <page url> <chromium executable>
import puppeteer from 'puppeteer-core';

const [url, executablePath] = process.argv.slice(2);
const browser = await puppeteer.launch({
  executablePath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
let failed = false;
try {
  const page = await browser.newPage();
  const cdp = await page.createCDPSession();
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
      // A synced ("multi-device") passkey: the server records both flags.
      defaultBackupEligibility: true,
      defaultBackupState: true,
    },
  });
  await page.goto(url);
  await page.type('#username', 'alice');
  await page.type('#password', 'correct horse battery staple');
  const lines = () => page.$eval('#log', (e) => e.textContent.trim().split('\n').filter(Boolean));
  for (const step of ['signup', 'add-passkey', 'session', 'signout', 'passkey-signin', 'session']) {
    const before = (await lines()).length;
    await page.click('#' + step);
    await page.waitForFunction(
      (n) => document.getElementById('log').textContent.trim().split('\n').filter(Boolean).length > n,
      { timeout: 30000 },
      before,
    );
    const last = (await lines()).at(-1);
    console.log('page: ' + last);
    if (last.startsWith(step + ' failed')) {
      failed = true;
      break;
    }
  }
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  const resident = credentials.map((c) => c.isResidentCredential);
  console.log(`authenticator: ${credentials.length} credential(s), resident: ${resident}, sign count: ${credentials.map((c) => c.signCount)}`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
