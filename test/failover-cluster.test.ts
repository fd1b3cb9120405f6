/** The failover cases (test/harness/failover-cases.ts) on a real Redis Cluster: 3 masters, 3 replicas. */
import { failoverCases } from './harness/failover-cases.js';
import { redisCluster } from './harness/redis-target.js';

failoverCases(redisCluster());
