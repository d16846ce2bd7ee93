#!/bin/sh
# The built shim exports exactly the table's names, has no version node (a
# named one would stop interposition), needs no CUDA library and has the GNU
# hash table the audit module reads. The audit module exports the four rtld-
# audit functions it implements and needs libc alone.
set -eu
lib=$1 map=$2 audit=$3
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
if ! readelf -d "$lib" | grep -q "(GNU_HASH)"; then
    echo "libsafehalf.so has no DT_GNU_HASH: libsafehalf-audit.so cannot find its wrappers"
    exit 1
fi

have=$(nm -D --defined-only "$audit" | awk '{print $3}' | sort | tr '\n' ' ')
if [ "$have" != "la_objclose la_objopen la_symbind64 la_version " ]; then
    echo "libsafehalf-audit.so exports: $have"; exit 1
fi
if readelf -V "$audit" | grep -q "Version definition"; then
    echo "libsafehalf-audit.so defines a symbol version node"; exit 1
fi
needed=$(readelf -d "$audit" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
if [ "$needed" != "libc.so.6" ]; then
    echo "libsafehalf-audit.so needs: $(echo $needed)"; exit 1
fi
echo "audit module: 4 rtld-audit functions, needs libc.so.6"
