#!/bin/sh
# Forms the Redis Cluster once every node answers PING; does nothing when it already exists.
#   REDIS_CLUSTER_HOSTS     space-separated host:port list (required)
#   REDIS_CLUSTER_REPLICAS  replicas per master (default 1)
#   REDIS_CLUSTER_WAIT_SECONDS  how long to wait for the nodes (default 300)
# CLUSTER MEET takes IP addresses, so names are resolved here; the nodes themselves announce
# their DNS names (redis.conf), which is what clients see.
set -eu
: "${REDIS_CLUSTER_HOSTS:?set REDIS_CLUSTER_HOSTS to the space-separated host:port list}"
replicas="${REDIS_CLUSTER_REPLICAS:-1}"
deadline=$(($(date +%s) + ${REDIS_CLUSTER_WAIT_SECONDS:-300}))
addrs=""
for hp in $REDIS_CLUSTER_HOSTS; do
  host="${hp%:*}"
  port="${hp##*:}"
  while :; do
    ip=$(getent hosts "$host" | awk '{ print $1; exit }') || ip=""
    if [ -n "$ip" ] && [ "$(redis-cli -h "$ip" -p "$port" ping 2>/dev/null)" = "PONG" ]; then
      break
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "redis-cluster-create: $hp did not answer PING in time" >&2
      exit 1
    fi
    sleep 2
  done
  addrs="$addrs $ip:$port"
done
first="${addrs# }"
first="${first%% *}"
known=$(redis-cli -h "${first%:*}" -p "${first##*:}" cluster info | tr -d '\r' |
  awk -F: '$1 == "cluster_known_nodes" { print $2 }')
if [ "${known:-1}" -gt 1 ]; then
  echo "redis-cluster-create: cluster already formed ($known nodes known), nothing to do"
  exit 0
fi
echo "redis-cluster-create: creating the cluster from$addrs"
# shellcheck disable=SC2086 # one argument per address
redis-cli --cluster create $addrs --cluster-replicas "$replicas" --cluster-yes
redis-cli --cluster check "$first"
