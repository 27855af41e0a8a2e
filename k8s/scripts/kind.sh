#!/usr/bin/env bash
# The KIND path of `make up` / `make down`, one step per subcommand so that pipelines can run (and
# time) the steps as separate stages:
#   kind.sh check | cluster | build | load | monitoring | deploy | wait | urls | up (all of them) | down
# Environment: KIND_CLUSTER_NAME (self-healing-shop), IMAGE_TAG (git short sha, `-dirty-<hash>` for
# uncommitted changes), KPS_CHART_VERSION (pinned below), KIND_NODE_IMAGE (kind's default), ROLLOUT_TIMEOUT.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=lib.sh
source k8s/scripts/lib.sh

CLUSTER=${KIND_CLUSTER_NAME:-self-healing-shop}
CONTEXT="kind-$CLUSTER"
NAMESPACE=shop
SERVICES=(order inventory notification)
IMAGE_REPO=self-healing-shop
# Helm release and chart: the release name is part of the contract (ServiceMonitor/PrometheusRule
# carry `release: kube-prometheus-stack`).
RELEASE=kube-prometheus-stack
MONITORING_NAMESPACE=monitoring
KPS_CHART_VERSION=${KPS_CHART_VERSION:-88.6.2}
ROLLOUT_TIMEOUT=${ROLLOUT_TIMEOUT:-300s}
GRAFANA_PASSWORD=shop-admin # monitoring/kube-prometheus-stack-values.yaml

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
    sha="$sha-dirty-$(git diff HEAD | sha256sum | cut -c1-8)"
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
  need kubectl 'https://kubernetes.io/docs/tasks/tools/#kubectl (>= 1.30, it embeds kustomize)' || missing=1
  need helm 'https://helm.sh/docs/intro/install/ (e.g. curl -fsSL https://raw.githubusercontent.com/helm/helm/main/scripts/get-helm-3 | bash)' || missing=1
  [ "$missing" = 0 ] || die 'install the missing tools, or run the local runtime: make up RUNTIME=local'
  docker info >/dev/null 2>&1 || die 'docker is installed but the Docker engine does not answer `docker info` (is it running? may your user use it?)'
  log "docker $(docker version --format '{{.Server.Version}}' 2>/dev/null), $(kind version), kubectl $(kubectl version --client -o json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).clientVersion.gitVersion))'), helm $(helm version --short)"
}

cmd_cluster() {
  if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
    log "KIND cluster $CLUSTER exists: reusing it"
  else
    log "creating KIND cluster $CLUSTER (kind-config.yaml: 1 control plane, 2 workers)"
    kind create cluster --name "$CLUSTER" --config kind-config.yaml --wait 180s ${KIND_NODE_IMAGE:+--image "$KIND_NODE_IMAGE"}
  fi
  kubectl --context "$CONTEXT" cluster-info >/dev/null
  local minor
  minor=$(kubectl --context "$CONTEXT" version -o json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(parseInt(JSON.parse(s).serverVersion.minor,10)))')
  if [ "$minor" -lt 30 ]; then
    die "the cluster runs Kubernetes 1.$minor; the Deployments use lifecycle.preStop.sleep (1.30+): use a newer kind or KIND_NODE_IMAGE"
  fi
}

cmd_build() {
  local tag
  tag=$(image_tag)
  for service in "${SERVICES[@]}"; do
    log "building $IMAGE_REPO/$service:$tag (k8s/docker/Dockerfile, SERVICE=$service)"
    docker build --file k8s/docker/Dockerfile --build-arg "SERVICE=$service" --tag "$IMAGE_REPO/$service:$tag" .
  done
}

cmd_load() {
  local tag images=()
  tag=$(image_tag)
  for service in "${SERVICES[@]}"; do images+=("$IMAGE_REPO/$service:$tag"); done
  log "loading ${images[*]} into $CLUSTER"
  kind load docker-image --name "$CLUSTER" "${images[@]}"
}

