export * from './setup-cluster';
export * from './failover-group';
export * from './switchover-group';
export * from './rejoin-member';
export * from './unfence-member';
export * from './monitor';
export * from './health-check';
