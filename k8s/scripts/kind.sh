#!/usr/bin/env bash
# The KIND path of `make up` / `make down`, one step per subcommand so that pipelines can run (and
# time) the steps as separate stages:
#   kind.sh check | cluster | build | load | metrics-server | monitoring | deploy | wait | urls | env
#           | chaos-job [experiment] [flags...] | push-metrics FILE | tag | name | up (all steps) | down
# Environment: KIND_CLUSTER_NAME (self-healing-shop; pipelines pass one per build, made valid by
# cluster_name in lib.sh), IMAGE_TAG (git short sha, `-dirty-<hash>` for uncommitted changes),
# KPS_CHART_VERSION (pinned below), KIND_NODE_IMAGE (kind's default), ROLLOUT_TIMEOUT.
#
# No fixed host ports: kind-config.yaml maps the NodePorts of order, Prometheus, Grafana and the
# Pushgateway to host ports that kind picks free when it creates the cluster (hostPort 0), so two
# clusters (two Jenkins builds, a left-over cluster, Jenkins itself on 8080) never collide. `urls`
# prints them, `env` prints them as shell variables for pipelines. Through the NodePort, kube-proxy
# spreads traffic over the ready pods, so the URL survives the pod kills of a chaos run (a
# `kubectl port-forward` is bound to one pod and would die with it).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source-path=SCRIPTDIR
source k8s/scripts/lib.sh

CLUSTER=$(cluster_name)
CONTEXT="kind-$CLUSTER"
NAMESPACE=shop
SERVICES=(order inventory notification)
# Images built from k8s/docker/Dockerfile: the three services and the chaos engine (k8s/chaos/job.yaml).
IMAGES=("${SERVICES[@]}" chaos)
IMAGE_REPO=self-healing-shop
# Helm release and chart: the release name is part of the contract (ServiceMonitor/PrometheusRule
# carry `release: kube-prometheus-stack`).
RELEASE=kube-prometheus-stack
MONITORING_NAMESPACE=monitoring
KPS_CHART_VERSION=${KPS_CHART_VERSION:-88.6.2}
ROLLOUT_TIMEOUT=${ROLLOUT_TIMEOUT:-300s}
GRAFANA_PASSWORD=shop-admin # monitoring/kube-prometheus-stack-values.yaml
# Per-cluster state (generated overlay, admin token): concurrent clusters never share it.
STATE_DIR=.data/kind/$CLUSTER
URL_NAMES=(ORDER_URL PROMETHEUS_URL GRAFANA_URL PUSHGATEWAY_URL)
# The NodePort behind each URL (kind-config.yaml maps each to a free host port; macOS' bash 3.2 has
# no associative arrays, hence the case).
node_port() {
  case "$1" in
    ORDER_URL) echo 30080 ;;           # k8s/overlays/kind/order-nodeport.yaml
    PROMETHEUS_URL) echo 30090 ;;      # monitoring/kube-prometheus-stack-values.yaml
    GRAFANA_URL) echo 30300 ;;         # monitoring/kube-prometheus-stack-values.yaml
    PUSHGATEWAY_URL) echo 30091 ;;     # monitoring/pushgateway.yaml
    *) die "no NodePort for $1" ;;
  esac
}

kubectl_() { kubectl --context "$CONTEXT" "$@"; }

image_tag() {
  if [ -n "${IMAGE_TAG:-}" ]; then
    printf '%s' "$IMAGE_TAG"
    return
  fi
  local sha
  sha=$(git rev-parse --short HEAD 2>/dev/null || true)
  [ -n "$sha" ] || die 'not a git checkout with a commit: set IMAGE_TAG'
  # Uncommitted changes get their own tag (stable while the tree does not change) so that a rebuilt
  # image rolls out instead of hiding behind an unchanged tag.
  if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    sha="$sha-dirty-$(git diff HEAD | sha256 | cut -c1-8)"
  fi
  printf '%s' "$sha"
}

need() {
  local tool=$1 how=$2
  if ! command -v "$tool" >/dev/null 2>&1; then
    printf 'error: %s is missing: %s\n' "$tool" "$how" >&2
    return 1
  fi
}

