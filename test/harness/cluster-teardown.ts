import { stopStartedCluster } from './cluster-setup';

/** Global teardown of the `cluster` jest project: stops the cluster its setup started. */
export default async function clusterTeardown(): Promise<void> {
  await stopStartedCluster();
}
