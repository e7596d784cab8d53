#!/bin/sh
# Proves from inside a pod that the pod runs in the sandbox its RuntimeClass names.
#
# Usage: check-sandbox.sh gvisor|kata [NODE_KERNEL]
#   gvisor       passes when the kernel log the pod reads is gVisor's: gVisor's syslog(2) answers
#                with its own boot messages, whose first line is "Starting gVisor...". A pod on the
#                node's kernel reads the node's log instead, or is refused it.
#   kata         passes when the kernel was booted by the Kata runtime: its command line carries the
#                Kata agent's parameters (agent.*) or the guest's systemd target
#                (systemd.unit=kata-containers.target). A pod on the node sees the node's own.
#   NODE_KERNEL  the nodes' `uname -r`; when given, a kata check also fails if the pod reports it.
#
# Prints what it saw, then one PASS or FAIL line; exits 0 only on PASS. Needs sh, uname, cat,
# dmesg and head: busybox has them all.

isolation=${1:-}
node_kernel=${2:-}

pass() {
  echo "PASS: $*"
  exit 0
}

fail() {
  echo "FAIL: $*"
  exit 1
}

kernel=$(uname -r 2>/dev/null) || kernel=unknown
echo "uname -r: $kernel"
echo "/proc/version: $(cat /proc/version 2>/dev/null)"

case $isolation in
  gvisor)
    first=$(dmesg 2>&1 | head -n 1)
    echo "dmesg, first line: $first"
    case $first in
      *"Starting gVisor..."*) pass "the kernel log is gVisor's" ;;
    esac
    fail "the kernel log is not gVisor's; the pod runs on the node's kernel"
    ;;
  kata)
    cmdline=$(cat /proc/cmdline 2>/dev/null)
    echo "/proc/cmdline: $cmdline"
    if [ -n "$node_kernel" ] && [ "$kernel" = "$node_kernel" ]; then
      fail "the pod reports the node's kernel $node_kernel; it does not run in a Kata VM"
    fi
    case " $cmdline " in
      *" systemd.unit=kata-containers.target "* | *" agent."*)
        pass "the kernel was booted by the Kata runtime"
        ;;
    esac
    fail "the kernel command line has no Kata agent parameters; the pod runs on the node's kernel"
    ;;
  *)
    fail "first argument must be gvisor or kata, not '$isolation'"
    ;;
esac
