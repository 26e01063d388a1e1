export {
  listeningPorts,
  onFreePorts,
  PortTakenError,
  refusedPort,
  waitForListener,
  waitForPort,
  type ListenerProcess,
  type WaitForListenerOptions,
} from './ports.js';
export { startProcess, tempDir, type Managed } from './process.js';
export {
  startRedis,
  startRedisCluster,
  startRedisClusterNodes,
  type RedisAuthOptions,
  type RedisClusterNodes,
  type RedisServer,
  type RedisCluster,
} from './redis.js';
export { postgresBinDir, startPostgres, type PostgresServer } from './postgres.js';
export {
  startSwitchboard,
  signToken,
  testSecrets,
  type SwitchboardProcess,
  type TokenClaims,
} from './switchboard.js';
export { startNginx, ingressNginxConfig, type NginxProxy } from './nginx.js';
export { redisNodeFaults, type RedisNodeFaults } from './redis-faults.js';
export { startRegistry, type RegistryOptions, type RegistryServer } from './registry.js';
export {
  startPrometheus,
  type PrometheusServer,
  type PrometheusOptions,
  type PrometheusSample,
} from './prometheus.js';
export { startOtlpReceiver, decodeOtlpJson, type OtlpReceiver, type ReceivedSpan } from './otlp.js';
export { seededRandom } from './random.js';
export { startTcpProxy, type TcpProxy } from './tcp-proxy.js';
export {
  debianExporterVersion,
  startPostgresExporter,
  startRedisExporter,
  type ExporterProcess,
  type PostgresExporterOptions,
  type RedisExporterOptions,
} from './exporters.js';
