#!/bin/sh
# The built shim exports exactly the table's names, has no version node (a
# named one would stop interposition) and needs no CUDA library.
set -eu
lib=$1 map=$2
want=$(tr ' ;' '\n\n' <"$map" | grep -E '^cu[a-zA-Z0-9_]+$' | sort)
have=$(nm -D --defined-only "$lib" | awk '{print $3}' | sort)
if [ "$want" != "$have" ]; then
    echo "exports differ from the table:"; diff -u "/dev/fd/3" "/dev/fd/4" 3<<W 4<<H || true
$want
W
$have
H
    exit 1
fi
echo "exports: $(echo "$have" | wc -l) names, as in the table"
if readelf -V "$lib" | grep -q "Version definition"; then
    echo "libsafehalf.so defines a symbol version node"; exit 1
fi
needed=$(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
echo "needs: $(echo $needed)"
case "$needed" in *cuda*|*cublas*|*cudnn*) echo "links a CUDA library"; exit 1;; esac
