// The browser tests drive Debian's Chromium with playwright-core (playwright's own browser
// download is not used). Makes `npm test` work on a fresh Debian machine: when no chromium is on
// the machine and we run as root, install it with apt; otherwise say what is missing and go on (the
// browser suites report themselves skipped), except under CI=true, where a missing browser fails.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CHROMIUM = '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (root && existsSync('/usr/bin/apt-get')) {
    console.log('chromium is missing: installing Debian\'s chromium for the browser tests');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'inherit', env });
  } else {
    const msg = `The browser tests need Chromium at ${CHROMIUM} (Debian: apt-get install chromium; or set CHROMIUM_PATH).`;
    if (process.env.CI === 'true') {
      console.error(msg);
      process.exit(1);
    }
    console.error(`${msg} They will be skipped.`);
  }
}
