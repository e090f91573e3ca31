#!/usr/bin/env bash
# tests/integration/test_train_ddp_netns.sh — ddp across a network interface
# (issue 11): two network namespaces joined by a veth pair, 10.201.x.1 and
# 10.201.x.2, stand for two machines. mpiexec runs in the first with a
# hostfile of both addresses and an ssh-free launcher (plm_rsh_agent: a
# script that starts the remote daemon with `ip netns exec` in the second
# namespace, under its own host name), MPI's TCP transport restricted to the
# veth subnet. `lightc train --strategy ddp --devices 1 --num-nodes 2` must
# train as one run whose ranks sit on two hosts, with the gradients' bytes
# counted on the veth (at least steps x gradient size), and follow the
# same losses as the same 2-rank job on one host.
# Skipped (77), saying why, where namespaces cannot be made (not root, no
# ip, no CAP_NET_ADMIN) or without MPI/the data set.
set -euo pipefail
build=${LC_BUILD_DIR:?}
lightc="$build/lightc"
data=/usr/share/datasets/fashion-mnist
[ -f "$data/train-images-idx3-ubyte.gz" ] || { echo "skip: no $data (install dataset-fashion-mnist)"; exit 77; }
"$lightc" info | grep -q "mpi: yes" || { echo "skip: this lightc was built without MPI"; exit 77; }
command -v mpiexec >/dev/null || { echo "skip: no mpiexec"; exit 77; }
command -v ip >/dev/null || { echo "skip: no ip(8) to make network namespaces (iproute2)"; exit 77; }
command -v unshare >/dev/null || { echo "skip: no unshare(1)"; exit 77; }
[ "$(id -u)" -eq 0 ] || { echo "skip: network namespaces need root"; exit 77; }

id=$$
sub=$((id % 200 + 20))
ns0=lcddp0_$id ns1=lcddp1_$id v0=lcd0_$id v1=lcd1_$id
a0=10.201.$sub.1 a1=10.201.$sub.2
mkdir -p "${LC_TEST_TMP:-/tmp}"
tmp=$(mktemp -d "${LC_TEST_TMP:-/tmp}/train-ddp-netns-XXXXXX")
cleanup() {
  ip netns del "$ns0" 2>/dev/null || true
  ip netns del "$ns1" 2>/dev/null || true
  ip link del "$v0" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

if ! { ip netns add "$ns0" && ip netns add "$ns1"; } 2>"$tmp/err"; then
  echo "skip: cannot make network namespaces here: $(cat "$tmp/err")"; exit 77
fi
ip link add "$v0" type veth peer name "$v1" 2>"$tmp/err" || { echo "skip: cannot make a veth pair: $(cat "$tmp/err")"; exit 77; }
ip link set "$v0" netns "$ns0"
ip link set "$v1" netns "$ns1"
ip -n "$ns0" addr add "$a0/24" dev "$v0"
ip -n "$ns1" addr add "$a1/24" dev "$v1"
for x in "$ns0:$v0" "$ns1:$v1"; do
  ip -n "${x%%:*}" link set "${x#*:}" up
  ip -n "${x%%:*}" link set lo up
done

# the ssh-free launcher: Open MPI calls it as `agent HOST COMMAND...`
cat > "$tmp/agent" <<AGENT
#!/bin/sh
host=\$1; shift
case "\$host" in
  $a0) exec ip netns exec $ns0 sh -c "\$*" ;;
  $a1) exec ip netns exec $ns1 unshare --uts sh -c "hostname lcddp-node1; \$*" ;;
esac
echo "agent: unknown host \$host" >&2
exit 1
AGENT
chmod +x "$tmp/agent"
printf '%s slots=1\n%s slots=1\n' "$a0" "$a1" > "$tmp/hosts"

common=(--max-epochs 1 --limit-train-batches 30 --limit-val-batches 2 --limit-test-batches 2
        --hidden 64 --threads 1 --seed 3 --log-every-n-steps 1 --dropout 0 --no-model-summary
        --loggers sqlite --name run)
rx0=$(ip netns exec "$ns1" cat /sys/class/net/"$v1"/statistics/rx_bytes)
timeout 300 ip netns exec "$ns0" mpiexec --allow-run-as-root --hostfile "$tmp/hosts" -np 2 \
  --mca plm_rsh_agent "$tmp/agent" --mca btl tcp,self \
  --mca btl_tcp_if_include "10.201.$sub.0/24" --mca oob_tcp_if_include "10.201.$sub.0/24" \
  "$lightc" train --strategy ddp --devices 1 --num-nodes 2 --root "$tmp/net" "${common[@]}" \
  > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "ddp across the veth pair"; }
rx1=$(ip netns exec "$ns1" cat /sys/class/net/"$v1"/statistics/rx_bytes)
# one host, 2 ranks: the reference trajectory
"$lightc" train --strategy ddp --devices 2 --root "$tmp/local" "${common[@]}" > "$tmp/log2" 2>&1 \
  || { cat "$tmp/log2"; fail "the same job on one host"; }

q() { sqlite3 "$1/index.db" "$2"; }
[ "$(q "$tmp/net" "SELECT count(*) FROM runs")" = 1 ] || fail "not one run"
[ "$(q "$tmp/net" "SELECT status FROM runs")" = finished ] || fail "run not finished"
h0=$(q "$tmp/net" "SELECT value FROM tags WHERE key = 'host.rank0'")
h1=$(q "$tmp/net" "SELECT value FROM tags WHERE key = 'host.rank1'")
[ -n "$h0" ] && [ "$h1" = lcddp-node1 ] && [ "$h0" != "$h1" ] || fail "ranks on hosts '$h0' and '$h1'"
# 30 steps of 784*64+64+640+10 = 50890 gradient floats each way
need=$((30 * 50890 * 4))
got=$((rx1 - rx0))
[ "$got" -ge "$need" ] || fail "only $got bytes crossed the veth, the gradients alone are $need"
python3 - "$tmp/net/index.db" "$tmp/local/index.db" <<'PY'
import sqlite3, sys
def loss(p):
    return sqlite3.connect(p).execute(
        "SELECT step, value FROM metrics WHERE key = 'train/loss' ORDER BY step").fetchall()
a, b = loss(sys.argv[1]), loss(sys.argv[2])
assert len(a) == 30 and [s for s, _ in a] == [s for s, _ in b], (len(a), len(b))
worst = max(abs(x - y) / abs(y) for (_, x), (_, y) in zip(a, b))
assert worst < 1e-4, worst
print("netns: 30 train/loss points as on one host within %.2g relative" % worst)
PY
echo "ok: ranks on $h0 and $h1, $got bytes received over the veth (gradients: $need)"
