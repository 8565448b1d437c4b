import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Redactor } from '../redact.js';
import { AccessLogFormatError, createAccessLogger, sameAccessLogSettings } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'weft-access-logger-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('off without accessLogFile, as in Istio', () => {
  assert.equal(createAccessLogger({}), undefined);
  assert.equal(createAccessLogger({ accessLogFile: '', accessLogEncoding: 'JSON' }), undefined);
});

test('one line per record in the configured format, redacted', async () => {
  const path = join(dir, 'a.log');
  const logger = createAccessLogger({ accessLogFile: path, accessLogFormat: '%RESPONSE_CODE% %REQ(:PATH)%' }, { redactor: new Redactor() })!;
  logger.log({ startTime: 0, responseCode: 403, requestHeaders: { ':path': '/x?access_token=secret' } });
  logger.log({ startTime: 0, responseCode: 200, requestHeaders: { ':path': '/y' } });
  await logger.close();
  assert.equal(readFileSync(path, 'utf8'), '403 /x?access_token=[redacted]\n200 /y\n');
  assert.equal(logger.stats.linesWritten, 2);
});

test('a bad format is the typed error, before any file is opened', () => {
  assert.throws(() => createAccessLogger({ accessLogFile: join(dir, 'never.log'), accessLogFormat: '%NOPE%' }), AccessLogFormatError);
  assert.throws(() => readFileSync(join(dir, 'never.log')), /ENOENT/);
});

test('settings compare with their defaults filled in', () => {
  assert.ok(sameAccessLogSettings({ accessLogFile: '/dev/stdout' }, { accessLogFile: '/dev/stdout', accessLogEncoding: 'TEXT', accessLogFormat: '' }));
  assert.ok(!sameAccessLogSettings({ accessLogFile: '/dev/stdout' }, { accessLogFile: '/dev/stdout', accessLogEncoding: 'JSON' }));
  assert.ok(sameAccessLogSettings(undefined, {}));
});