cmd_monitoring() {
  log "installing kube-prometheus-stack $KPS_CHART_VERSION as release $RELEASE in namespace $MONITORING_NAMESPACE"
  helm repo add prometheus-community https://prometheus-community.github.io/helm-charts --force-update >/dev/null
  helm repo update prometheus-community >/dev/null
  helm upgrade --install "$RELEASE" prometheus-community/kube-prometheus-stack \
    --kube-context "$CONTEXT" --namespace "$MONITORING_NAMESPACE" --create-namespace \
    --version "$KPS_CHART_VERSION" --values monitoring/kube-prometheus-stack-values.yaml \
    --wait --timeout 10m
}

cmd_deploy() {
  local tag dir
  tag=$(image_tag)
  # A throwaway overlay on top of k8s/overlays/kind that pins the image tag (what
  # `kustomize edit set image` would write), so the committed overlay never changes.
  dir=.data/kind-deploy
  mkdir -p "$dir"
  {
    echo '# generated by k8s/scripts/kind.sh deploy'
    echo 'apiVersion: kustomize.config.k8s.io/v1beta1'
    echo 'kind: Kustomization'
    echo 'resources:'
    echo '  - ../../k8s/overlays/kind'
    echo 'images:'
    for service in "${SERVICES[@]}"; do
      echo "  - name: $IMAGE_REPO/$service"
      echo "    newTag: '$tag'"
    done
  } >"$dir/kustomization.yaml"
  log "applying k8s/overlays/kind with image tag $tag"
  kubectl --context "$CONTEXT" apply -k "$dir"
}

cmd_wait() {
  log "waiting for the rollouts (timeout $ROLLOUT_TIMEOUT each)"
  kubectl --context "$CONTEXT" -n "$NAMESPACE" rollout status statefulset/postgres --timeout "$ROLLOUT_TIMEOUT"
  for service in "${SERVICES[@]}"; do
    kubectl --context "$CONTEXT" -n "$NAMESPACE" rollout status "deployment/$service" --timeout "$ROLLOUT_TIMEOUT"
  done
  kubectl --context "$CONTEXT" -n "$NAMESPACE" get pods -o wide
}

cmd_urls() {
  cat <<URLS
==> self-healing-shop is up on KIND (cluster $CLUSTER, kubectl context $CONTEXT)
    order        http://127.0.0.1:8080   (e.g. curl -s http://127.0.0.1:8080/ready)
    Grafana      http://127.0.0.1:3000   login admin / $GRAFANA_PASSWORD  (dashboards in the folder "General": Self-healing shop / ...)
    Prometheus   http://127.0.0.1:9090
    Without the port mappings: kubectl -n $NAMESPACE port-forward svc/order 8080:80
                               kubectl -n $MONITORING_NAMESPACE port-forward svc/$RELEASE-grafana 3000:80
                               kubectl -n $MONITORING_NAMESPACE port-forward svc/$RELEASE-prometheus 9090:9090
    Chaos:       pnpm chaos run pod-kill --target kubernetes
    Stop:        make down
URLS
}

cmd_down() {
  if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
    log "deleting KIND cluster $CLUSTER"
    kind delete cluster --name "$CLUSTER"
  else
    log "no KIND cluster named $CLUSTER: nothing to delete"
  fi
}

step=${1:-}
case "$step" in
  check) cmd_check ;;
  cluster) cmd_cluster ;;
  build) cmd_build ;;
  load) cmd_load ;;
  monitoring) cmd_monitoring ;;
  deploy) cmd_deploy ;;
  wait) cmd_wait ;;
  urls) cmd_urls ;;
  tag) image_tag && echo ;;
  up)
    cmd_check
    cmd_cluster
    cmd_build
    cmd_load
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
    echo "usage: $0 check|cluster|build|load|monitoring|deploy|wait|urls|tag|up|down" >&2
    exit 2
    ;;
esac
