import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { ConfigError, loadConfig } from '../shared/config';
import { createLogger } from '../shared/logger';
import { createRedis } from '../shared/redis';
import { testRedisUrl } from './harness/env';

/** The ConfigError loadConfig throws for `env`, or a failure if it throws none. */
function configErrorOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

const PRODUCTION_SECRETS = {
  JWT_SECRET: 'a-production-secret-of-at-least-32-chars',
  ADMIN_PASSWORD: 'a-long-admin-password',
};

describe('loadConfig', () => {
  it('When the environment is empty, then the contract defaults apply', () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.database.url).toBe('mysql://root@127.0.0.1:3306/shop');
    expect(config.database.name).toBe('shop');
    expect(config.redis.url).toBe('redis://127.0.0.1:6379');
    expect(config.logLevel).toBe('info');
    expect(config.seedDemo).toBe(true);
    expect(config.env).toBe('development');
    expect(config.admin.password).toBeUndefined();
    expect(config.dataPlatform.url).toBeUndefined();
  });

  it('When variables are set, then they are parsed into typed values', () => {
    const config = loadConfig({
      PORT: '8080',
      DATABASE_URL: 'mariadb://app:pw@db.internal:3307/orders',
      REDIS_URL: 'rediss://cache.internal:6380',
      LOG_LEVEL: 'debug',
      SEED_DEMO: 'false',
      ADMIN_USER: 'ops',
      ADMIN_PASSWORD: 'correct-horse-battery',
      DATA_PLATFORM_URL: 'https://data.example.com/events',
      DATA_PLATFORM_SECRET: 'sixteen-chars-or-more',
    });
    expect(config.port).toBe(8080);
    expect(config.database.name).toBe('orders');
    expect(config.redis.url).toBe('rediss://cache.internal:6380');
    expect(config.logLevel).toBe('debug');
    expect(config.seedDemo).toBe(false);
    expect(config.admin).toEqual({
      user: 'ops',
      password: 'correct-horse-battery',
      readOnly: false,
    });
    expect(config.dataPlatform.url).toBe('https://data.example.com/events');
  });

  it('When a variable is set to the empty string, then it counts as unset', () => {
    const config = loadConfig({ PORT: '', LOG_LEVEL: '', SEED_DEMO: '' });
    expect(config.port).toBe(3000);
    expect(config.logLevel).toBe('info');
    expect(config.seedDemo).toBe(true);
  });

  it('When no environment is passed, then it reads process.env', () => {
    const saved = process.env.PORT;
    process.env.PORT = '4567';
    try {
      expect(loadConfig().port).toBe(4567);
    } finally {
      if (saved === undefined) delete process.env.PORT;
      else process.env.PORT = saved;
    }
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['DATABASE_URL', 'postgres://x'],
    ['DATABASE_URL', 'not a url'],
    ['DATABASE_URL', 'mysql://root@127.0.0.1:3306/'],
    ['DATABASE_URL', 'mysql://root@127.0.0.1:3306/bad-name'],
    ['REDIS_URL', 'http://127.0.0.1:6379'],
    ['LOG_LEVEL', 'loud'],
    ['SEED_DEMO', 'maybe'],
    ['JWT_SECRET', 'too-short'],
    ['NODE_ENV', 'staging'],
  ])('When %s is %j, then it throws a ConfigError naming %s', (name, value) => {
    const error = configErrorOf({ [name]: value });
    expect(error.message).toContain(name);
    expect(error.problems).toEqual([expect.stringContaining(name)]);
  });

  it('When several variables are invalid, then one ConfigError lists every one of them', () => {
    const error = configErrorOf({ PORT: 'abc', LOG_LEVEL: 'loud', SEED_DEMO: 'maybe' });
    expect(error.problems).toHaveLength(3);
    for (const name of ['PORT', 'LOG_LEVEL', 'SEED_DEMO']) expect(error.message).toContain(name);
  });

  it('When NODE_ENV is production without JWT_SECRET and ADMIN_PASSWORD, then it throws naming both', () => {
    const error = configErrorOf({ NODE_ENV: 'production' });
    expect(error.message).toContain('JWT_SECRET');
    expect(error.message).toContain('ADMIN_PASSWORD');
  });

  it.each(Object.keys(PRODUCTION_SECRETS))(
    'When NODE_ENV is production without %s alone, then it throws naming it',
    (missing) => {
      const env = Object.fromEntries(
        Object.entries({ NODE_ENV: 'production', ...PRODUCTION_SECRETS }).filter(
          ([name]) => name !== missing,
        ),
      );
      expect(configErrorOf(env).problems).toEqual([expect.stringContaining(missing)]);
    },
  );

  it('When NODE_ENV is production with both secrets, then it loads and uses that JWT secret', () => {
    const config = loadConfig({ NODE_ENV: 'production', ...PRODUCTION_SECRETS });
    expect(config.env).toBe('production');
    expect(config.jwtSecret).toBe(PRODUCTION_SECRETS.JWT_SECRET);
  });

  it('When the config is loaded, then it is deeply frozen', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    for (const inner of [config.database, config.redis, config.admin, config.dataPlatform]) {
      expect(Object.isFrozen(inner)).toBe(true);
    }
    expect(() => {
      (config as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(() => {
      (config.database as { url: string }).url = 'mysql://elsewhere/x';
    }).toThrow(TypeError);
    expect(config.database.url).toBe('mysql://root@127.0.0.1:3306/shop');
  });

  it('When REDIS_URL names a database index, then it is accepted as given', () => {
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379/3' }).redis.url).toBe(
      'redis://127.0.0.1:6379/3',
    );
  });
});

describe('REDIS_URL database index', () => {
  it('When REDIS_URL names database 3, then keys written through it land in database 3', async () => {
    const url = new URL(testRedisUrl());
    url.pathname = '/3';
    const config = loadConfig({ REDIS_URL: url.toString() });
    const logger = createLogger({ level: 'error', service: 'test', silent: true });
    const client = createRedis(config.redis.url, 'command', logger, { lazyConnect: true });
    const db3 = new Redis(url.toString(), { lazyConnect: true });
    url.pathname = '/0';
    const db0 = new Redis(url.toString(), { lazyConnect: true });
    const key = `shoptest-config-${randomUUID()}`;
    try {
      await Promise.all([client.connect(), db3.connect(), db0.connect()]);
      await client.set(key, 'here', 'EX', 60);
      expect(await db3.get(key)).toBe('here');
      expect(await db0.get(key)).toBeNull();
    } finally {
      await db3.del(key);
      await Promise.all([client.quit(), db3.quit(), db0.quit()]);
    }
  });
});
