#!/bin/sh
# Fails when a library module an embedding program links for the kernel
# source alone (FSProbeSources, and what it depends on) would pull in the
# YAML parser, SQLite, librdkafka or the metrics server (swift-nio): those
# belong to FSProbePipelineFile, FSProbeSinks and FSProbeMetrics
# (docs/architecture.md, "Modules"). The swift-metrics API alone is allowed:
# it is how the library hands its latencies to an embedder's own backend.
set -eu
cd "$(dirname "$0")/.."
[ -x /opt/swift/usr/bin/swift ] && PATH=/opt/swift/usr/bin:$PATH
description=$(mktemp)
trap 'rm -f "$description"' EXIT
swift package describe --type json > "$description"
python3 - "$description" <<'PY'
import json, sys

package = json.load(open(sys.argv[1]))
targets = {t["name"]: t for t in package["targets"]}
heavy = {"Yams", "GRDB", "CSQLiteShim", "CRDKafka", "FSProbePipelineFile", "FSProbeSinks", "FSProbeKafka",
         "FSProbeMetrics", "Prometheus", "NIOCore", "NIOPosix", "NIOHTTP1"}

def closure(name, seen):
    target = targets.get(name, {})
    for dep in target.get("target_dependencies", []) + target.get("product_dependencies", []):
        if dep not in seen:
            seen.add(dep)
            closure(dep, seen)
    return seen

failed = False
for module in ["FSProbeCore", "FSProbePipeline", "FSProbeSources"]:
    deps = closure(module, set())
    if deps & heavy:
        print("check-modules: %s depends on %s: an embedder of Watcher would link them"
              % (module, ", ".join(sorted(deps & heavy))))
        failed = True
    else:
        print("check-modules: %s depends on %s" % (module, ", ".join(sorted(deps)) or "nothing"))
sys.exit(1 if failed else 0)
PY
