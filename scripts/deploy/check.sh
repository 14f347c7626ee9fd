#!/usr/bin/env bash
# Lints the deployment artifacts offline, in a second or two; no cluster,
# registry or Docker daemon needed:
#
#   - kubectl kustomize builds the manifests (YAML, generators, names);
#   - every object decodes into its Kubernetes type (kubectl's --local
#     mode: wrong types fail), and for the Deployment and the Job a field
#     the type does not have (a typo) fails too;
#   - the objects agree with each other and with the server: selectors
#     match the pods, Services target named ports, probes use /healthz
#     and /readyz, the grace period covers the preStop pause plus
#     --shutdown-timeout, replicas do not migrate and the Job does,
#     non-root and read-only root filesystem, every AFTERSALES_* variable
#     is a real setting (the README's generated table), and the Docker
#     image's Go version is go.mod's;
#   - "docker build --check" when a Docker daemon with BuildKit answers
#     (otherwise it says it skipped it).
#
# kubectl's "apply --dry-run=client" is not used: it needs an API server
# for discovery even in client mode.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v kubectl >/dev/null; then
  echo "check.sh: kubectl not installed; skipped" >&2
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

kubectl kustomize scripts/deploy/k8s >"$tmp/all.yaml"
cp scripts/deploy/k8s/secret.example.yaml "$tmp/secret.yaml"

for f in all.yaml secret.yaml; do
  # "set env --local" decodes every object into its Kubernetes type
  # (wrong types fail) and refuses the kinds without a pod template.
  if ! kubectl set env --local -f "$tmp/$f" CHECK_SH=1 -o yaml >/dev/null 2>"$tmp/err"; then
    # What is left once those refusals are taken out (one message may
    # span two lines) is a decoding error.
    if tr '\n' ' ' <"$tmp/err" |
      sed -E 's/error: [^ ]+ *the object is not a pod or does not have a pod template: [^ ]+//g; s/^ +$//' |
      grep . >&2; then
      echo "check.sh: $f does not decode" >&2
      exit 1
    fi
  fi
done
# The Deployment and the Job alone, written back from their types: the
# Python below compares them with the source, so that a field the type
# does not have (a typo) is caught.
python3 -c '
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"] in ("Deployment", "Job")]
yaml.safe_dump_all(docs, open(sys.argv[2], "w"))
' "$tmp/all.yaml" "$tmp/pods.yaml"
kubectl set env --local -f "$tmp/pods.yaml" CHECK_SH=1 -o yaml >"$tmp/typed-all.yaml"

python3 - "$tmp/all.yaml" "$tmp/typed-all.yaml" "$tmp/secret.yaml" <<'PY'
import re, sys, yaml

built = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
typed = []
for d in yaml.safe_load_all(open(sys.argv[2])):
    if d:
        typed += d["items"] if d.get("kind") == "List" else [d]
secret = yaml.safe_load(open(sys.argv[3]))
errors = []
def bad(msg): errors.append(msg)

