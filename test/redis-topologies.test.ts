/**
 * The harness's real Redis topologies (test/harness/redis-cluster.ts and redis-sentinel.ts): a
 * Redis Cluster and a Sentinel setup whose master is killed with SIGKILL, and nothing written
 * before the kill (and acknowledged by a replica, WAIT 1) is lost.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useRedisCluster, useRedisSentinel } from './harness/use-topologies.js';

describe('a real Redis Cluster', () => {
  const topology = useRedisCluster({ masters: 3, replicasPerMaster: 1, nodeTimeout: 1000 });

  it('a real 3-master cluster spreads slots over three masters and survives the SIGKILL of one master, which rejoins as a replica', async () => {
    const { cluster } = topology;
    const masters = await cluster.masters();
    assert.equal(masters.length, 3);
    assert.equal(cluster.nodes.filter((node) => node.role === 'replica').length, 3);

    const client = cluster.client();
    const keys = Array.from({ length: 200 }, (_, i) => `topology-key-${i}`);
    for (const key of keys) await client.set(key, `value of ${key}`);
    const owners = new Set(await Promise.all(keys.map((key) => cluster.masterForKey(key))));
    assert.deepEqual([...owners].sort(), masters, 'the keys landed on every master');
    // WAIT is per connection: ask it on the very connections the writes went through.
    for (const master of client.nodes('master')) {
      assert.ok(((await master.call('WAIT', 1, 5000)) as number) >= 1, 'a replica acknowledged the writes');
    }

    const victim = await cluster.masterForKey(keys[0]!);
    await cluster.killMaster(victim);
    const promoted = await cluster.waitForFailover(victim);
    assert.notEqual(promoted, victim);
    assert.equal(await cluster.masterForKey(keys[0]!), promoted);
    assert.equal((await cluster.masters()).length, 3);

    const reader = cluster.client();
    for (const key of keys) assert.equal(await reader.get(key), `value of ${key}`, key);

    // The killed node comes back as a replica of the master that replaced it.
    await cluster.restartNode(victim);
    assert.equal(cluster.nodes.find((node) => node.port === victim)?.role, 'replica');
    assert.ok((await cluster.slots()).some((range) => range.replicas.includes(victim)));
  });
});

describe('a real Sentinel setup', () => {
  const setup = useRedisSentinel({ name: 'mymaster', downAfter: 1000, failoverTimeout: 3000 });

  it('a real Sentinel setup promotes the replica when the master is killed', async () => {
    const { sentinel } = setup;
    const [firstMaster, replica] = sentinel.dataPorts;
    assert.equal(await sentinel.master(), firstMaster);

    const client = sentinel.client();
    for (let i = 0; i < 100; i++) await client.set(`sentinel-key-${i}`, String(i));
    assert.equal(await client.call('WAIT', 1, 5000), 1, 'the replica acknowledged the writes');

    assert.equal(await sentinel.killMaster(), firstMaster);
    assert.equal(await sentinel.waitForFailover(), replica);
    assert.equal(await sentinel.master(), replica);

    const reader = sentinel.client();
    for (let i = 0; i < 100; i++) assert.equal(await reader.get(`sentinel-key-${i}`), String(i));
  });
});