cmd_check() {
  log 'checking the tools of the KIND path'
  local missing=0
  need docker 'install Docker Engine or Docker Desktop: https://docs.docker.com/engine/install/' || missing=1
  need kind 'go install sigs.k8s.io/kind@latest, or a release binary: https://kind.sigs.k8s.io/docs/user/quick-start/#installation' || missing=1
  need kubectl 'https://kubernetes.io/docs/tasks/tools/#kubectl (>= 1.30, it embeds kustomize), or bash k8s/scripts/install-kubectl.sh' || missing=1
  need helm 'https://helm.sh/docs/intro/install/ (e.g. curl -fsSL https://raw.githubusercontent.com/helm/helm/main/scripts/get-helm-3 | bash)' || missing=1
  [ "$missing" = 0 ] || die 'install the missing tools, or run the local runtime: make up RUNTIME=local'
  docker info >/dev/null 2>&1 || die 'docker is installed but the Docker engine does not answer `docker info` (is it running? may your user use it?)'
  log "docker $(docker version --format '{{.Server.Version}}' 2>/dev/null), $(kind version), kubectl $(kubectl version --client -o json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).clientVersion.gitVersion))'), helm $(helm version --short)"
}

cmd_cluster() {
  if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
    log "KIND cluster $CLUSTER exists: reusing it"
  else
    log "creating KIND cluster $CLUSTER (kind-config.yaml: 1 control plane, 2 workers, host ports picked free)"
    kind create cluster --name "$CLUSTER" --config kind-config.yaml --wait 180s ${KIND_NODE_IMAGE:+--image "$KIND_NODE_IMAGE"}
  fi
  kubectl_ cluster-info >/dev/null
  local minor
  minor=$(kubectl_ version -o json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(parseInt(JSON.parse(s).serverVersion.minor,10)))')
  if [ "$minor" -lt 30 ]; then
    die "the cluster runs Kubernetes 1.$minor; the Deployments use lifecycle.preStop.sleep (1.30+): use a newer kind or KIND_NODE_IMAGE"
  fi
}

cmd_build() {
  local tag
  tag=$(image_tag)
  for image in "${IMAGES[@]}"; do
    log "building $IMAGE_REPO/$image:$tag (k8s/docker/Dockerfile, SERVICE=$image)"
    docker build --file k8s/docker/Dockerfile --build-arg "SERVICE=$image" --tag "$IMAGE_REPO/$image:$tag" .
  done
}

cmd_load() {
  local tag images=()
  tag=$(image_tag)
  for image in "${IMAGES[@]}"; do images+=("$IMAGE_REPO/$image:$tag"); done
  log "loading ${images[*]} into $CLUSTER"
  kind load docker-image --name "$CLUSTER" "${images[@]}"
}

# kind installs no metrics-server; without one the HPAs never scale (k8s/addons/metrics-server).
cmd_metrics_server() {
  log 'installing metrics-server (k8s/addons/metrics-server: pinned upstream manifest + --kubelet-insecure-tls)'
  kubectl_ apply -k k8s/addons/metrics-server
  kubectl_ -n kube-system rollout status deployment/metrics-server --timeout "$ROLLOUT_TIMEOUT"
  kubectl_ wait --for=condition=Available apiservice/v1beta1.metrics.k8s.io --timeout "$ROLLOUT_TIMEOUT"
}

# Alertmanager's receivers: Secret alertmanager-receivers (namespace monitoring) from SLACK_WEBHOOK_URL and
# PAGERDUTY_ROUTING_KEY when given (empty keys otherwise: the operator mounts it either way), and the
# routing for the receivers that were given (monitoring/scripts/alertmanager-config.ts; without any, alerts
# go to the `default` receiver: Alertmanager's UI and API only).
alerting_values() {
  local values="$STATE_DIR/alertmanager-values.yaml" flags=()
  mkdir -p "$STATE_DIR"
  kubectl_ create namespace "$MONITORING_NAMESPACE" --dry-run=client -o yaml | kubectl_ apply -f - >/dev/null
  kubectl_ -n "$MONITORING_NAMESPACE" create secret generic alertmanager-receivers \
    --from-file=slack-webhook-url=<(printf '%s' "${SLACK_WEBHOOK_URL:-}") \
    --from-file=pagerduty-routing-key=<(printf '%s' "${PAGERDUTY_ROUTING_KEY:-}") \
    --dry-run=client -o yaml | kubectl_ apply -f - >/dev/null
  [ -z "${SLACK_WEBHOOK_URL:-}" ] || flags+=(--slack)
  [ -z "${PAGERDUTY_ROUTING_KEY:-}" ] || flags+=(--pagerduty)
  node monitoring/scripts/alertmanager-config.ts ${flags[@]+"${flags[@]}"} >"$values"
  log "Alertmanager receivers: ${flags[*]:-none given (SLACK_WEBHOOK_URL, PAGERDUTY_ROUTING_KEY): the default receiver only}" >&2
  printf '%s' "$values"
}

