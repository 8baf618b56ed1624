import { loadConfig } from '../shared/config';
import { signUserToken } from '../shared/tokens';
import { messageOf } from '../shared/infra-errors';

/** `npm run token -- <userId> [expiresIn]`: prints a JWT for local use (default 12 h). */
async function main(): Promise<void> {
  const [userId, expiresIn = '12h'] = process.argv.slice(2);
  if (userId === undefined || !/^[1-9][0-9]{0,15}$/.test(userId)) {
    console.error('usage: npm run token -- <userId> [expiresIn, e.g. 12h, 7d]');
    process.exit(2);
  }
  const config = loadConfig();
  process.stdout.write(`${await signUserToken(config.jwtSecret, userId, expiresIn)}\n`);
}

main().catch((error: unknown) => {
  console.error(messageOf(error));
  process.exit(1);
});
