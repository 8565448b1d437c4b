/** One workload of the demo: an app process behind its own sidecar. */
export interface DemoWorkload {
  service: string;
  version: string;
  /** Services this one calls, as HOST:PORT through its sidecar. */
  calls: string[];
}

export const DEMO_NAMESPACE = 'default';
export const DEMO_SERVICE_PORT = 9080;

/** productpage calls details and reviews (v1 and v2); reviews v2 calls ratings. */
export const DEMO_WORKLOADS: readonly DemoWorkload[] = [
  { service: 'productpage', version: 'v1', calls: [`details.${DEMO_NAMESPACE}:${DEMO_SERVICE_PORT}`, `reviews.${DEMO_NAMESPACE}:${DEMO_SERVICE_PORT}`] },
  { service: 'details', version: 'v1', calls: [] },
  { service: 'reviews', version: 'v1', calls: [] },
  { service: 'reviews', version: 'v2', calls: [`ratings.${DEMO_NAMESPACE}:${DEMO_SERVICE_PORT}`] },
  { service: 'ratings', version: 'v1', calls: [] },
];