cmd_monitoring() {
  local alerting
  alerting=$(alerting_values)
  log "installing kube-prometheus-stack $KPS_CHART_VERSION as release $RELEASE in namespace $MONITORING_NAMESPACE"
  helm repo add prometheus-community https://prometheus-community.github.io/helm-charts --force-update >/dev/null
  helm repo update prometheus-community >/dev/null
  helm upgrade --install "$RELEASE" prometheus-community/kube-prometheus-stack \
    --kube-context "$CONTEXT" --namespace "$MONITORING_NAMESPACE" --create-namespace \
    --version "$KPS_CHART_VERSION" --values monitoring/kube-prometheus-stack-values.yaml --values "$alerting" \
    --wait --timeout 10m
}

# The admin API's token of this cluster: random, generated once, kept in the cluster's state folder.
admin_token_file() {
  local file="$STATE_DIR/deploy/admin-token.env"
  if [ ! -s "$file" ]; then
    mkdir -p "$(dirname "$file")"
    (umask 077 && printf 'ADMIN_TOKEN=%s\n' "$(node -e 'process.stdout.write(require("node:crypto").randomBytes(24).toString("hex"))')" >"$file")
  fi
  printf '%s' "$file"
}

# The addresses the API server proxies from (its node's InternalIP; all nodes, as the control plane
# may move): a NetworkPolicy must admit them to the services' http port, or the admin API that the
# chaos engine reaches through the API server's pod and service proxy is unreachable.
node_addresses() {
  kubectl_ get nodes -o jsonpath='{range .items[*]}{range .status.addresses[?(@.type=="InternalIP")]}{.address}{"\n"}{end}{end}'
}

write_apiserver_policy() {
  local file=$1 address cidr
  {
    echo '# generated by k8s/scripts/kind.sh deploy from the nodes of the cluster'
    echo 'apiVersion: networking.k8s.io/v1'
    echo 'kind: NetworkPolicy'
    echo 'metadata:'
    echo '  name: services-ingress-from-apiserver-proxy'
    echo '  namespace: shop'
    echo '  labels:'
    echo '    app.kubernetes.io/part-of: self-healing-shop'
    echo 'spec:'
    echo '  podSelector:'
    echo '    matchExpressions:'
    echo '      - key: app.kubernetes.io/name'
    echo '        operator: In'
    echo '        values: [order, inventory, notification]'
    echo '  policyTypes:'
    echo '    - Ingress'
    echo '  ingress:'
    echo '    - from:'
    while read -r address; do
      [ -n "$address" ] || continue
      case "$address" in *:*) cidr="$address/128" ;; *) cidr="$address/32" ;; esac
      echo "        - ipBlock:"
      echo "            cidr: $cidr"
    done < <(node_addresses)
    echo '      ports:'
    echo '        - protocol: TCP'
    echo '          port: http'
  } >"$file"
  grep -q 'cidr:' "$file" || die "no node of $CLUSTER reports an InternalIP: cannot admit the API server's proxy"
}

