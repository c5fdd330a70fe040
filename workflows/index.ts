export * from './setup-cluster';
