#!/usr/bin/env bash
# Fails when a folder includes a layer it may not depend on, or a third-party
# header escapes the folder that wraps it.
# Direction: protocol <- {state, io} <- actors <- apps.
cd "$(dirname "$0")/.."
bad=0
check() { # folder, forbidden include pattern, why
  if hits=$(grep -rnE "#include [<\"]($2)" "$1" --include='*.hpp' --include='*.cpp'); then
    echo "$1 must not include $3:"; echo "$hits"; bad=1
  fi
}
check protocol 'state/|io/|actors/|apps/|caf/' 'higher layers or CAF'
check state 'io/|actors/|apps/|caf/|curl/|httplib|yaml' 'io, actors, apps or their libraries'
check io 'state/|actors/|apps/|caf/|lmdb' 'state, actors, apps, CAF or LMDB'
check actors 'apps/|lmdb|curl/|httplib|<yaml' 'apps or third-party I/O headers'
for f in $(grep -rlE '#include [<"](lmdb.h)' --include='*.?pp' . | grep -v '^./state/' | grep -v '^./build/'); do echo "$f: <lmdb.h> outside state/"; bad=1; done
for f in $(grep -rlE '\.pb\.h"' --include='*.?pp' . | grep -v '^./protocol/' | grep -v '^./build/'); do echo "$f: generated protobuf header outside protocol/"; bad=1; done
[ $bad -eq 0 ] && echo "layers: ok"
exit $bad