cmd_deploy() {
  local tag dir token_file
  tag=$(image_tag)
  # A throwaway overlay on top of k8s/overlays/kind that pins the image tags (what
  # `kustomize edit set image` would write), generates the admin token's Secret and admits the API
  # server's proxy, so the committed overlay never changes and no token is ever committed.
  dir=$STATE_DIR/deploy
  mkdir -p "$dir"
  token_file=$(admin_token_file)
  write_apiserver_policy "$dir/apiserver-proxy-policy.yaml"
  {
    echo '# generated by k8s/scripts/kind.sh deploy'
    echo 'apiVersion: kustomize.config.k8s.io/v1beta1'
    echo 'kind: Kustomization'
    echo 'resources:'
    echo '  - ../../../../k8s/overlays/kind'
    echo '  - apiserver-proxy-policy.yaml'
    echo 'secretGenerator:'
    echo '  # Read by the services (optional there) and the chaos Job as env ADMIN_TOKEN.'
    echo '  - name: shop-admin'
    echo '    namespace: shop'
    echo "    envs: [$(basename "$token_file")]"
    echo '    options:'
    echo '      # A stable name: the chaos Job, created later from k8s/chaos/job.yaml, names it too.'
    echo '      disableNameSuffixHash: true'
    echo '      labels:'
    echo '        app.kubernetes.io/part-of: self-healing-shop'
    echo 'images:'
    for image in "${IMAGES[@]}"; do
      echo "  - name: $IMAGE_REPO/$image"
      echo "    newTag: '$tag'"
    done
  } >"$dir/kustomization.yaml"
  log "applying k8s/overlays/kind with image tag $tag (generated overlay $dir)"
  kubectl_ apply -k "$dir"
}

cmd_wait() {
  log "waiting for the rollouts (timeout $ROLLOUT_TIMEOUT each)"
  kubectl_ -n "$NAMESPACE" rollout status statefulset/postgres --timeout "$ROLLOUT_TIMEOUT"
  for service in "${SERVICES[@]}"; do
    kubectl_ -n "$NAMESPACE" rollout status "deployment/$service" --timeout "$ROLLOUT_TIMEOUT"
  done
  kubectl_ -n "$MONITORING_NAMESPACE" rollout status deployment/pushgateway --timeout "$ROLLOUT_TIMEOUT"
  kubectl_ -n "$MONITORING_NAMESPACE" rollout status deployment/jaeger --timeout "$ROLLOUT_TIMEOUT"
  kubectl_ -n "$NAMESPACE" get pods -o wide
}

# The URL of a NodePort on the host: the address docker published for it on the control-plane node
# (kind picked the port free when it created the cluster).
url_of() {
  local port address
  port=$(node_port "$1")
  address=$(docker port "$CLUSTER-control-plane" "$port/tcp" 2>/dev/null | head -1)
  [ -n "$address" ] || die "cluster $CLUSTER publishes no host port for NodePort $port (created from an older kind-config.yaml? make down, then make up)"
  printf 'http://%s' "${address/0.0.0.0/127.0.0.1}"
}

# Shell assignments of the URLs, for pipelines: eval "$(bash k8s/scripts/kind.sh env)".
cmd_env() {
  local name url
  for name in "${URL_NAMES[@]}"; do
    url=$(url_of "$name")
    printf '%s=%s\n' "$name" "$url"
  done
  printf 'KUBE_CONTEXT=%s\n' "$CONTEXT"
}

cmd_urls() {
  local order prometheus grafana pushgateway
  order=$(url_of ORDER_URL)
  prometheus=$(url_of PROMETHEUS_URL)
  grafana=$(url_of GRAFANA_URL)
  pushgateway=$(url_of PUSHGATEWAY_URL)
  cat <<URLS
==> self-healing-shop is up on KIND (cluster $CLUSTER, kubectl context $CONTEXT)
    order        $order   (e.g. curl -s $order/ready)
    Grafana      $grafana   login admin / $GRAFANA_PASSWORD  (dashboards: Self-healing shop / ...)
    Traces       $grafana/explore (datasource Jaeger; latency panels link to the traces of their service)
    Prometheus   $prometheus
    Pushgateway  $pushgateway   (chaos figures)
    Host ports are picked free per cluster; print them again with: bash k8s/scripts/kind.sh urls
    Chaos from here:  ADMIN_TOKEN=\$(kubectl --context $CONTEXT -n $NAMESPACE get secret shop-admin -o jsonpath='{.data.ADMIN_TOKEN}' | base64 -d) \\
                        pnpm chaos run pod-kill --target kubernetes --context $CONTEXT --yes --url $order
    Chaos in-cluster: bash k8s/scripts/kind.sh chaos-job pod-kill --rounds 5   (figures reach Prometheus)
    Stop:             make down
URLS
}