def paths(node, prefix=""):
    """Leaf paths of a YAML tree; list items by index."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from paths(v, f"{prefix}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from paths(v, f"{prefix}[{i}]")
    else:
        yield prefix

def key(d): return (d["kind"], d["metadata"]["name"])
objs = {key(d): d for d in built}
by_kind = lambda kind: [d for d in built if d["kind"] == kind]

# Unknown fields: what the typed round trip dropped.
compared = set()
for t in typed:
    src = objs.get(key(t))
    if src is None:
        continue
    compared.add(t["kind"])
    lost = set(paths(src)) - set(paths(t))
    # Empty maps and lists vanish in the round trip; "{}" is no typo.
    lost = {p for p in lost if not re.search(r"\.(emptyDir|round_robin)$", p)}
    for p in sorted(lost):
        bad(f"{t['kind']}/{t['metadata']['name']}: unknown field {p}")

if compared != {"Deployment", "Job"}:
    bad(f"the typed round trip covered {sorted(compared)}, want the Deployment and the Job")

readme = open("README.md").read()
settings = set(re.findall(r"^\| `--[a-z0-9-]+` \| `(AFTERSALES_[A-Z0-9_]+)` \|", readme, re.M))
if not settings:
    bad("README.md: no settings table found")

cms = by_kind("ConfigMap")
if len(cms) != 1:
    bad(f"want one ConfigMap, got {len(cms)}")
config = cms[0]["data"] if cms else {}
for k in config:
    if k not in settings:
        bad(f"ConfigMap: {k} is not a setting (README settings table)")
for k in secret.get("stringData", {}):
    if k not in settings and k != "AFTERSALES_MIGRATE_DATABASE_URL":
        bad(f"secret.example.yaml: {k} is not a setting")

def dur(s):
    m = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", s)
    if not m or not s:
        raise ValueError(s)
    return int(m.group(1) or 0) * 60 + int(m.group(2) or 0)

if config.get("AFTERSALES_MIGRATE_ON_START") != "false":
    bad("ConfigMap: AFTERSALES_MIGRATE_ON_START must be false: the Job migrates")

def pod_env(c):
    return {e["name"] for e in c.get("env", [])}

def check_pod(name, spec, role):
    sc = spec.get("securityContext", {})
    if not sc.get("runAsNonRoot"):
        bad(f"{name}: pod securityContext.runAsNonRoot must be true")
    if spec.get("automountServiceAccountToken") is not False:
        bad(f"{name}: automountServiceAccountToken must be false")
    for c in spec["containers"]:
        csc = c.get("securityContext", {})
        if not csc.get("readOnlyRootFilesystem"):
            bad(f"{name}/{c['name']}: readOnlyRootFilesystem must be true")
        if csc.get("allowPrivilegeEscalation") is not False:
            bad(f"{name}/{c['name']}: allowPrivilegeEscalation must be false")
        if "ALL" not in csc.get("capabilities", {}).get("drop", []):
            bad(f"{name}/{c['name']}: must drop ALL capabilities")
        for r in ("requests", "limits"):
            for res in ("cpu", "memory"):
                if res not in c.get("resources", {}).get(r, {}):
                    bad(f"{name}/{c['name']}: resources.{r}.{res} missing")
        if "AFTERSALES_DATABASE_URL" not in pod_env(c):
            bad(f"{name}/{c['name']}: AFTERSALES_DATABASE_URL must come from the Secret")
        for e in c.get("env", []):
            ref = e.get("valueFrom", {}).get("secretKeyRef")
            if ref and ref["key"] not in secret.get("stringData", {}):
                bad(f"{name}/{c['name']}: reads Secret key {ref['key']}, which secret.example.yaml does not show")
        refs = [f["configMapRef"]["name"] for f in c.get("envFrom", []) if "configMapRef" in f]
        if cms and refs != [cms[0]["metadata"]["name"]]:
            bad(f"{name}/{c['name']}: envFrom must name the generated ConfigMap, got {refs}")
        if role == "server" and c.get("args", ["serve"])[0] != "serve":
            bad(f"{name}/{c['name']}: the server's command must be serve")
        if role == "migrate" and c.get("args") != ["migrate"]:
            bad(f"{name}/{c['name']}: the Job must run migrate")

deps = by_kind("Deployment")
if len(deps) != 1:
    bad(f"want one Deployment, got {len(deps)}")
for d in deps:
    name = f"Deployment/{d['metadata']['name']}"
    spec = d["spec"]["template"]["spec"]
    labels = d["spec"]["template"]["metadata"]["labels"]
    if d["spec"]["replicas"] < 2:
        bad(f"{name}: replicas {d['spec']['replicas']}")
    if any(labels.get(k) != v for k, v in d["spec"]["selector"]["matchLabels"].items()):
        bad(f"{name}: selector does not match the pod labels")
    check_pod(name, spec, "server")
    c = spec["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"), ("startupProbe", "/healthz")):
        got = c.get(probe, {}).get("httpGet", {})
        if got.get("path") != path or got.get("port") not in ports:
            bad(f"{name}: {probe} must GET {path} on a named port, got {got}")
    pause = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    drain = dur(config.get("AFTERSALES_SHUTDOWN_TIMEOUT", "15s"))
    grace = spec.get("terminationGracePeriodSeconds", 30)
    if grace <= pause + drain:
        bad(f"{name}: terminationGracePeriodSeconds {grace} must exceed the preStop pause {pause} s + --shutdown-timeout {drain} s")
    for kind in ("Service", "PodDisruptionBudget"):
        for s in by_kind(kind):
            sel = s["spec"]["selector"]
            sel = sel.get("matchLabels", sel)
            if any(labels.get(k) != v for k, v in sel.items()):
                bad(f"{kind}/{s['metadata']['name']}: selector does not match the server pods")
            for p in s["spec"].get("ports", []):
                if p.get("targetPort") not in ports:
                    bad(f"{kind}/{s['metadata']['name']}: targetPort {p.get('targetPort')} is not a named container port")
    if not any(s["spec"].get("clusterIP") == "None" for s in by_kind("Service")):
        bad("no headless Service for client-side round_robin")
    if not by_kind("PodDisruptionBudget"):
        bad("no PodDisruptionBudget")

jobs = by_kind("Job")
if len(jobs) != 1:
    bad(f"want one migration Job, got {len(jobs)}")
for j in jobs:
    check_pod(f"Job/{j['metadata']['name']}", j["spec"]["template"]["spec"], "migrate")

gomod = re.search(r"^go (\S+)$", open("go.mod").read(), re.M).group(1)
dockerfile = open("scripts/deploy/Dockerfile").read()
m = re.search(r"^ARG GO_VERSION=(\S+)$", dockerfile, re.M)
if not m or m.group(1) != gomod:
    bad(f"Dockerfile: GO_VERSION {m and m.group(1)} is not go.mod's {gomod}")
if not re.search(r"^USER \d+:\d+$", dockerfile, re.M):
    bad("Dockerfile: USER must be numeric uid:gid, for runAsNonRoot")

for e in errors:
    print("check.sh:", e, file=sys.stderr)
if errors:
    sys.exit(1)
print(f"check.sh: {len(built)} objects built and checked")
PY

if docker buildx version >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  docker build --check -f scripts/deploy/Dockerfile .
else
  echo "check.sh: no Docker daemon with BuildKit; docker build --check skipped" >&2
fi
