import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineWorker, type FailedJob, type Job, JobNotFoundError, noRetry } from '../src/index.js';
import { nextEvent } from './harness/eventually.js';
import { jobKeys, randomPrefix, toniqFactory, useRedis } from './harness/fixtures.js';

const server = useRedis();
const newToniq = toniqFactory(server);

let healthy = false;
const sendEmail = defineWorker(
  'SendEmail',
  (_args: { to: string }) => {
    if (!healthy) throw Object.assign(new Error('SMTP refused'), { code: 'ESMTP' });
  },
  { retry: noRetry() },
);

async function failOne(toniq: Awaited<ReturnType<typeof newToniq>>, to = 'a@example.com') {
  healthy = false;
  const failed = nextEvent<[FailedJob, Error]>(toniq.events, 'failed');
  const job = await toniq.enqueue(sendEmail, { to });
  const [failedJob, error] = await failed;
  return { job, failedJob, error };
}

describe('failed jobs', () => {
  it('moves a job that used up its retries to the failed list with its error', async () => {
    const toniq = await newToniq({ workers: [sendEmail] });
    const { job, error } = await failOne(toniq);
    assert.equal(error.message, 'SMTP refused');
    const [failed, ...rest] = await toniq.failedJobs();
    assert.equal(rest.length, 0);
    assert.equal(failed!.id, job.id);
    assert.equal(failed!.worker, 'SendEmail');
    assert.deepEqual(failed!.args, { to: 'a@example.com' });
    assert.equal(failed!.attempts, 1);
    assert.equal(failed!.error.name, 'Error');
    assert.equal(failed!.error.message, 'SMTP refused');
    assert.equal(failed!.error.code, 'ESMTP');
    assert.match(failed!.error.stack ?? '', /SMTP refused\n\s+at /);
    assert.equal(failed!.createdAt.getTime(), job.createdAt.getTime());
    assert.ok(failed!.failedAt!.getTime() >= job.createdAt.getTime());
    assert.equal(failed!.processId, toniq.processId);
    const keys = await jobKeys(server.redis.client(), toniq.processId);
    assert.deepEqual(keys, [], 'nothing of the job is left with the process');
  });

  it('logs the failure with the arguments as util.inspect shows them and the stack', async () => {
    const toniq = await newToniq({ workers: [sendEmail] });
    const { job } = await failOne(toniq, 'b@example.com');
    const line = toniq.logger.lines.find((l) => l.level === 'error' && l.msg.startsWith(`Job #${job.id}`));
    assert.ok(line, toniq.logger.text());
    assert.equal(
      line.msg,
      `Job #${job.id}: SendEmail.perform({ to: 'b@example.com' }) failed after 1 attempt: Error: SMTP refused`,
    );
    assert.ok((line.obj.err as Error).stack);
  });

  it('retries a failed job with the same id and a fresh retry budget', async () => {
    const toniq = await newToniq({ workers: [sendEmail] });
    const { job } = await failOne(toniq);
    const [failed] = await toniq.failedJobs();
    healthy = true;
    const finished = nextEvent<[Job]>(toniq.events, 'finished');
    const retried = await toniq.retry(failed!);
    const [done] = await finished;
    assert.equal(retried.id, job.id);
    assert.equal(done.id, job.id);
    assert.equal(done.attempt, 1);
    assert.deepEqual(await toniq.failedJobs(), []);
  });

  it('deletes a failed job, and says so clearly when it is already gone', async () => {
    const toniq = await newToniq({ workers: [sendEmail] });
    await failOne(toniq);
    const [failed] = await toniq.failedJobs();
    await toniq.delete(failed!);
    assert.deepEqual(await toniq.failedJobs(), []);
    await assert.rejects(toniq.delete(failed!), (error: unknown) => {
      assert.ok(error instanceof JobNotFoundError);
      assert.match(error.message, /already retried or deleted/);
      return true;
    });
    await assert.rejects(toniq.retry(failed!.id), JobNotFoundError);
  });

  it("lists, retries and deletes another process's failed jobs", async () => {
    const keyPrefix = randomPrefix();
    const web = await newToniq({ workers: [sendEmail], keyPrefix });
    const admin = await newToniq({ workers: [sendEmail], keyPrefix });
    const first = await failOne(web, 'one@example.com');
    const second = await failOne(web, 'two@example.com');
    const listed = await admin.failedJobs();
    assert.deepEqual(
      listed.map((job) => job.id),
      [first.job.id, second.job.id],
    );
    healthy = true;
    const finished = nextEvent<[Job]>(admin.events, 'finished');
    await admin.retry(listed[0]!);
    const [done] = await finished;
    assert.equal(done.processId, admin.processId, 'a retried job runs in the process that retried it');
    await admin.delete(listed[1]!.id);
    assert.deepEqual(await web.failedJobs(), []);
  });

  it('does not show one prefix’s failed jobs under another prefix', async () => {
    const a = await newToniq({ workers: [sendEmail] });
    const b = await newToniq({ workers: [sendEmail] });
    await failOne(a);
    assert.equal((await a.failedJobs()).length, 1);
    assert.deepEqual(await b.failedJobs(), []);
  });
});