# Runs one experiment as a Job inside the cluster (k8s/chaos/job.yaml) and fails when it fails.
cmd_chaos_job() {
  local experiment=${1:-pod-kill} tag name args
  shift || true
  args="$*"
  tag=$(image_tag)
  name="chaos-$(printf '%s' "$experiment" | tr -c 'a-z0-9-' '-' | cut -c1-30)-$(date +%s)"
  log "running chaos experiment $experiment in the cluster as Job $name (image $IMAGE_REPO/chaos:$tag)"
  # The Job of k8s/chaos/job.yaml with this run's name, image tag, experiment and flags.
  node -e '
    const { parse } = require("yaml");
    const [name, image, experiment, args] = process.argv.slice(1);
    const job = parse(require("node:fs").readFileSync("k8s/chaos/job.yaml", "utf8"));
    job.metadata.name = name;
    const container = job.spec.template.spec.containers[0];
    container.image = image;
    for (const e of container.env) {
      if (e.name === "EXPERIMENT") e.value = experiment;
      if (e.name === "CHAOS_ARGS") e.value = args;
    }
    process.stdout.write(JSON.stringify(job));
  ' "$name" "$IMAGE_REPO/chaos:$tag" "$experiment" "$args" | kubectl_ create -f -
  # Complete or Failed, whichever comes first; the log is printed in both cases.
  local deadline=$((SECONDS + 1900)) state=''
  while [ "$SECONDS" -lt "$deadline" ]; do
    state=$(kubectl_ -n "$NAMESPACE" get job "$name" -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type}{" "}{end}')
    case "$state" in *Complete* | *Failed*) break ;; esac
    sleep 5
  done
  kubectl_ -n "$NAMESPACE" logs "job/$name" --tail=-1 || true
  case "$state" in
    *Complete*) log "chaos Job $name passed" ;;
    *Failed*) die "chaos Job $name failed (objective broken, environment error, or figures not published): see its log above" ;;
    *) die "chaos Job $name did not finish in time" ;;
  esac
}

# Publishes a chaos run's figures (metrics.prom of a run from the host) to the cluster's Pushgateway,
# one group per experiment, as the in-cluster Job does.
cmd_push_metrics() {
  local file=${1:-reports/chaos/metrics.prom} experiment url
  [ -s "$file" ] || die "no chaos figures at $file (run the experiment first)"
  experiment=$(sed -n 's/.*experiment="\([^"]*\)".*/\1/p' "$file" | head -1)
  [ -n "$experiment" ] || die "$file names no experiment"
  url="$(url_of PUSHGATEWAY_URL)/metrics/job/chaos/instance/$experiment"
  log "pushing $file to $url"
  curl --fail --silent --show-error --retry 5 --retry-delay 2 --retry-all-errors -X PUT --data-binary "@$file" "$url"
}

cmd_down() {
  if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
    log "deleting KIND cluster $CLUSTER"
    kind delete cluster --name "$CLUSTER"
  else
    log "no KIND cluster named $CLUSTER: nothing to delete"
  fi
  rm -rf "$STATE_DIR"
}

step=${1:-}
shift || true
case "$step" in
  check) cmd_check ;;
  cluster) cmd_cluster ;;
  build) cmd_build ;;
  load) cmd_load ;;
  metrics-server) cmd_metrics_server ;;
  monitoring) cmd_monitoring ;;
  deploy) cmd_deploy ;;
  wait) cmd_wait ;;
  urls) cmd_urls ;;
  env) cmd_env ;;
  chaos-job) cmd_chaos_job "$@" ;;
  push-metrics) cmd_push_metrics "$@" ;;
  tag) image_tag && echo ;;
  name) echo "$CLUSTER" ;;
  up)
    cmd_check
    cmd_cluster
    cmd_build
    cmd_load
    cmd_metrics_server
    cmd_monitoring
    cmd_deploy
    cmd_wait
    cmd_urls
    ;;
  down)
    need kind 'https://kind.sigs.k8s.io/docs/user/quick-start/#installation' || exit 2
    cmd_down
    ;;
  *)
    echo "usage: $0 check|cluster|build|load|metrics-server|monitoring|deploy|wait|urls|env|chaos-job [experiment] [flags]|push-metrics [file]|tag|name|up|down" >&2
    exit 2
    ;;
esac
