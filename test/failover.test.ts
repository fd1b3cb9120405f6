/** The failover cases (test/harness/failover-cases.ts) on one Redis server. */
import { failoverCases } from './harness/failover-cases.js';
import { singleServer } from './harness/redis-target.js';

failoverCases(singleServer());
